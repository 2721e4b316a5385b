package studio

import (
	"fmt"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"greenroom/encode/feed"
)

// StartHostFeed sends the host's camera and mic to every guest: it starts
// a conference encoder (VP8 + Opus, package feed) whose output goes out as
// the host's tracks. Its video's bit rate follows the slowest receiving
// guest's downlink (followDownlinks). The host's source writes into the returned feed (as
// well as into the program: encode.Tee). stop takes the tracks away and
// ends the encoder; it is safe to call twice.
func (s *Studio) StartHostFeed(cfg feed.Config) (f *feed.Feed, stop func(), err error) {
	video, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", HostID)
	if err != nil {
		return nil, nil, fmt.Errorf("studio: host video track: %w", err)
	}
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
	write := func(t *webrtc.TrackLocalStaticSample) func(feed.Sample) {
		return func(smp feed.Sample) {
			// Fails only when no guest is bound yet: nothing to do.
			_ = t.WriteSample(media.Sample{Data: smp.Data, Duration: smp.Duration})
			s.recordHost(HostID, t.Codec().MimeType, smp.Data)
		}
	}
	writeVideo, writeAudio := write(video), write(audio)
	f, err = feed.New(cfg, writeVideo, func(smp feed.Sample) {
		if s.hostMuted.Load() {
			// The host muted themselves (SetMuted(HostID)): the guests
			// hear silence, the packets and timestamps flowing as before.
			smp.Data = opusSilence
		}
		writeAudio(smp)
	})
	if err != nil {
		return nil, nil, err
	}
	top := f.VideoBitRate()
	vt, removeVideo, err := s.addHostTrack(video, f.RequestKeyframe, uint64(top))
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	removeAudio, err := s.AddHostTrack(audio, nil)
	if err != nil {
		removeVideo()
		f.Close()
		return nil, nil, err
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.followDownlinks(vt, f, top, done)
	}()
	var once sync.Once
	return f, func() {
		once.Do(func() {
			close(done)
			wg.Wait()
			removeVideo()
			removeAudio()
			f.Close()
		})
	}, nil
}

// hostRateEvery is how often the host's feed follows the guests'
// downlinks.
const hostRateEvery = 2 * time.Second

// followDownlinks sets the bit rate of the host's video feed (track t, at
// most top bits/s) to the least share of any receiving guest's send-side
// estimate (downlink.go), every hostRateEvery, until done: one encoding
// for everyone, so the slowest guest sets it for all. Each change opens
// the encoder anew with a keyframe, so only a change of a fifth or more
// is made (or back to top).
//
// Interim (issue #10): the host's feed in two or three sizes, each guest
// given the one its estimate fits through the same switcher as a guest's
// camera, would spare the others; see the README.
func (s *Studio) followDownlinks(t *pubTrack, f *feed.Feed, top int, done <-chan struct{}) {
	tick := time.NewTicker(hostRateEvery)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case <-s.ctx.Done():
			return
		case <-tick.C:
		}
		cur := f.VideoBitRate()
		want := top
		if share, ok := s.sfu.leastShare(t, func() uint64 { return uint64(cur) }); ok {
			want = min(top, int(share))
		}
		if d := want - cur; d >= cur/5 || -d >= cur/5 || (want == top && cur != top) {
			s.log.Debug("host feed bit rate", "from", cur, "to", want)
			f.SetVideoBitRate(want)
		}
	}
}

// hostRecorder is a Sink that also records the host's own feeds, as the
// guests get them (the Program, while a show is recorded: issue #11).
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

// opusSilence is one Opus frame of silence (a CELT-only fullband 20 ms
// frame with no content; RFC 6716 §3.1), what Opus encoders send for
// digital silence.
var opusSilence = []byte{0xf8, 0xff, 0xfe}

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
