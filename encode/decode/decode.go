// Package decode turns the RTP of one remote track (a guest's camera or
// microphone, forwarded by the studio's SFU) into raw pictures and samples
// for a program input. rtpframe puts the packets back in order, waiting a
// bounded time for retransmissions, and together into frames; video (VP8,
// H.264) is decoded with FFmpeg through go-astiav, Opus audio with libopus
// itself (opus.go), for its loss concealment and in-band FEC.
//
// A Track is used by one goroutine, the one that feeds it RTP (the studio
// calls its sink per track in arrival order), and decodes synchronously in
// it: the studio already queues and drops in front of it.
//
// A video frame missing a packet that did not come in time is never
// decoded: the track asks for a keyframe (OnKeyframeNeeded, which the
// studio turns into an RTCP PLI, at most about three times a second) and
// feeds the decoder nothing until one arrives, so the program shows the
// last good picture rather than a smeared one. It asks already while it
// still waits for the packet (keyframeLatency), so that the keyframe is
// on its way when the wait ends.
//
// Audio gets no retransmissions (WebRTC NACKs only video), so an audio
// track waits only for reordered packets, briefly, and fills a lost
// packet's time when the next one comes: from that packet's in-band FEC
// (the studio's SDP offers useinbandfec=1, and browsers send it), else
// with libopus's packet-loss concealment. Never a gap of silence nor a
// click in the program (issue #10). FFmpeg 5.1 offers neither through its
// API (its native decoder has neither; its libopus wrapper never asks for
// them), hence libopus.
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

	"greenroom/encode/clock"
	"greenroom/encode/compositor"
	"greenroom/encode/rtpframe"
	"greenroom/encode/shim"
)

// Target is where decoded media goes: an encode.Input.
type Target interface {
	NewFrame(w, h int) *compositor.Frame
	WriteVideo(f *compositor.Frame)
	WriteAudio(pcm []float32, rate, channels int) error
}

// TimedTarget is a Target that plays media at a time on the program clock
// (an encode.Input): a track with a Playout places its pictures and
// sound there, by the sender's clock, rather than handing them on as
// they come.
type TimedTarget interface {
	WriteVideoAt(f *compositor.Frame, at time.Duration)
	WriteAudioAt(pcm []float32, rate, channels int, at time.Duration) error
}

// Config describes the track.
type Config struct {
	MimeType  string // "video/VP8", "video/H264" or "audio/opus" (case-insensitive)
	ClockRate uint32 // RTP clock: 90000 for video, 48000 for Opus
	Channels  int    // Opus: 2 as negotiated in WebRTC (the decoder says what it really has)
	Target    Target
	// OnKeyframeNeeded asks the sender for a keyframe. It must not block.
	OnKeyframeNeeded func()
	// OnConceal, if set, is told each time an audio track fills lost
	// samples (a channel's, at 48 kHz) and how many of them came from
	// FEC, as Stats counts them, on the goroutine that calls WriteRTP:
	// for a reader on another goroutine. It must not block.
	OnConceal func(samples, fromFEC int)
	// Playout, if set and the Target is a TimedTarget, places each
	// decoded picture and sound on Clock by the sender's reports (until
	// the sender's first, they go as they come).
	Playout *clock.Playout
	Clock   clock.Clock
	Logger  *slog.Logger
}

// Stats counts what happened to the track.
type Stats struct {
	Frames       int64 // pictures or audio frames delivered
	Lost         int64 // RTP packets given up on (they never came in time)
	Late         int64 // RTP packets that came after their frame was decoded or given up on
	DecodeErrors int64
	KeyframeAsks int64
	// Concealed is how many audio samples were played in place of lost
	// ones (from the next packet's FEC, or libopus's concealment);
	// Recovered how many of them came from FEC.
	Concealed, Recovered int64
	// DecodeTime is the average time from a complete frame (its last RTP
	// packet) to the picture or samples handed to the target.
	DecodeTime time.Duration
}

// Track decodes one remote track.
type Track struct {
	cfg     Config
	log     *slog.Logger
	video   bool
	cc      *astiav.CodecContext // video
	opus    *opusDecoder         // audio
	pkt     *astiav.Packet
	frame   *astiav.Frame
	waitKey bool
	// lostAt is when the track last began waiting for a keyframe, for
	// the log: how long the picture stood still.
	lostAt  time.Time
	lastAsk time.Time
	timedTo TimedTarget // the Target, if it is one and there is a Playout
	ssrc    uint32      // of the packets being decoded
	ts      uint32      // RTP time of the frame being decoded
	asm     *rtpframe.Assembler
	frames  []rtpframe.Frame // reused by WriteRTP
	// askAfter is how long a video packet is missing before the track
	// asks for a keyframe, still waiting for it.
	askAfter time.Duration
	stats    Stats
	loggedFx bool // logged an unsupported format once
	// placed is whether the last frame was placed by the sender's clock
	// (not by arrival): its changes are logged, as a stream out of sync
	// with its sender's other one shows as one placed and one not.
	placed, placing bool // placing: placed is known (a frame was placed or not)
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
	if tt, ok := cfg.Target.(TimedTarget); ok && cfg.Playout != nil {
		t.timedTo = tt
	}
	var id astiav.CodecID
	switch strings.ToLower(cfg.MimeType) {
	case "video/vp8":
		id, t.video = astiav.CodecIDVp8, true
	case "video/h264":
		id, t.video = astiav.CodecIDH264, true
	case "audio/opus":
		if cfg.ClockRate != opusRate {
			// RFC 7587: Opus's RTP clock is 48 kHz whatever it codes.
			return nil, fmt.Errorf("decode: Opus at an RTP clock of %d Hz, want %d", cfg.ClockRate, opusRate)
		}
	default:
		return nil, fmt.Errorf("decode: unsupported codec %q", cfg.MimeType)
	}
	// Video waits for reordered or retransmitted packets (NACK). Audio
	// is never retransmitted, and late audio is useless: it waits only
	// for what a jittery path reorders, and conceals the rest; the
	// mixer's prebuffer (60 ms) covers the wait.
	wait := rtpframe.AudioReorder
	if t.video {
		wait = rtpframe.VideoWait
		t.askAfter = wait - keyframeLatency
	}
	asm, err := rtpframe.New(cfg.MimeType, cfg.ClockRate, wait)
	if err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	t.asm = asm
	if !t.video {
		if t.opus, err = newOpusDecoder(cfg.Channels); err != nil {
			return nil, fmt.Errorf("decode: %w", err)
		}
		live.Add(1)
		return t, nil
	}
	c := astiav.FindDecoder(id)
	if c == nil {
		return nil, fmt.Errorf("decode: FFmpeg has no %s decoder", cfg.MimeType)
	}
	t.cc = astiav.AllocCodecContext(c)
	if t.cc == nil {
		return nil, fmt.Errorf("decode: %s: cannot allocate decoder", cfg.MimeType)
	}
	live.Add(1)
	// Guests' pictures are small next to the program: one thread each
	// keeps four guests from fighting the encoder for both cores.
	t.cc.SetThreadCount(1)
	if err := t.cc.Open(c, nil); err != nil {
		t.Close()
		return nil, fmt.Errorf("decode: open %s decoder: %w", cfg.MimeType, err)
	}
	t.pkt = astiav.AllocPacket()
	t.frame = astiav.AllocFrame()
	t.waitKey = true
	return t, nil
}

// WriteRTP takes the track's next RTP packet, come now.
func (t *Track) WriteRTP(p *rtp.Packet) { t.WriteRTPAt(p, time.Now()) }

// WriteRTPAt takes the track's next RTP packet, which came at at: a test
// replays packets at their own pace.
func (t *Track) WriteRTPAt(p *rtp.Packet, at time.Time) {
	t.ssrc = p.SSRC
	t.frames = t.asm.PushAt(p, at, t.frames[:0])
	t.stats.Lost, t.stats.Late = t.asm.Lost(), t.asm.Late()
	if t.video && !t.waitKey && t.asm.WaitedFor(at) > t.askAfter {
		// The retransmission is late: ask for the keyframe now, so it
		// is on its way when the buffer gives up (issue #10).
		t.askKeyframe()
	}
	for _, f := range t.frames {
		if f.Lost > 0 {
			t.log.Debug("packets lost", "n", f.Lost, "before", f.Timestamp, "lost", t.stats.Lost)
			// Whatever the lost packets held (a whole frame, the
			// end of the last one), the pictures after them refer
			// to it.
			t.startWaitKey()
		}
		t.frame1(f)
	}
	clear(t.frames) // the data is the decoder's no longer
}

// frame1 decodes one frame, in order. A broken video frame is dropped and
// the track waits for a keyframe; audio fills what was lost before it
// (audio1).
func (t *Track) frame1(f rtpframe.Frame) {
	t.ts = f.Timestamp
	if !t.video {
		t.timed(func() { t.audio1(f) })
		return
	}
	if f.Broken {
		t.startWaitKey()
		t.askKeyframe()
		return
	}
	t.timed(func() { t.decode(f.Data, f.Key) })
}

// timed runs f, a decode, and keeps the average time it takes.
func (t *Track) timed(f func()) {
	start := time.Now()
	f()
	d := time.Since(start)
	if t.stats.DecodeTime != 0 {
		d = t.stats.DecodeTime + (d-t.stats.DecodeTime)/16
	}
	t.stats.DecodeTime = d
}

// decode decodes one video frame with FFmpeg.
func (t *Track) decode(data []byte, key bool) {
	if len(data) == 0 {
		return
	}
	if t.waitKey {
		if !key {
			t.askKeyframe()
			return
		}
		t.waitKey = false
		if !t.lostAt.IsZero() {
			t.log.Debug("keyframe after loss", "waited", time.Since(t.lostAt), "asks", t.stats.KeyframeAsks)
			t.lostAt = time.Time{}
		}
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
	t.startWaitKey()
	t.askKeyframe()
}

// startWaitKey makes a video track wait for a keyframe: its pictures
// from now on refer to one it could not decode.
func (t *Track) startWaitKey() {
	if t.video && !t.waitKey {
		t.waitKey, t.lostAt = true, time.Now()
	}
}

// keyframeLatency is about how long a keyframe takes to come once asked
// for, measured in the lab (TestLabGuestOnBadNetwork: a Chromium guest
// through a relay of 50 ± 20 ms, PLI sent to keyframe decoded): 90–180 ms.
// A video track asks that long before it gives up on a missing packet
// (rtpframe.VideoWait), so that a loss NACK did not repair freezes the
// picture for about VideoWait rather than VideoWait and a round trip and
// a keyframe more (0.9 to 2 s in the lab, issue #10's target is 1 s). A
// retransmission that still comes in that last stretch made the keyframe
// needless: its cost.
const keyframeLatency = 150 * time.Millisecond

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
	if at, ok := t.place(t.ts); ok {
		t.timedTo.WriteVideoAt(out, at)
	} else {
		t.cfg.Target.WriteVideo(out)
	}
	t.stats.Frames++
}

// place is the program time at which the frame of RTP time ts plays;
// false to hand it on as it comes (no Playout, or no report yet).
func (t *Track) place(ts uint32) (time.Duration, bool) {
	if t.timedTo == nil {
		if !t.placing {
			t.placing = true
			t.log.Debug("placed by arrival: no sender's clock", "playout", t.cfg.Playout != nil)
		}
		return 0, false
	}
	now := time.Now()
	wall, ok := t.cfg.Playout.At(t.ssrc, ts, t.cfg.ClockRate, now)
	if ok != t.placed || !t.placing {
		t.placed, t.placing = ok, true
		t.log.Debug("placed by the sender's clock", "on", ok, "ssrc", t.ssrc, "delay", t.cfg.Playout.Delay())
	}
	if !ok {
		return 0, false
	}
	return t.cfg.Clock.Of(wall), true
}

// writeAudio hands samples whose first is of RTP time ts to the target,
// at their time if they can be placed.
func (t *Track) writeAudio(pcm []float32, rate, channels int, ts uint32) error {
	if at, ok := t.place(ts); ok {
		return t.timedTo.WriteAudioAt(pcm, rate, channels, at)
	}
	return t.cfg.Target.WriteAudio(pcm, rate, channels)
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
	if t.opus != nil {
		t.opus = nil // its memory is Go's
		live.Add(-1)
	}
}

// live counts the decoders allocated and not yet freed, in the process.
var live atomic.Int64

// Live is how many decoders are allocated and not yet freed (Close), in
// the whole process: what a test checks to know nothing of a guest who
// left is still held in FFmpeg's or libopus's memory.
func Live() int64 { return live.Load() }
