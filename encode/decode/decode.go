// Package decode turns the RTP of one remote track (a guest's camera or
// microphone, forwarded by the studio's SFU) into raw pictures and samples
// for a program input. It reassembles frames with pion's samplebuilder and
// decodes them with FFmpeg through go-astiav: VP8 and H.264 video, Opus
// audio.
//
// A Track is used by one goroutine, the one that feeds it RTP (the studio
// calls its sink per track in arrival order), and decodes synchronously in
// it: the studio already queues and drops in front of it.
//
// After packet loss a video track asks for a keyframe (OnKeyframeNeeded,
// which the studio turns into an RTCP PLI) and feeds the decoder nothing
// until one arrives, so the program shows the last good picture rather
// than a smeared one.
package decode

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/asticode/go-astiav"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"

	"greenroom/encode/compositor"
	"greenroom/encode/shim"
)

// Target is where decoded media goes: an encode.Input.
type Target interface {
	NewFrame(w, h int) *compositor.Frame
	WriteVideo(f *compositor.Frame)
	WriteAudio(pcm []float32, rate, channels int) error
}

// Config describes the track.
type Config struct {
	MimeType  string // "video/VP8", "video/H264" or "audio/opus" (case-insensitive)
	ClockRate uint32 // RTP clock: 90000 for video, 48000 for Opus
	Channels  int    // Opus: 2 as negotiated in WebRTC (the decoder says what it really has)
	Target    Target
	// OnKeyframeNeeded asks the sender for a keyframe. It must not block.
	OnKeyframeNeeded func()
	Logger           *slog.Logger
}

// Stats counts what happened to the track.
type Stats struct {
	Frames       int64 // pictures or audio frames delivered
	Lost         int64 // RTP packets the samplebuilder gave up on
	DecodeErrors int64
	KeyframeAsks int64
	// DecodeTime is the average time from a complete frame (its last RTP
	// packet) to the picture or samples handed to the target.
	DecodeTime time.Duration
}

// Track decodes one remote track.
type Track struct {
	cfg      Config
	log      *slog.Logger
	video    bool
	isKey    func([]byte) bool
	sb       *samplebuilder.SampleBuilder
	cc       *astiav.CodecContext
	pkt      *astiav.Packet
	frame    *astiav.Frame
	waitKey  bool
	lastAsk  time.Time
	pcm      []float32
	stats    Stats
	loggedFx bool // logged an unsupported format once
}

// New opens the decoder for cfg.MimeType.
func New(cfg Config) (*Track, error) {
	if cfg.Target == nil {
		return nil, errors.New("decode: no target")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.OnKeyframeNeeded == nil {
		cfg.OnKeyframeNeeded = func() {}
	}
	t := &Track{cfg: cfg, log: cfg.Logger.With("component", "decode", "codec", cfg.MimeType)}
	var id astiav.CodecID
	var dep rtp.Depacketizer
	switch strings.ToLower(cfg.MimeType) {
	case "video/vp8":
		id, dep, t.video, t.isKey = astiav.CodecIDVp8, &codecs.VP8Packet{}, true, vp8Key
	case "video/h264":
		id, dep, t.video, t.isKey = astiav.CodecIDH264, &codecs.H264Packet{}, true, h264Key
	case "audio/opus":
		id, dep = astiav.CodecIDOpus, &codecs.OpusPacket{}
	default:
		return nil, fmt.Errorf("decode: unsupported codec %q", cfg.MimeType)
	}
	if cfg.ClockRate == 0 {
		return nil, fmt.Errorf("decode: %s: no RTP clock rate", cfg.MimeType)
	}
	// Video waits up to ~300 packets (a 720p keyframe is 50–150) for
	// reordered or retransmitted ones (NACK); audio is small and late
	// audio is useless, so it waits for few.
	maxLate := uint16(50)
	if t.video {
		maxLate = 300
	}
	t.sb = samplebuilder.New(maxLate, dep, cfg.ClockRate, samplebuilder.WithMaxTimeDelay(500*time.Millisecond))
	c := astiav.FindDecoder(id)
	if c == nil {
		return nil, fmt.Errorf("decode: FFmpeg has no %s decoder", cfg.MimeType)
	}
	t.cc = astiav.AllocCodecContext(c)
	if t.cc == nil {
		return nil, fmt.Errorf("decode: %s: cannot allocate decoder", cfg.MimeType)
	}
	live.Add(1)
	if !t.video {
		t.cc.SetSampleRate(48000)
		ch := cfg.Channels
		if ch != 1 {
			ch = 2
		}
		t.cc.SetChannels(ch)
		if ch == 1 {
			t.cc.SetChannelLayout(astiav.ChannelLayoutMono)
		} else {
			t.cc.SetChannelLayout(astiav.ChannelLayoutStereo)
		}
	} else {
		// Guests' pictures are small next to the program: one thread each
		// keeps four guests from fighting the encoder for both cores.
		t.cc.SetThreadCount(1)
	}
	if err := t.cc.Open(c, nil); err != nil {
		t.Close()
		return nil, fmt.Errorf("decode: open %s decoder: %w", cfg.MimeType, err)
	}
	t.pkt = astiav.AllocPacket()
	t.frame = astiav.AllocFrame()
	t.waitKey = t.video
	return t, nil
}

// WriteRTP takes the track's next RTP packet.
func (t *Track) WriteRTP(p *rtp.Packet) {
	t.sb.Push(p)
	for s := t.sb.Pop(); s != nil; s = t.sb.Pop() {
		if s.PrevDroppedPackets > 0 {
			t.stats.Lost += int64(s.PrevDroppedPackets)
			if t.video {
				t.waitKey = true
			}
		}
		start := time.Now()
		t.decode(s.Data)
		d := time.Since(start)
		if t.stats.DecodeTime != 0 {
			d = t.stats.DecodeTime + (d-t.stats.DecodeTime)/16
		}
		t.stats.DecodeTime = d
	}
}

func (t *Track) decode(data []byte) {
	if len(data) == 0 {
		return
	}
	if t.video && t.waitKey {
		if !t.isKey(data) {
			t.askKeyframe()
			return
		}
		t.waitKey = false
	}
	if err := t.pkt.FromData(data); err != nil {
		t.stats.DecodeErrors++
		return
	}
	err := t.cc.SendPacket(t.pkt)
	t.pkt.Unref()
	if err != nil && !errors.Is(err, astiav.ErrEagain) {
		t.failed(err)
		return
	}
	for {
		err := t.cc.ReceiveFrame(t.frame)
		if errors.Is(err, astiav.ErrEagain) || errors.Is(err, astiav.ErrEof) {
			return
		}
		if err != nil {
			t.failed(err)
			return
		}
		t.deliver()
		t.frame.Unref()
	}
}

func (t *Track) failed(err error) {
	t.stats.DecodeErrors++
	t.log.Debug("decode error", "err", err)
	if t.video {
		t.waitKey = true
		t.askKeyframe()
	}
}

// askKeyframe asks at most three times a second: the answer takes a
// round trip and a keyframe is big.
func (t *Track) askKeyframe() {
	if time.Since(t.lastAsk) < 300*time.Millisecond {
		return
	}
	t.lastAsk = time.Now()
	t.stats.KeyframeAsks++
	t.cfg.OnKeyframeNeeded()
}

func (t *Track) deliver() {
	f := t.frame
	if t.video {
		w, h := f.Width()&^1, f.Height()&^1
		if w < 2 || h < 2 {
			return
		}
		out := t.cfg.Target.NewFrame(w, h)
		if err := shim.CopyFromFrame(&out.YCbCr, f); err != nil {
			out.Release()
			if !t.loggedFx {
				t.loggedFx = true
				t.log.Warn("cannot use decoded picture", "err", err)
			}
			return
		}
		t.cfg.Target.WriteVideo(out)
		t.stats.Frames++
		return
	}
	ch := f.ChannelLayout().NbChannels()
	var err error
	t.pcm, err = shim.Interleave(t.pcm[:0], f, ch)
	if err == nil {
		err = t.cfg.Target.WriteAudio(t.pcm, f.SampleRate(), ch)
	}
	if err != nil {
		if !t.loggedFx {
			t.loggedFx = true
			t.log.Warn("cannot use decoded audio", "err", err)
		}
		return
	}
	t.stats.Frames++
}

// Stats returns the track's counters.
func (t *Track) Stats() Stats { return t.stats }

// Close frees the decoder. Safe to call twice.
func (t *Track) Close() {
	if t.frame != nil {
		t.frame.Free()
		t.frame = nil
	}
	if t.pkt != nil {
		t.pkt.Free()
		t.pkt = nil
	}
	if t.cc != nil {
		t.cc.Free()
		t.cc = nil
		live.Add(-1)
	}
}

// live counts the decoders allocated and not yet freed, in the process.
var live atomic.Int64

// Live is how many decoders are allocated and not yet freed (Close), in
// the whole process: what a test checks to know nothing of a guest who
// left is still held in FFmpeg's memory.
func Live() int64 { return live.Load() }

// vp8Key reports whether a VP8 frame is a keyframe (RFC 6386 9.1: the
// frame tag's first bit is 0 for key frames).
func vp8Key(b []byte) bool { return len(b) > 0 && b[0]&1 == 0 }

// h264Key reports whether an Annex-B access unit holds an IDR slice.
func h264Key(b []byte) bool {
	for i := 0; i+3 < len(b); i++ {
		if b[i] == 0 && b[i+1] == 0 && b[i+2] == 1 && b[i+3]&0x1f == 5 {
			return true
		}
	}
	return false
}
