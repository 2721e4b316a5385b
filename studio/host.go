package studio

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"greenroom/encode/feed"
)

// StartHostFeed sends the host's camera and mic to every guest: it starts
// a conference encoder (VP8 + Opus, package feed) whose output goes out as
// the host's tracks. The video is encoded in layers (HostFeedLayers, unless
// cfg has its own), and each guest is sent the one its downlink fits, as a
// guest's simulcast camera is (simulcast.go): a guest on a thin link gets
// the small picture and the others keep the full one (issue #10). The
// host's source writes into the returned feed (as well as into the
// program: encode.Tee). stop takes the tracks away and ends the encoder;
// it is safe to call twice.
func (s *Studio) StartHostFeed(cfg feed.Config) (f *feed.Feed, stop func(), err error) {
	audio, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", HostID)
	if err != nil {
		return nil, nil, fmt.Errorf("studio: host audio track: %w", err)
	}
	if cfg.Logger == nil {
		cfg.Logger = s.log
	}
	if cfg.Active == nil {
		cfg.Active = s.hostFeedWanted
	}
	if len(cfg.Layers) == 0 {
		cfg.Layers = HostFeedLayers(cfg)
	}
	const clock = 90000
	info := TrackInfo{
		ParticipantID: HostID,
		TrackID:       fmt.Sprintf("%s-video-%d", HostID, trackSerial.Add(1)),
		Kind:          "video",
		MimeType:      webrtc.MimeTypeVP8,
		ClockRate:     clock,
	}
	vt := newSimulcastTrack(info, nil, webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: clock}, HostID, s.log)
	// One layer and one packetizer per encoding; the packets of each go
	// through the same switchers as a guest's layers.
	layers := make([]*layer, len(cfg.Layers))
	pzs := make([]rtp.Packetizer, len(cfg.Layers))
	for i := range layers {
		layers[i] = &layer{rid: hostRIDs[min(i, len(hostRIDs)-1)], pli: func() { f.RequestLayerKeyframe(i) }, onDemand: true}
		pzs[i] = rtp.NewPacketizer(1200, 0, rand.Uint32(), &codecs.VP8Payloader{EnablePictureID: true}, rtp.NewRandomSequencer(), clock)
	}
	vt.layers.Store(&layers)
	// The show's recording keeps the top layer (writeVideo): a keyframe
	// asked of the host's video (RequestKeyframe) comes on it too, not
	// only on the layers guests get now.
	inUse := vt.keyframe
	vt.keyframe = func() {
		inUse()
		layers[0].requestKeyframe()
	}
	// A layer no guest gets is not encoded (≈3 % of a core each,
	// BenchmarkFeedLayers): a show whose guests all get the small picture
	// (thin links, or the host in a small tile on their pages) encodes
	// only that. The show's recording keeps the top one.
	if cfg.LayerActive == nil {
		cfg.LayerActive = func(i int) bool {
			if i == 0 && s.recordsHost() {
				return true
			}
			return vt.simul.wants(layers[i])
		}
	}
	writeVideo := func(smp feed.Sample) {
		if smp.Layer == 0 {
			s.recordHost(HostID, webrtc.MimeTypeVP8, smp.Data) // the show's recording keeps the best
		}
		l, now := layers[smp.Layer], time.Now()
		for _, pkt := range pzs[smp.Layer].Packetize(smp.Data, uint32(smp.Duration.Seconds()*clock)) {
			key := l.count(pkt, webrtc.MimeTypeVP8, now, layers)
			vt.simul.write(layers, l, pkt, key, clock, now)
		}
	}
	if cfg.Muted == nil {
		// The host muted themselves (SetMuted(HostID)): the guests hear
		// the show's music without them, or silence (Opus's 3-byte
		// frames), the packets and timestamps flowing as before.
		cfg.Muted = s.hostMuted.Load
	}
	if cfg.Own == nil {
		// The host's own file in the show's folder is the host alone: the
		// music the guests hear with them is in the program (issue #11).
		cfg.Own = func(smp feed.Sample) { s.recordHost(HostID, webrtc.MimeTypeOpus, smp.Data) }
		cfg.OwnActive = s.recordsHost
	}
	f, err = feed.New(cfg, writeVideo, func(smp feed.Sample) {
		// Fails only when no guest is bound yet: nothing to do.
		_ = audio.WriteSample(media.Sample{Data: smp.Data, Duration: smp.Duration})
	})
	if err != nil {
		return nil, nil, err
	}
	removeVideo := s.addHostTrack(vt)
	removeAudio, err := s.AddHostTrack(audio, nil)
	if err != nil {
		removeVideo()
		f.Close()
		return nil, nil, err
	}
	// The program's music and jingles go to the guests with the host.
	removeMusic := func() {}
	if m := s.musicPlayer(); m != nil {
		removeMusic = m.AddSink(f.Sounds())
	}
	var once sync.Once
	return f, func() {
		once.Do(func() {
			removeMusic()
			removeVideo()
			removeAudio()
			f.Close()
		})
	}, nil
}

// hostRIDs name the host's feed's layers, highest first, as a guest page
// names its simulcast layers (/api/state's Forwarded).
var hostRIDs = []string{"h", "m", "l"}

// HostFeedLayers are the host's video layers for the guests, from cfg's
// conference size and rate (640x360 at 800 kb/s by default): that, and
// half the size at a quarter of the rate (a quarter of the pixels). Two,
// not a guest page's three: the low layer already fits a 300 kb/s link
// with the host's voice, the host is one tile of several on a guest's
// screen, and each layer is one more VP8 encoder on the host's CPU
// (BenchmarkFeedLayers).
func HostFeedLayers(cfg feed.Config) []feed.Layer {
	w, h, bps := cfg.Width, cfg.Height, cfg.VideoBitRate
	if w == 0 || h == 0 {
		w, h = 640, 360
	}
	if bps == 0 {
		bps = 800_000
	}
	// VP8 wants even sizes for 4:2:0.
	return []feed.Layer{{Width: w, Height: h, VideoBitRate: bps}, {Width: w / 2 &^ 1, Height: h / 2 &^ 1, VideoBitRate: bps / 4}}
}

// hostRecorder is a Sink that also records the host's own feeds, as the
// guests get them but for the music (the Program, while a show is
// recorded: issue #11).
type hostRecorder interface {
	recordsHost() bool
	recordHost(name, mime string, data []byte)
}

// hostFeedWanted says whether the host's feeds are to be encoded: for the
// guests, or for the show's recording.
func (s *Studio) hostFeedWanted() bool {
	if s.guestsIn.Load() {
		return true
	}
	return s.recordsHost()
}

// recordsHost says whether the Sink records the host's feeds now.
func (s *Studio) recordsHost() bool {
	r, ok := s.cfg.Sink.(hostRecorder)
	return ok && r.recordsHost()
}

// recordHost hands one frame of the host's feed name (HostID, or their
// screen) to the Sink, if it records the host.
func (s *Studio) recordHost(name, mime string, data []byte) {
	if r, ok := s.cfg.Sink.(hostRecorder); ok {
		r.recordHost(name, mime, data)
	}
}

// StartHostScreenFeed sends the host's shared screen to every guest as a
// stream of its own, ScreenInput(HostID), as the guests' screens are: a
// video-only conference encoder (package feed; 1280x720 at 10 frames a
// second by default: text wants pixels more than motion). The screen's
// capture writes into the returned feed as well as into the program
// (encode.Tee). stop takes the track away and ends the encoder; it is safe
// to call twice.
func (s *Studio) StartHostScreenFeed(cfg feed.Config) (f *feed.Feed, stop func(), err error) {
	video, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "screen", ScreenInput(HostID))
	if err != nil {
		return nil, nil, fmt.Errorf("studio: host screen track: %w", err)
	}
	if cfg.Logger == nil {
		cfg.Logger = s.log
	}
	if cfg.Active == nil {
		cfg.Active = s.hostFeedWanted
	}
	if cfg.Width == 0 {
		cfg.Width, cfg.Height = 1280, 720
	}
	if cfg.FPS == 0 {
		cfg.FPS = 10
	}
	if cfg.VideoBitRate == 0 {
		cfg.VideoBitRate = 1200_000
	}
	f, err = feed.New(cfg, func(smp feed.Sample) {
		_ = video.WriteSample(media.Sample{Data: smp.Data, Duration: smp.Duration})
		s.recordHost(ScreenInput(HostID), webrtc.MimeTypeVP8, smp.Data)
	}, func(feed.Sample) {})
	if err != nil {
		return nil, nil, err
	}
	remove, err := s.AddHostTrack(video, f.RequestKeyframe)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, func() {
		remove()
		f.Close()
	}, nil
}
