// Package codec owns the program's two encoders: H.264 through libx264 and
// AAC-LC through FFmpeg's native aac encoder, both via go-astiav. It turns
// raw frames into stream.Packets on the studio media clock; it knows nothing
// of sources, layouts or outputs.
//
// An encoder is used by one goroutine (the pipeline's video or audio stage).
package codec

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/asticode/go-astiav"

	"greenroom/encode/clock"
	// For its init: glibc's mmap threshold pinned, so a closed encoder's
	// buffers go back to the OS (shim.MmapThreshold).
	_ "greenroom/encode/shim"
	"greenroom/encode/stream"
)

// Presets are the x264 presets the pipeline steps through when the machine
// cannot keep up, fastest last.
var Presets = []string{"veryfast", "superfast", "ultrafast"}

// VideoConfig is the H.264 encoder's configuration.
type VideoConfig struct {
	Width, Height int
	FPS           int
	BitRate       int    // bits per second
	Preset        string // x264 preset, default veryfast
	// KeyframeInterval is the GOP length; default 2 s, what YouTube and
	// Twitch ingest ask for.
	KeyframeInterval time.Duration
}

// VideoEncoder encodes YUV420P frames to H.264 (High profile, CBR-like).
type VideoEncoder struct {
	cfg VideoConfig
	cc  *astiav.CodecContext
	pkt *astiav.Packet
	tb  astiav.Rational
}

// NewVideoEncoder opens libx264 with cfg.
func NewVideoEncoder(cfg VideoConfig) (*VideoEncoder, error) {
	if cfg.Preset == "" {
		cfg.Preset = Presets[0]
	}
	if cfg.KeyframeInterval <= 0 {
		cfg.KeyframeInterval = 2 * time.Second
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width%2 != 0 || cfg.Height%2 != 0 || cfg.FPS <= 0 || cfg.BitRate <= 0 {
		return nil, fmt.Errorf("codec: h264: bad configuration %dx%d@%d %d b/s (sizes must be even)", cfg.Width, cfg.Height, cfg.FPS, cfg.BitRate)
	}
	c := astiav.FindEncoderByName("libx264")
	if c == nil {
		return nil, errors.New("codec: h264: FFmpeg has no libx264 encoder (install libavcodec with x264 support)")
	}
	cc := astiav.AllocCodecContext(c)
	if cc == nil {
		return nil, errors.New("codec: h264: cannot allocate codec context")
	}
	e := &VideoEncoder{cfg: cfg, cc: cc, pkt: astiav.AllocPacket(), tb: astiav.NewRational(1, cfg.FPS)}
	cc.SetWidth(cfg.Width)
	cc.SetHeight(cfg.Height)
	cc.SetPixelFormat(astiav.PixelFormatYuv420P)
	cc.SetTimeBase(e.tb)
	cc.SetFramerate(astiav.NewRational(cfg.FPS, 1))
	cc.SetSampleAspectRatio(astiav.NewRational(1, 1))
	cc.SetBitRate(int64(cfg.BitRate))
	gop := int(cfg.KeyframeInterval.Seconds() * float64(cfg.FPS))
	cc.SetGopSize(gop)
	// Outputs need SPS/PPS up front (FLV sequence header, MP4 avcC), not
	// repeated in-band only.
	cc.SetFlags(cc.Flags().Add(astiav.CodecContextFlagGlobalHeader))
	d := astiav.NewDictionary()
	defer d.Free()
	for k, v := range map[string]string{
		"preset":  cfg.Preset,
		"tune":    "zerolatency",
		"profile": "high",
		// CBR-like: ingest servers want a steady rate; a 2 s VBV smooths
		// bursts without buffering a viewer stall.
		"maxrate": strconv.Itoa(cfg.BitRate),
		"bufsize": strconv.Itoa(cfg.BitRate * 2),
		// Exactly one IDR every GOP: no scene-cut keyframes (the test
		// pattern's white flashes would otherwise make extra ones), so
		// outputs can cut and viewers join on a fixed cadence.
		"x264-params": fmt.Sprintf("keyint=%d:min-keyint=%d:scenecut=0:nal-hrd=cbr:force-cfr=1", gop, gop),
	} {
		if err := d.Set(k, v, 0); err != nil {
			e.Close()
			return nil, fmt.Errorf("codec: h264: option %s: %w", k, err)
		}
	}
	if err := cc.Open(c, d); err != nil {
		e.Close()
		return nil, fmt.Errorf("codec: h264: open libx264 (%s): %w", cfg.Preset, err)
	}
	return e, nil
}

// WithPreset opens a new encoder like e but with another x264 preset, to
// take over from e mid-stream. Its parameter sets may differ (ultrafast
// drops CABAC); outputs learn them from its first IDR frame.
func (e *VideoEncoder) WithPreset(preset string) (*VideoEncoder, error) {
	cfg := e.cfg
	cfg.Preset = preset
	return NewVideoEncoder(cfg)
}

// Info describes the stream this encoder produces.
func (e *VideoEncoder) Info() stream.VideoInfo {
	return stream.VideoInfo{Width: e.cfg.Width, Height: e.cfg.Height, FPS: e.cfg.FPS, BitRate: e.cfg.BitRate, Extradata: e.cc.ExtraData()}
}

// Preset is the x264 preset in use.
func (e *VideoEncoder) Preset() string { return e.cfg.Preset }

// Encode sends one frame whose Pts is the frame index on the 1/FPS clock
// (nil flushes) and hands every packet that comes out to emit.
func (e *VideoEncoder) Encode(f *astiav.Frame, emit func(*stream.Packet)) error {
	if err := e.cc.SendFrame(f); err != nil {
		return fmt.Errorf("codec: h264: send frame: %w", err)
	}
	// Every IDR frame carries the SPS and PPS in-band, as broadcast
	// encoders do: a player or server joining at any keyframe, an output
	// reconnecting, or one following a preset change (WithPreset) always
	// has the parameter sets of the pictures it gets. About 30 bytes every
	// GOP; x264 leaves them out when the global header is on.
	headers := e.cc.ExtraData()
	return drain(e.cc, e.pkt, e.tb, stream.Video, func(p *stream.Packet) {
		if p.Key {
			p.Data = append(append(make([]byte, 0, len(headers)+len(p.Data)), headers...), p.Data...)
		}
		emit(p)
	})
}

// Close frees the encoder. Safe to call twice.
func (e *VideoEncoder) Close() {
	freeCodec(&e.cc, &e.pkt)
}

// AudioConfig is the AAC encoder's configuration.
type AudioConfig struct {
	SampleRate int // default 48000
	Channels   int // default 2
	BitRate    int // default 128000
}

// AudioEncoder encodes planar float audio to AAC-LC.
type AudioEncoder struct {
	cfg AudioConfig
	cc  *astiav.CodecContext
	pkt *astiav.Packet
	tb  astiav.Rational
}

// NewAudioEncoder opens FFmpeg's native aac encoder.
func NewAudioEncoder(cfg AudioConfig) (*AudioEncoder, error) {
	if cfg.SampleRate == 0 {
		cfg.SampleRate = 48000
	}
	if cfg.Channels == 0 {
		cfg.Channels = 2
	}
	if cfg.BitRate == 0 {
		cfg.BitRate = 128000
	}
	if cfg.Channels != 2 {
		return nil, fmt.Errorf("codec: aac: only stereo is supported, not %d channels", cfg.Channels)
	}
	c := astiav.FindEncoderByName("aac")
	if c == nil {
		return nil, errors.New("codec: aac: FFmpeg has no aac encoder")
	}
	cc := astiav.AllocCodecContext(c)
	if cc == nil {
		return nil, errors.New("codec: aac: cannot allocate codec context")
	}
	e := &AudioEncoder{cfg: cfg, cc: cc, pkt: astiav.AllocPacket(), tb: astiav.NewRational(1, cfg.SampleRate)}
	cc.SetSampleFormat(astiav.SampleFormatFltp)
	cc.SetSampleRate(cfg.SampleRate)
	// FFmpeg 5.1 reads both the new channel layout and the old channel
	// count; setting only one leaves the encoder mono or refusing to open.
	cc.SetChannelLayout(astiav.ChannelLayoutStereo)
	cc.SetChannels(cfg.Channels)
	cc.SetBitRate(int64(cfg.BitRate))
	cc.SetTimeBase(e.tb)
	cc.SetFlags(cc.Flags().Add(astiav.CodecContextFlagGlobalHeader))
	if err := cc.Open(c, nil); err != nil {
		e.Close()
		return nil, fmt.Errorf("codec: aac: open: %w", err)
	}
	return e, nil
}

// FrameSize is the number of samples per channel the encoder wants in
// every frame but the last (1024 for AAC-LC).
func (e *AudioEncoder) FrameSize() int { return e.cc.FrameSize() }

// Info describes the stream this encoder produces.
func (e *AudioEncoder) Info() stream.AudioInfo {
	return stream.AudioInfo{
		SampleRate: e.cfg.SampleRate, Channels: e.cfg.Channels, BitRate: e.cfg.BitRate, Extradata: e.cc.ExtraData(),
		// FFmpeg's aac encoder delays by one frame (its first packet has
		// PTS -1024).
		Priming: time.Duration(e.FrameSize()) * time.Second / time.Duration(e.cfg.SampleRate),
	}
}

// NewFrame allocates a frame of FrameSize samples in the encoder's format.
func (e *AudioEncoder) NewFrame() (*astiav.Frame, error) {
	f := astiav.AllocFrame()
	f.SetSampleFormat(astiav.SampleFormatFltp)
	f.SetChannelLayout(astiav.ChannelLayoutStereo)
	f.SetSampleRate(e.cfg.SampleRate)
	f.SetNbSamples(e.FrameSize())
	if err := f.AllocBuffer(0); err != nil {
		f.Free()
		return nil, fmt.Errorf("codec: aac: allocate frame: %w", err)
	}
	return f, nil
}

// Encode sends one frame whose Pts counts samples (nil flushes) and hands
// every packet that comes out to emit.
func (e *AudioEncoder) Encode(f *astiav.Frame, emit func(*stream.Packet)) error {
	if err := e.cc.SendFrame(f); err != nil {
		return fmt.Errorf("codec: aac: send frame: %w", err)
	}
	return drain(e.cc, e.pkt, e.tb, stream.Audio, emit)
}

// Close frees the encoder. Safe to call twice.
func (e *AudioEncoder) Close() {
	freeCodec(&e.cc, &e.pkt)
}

// NewVideoFrame allocates a YUV420P frame of w×h.
func NewVideoFrame(w, h int) (*astiav.Frame, error) {
	f := astiav.AllocFrame()
	f.SetWidth(w)
	f.SetHeight(h)
	f.SetPixelFormat(astiav.PixelFormatYuv420P)
	if err := f.AllocBuffer(0); err != nil {
		f.Free()
		return nil, fmt.Errorf("codec: allocate %dx%d frame: %w", w, h, err)
	}
	return f, nil
}

// drain receives packets until the encoder wants more input (EAGAIN) or is
// flushed (EOF), converting timestamps from tb to the media clock.
func drain(cc *astiav.CodecContext, pkt *astiav.Packet, tb astiav.Rational, kind stream.Kind, emit func(*stream.Packet)) error {
	for {
		err := cc.ReceivePacket(pkt)
		if errors.Is(err, astiav.ErrEagain) || errors.Is(err, astiav.ErrEof) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("codec: receive %s packet: %w", kind, err)
		}
		emit(&stream.Packet{
			Kind: kind,
			Data: pkt.Data(), // a copy: outputs share it after the packet is reused
			PTS:  clock.Duration(pkt.Pts(), tb),
			DTS:  clock.Duration(pkt.Dts(), tb),
			Key:  kind == stream.Audio || pkt.Flags().Has(astiav.PacketFlagKey),
		})
		pkt.Unref()
	}
}

func freeCodec(cc **astiav.CodecContext, pkt **astiav.Packet) {
	if *cc != nil {
		(*cc).Free()
		*cc = nil
	}
	if *pkt != nil {
		(*pkt).Free()
		*pkt = nil
	}
}
