// Package speaker plays what the host hears of the show — the monitor mix
// (encode.Pipeline.SetMonitor: the guests, never the host's own mic) — on
// the machine's output device, through miniaudio (github.com/gen2brain/
// malgo, already in the binary: mediadevices' microphone driver captures
// the host's mic with it).
//
// The monitor comes in blocks on the program's clock; the device pulls on
// its own. A small queue between them absorbs the difference: it starts
// playing once it holds Latency, plays silence (and counts an underrun)
// when it runs dry, and when the two clocks have drifted so far that more
// than MaxQueue waits, it drops the excess at once, keeping the host's
// ears at most MaxQueue behind the show.
package speaker

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
	"unsafe"

	"github.com/gen2brain/malgo"

	"greenroom/encode/mixer"
)

// Config chooses the device and the queue.
type Config struct {
	// Backends are miniaudio's to try, in order; nil is PulseAudio
	// (PipeWire's too), ALSA, then JACK — never the null device, so a
	// machine with no sound says so. Tests use BackendNull.
	Backends []malgo.Backend
	// Latency is how much sound the queue holds before it plays (again):
	// default 60 ms. MaxQueue bounds it: default 200 ms.
	Latency, MaxQueue time.Duration
	Logger            *slog.Logger
}

// Stats say how the playing goes.
type Stats struct {
	Device    string // the device's name, as its backend gives it
	Played    int64  // frames of the show played
	Underruns int64  // times the queue ran dry
	Dropped   int64  // frames dropped to catch up
}

// Speaker plays the monitor on an output device. Write and the device's
// callback meet at mu; Close stops the device first.
type Speaker struct {
	ctx  *malgo.AllocatedContext
	dev  *malgo.Device
	name string
	log  *slog.Logger

	mu                sync.Mutex
	fifo              *mixer.FIFO
	latency, maxQueue int // frames
	playing           bool
	played, underruns int64
	dropped           int64
	tap               func([]float32) // tests: what went to the device
	closeOnce         sync.Once
	closeErr          error
}

// BackendNull is miniaudio's null device, which plays nothing on a clock
// of its own (tests). malgo v0.11.24's enumeration lacks miniaudio's
// ma_backend_custom, so its own BackendNull is miniaudio's custom backend,
// and this is one past it.
const BackendNull = malgo.BackendNull + 1

// ErrNoDevice says the machine has no output device miniaudio can open.
var ErrNoDevice = errors.New("no speakers or headphones found")

// Open starts playing (silence, until Write gives it sound) on the default
// output device of the first backend that has one.
func Open(cfg Config) (*Speaker, error) {
	if cfg.Latency <= 0 {
		cfg.Latency = 60 * time.Millisecond
	}
	if cfg.MaxQueue <= cfg.Latency {
		cfg.MaxQueue = max(200*time.Millisecond, 2*cfg.Latency)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Backends == nil {
		cfg.Backends = []malgo.Backend{malgo.BackendPulseaudio, malgo.BackendAlsa, malgo.BackendJack}
	}
	frames := func(d time.Duration) int { return int(d * mixer.Rate / time.Second) }
	s := &Speaker{
		log:      cfg.Logger.With("component", "speaker"),
		fifo:     mixer.NewFIFO(frames(cfg.MaxQueue) + mixer.Rate/10),
		latency:  frames(cfg.Latency),
		maxQueue: frames(cfg.MaxQueue),
	}
	ctx, err := malgo.InitContext(cfg.Backends, malgo.ContextConfig{}, nil)
	if err != nil {
		return nil, fmt.Errorf("%w (%v)", ErrNoDevice, err)
	}
	s.ctx = ctx
	dc := malgo.DefaultDeviceConfig(malgo.Playback)
	dc.Playback.Format = malgo.FormatF32
	dc.Playback.Channels = mixer.Channels
	dc.SampleRate = mixer.Rate
	dc.PeriodSizeInMilliseconds = 10
	dev, err := malgo.InitDevice(ctx.Context, dc, malgo.DeviceCallbacks{Data: s.fill})
	if err != nil {
		s.freeContext()
		return nil, fmt.Errorf("%w (%v)", ErrNoDevice, err)
	}
	s.dev = dev
	s.name = defaultName(ctx.Context)
	if err := dev.Start(); err != nil {
		dev.Uninit()
		s.freeContext()
		return nil, fmt.Errorf("start the speakers: %w", err)
	}
	s.log.Info("playing the show's sound", "device", s.name)
	return s, nil
}

// defaultName is the name of the backend's default output device ("" if
// it says none).
func defaultName(ctx malgo.Context) string {
	devs, err := ctx.Devices(malgo.Playback)
	if err != nil {
		return ""
	}
	for _, d := range devs {
		if d.IsDefault != 0 {
			return d.Name()
		}
	}
	return ""
}

func (s *Speaker) freeContext() {
	_ = s.ctx.Uninit()
	s.ctx.Free()
}

// Write queues a block of interleaved stereo at mixer.Rate; it never
// blocks. It is the Pipeline's monitor (SetMonitor).
func (s *Speaker) Write(stereo []float32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropped += int64(s.fifo.Write(stereo))
	if over := s.fifo.Len() - s.maxQueue; over > 0 {
		// The device's clock runs slower than the program's, or it
		// stalled: back to the latency at once, rather than stay late.
		s.dropped += int64(s.fifo.Discard(s.fifo.Len() - s.latency))
	}
}

// fill is the device's callback: out is frameCount frames of interleaved
// float32 to fill.
func (s *Speaker) fill(out, _ []byte, frameCount uint32) {
	if len(out) < 4 {
		return
	}
	samples := unsafe.Slice((*float32)(unsafe.Pointer(&out[0])), len(out)/4)
	s.mu.Lock()
	defer s.mu.Unlock()
	got := 0
	if !s.playing && s.fifo.Len() >= s.latency {
		s.playing = true
	}
	if s.playing {
		got = s.fifo.Read(samples)
		if got < len(samples) {
			s.playing = false
			s.underruns++
		}
		s.played += int64(got / mixer.Channels)
	}
	clear(samples[got:])
	if s.tap != nil {
		s.tap(samples)
	}
}

// Stats says how the playing goes.
func (s *Speaker) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{Device: s.name, Played: s.played, Underruns: s.underruns, Dropped: s.dropped}
}

// Close stops the device and frees it. Safe to call twice.
func (s *Speaker) Close() error {
	s.closeOnce.Do(func() {
		s.closeErr = s.dev.Stop()
		s.dev.Uninit()
		s.freeContext()
	})
	return s.closeErr
}
