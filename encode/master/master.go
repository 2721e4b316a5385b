// Package master owns the program's master bus: the sum of every source,
// before the AAC encoder, goes through a look-ahead true-peak limiter and
// is measured to EBU R128 (momentary, short-term, integrated loudness and
// true peak). Both are FFmpeg's own filters (alimiter, ebur128) in
// go-astiav filter graphs, not hand-written DSP (issue #12). A loudness
// target, if set, is a slow gain before the limiter steered by that meter
// (target.go: FFmpeg's normalisers wait seconds, too long for live). It
// knows nothing of sources or outputs: the pipeline's audio stage hands it
// each summed block and encodes what comes out.
package master

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/asticode/go-astiav"

	"greenroom/encode/filter"
	"greenroom/encode/mixer"
	"greenroom/encode/shim"
)

// Config tunes the bus.
type Config struct {
	// Ceiling is the highest true peak the program may reach, in dBTP:
	// −1 by default, as EBU R128 s1 and the streaming platforms ask.
	Ceiling float64
	// CodecHeadroom is how far below Ceiling the limiter holds the mix,
	// in dB, for what the AAC encoder adds: with the mix held at −4 dBTP
	// (and Lowpass), FFmpeg's aac at 128 kb/s gave sines back at −3.7 to
	// −3.0 dBTP and +6 dBFS square waves at −2.7 to −1.9 (ffmpeg's
	// ebur128 on the encoded file). Default 3.
	CodecHeadroom float64
	// FrameSize is the samples per frame that come out (the encoder's:
	// 1024 for AAC-LC).
	FrameSize int
	// Lowpass is the encoder's own cutoff, in Hz (AACCutoff): a mix
	// limited at full band loses its top in the encoder, and that alone
	// rings the waveform over the limit (a limited 1 kHz square wave went
	// from −2.7 to +1.3 dBTP through AAC without it); taken off before the
	// limiter, the limiter sees what the encoder keeps. Default 16 kHz.
	Lowpass int
}

// AACCutoff is the band FFmpeg's aac encoder keeps at bitRate (bits a
// second, stereo), by its own rule (libavcodec/psymodel.h,
// AAC_CUTOFF_FROM_BITRATE): 16 kHz at 128 kb/s.
func AACCutoff(bitRate int) int {
	perChannel := bitRate / 2
	return min(max(perChannel/5, perChannel*15/32-5500), 3000+perChannel/4, 12000+perChannel/16, 22000, mixer.Rate/2)
}

func (c *Config) defaults() {
	if c.Ceiling == 0 {
		c.Ceiling = -1
	}
	if c.CodecHeadroom == 0 {
		c.CodecHeadroom = 3
	}
	if c.FrameSize == 0 {
		c.FrameSize = 1024
	}
	if c.Lowpass == 0 {
		c.Lowpass = AACCutoff(128_000)
	}
}

// Loudness is the program's level as EBU R128 measures it, after the
// limiter: what goes to the encoder.
type Loudness struct {
	Momentary  float64 // LUFS, the last 400 ms
	ShortTerm  float64 // LUFS, the last 3 s
	Integrated float64 // LUFS, the whole show so far (gated)
	TruePeak   float64 // dBTP, the highest since the start
	// MixPeak is the highest sample of the sum before the limiter since
	// the start, dBFS: above 0, the old hard clip would have cut it.
	MixPeak float64
	// Target is the loudness target (SetTarget; 0: none) and Gain what
	// it adds to the sum now, in dB.
	Target, Gain float64
}

// Silence is the floor every figure starts at and never goes below (dB):
// ebur128 says −70 LUFS (its absolute gate) or −120 for no sound.
const Silence = -120.0

var silent = Loudness{Momentary: Silence, ShortTerm: Silence, Integrated: Silence, TruePeak: Silence, MixPeak: Silence}

// meterChain measures to EBU R128, its figures on every 100 ms frame.
const meterChain = "ebur128=metadata=1:peak=true"

// The limiter's look-ahead is its attack: alimiter delays the sound by it
// to see a peak coming and turn down in time. With latency=1 it takes that
// delay back out of the timestamps, so the program's audio keeps its place
// against the video, which need not wait for it; what remains is that the
// bus holds the newest attack's worth of sound (and what the resamplers
// hold) until the next block pushes it out. Release is how fast it lets go: slow enough that speech
// does not pump.
const (
	attackMS  = 5
	releaseMS = 80
	// latency is what the limiter chain holds back in real time, in
	// program samples: the attack, and the two resamplers' filters
	// (swresample's default 32 taps: 16 samples each way at 48 kHz; the
	// first frame came out once exactly 272 samples more than a frame
	// had gone in). A limiter starts on this much silence (preRoll), so
	// its encoder frames begin that early and each block completes one:
	// otherwise the first block's frame lacks what is held, and every
	// frame after leaves a whole block late (21 ms, not 6).
	latency = attackMS*mixer.Rate/1000 + 2*16
	// oversample: alimiter works on sample peaks; at 4× the rate the
	// peaks between samples, which a DAC or the next resampler makes,
	// are samples too (ITU-R BS.1770's true peak is measured at 4× too).
	oversample = 4
)

// Bus is the master bus. Process and Flush are called by one goroutine
// (the audio stage); Loudness by any, under mu.
type Bus struct {
	cfg Config

	limiter, meter    *astiav.FilterGraph
	limitIn, limitOut *astiav.FilterContext
	meterIn, meterOut *astiav.FilterContext
	in, out, metered  *astiav.Frame
	pushed, pulled    int64 // samples into and out of the limiter
	mixPeak, truePeak float32
	mu                sync.Mutex
	loud              Loudness
	once              sync.Once
	reset             atomic.Bool   // Reset asked: the next Process starts the meter afresh
	chain             string        // the limiter's filters
	target            atomic.Uint64 // the loudness target's float64 bits; 0: none (SetTarget)
	gainDB            float64       // the target's gain now (steer)
	gain              float32       // linear gain the last block ended on
	scaled            [2][]float32  // the block with the gain applied
	next              int64         // the program sample the next block should start at; -1 before the first
	silence           []float32     // preRoll's
}

// New builds the limiter and the meter.
func New(cfg Config) (*Bus, error) {
	cfg.defaults()
	if cfg.Ceiling > 0 || cfg.CodecHeadroom < 0 {
		return nil, fmt.Errorf("master: ceiling %.1f dBTP with %.1f dB headroom: the limit must be at or below full scale", cfg.Ceiling, cfg.CodecHeadroom)
	}
	b := &Bus{cfg: cfg, loud: silent, next: -1, gain: 1}
	limit := math.Pow(10, (cfg.Ceiling-cfg.CodecHeadroom)/20)
	up := strconv.Itoa(mixer.Rate * oversample)
	// Twice a two-pole: 24 dB an octave, steep enough to matter.
	lp := fmt.Sprintf("lowpass=f=%d:p=2", cfg.Lowpass)
	// asetnsamples pads a last, short frame with silence: FFmpeg's aac
	// takes a short frame only as the very last of a stream, and the
	// limiter is flushed at every jump in time too (Process).
	b.chain = lp + "," + lp + ",aresample=" + up +
		fmt.Sprintf(",alimiter=limit=%.6f:level=0:latency=1:attack=%d:release=%d", limit, attackMS, releaseMS) +
		",aresample=" + strconv.Itoa(mixer.Rate) +
		",aformat=sample_fmts=fltp:channel_layouts=stereo" +
		",asetnsamples=n=" + strconv.Itoa(cfg.FrameSize) + ":p=1"
	var err error
	if b.limiter, b.limitIn, b.limitOut, err = graph(b.chain); err != nil {
		b.Close()
		return nil, err
	}
	if b.meter, b.meterIn, b.meterOut, err = graph(meterChain); err != nil {
		b.Close()
		return nil, err
	}
	b.in, b.out, b.metered = astiav.AllocFrame(), astiav.AllocFrame(), astiav.AllocFrame()
	return b, nil
}

// graph builds abuffer → chain → abuffersink for 48 kHz stereo float.
func graph(chain string) (*astiav.FilterGraph, *astiav.FilterContext, *astiav.FilterContext, error) {
	g, in, out, err := filter.Graph(astiav.FilterArgs{
		"sample_rate":    strconv.Itoa(mixer.Rate),
		"sample_fmt":     astiav.SampleFormatFltp.Name(),
		"channel_layout": "stereo",
		"time_base":      "1/" + strconv.Itoa(mixer.Rate),
	}, chain)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("master: %w", err)
	}
	return g, in, out, nil
}

// Reset starts the meter afresh (integrated loudness, true and mix peak)
// from the next block: a show going live is measured from its start, not
// from when the studio opened. Any goroutine may call it.
func (b *Bus) Reset() { b.reset.Store(true) }

// restartMeter builds a new meter in place of the old one (ebur128 has no
// reset of its own).
func (b *Bus) restartMeter() error {
	g, in, out, err := graph(meterChain)
	if err != nil {
		return err
	}
	b.meter.Free()
	b.meter, b.meterIn, b.meterOut = g, in, out
	b.truePeak, b.mixPeak = 0, 0
	b.mu.Lock()
	b.loud = silent
	b.mu.Unlock()
	return nil
}

// restartLimiter flushes the limiter to emit and builds a new one.
func (b *Bus) restartLimiter(emit func(*astiav.Frame) error) error {
	flushed := b.Flush(emit)
	g, in, out, err := graph(b.chain)
	if err != nil {
		return errors.Join(flushed, err)
	}
	b.limiter.Free()
	b.limiter, b.limitIn, b.limitOut = g, in, out
	b.pushed, b.pulled = 0, 0
	return flushed
}

// Process takes the next summed block (left and right, the same length;
// may go past ±1), whose first sample is program sample pts, and hands
// every frame that comes out of the limiter to emit: FrameSize samples,
// planar float, stamped with its program sample. The frame is the bus's
// and valid only during emit.
func (b *Bus) Process(left, right []float32, pts int64, emit func(*astiav.Frame) error) error {
	if b.reset.Swap(false) {
		if err := b.restartMeter(); err != nil {
			return err
		}
	}
	if b.next >= 0 && pts != b.next {
		// The program's clock jumped (the audio stage skips ahead after a
		// stall): the filters would carry on as if the block followed the
		// last, and stamp everything after it early by the look-ahead.
		// What the limiter holds goes out as it was; a new one starts
		// here.
		if err := b.restartLimiter(emit); err != nil {
			return err
		}
	}
	if b.pushed == 0 {
		if err := b.preRoll(pts, emit); err != nil {
			return err
		}
	}
	b.next = pts + int64(len(left))
	for i := range left {
		b.mixPeak = max(b.mixPeak, abs(left[i]), abs(right[i]))
	}
	left, right = b.applyGain(left, right)
	return b.push(left, right, pts, emit)
}

// preRoll starts a new limiter on its latency's worth of silence, ending
// at program sample pts.
func (b *Bus) preRoll(pts int64, emit func(*astiav.Frame) error) error {
	if b.silence == nil {
		b.silence = make([]float32, latency)
	}
	return b.push(b.silence, b.silence, pts-latency, emit)
}

// push hands one block to the limiter and emits what comes out.
func (b *Bus) push(left, right []float32, pts int64, emit func(*astiav.Frame) error) error {
	b.in.SetSampleFormat(astiav.SampleFormatFltp)
	b.in.SetChannelLayout(astiav.ChannelLayoutStereo)
	b.in.SetSampleRate(mixer.Rate)
	b.in.SetNbSamples(len(left))
	if err := b.in.AllocBuffer(0); err != nil {
		return fmt.Errorf("master: allocate a block: %w", err)
	}
	if err := shim.CopyPlanarFloat(b.in, [][]float32{left, right}); err != nil {
		b.in.Unref()
		return fmt.Errorf("master: %w", err)
	}
	b.in.SetPts(pts)
	b.pushed += int64(len(left))
	// The graph takes the block's buffer (no KEEP_REF): a new one is
	// allocated for the next block rather than copied when shared.
	if err := b.limitIn.BuffersrcAddFrame(b.in, astiav.NewBuffersrcFlags()); err != nil {
		b.in.Unref()
		return fmt.Errorf("master: limiter: %w", err)
	}
	return b.drain(emit)
}

// Flush pushes out what the limiter still holds (its look-ahead and a
// last, shorter frame) at the end of the program.
func (b *Bus) Flush(emit func(*astiav.Frame) error) error {
	if err := b.limitIn.BuffersrcAddFrame(nil, astiav.NewBuffersrcFlags()); err != nil {
		return fmt.Errorf("master: limiter: flush: %w", err)
	}
	return b.drain(emit)
}

func (b *Bus) drain(emit func(*astiav.Frame) error) error {
	var errs []error
	for {
		if err := b.limitOut.BuffersinkGetFrame(b.out, astiav.NewBuffersinkFlags()); err != nil {
			if !errors.Is(err, astiav.ErrEagain) && !errors.Is(err, astiav.ErrEof) {
				errs = append(errs, fmt.Errorf("master: limiter: %w", err))
			}
			break
		}
		b.pulled += int64(b.out.NbSamples())
		if err := b.meterIn.BuffersrcAddFrame(b.out, astiav.NewBuffersrcFlags(astiav.BuffersrcFlagKeepRef)); err != nil {
			errs = append(errs, fmt.Errorf("master: meter: %w", err))
		}
		if err := emit(b.out); err != nil {
			errs = append(errs, err)
		}
		b.out.Unref()
	}
	b.readMeter()
	return errors.Join(errs...)
}

// readMeter takes the meter's 100 ms frames and keeps their figures.
func (b *Bus) readMeter() {
	var l Loudness
	got := false
	for b.meterOut.BuffersinkGetFrame(b.metered, astiav.NewBuffersinkFlags()) == nil {
		l.Momentary = b.figure("lavfi.r128.M", 1)
		l.ShortTerm = b.figure("lavfi.r128.S", 1)
		l.Integrated = b.figure("lavfi.r128.I", 1)
		b.steer(l.Momentary, l.ShortTerm)
		// true_peak is linear, of the frame or the show so far depending
		// on FFmpeg's version: the highest is kept here either way.
		b.truePeak = max(b.truePeak, float32(b.figure("lavfi.r128.true_peak", 0)))
		b.metered.Unref()
		got = true
	}
	if !got {
		return
	}
	l.TruePeak, l.MixPeak, l.Gain = dB(b.truePeak), dB(b.mixPeak), b.gainDB
	b.mu.Lock()
	b.loud = l
	b.mu.Unlock()
}

// figure is a number ebur128 attached to the frame, or def.
func (b *Bus) figure(key string, def float64) float64 {
	s, ok := shim.FrameMetadata(b.metered, key)
	if !ok {
		return def
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) {
		return def
	}
	return max(v, Silence)
}

// Loudness is the latest measure (figures change every 100 ms).
func (b *Bus) Loudness() Loudness {
	b.mu.Lock()
	l := b.loud
	b.mu.Unlock()
	l.Target = b.Target()
	return l
}

// Held is how many samples of the program the bus has taken and not yet
// given out: its latency after every block of the encoder's frame size. The sound keeps its timestamps; this is only
// how much later it leaves in real time.
func (b *Bus) Held() int64 { return b.pushed - b.pulled }

// Close frees the graphs and frames. Safe to call twice.
func (b *Bus) Close() {
	b.once.Do(func() {
		for _, g := range []*astiav.FilterGraph{b.limiter, b.meter} {
			if g != nil {
				g.Free()
			}
		}
		for _, f := range []*astiav.Frame{b.in, b.out, b.metered} {
			if f != nil {
				f.Free()
			}
		}
	})
}

func abs(v float32) float32 { return float32(math.Abs(float64(v))) }

// dB is a linear level in dB, no lower than Silence.
func dB(v float32) float64 {
	if v <= 0 {
		return Silence
	}
	return max(20*math.Log10(float64(v)), Silence)
}
