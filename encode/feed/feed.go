// Package feed encodes the host's own camera and microphone for the
// guests' conference: VP8 and Opus, the codecs every browser decodes, at a
// conference size (640x360 by default), separate from the program's
// H.264/AAC. The studio sends the result to every guest (studio.AddHostTrack).
// The video may be encoded in layers (Config.Layers: one VP8 encoder per
// size, each picture scaled once per layer), from which the studio sends
// each guest the one its downlink fits (issue #10).
//
// A Feed is a source's target like a program input: the host's source
// writes pictures and samples into it (encode.Tee writes one source into
// both). Its video goroutine encodes the newest picture at each tick, so a
// slow encoder skips pictures instead of queueing them; its audio goroutine
// encodes 20 ms Opus frames from a jitter-buffered track.
package feed

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asticode/go-astiav"

	"greenroom/encode/compositor"
	"greenroom/encode/mixer"
	"greenroom/encode/shim"
)

// Config is the conference encoding.
type Config struct {
	Width, Height int // default 640x360
	FPS           int // default 30
	VideoBitRate  int // default 800 kb/s
	// Layers, if set, are the video's encodings, highest first, in place
	// of Width, Height and VideoBitRate (which then describe Layers[0]).
	Layers       []Layer
	AudioBitRate int // default 64 kb/s
	// Active, if set, says whether anyone receives the feed now; while it
	// says no, nothing is encoded (the audio is still metered: Level), and
	// the first picture after is a keyframe. nil: always active.
	Active func() bool
	// LayerActive, if set, says whether layer i (an index in Layers) is
	// wanted now; a layer nobody is sent is not scaled nor encoded, and
	// its first picture after is a keyframe. nil: every layer while
	// Active.
	LayerActive func(i int) bool
	// Muted, if set, says whether the source's own sound is left out now
	// (the host muted themselves); the Sounds go on. Still metered.
	Muted func() bool
	// Own, if set, receives the source's own sound alone, without the
	// Sounds, as Opus of its own (a second encoder, ≈1 % of a core): the
	// host's own recorded file (issue #11) is the host, and the music is
	// in the program. Encoded only while Active and OwnActive say yes
	// (OwnActive nil: whenever Active).
	Own       func(Sample)
	OwnActive func() bool
	Logger    *slog.Logger
}

// Layer is one encoding of the video.
type Layer struct {
	Width, Height int
	VideoBitRate  int // bits/s
}

// Sample is one encoded frame for a WebRTC track.
type Sample struct {
	Data     []byte
	Duration time.Duration
	Layer    int // video: the index in Config.Layers (0 without layers)
}

// Feed encodes one source for the conference.
type Feed struct {
	cfg   Config
	log   *slog.Logger
	slot  *compositor.Slot
	track *mixer.Track
	// sounds is the program's music and jingles (Sounds), mixed in with
	// the host's sound for the guests; not in the host's meter (Level).
	sounds *mixer.Track
	pool   compositor.Pool

	video, audio func(Sample)
	keyframes    []atomic.Bool // per layer: its next picture is a keyframe

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// New starts encoding; video and audio receive the encoded samples on the
// feed's goroutines and must not block for long.
func New(cfg Config, video, audio func(Sample)) (*Feed, error) {
	if cfg.Width == 0 || cfg.Height == 0 {
		cfg.Width, cfg.Height = 640, 360
	}
	if cfg.FPS == 0 {
		cfg.FPS = 30
	}
	if cfg.VideoBitRate == 0 {
		cfg.VideoBitRate = 800_000
	}
	if cfg.AudioBitRate == 0 {
		cfg.AudioBitRate = 64_000
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if len(cfg.Layers) == 0 {
		cfg.Layers = []Layer{{Width: cfg.Width, Height: cfg.Height, VideoBitRate: cfg.VideoBitRate}}
	}
	cfg.Width, cfg.Height, cfg.VideoBitRate = cfg.Layers[0].Width, cfg.Layers[0].Height, cfg.Layers[0].VideoBitRate
	f := &Feed{
		cfg:       cfg,
		log:       cfg.Logger.With("component", "feed"),
		slot:      compositor.NewSlot("feed"),
		track:     mixer.NewTrack("feed", mixer.TrackConfig{Prebuffer: 40 * time.Millisecond}),
		sounds:    mixer.NewTrack("sounds", mixer.TrackConfig{}),
		video:     video,
		audio:     audio,
		keyframes: make([]atomic.Bool, len(cfg.Layers)),
	}
	var encs []*layerEncoder
	free := func() {
		for _, e := range encs {
			e.free()
		}
	}
	for _, l := range cfg.Layers {
		e, err := newLayerEncoder(cfg.FPS, l)
		if err != nil {
			free()
			return nil, err
		}
		encs = append(encs, e)
	}
	aenc, err := openOpus(cfg)
	if err != nil {
		free()
		return nil, err
	}
	var own *astiav.CodecContext
	if cfg.Own != nil {
		if own, err = openOpus(cfg); err != nil {
			aenc.Free()
			free()
			return nil, err
		}
	}
	f.ctx, f.cancel = context.WithCancel(context.Background())
	f.wg.Add(2)
	go f.runVideo(encs)
	go f.runAudio(aenc, own)
	return f, nil
}

// layerEncoder is one layer's VP8 encoder and the picture it is fed,
// scaled to its size; the video goroutine owns it.
type layerEncoder struct {
	cc     *astiav.CodecContext
	frame  *astiav.Frame
	canvas *image.YCbCr
	scaler shim.Scaler
}

func newLayerEncoder(fps int, l Layer) (*layerEncoder, error) {
	cc, err := openVP8(fps, l)
	if err != nil {
		return nil, err
	}
	frame := astiav.AllocFrame()
	frame.SetWidth(l.Width)
	frame.SetHeight(l.Height)
	frame.SetPixelFormat(astiav.PixelFormatYuv420P)
	if err := frame.AllocBuffer(0); err != nil {
		frame.Free()
		cc.Free()
		return nil, fmt.Errorf("feed: %dx%d frame: %w", l.Width, l.Height, err)
	}
	return &layerEncoder{cc: cc, frame: frame, canvas: shim.NewCanvas(l.Width, l.Height)}, nil
}

func (e *layerEncoder) free() {
	e.scaler.Close()
	e.frame.Free()
	e.cc.Free()
}

func openVP8(fps int, l Layer) (*astiav.CodecContext, error) {
	c := astiav.FindEncoderByName("libvpx")
	if c == nil {
		return nil, errors.New("feed: FFmpeg has no libvpx (VP8) encoder")
	}
	cc := astiav.AllocCodecContext(c)
	cc.SetWidth(l.Width)
	cc.SetHeight(l.Height)
	cc.SetPixelFormat(astiav.PixelFormatYuv420P)
	cc.SetTimeBase(astiav.NewRational(1, fps))
	cc.SetFramerate(astiav.NewRational(fps, 1))
	cc.SetBitRate(int64(l.VideoBitRate))
	cc.SetGopSize(fps * 4) // guests ask for keyframes when they need them
	cc.SetThreadCount(1)
	d := astiav.NewDictionary()
	defer d.Free()
	for k, v := range map[string]string{
		// Real-time, fastest: the conference must never wait on the encoder.
		"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0",
		// Lossy networks: each frame decodable without the one before it
		// was whole (RFC 7741's partition recovery), and a steady rate.
		"error-resilient": "1", "maxrate": strconv.Itoa(l.VideoBitRate), "bufsize": strconv.Itoa(l.VideoBitRate / 2),
	} {
		d.Set(k, v, 0)
	}
	if err := cc.Open(c, d); err != nil {
		cc.Free()
		return nil, fmt.Errorf("feed: open VP8 encoder %dx%d: %w", l.Width, l.Height, err)
	}
	return cc, nil
}

func openOpus(cfg Config) (*astiav.CodecContext, error) {
	c := astiav.FindEncoderByName("libopus")
	if c == nil {
		return nil, errors.New("feed: FFmpeg has no libopus encoder")
	}
	cc := astiav.AllocCodecContext(c)
	cc.SetSampleFormat(astiav.SampleFormatFlt)
	cc.SetSampleRate(48000)
	cc.SetChannelLayout(astiav.ChannelLayoutStereo)
	cc.SetChannels(2)
	cc.SetBitRate(int64(cfg.AudioBitRate))
	cc.SetTimeBase(astiav.NewRational(1, 48000))
	d := astiav.NewDictionary()
	defer d.Free()
	d.Set("application", "lowdelay", 0)
	d.Set("frame_duration", "20", 0)
	if err := cc.Open(c, d); err != nil {
		cc.Free()
		return nil, fmt.Errorf("feed: open Opus encoder: %w", err)
	}
	return cc, nil
}

// NewFrame, WriteVideo and WriteAudio make a Feed a source's target.
func (f *Feed) NewFrame(w, h int) *compositor.Frame { return f.pool.Get(w, h) }

// WriteVideo makes p the picture the next tick encodes (taking the ref).
func (f *Feed) WriteVideo(p *compositor.Frame) { f.slot.Put(p) }

// WriteAudio queues samples for the conference.
func (f *Feed) WriteAudio(pcm []float32, rate, channels int) error {
	return f.track.Write(pcm, rate, channels)
}

// Sounds is the track for the program's music and jingles, which the
// guests hear with the host (music.Player.AddSink).
func (f *Feed) Sounds() *mixer.Track { return f.sounds }

// RequestKeyframe makes the next video frame of every layer a keyframe:
// a guest joined or lost packets.
func (f *Feed) RequestKeyframe() {
	for i := range f.keyframes {
		f.keyframes[i].Store(true)
	}
}

// RequestLayerKeyframe makes the next frame of layer i a keyframe: a guest
// receiving that layer lost packets, or is to be moved onto it. The other
// layers go on without one (a keyframe costs several frames' bits).
func (f *Feed) RequestLayerKeyframe(i int) {
	if i >= 0 && i < len(f.keyframes) {
		f.keyframes[i].Store(true)
	}
}

func (f *Feed) runVideo(encs []*layerEncoder) {
	defer f.wg.Done()
	defer func() {
		for _, e := range encs {
			e.free()
		}
	}()
	pkt := astiav.AllocPacket()
	defer pkt.Free()
	tick := time.NewTicker(time.Second / time.Duration(f.cfg.FPS))
	defer tick.Stop()
	interval := time.Second / time.Duration(f.cfg.FPS)
	var n, last int64
	for {
		select {
		case <-f.ctx.Done():
			return
		case <-tick.C:
		}
		if !f.active() {
			// Nobody to send it to (no guest yet): rest, and start again
			// on a keyframe.
			f.RequestKeyframe()
			continue
		}
		// Only a new picture is worth encoding (a stalled camera costs
		// nothing); the first one is a keyframe anyway.
		if puts := f.slot.Frames(); puts == last {
			continue
		} else {
			last = puts
		}
		p := f.slot.Take()
		if p == nil {
			continue
		}
		for i, e := range encs {
			if !f.layerActive(i) {
				// Nobody is sent it (BenchmarkFeedLayers: a layer is
				// ≈3 % of a core): rest, and start again on a keyframe.
				f.keyframes[i].Store(true)
				continue
			}
			// Each layer is scaled from the source picture, not from the
			// layer above: one swscale pass each, and no blur added twice.
			err := e.scaler.Scale(&p.YCbCr, e.canvas, e.canvas.Rect)
			if err == nil {
				err = shim.CopyImage(e.frame, e.canvas)
			}
			if err != nil {
				f.log.Warn("feed picture", "layer", i, "err", err)
				continue
			}
			e.frame.SetPts(n)
			e.frame.SetPictureType(astiav.PictureTypeNone)
			if f.keyframes[i].Swap(false) {
				e.frame.SetPictureType(astiav.PictureTypeI)
			}
			if err := encode(e.cc, e.frame, pkt, func(b []byte) { f.video(Sample{Data: b, Duration: interval, Layer: i}) }); err != nil {
				f.log.Warn("feed VP8", "layer", i, "err", err)
			}
		}
		p.Release()
		n++
	}
}

func (f *Feed) runAudio(cc, own *astiav.CodecContext) {
	defer f.wg.Done()
	defer cc.Free()
	if own != nil {
		defer own.Free()
	}
	const n = 960 // 20 ms at 48 kHz
	frame := astiav.AllocFrame()
	defer frame.Free()
	frame.SetSampleFormat(astiav.SampleFormatFlt)
	frame.SetChannelLayout(astiav.ChannelLayoutStereo)
	frame.SetSampleRate(48000)
	frame.SetNbSamples(n)
	if err := frame.AllocBuffer(0); err != nil {
		f.log.Error("feed audio frame", "err", err)
		return
	}
	pkt := astiav.AllocPacket()
	defer pkt.Free()
	var mix mixer.Mixer
	left, right, packed, alone := make([]float32, n), make([]float32, n), make([]float32, 2*n), make([]float32, 2*n)
	tracks := []*mixer.Track{f.track, f.sounds}
	// The source's own sound, apart from the Sounds, for Own: the
	// mixer's monitor sum of the first track alone.
	ownOnly := []bool{true, false}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for k := int64(0); ; k++ {
		select {
		case <-f.ctx.Done():
			return
		case <-tick.C:
		}
		f.track.SetMuted(f.cfg.Muted != nil && f.cfg.Muted())
		// Also when inactive: it meters (Level).
		mix.SumMonitorAt(tracks, ownOnly, left, right, alone, -1)
		if !f.active() {
			continue
		}
		for i := range left {
			packed[2*i], packed[2*i+1] = max(-1, min(1, left[i])), max(-1, min(1, right[i]))
		}
		f.encodeAudio(cc, frame, pkt, packed, k*n, f.audio)
		if own != nil && (f.cfg.OwnActive == nil || f.cfg.OwnActive()) {
			f.encodeAudio(own, frame, pkt, alone, k*n, f.cfg.Own)
		}
	}
}

// encodeAudio encodes one block of interleaved stereo (at pts) with cc and
// hands its packets to emit.
func (f *Feed) encodeAudio(cc *astiav.CodecContext, frame *astiav.Frame, pkt *astiav.Packet, packed []float32, pts int64, emit func(Sample)) {
	if err := shim.CopyPackedFloat(frame, packed, 2); err != nil {
		f.log.Warn("feed audio", "err", err)
		return
	}
	frame.SetPts(pts)
	if err := encode(cc, frame, pkt, func(b []byte) { emit(Sample{Data: b, Duration: 20 * time.Millisecond}) }); err != nil {
		f.log.Warn("feed Opus", "err", err)
	}
}

func (f *Feed) active() bool { return f.cfg.Active == nil || f.cfg.Active() }

func (f *Feed) layerActive(i int) bool { return f.cfg.LayerActive == nil || f.cfg.LayerActive(i) }

// encode sends a frame and hands out every packet that comes back.
func encode(cc *astiav.CodecContext, frame *astiav.Frame, pkt *astiav.Packet, emit func([]byte)) error {
	if err := cc.SendFrame(frame); err != nil {
		return err
	}
	for {
		err := cc.ReceivePacket(pkt)
		if errors.Is(err, astiav.ErrEagain) || errors.Is(err, astiav.ErrEof) {
			return nil
		}
		if err != nil {
			return err
		}
		emit(pkt.Data())
		pkt.Unref()
	}
}

// Stats reports the audio level the host sends (0..1), for a meter.
func (f *Feed) Level() float32 { return f.track.Stats().Peak }

// Close stops encoding and waits for the feed's goroutines. Safe twice.
func (f *Feed) Close() {
	f.once.Do(func() {
		f.cancel()
		f.wg.Wait()
		f.slot.Clear()
		f.track.Close()
		f.sounds.Close()
	})
}
