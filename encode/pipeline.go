// Package encode is the program's media path: sources → compositor and
// mixer (and its master bus: limiter, loudness meter) → H.264 and AAC
// encoders → outputs (RTMP, files). It knows nothing
// of guests or windows: the studio feeds it Inputs, Outputs and a Scene
// (package scene) that says how to arrange the inputs, by name.
//
// Each stage is one goroutine, and stages hand work on through bounded
// hand-offs that drop rather than wait:
//
//	sources ─Put─▶ Slot ◀─tick─ video stage ─frame─▶ encoder stage ─┐
//	        ─Write▶ Track ◀─tick─ audio stage (mix, master, AAC) ───┼▶ fan-out ─▶ Output queues
//
// Both stages tick on one media clock (package clock), so audio and video
// timestamps agree without any later correction.
package encode

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asticode/go-astiav"

	"greenroom/encode/clock"
	"greenroom/encode/codec"
	"greenroom/encode/compositor"
	"greenroom/encode/master"
	"greenroom/encode/mixer"
	"greenroom/encode/music"
	"greenroom/encode/scene"
	"greenroom/encode/shim"
	"greenroom/encode/stream"
)

// Config is the program's format.
type Config struct {
	Width, Height int // default 1280x720
	FPS           int // default 30
	VideoBitRate  int // bits per second; default 4.5 Mb/s at 720p, 6 Mb/s at 1080p
	AudioBitRate  int // bits per second; default 128 kb/s
	Preset        string
	Logger        *slog.Logger
}

// Format is the part of Config that Reconfigure changes in a running
// program: the picture's size and rate and the video bit rate.
type Format struct {
	Width, Height int
	FPS           int
	VideoBitRate  int // bits per second; 0: the default for the size
}

// Format is the config's Format.
func (c Config) Format() Format {
	return Format{Width: c.Width, Height: c.Height, FPS: c.FPS, VideoBitRate: c.VideoBitRate}
}

func (c *Config) setFormat(f Format) {
	c.Width, c.Height, c.FPS, c.VideoBitRate = f.Width, f.Height, f.FPS, f.VideoBitRate
}

// check refuses a format the program cannot have.
func (c *Config) check() error {
	if c.Width%2 != 0 || c.Height%2 != 0 || c.Width < 160 || c.Height < 90 || c.Width > 3840 || c.Height > 2160 {
		return fmt.Errorf("encode: program size %dx%d: want even sizes from 160x90 to 3840x2160", c.Width, c.Height)
	}
	if c.FPS < 1 || c.FPS > 60 {
		return fmt.Errorf("encode: %d fps: want 1 to 60", c.FPS)
	}
	return nil
}

// WithDefaults is c with every zero field at its default, as New fills it
// in: what a program from c will be.
func (c Config) WithDefaults() Config {
	c.defaults()
	return c
}

func (c *Config) defaults() {
	if c.Width == 0 || c.Height == 0 {
		c.Width, c.Height = 1280, 720
	}
	if c.FPS == 0 {
		c.FPS = 30
	}
	if c.VideoBitRate == 0 {
		c.VideoBitRate = 4500_000
		if c.Width*c.Height > 1280*720 {
			c.VideoBitRate = 6000_000
		}
	}
	if c.AudioBitRate == 0 {
		c.AudioBitRate = 128_000
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Stats is the pipeline's own health: is it keeping up with real time?
type Stats struct {
	Uptime     time.Duration
	Frames     int64         // video frames made (encoded while there is an output)
	Dropped    int64         // frames not encoded because a stage was behind
	EncodeTime time.Duration // average per video frame, last few seconds
	// Latency is how long the newest source picture takes from arriving
	// (decoded, for a guest) to leaving the encoder for the outputs:
	// waiting for the tick, compositing, encoding. Average, last few
	// seconds; zero with no live source.
	Latency time.Duration
	Preset  string // the x264 preset now in use
	// VerticalPreset is the vertical program's (its governor steps it
	// apart); "" while the vertical program is not open.
	VerticalPreset string
	// Behind is true while encoding does not keep up with real time; the
	// pipeline is then stepping to a faster preset.
	Behind bool
	Width  int
	Height int
	FPS    int
}

// Pipeline runs one program. Inputs, outputs, cfg and the venc pointer
// are guarded by mu; the encoders, compositor and mixer belong to their
// stage's goroutine. fmtMu serializes Reconfigure (which stops the video
// and encoder stages, replaces what they own and starts them again) with
// AddOutput and Close.
type Pipeline struct {
	cfg   Config
	log   *slog.Logger
	clock clock.Clock

	fmtMu     sync.Mutex
	stopVideo context.CancelFunc // ends the video and encoder stages
	stages    sync.WaitGroup     // the video and encoder stages

	venc *codec.VideoEncoder
	aenc *codec.AudioEncoder
	bus  *master.Bus // the audio stage's; Loudness reads it from anywhere
	comp *compositor.Compositor

	mu       sync.Mutex
	inputs   []*Input
	outputs  []stream.Output
	preview  *preview
	vpreview *preview // the vertical program's
	// thumbs is the thumbnail goroutine, if SetThumbnails started one;
	// thumbMu (not mu) guards it, as stopping it waits for its callback.
	thumbMu sync.Mutex
	thumbs  *thumbnails

	toEncode chan toEncode      // video stage → encoder stage, capacity 1
	free     chan *astiav.Frame // frames back from the encoder stage

	// vert is the vertical program, once Vertical opened it; vertOutputs
	// (under mu) take it.
	vert        atomic.Pointer[vertical]
	vertOutputs []stream.Output

	// monitor is who listens to the mix live (SetMonitor), or nil.
	monitor atomic.Pointer[func(stereo []float32)]

	// sounds is the music player's track in the mix: no picture, not an
	// Input, so no tile, no level meter, and never "speaking" (it is
	// what ducks under speech); the monitor hears it.
	sounds *mixer.Track
	music  *music.Player

	frames, dropped atomic.Int64
	encodeNanos     atomic.Int64 // EWMA of encode time per frame
	latencyNanos    atomic.Int64 // EWMA of source arrival → encoded
	behind          atomic.Bool
	// scene is the program's arrangement, under mu; sceneGen counts its
	// changes, so the video stage picks it up without taking mu per frame.
	scene    scene.Scene
	sceneGen atomic.Int64
	// slowdown is added to every frame's encode time: tests use it to play
	// a machine too slow for the preset.
	slowdown atomic.Int64

	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup // the preview and test patterns
	encoders sync.WaitGroup // the audio stage (stages: the video ones)
	once     sync.Once
	closeErr error
}

// New opens the encoders and starts the program's clock and stages. With no
// inputs the program is the background colour and silence.
func New(cfg Config) (*Pipeline, error) {
	cfg.defaults()
	if err := cfg.check(); err != nil {
		return nil, err
	}
	p := &Pipeline{cfg: cfg, log: cfg.Logger.With("component", "encode"), scene: scene.Scene{Layout: scene.Grid}}
	var err error
	p.venc, p.free, err = newVideo(cfg, cfg.Preset)
	if err != nil {
		return nil, err
	}
	p.aenc, err = codec.NewAudioEncoder(codec.AudioConfig{BitRate: cfg.AudioBitRate})
	if err != nil {
		freeVideo(p.venc, p.free)
		return nil, err
	}
	p.bus, err = master.New(master.Config{FrameSize: p.aenc.FrameSize(), Lowpass: master.AACCutoff(cfg.AudioBitRate)})
	if err != nil {
		freeVideo(p.venc, p.free)
		p.aenc.Close()
		return nil, err
	}
	p.toEncode = make(chan toEncode, 1)
	p.comp = compositor.New(cfg.Width, cfg.Height)
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.clock = clock.New()
	p.sounds = mixer.NewTrack("sounds", mixer.TrackConfig{})
	p.music = music.New(music.Config{Now: p.clock.Now, Speaking: p.anyoneSpeaks, Logger: cfg.Logger})
	p.music.AddSink(p.sounds)
	p.encoders.Add(1)
	p.startVideo(cfg.FPS)
	go p.runAudio()
	return p, nil
}

// inFlight is how many program frames exist: one being rendered, one
// waiting for the encoder, one being encoded.
const inFlight = 3

// newVideo opens the H.264 encoder for cfg's format with this preset, and
// the frames the video stage renders into.
func newVideo(cfg Config, preset string) (*codec.VideoEncoder, chan *astiav.Frame, error) {
	return newVideoWith(codec.VideoConfig{
		Width: cfg.Width, Height: cfg.Height, FPS: cfg.FPS, BitRate: cfg.VideoBitRate, Preset: preset,
	})
}

// newVideoWith opens an H.264 encoder for vc and the frames to render into.
func newVideoWith(vc codec.VideoConfig) (*codec.VideoEncoder, chan *astiav.Frame, error) {
	venc, err := codec.NewVideoEncoder(vc)
	if err != nil {
		return nil, nil, err
	}
	free := make(chan *astiav.Frame, inFlight)
	for range inFlight {
		f, err := codec.NewVideoFrame(vc.Width, vc.Height)
		if err != nil {
			freeVideo(venc, free)
			return nil, nil, err
		}
		free <- f
	}
	return venc, free, nil
}

// freeVideo closes venc and frees the frames in free (all of them: the
// stages are not running).
func freeVideo(venc *codec.VideoEncoder, free chan *astiav.Frame) {
	for {
		select {
		case f := <-free:
			f.Free()
			continue
		default:
		}
		break
	}
	venc.Close()
}

// startVideo starts the video and encoder stages at fps frames a second.
// They end on stopVideo or the pipeline's Close.
func (p *Pipeline) startVideo(fps int) {
	ctx, cancel := context.WithCancel(p.ctx)
	p.stopVideo = cancel
	p.stages.Add(2)
	go p.runVideo(ctx, fps, p.toEncode)
	go p.runVideoEncoder(fps, p.toEncode)
}

// ErrHasOutputs is Reconfigure's refusal while the program goes out
// somewhere: a stream or a recording cannot change size or rate midway.
var ErrHasOutputs = errors.New("end the stream to change the output size")

// Reconfigure changes the program's size, frame rate and video bit rate
// while it runs, and only while it has no outputs (ErrHasOutputs
// otherwise, and nothing changes). Inputs, the scene, the audio, the
// preview and the thumbnails go on: the compositor is made afresh at the
// new size (brand, banners, ticker and name tags are rendered again for it,
// so a banner slides in again), the H.264 encoder and the program frames
// too, and the video stage restarts on the same clock at the new rate —
// the preview pauses for the few milliseconds that takes. Inputs keep what
// their sources give them: a test pattern goes on at the size and rate it
// was started with until its owner starts it again. Info and Config
// say the new format when it returns, so outputs added after are right.
//
// The encoder keeps the preset the governor had stepped to when the new
// format costs at least as much to encode (pixels a second) as the old;
// for a cheaper one it starts again from Config.Preset, and the governor
// steps down again if the machine still cannot keep up.
func (p *Pipeline) Reconfigure(f Format) error {
	p.fmtMu.Lock()
	defer p.fmtMu.Unlock()
	old := p.Config()
	cfg := old
	cfg.setFormat(f)
	cfg.defaults()
	if err := cfg.check(); err != nil {
		return err
	}
	if p.ctx.Err() != nil {
		return errors.New("encode: reconfigure: the program has ended")
	}
	p.mu.Lock()
	vertical := len(p.vertOutputs) > 0
	p.mu.Unlock()
	if p.hasOutputs() || vertical {
		return ErrHasOutputs // AddOutput waits for fmtMu: none comes now
	}
	if cfg.Format() == old.Format() {
		return nil
	}
	p.stopVideo()
	p.stages.Wait()   // every frame is back in p.free
	p.closeVertical() // Vertical opens it again at the new size
	preset := cfg.Preset
	if cfg.Width*cfg.Height*cfg.FPS >= old.Width*old.Height*old.FPS {
		preset = p.videoEncoder().Preset()
	}
	venc, free, err := newVideo(cfg, preset)
	if err != nil {
		p.toEncode = make(chan toEncode, 1)
		p.startVideo(old.FPS) // as it was
		return fmt.Errorf("encode: reconfigure to %dx%d@%d: %w", cfg.Width, cfg.Height, cfg.FPS, err)
	}
	p.comp.Close()
	p.comp = compositor.New(cfg.Width, cfg.Height) // the video stage gives it the scene
	p.mu.Lock()
	p.cfg = cfg
	oldEnc, oldFree := p.venc, p.free
	p.venc, p.free = venc, free
	pvs := []*preview{p.preview, p.vpreview}
	p.mu.Unlock()
	freeVideo(oldEnc, oldFree)
	for _, pv := range pvs {
		if pv != nil {
			pv.every = pv.everyFor(cfg.FPS) // only the video stage reads it
		}
	}
	p.encodeNanos.Store(0)
	p.latencyNanos.Store(0)
	p.behind.Store(false)
	p.toEncode = make(chan toEncode, 1)
	p.startVideo(cfg.FPS)
	p.retimeThumbnails()
	p.log.Info("program format changed", "from", fmt.Sprintf("%dx%d@%d", old.Width, old.Height, old.FPS),
		"to", fmt.Sprintf("%dx%d@%d", cfg.Width, cfg.Height, cfg.FPS), "kbps", cfg.VideoBitRate/1000, "preset", venc.Preset())
	return nil
}

// Clock is the program's media clock; sources stamp their media with it.
func (p *Pipeline) Clock() clock.Clock { return p.clock }

// Config is the program's format after defaults (and after the last
// Reconfigure).
func (p *Pipeline) Config() Config {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cfg
}

// Info describes the encoded streams, for outputs.
func (p *Pipeline) Info() stream.Info {
	p.mu.Lock() // the encoder is closed only after it is replaced, under mu
	video := p.venc.Info()
	p.mu.Unlock()
	return stream.Info{Video: video, Audio: p.aenc.Info()}
}

// videoEncoder is the current H.264 encoder; the encoder stage swaps it
// when the governor changes preset, under mu.
func (p *Pipeline) videoEncoder() *codec.VideoEncoder {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.venc
}

// Input is one source's way into the program: a picture slot for the
// compositor and an audio track for the mixer. A hidden input is still
// decoded, metered (Levels) and thumbnailed, but the layout leaves it out
// and its sound is not mixed; a muted one is shown but not heard.
type Input struct {
	p     *Pipeline
	Video *compositor.Slot
	Audio *mixer.Track
	pool  compositor.Pool
	stop  func() // stops the input's own generator, if it has one
	once  sync.Once

	hidden, muted atomic.Bool // read by the video stage each tick
	mu            sync.Mutex  // orders SetHidden's and SetMuted's writes to Audio
	// Whether the monitor (SetMonitor) is not to hear it, read by the
	// audio stage each block.
	unmonitored atomic.Bool
}

// AddInput adds a source to the program, shown after those already there.
func (p *Pipeline) AddInput(name string) *Input { return p.addInput(name, false) }

// AddHiddenInput adds a source as AddInput does, but hidden (see
// SetHidden) from the first frame on: a source that must not flash into
// the layout before its owner knows whether to show it.
func (p *Pipeline) AddHiddenInput(name string) *Input { return p.addInput(name, true) }

func (p *Pipeline) addInput(name string, hidden bool) *Input {
	// A timed source's sound may be placed up to a second ahead: a
	// guest's playout delay (clock.MaxPlayout) and their own sync offset
	// (the studio's Delay, up to 500 ms) on top of the prebuffer.
	in := &Input{p: p, Video: compositor.NewSlot(name), Audio: mixer.NewTrack(name, mixer.TrackConfig{MaxQueue: time.Second})}
	if hidden {
		in.SetHidden(true)
	}
	p.mu.Lock()
	p.inputs = append(p.inputs, in)
	p.mu.Unlock()
	return in
}

// Order sorts the inputs by rank, lowest first (equal ranks keep their
// order): the order the layout gives them tiles in, which is otherwise
// the order they were added in.
func (p *Pipeline) Order(rank func(name string) int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	slices.SortStableFunc(p.inputs, func(a, b *Input) int { return cmp.Compare(rank(a.Name()), rank(b.Name())) })
}

// Input returns the program input called name (the first, should several
// share it), or nil.
func (p *Pipeline) Input(name string) *Input {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, in := range p.inputs {
		if in.Video.Name == name {
			return in
		}
	}
	return nil
}

// Name is the input's name, as AddInput was given it.
func (in *Input) Name() string { return in.Video.Name }

// SetHidden takes the input out of the program (on) or puts it back: the
// layout arranges the others as if it did not exist (its tile leaves, and
// comes back, moving as when an input is closed or added) and its sound is
// left out of the mix. It is still decoded, metered and thumbnailed, and
// keeps its place in the order of inputs.
func (in *Input) SetHidden(on bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.hidden.Store(on)
	in.Audio.SetMuted(on || in.muted.Load())
}

// SetMuted leaves the input's sound out of the mix (on) or puts it back.
// Its samples are still pulled (so they don't pile up) and metered.
func (in *Input) SetMuted(on bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.muted.Store(on)
	in.Audio.SetMuted(on || in.hidden.Load())
}

// SetMonitored says whether the monitor (SetMonitor) hears the input (it
// does unless told otherwise, and never a muted one): the host's own
// microphone is left out of what the host hears, and so is everyone but
// those on solo. The program's mix is not changed.
func (in *Input) SetMonitored(on bool) { in.unmonitored.Store(!on) }

// Monitored says what SetMonitored last set.
func (in *Input) Monitored() bool { return !in.unmonitored.Load() }

// SetVolume sets the input's level in the mix, in dB: 0 as it comes,
// up to the caller's limit above, math.Inf(-1) off. Its meter (Levels)
// shows the sound before the volume, as it arrives.
func (in *Input) SetVolume(dB float64) { in.Audio.SetGain(mixer.Gain(dB)) }

// Hidden and Muted say what SetHidden and SetMuted last set.
func (in *Input) Hidden() bool { return in.hidden.Load() }
func (in *Input) Muted() bool  { return in.muted.Load() }

// SetMonitor has f hear the mix as it is made: every block of the
// program's sound (1024 frames, interleaved stereo at mixer.Rate, on the
// program's clock), with the inputs the monitor hears (SetMonitored; not
// those muted) at their gains, whether or not the program
// has them (a guest in the green room is heard). f runs on the audio
// stage and must not block; it may not keep stereo. nil stops it. The
// host's speakers are such a monitor (package speaker).
func (p *Pipeline) SetMonitor(f func(stereo []float32)) {
	if f == nil {
		p.monitor.Store(nil)
		return
	}
	p.monitor.Store(&f)
}

// Levels is each input's sound level by name: the loudest sample of the
// last 100–200 ms (mixer.LevelWindow), 0..1, hidden and muted inputs too.
func (p *Pipeline) Levels() map[string]float32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	levels := make(map[string]float32, len(p.inputs))
	for _, in := range p.inputs {
		levels[in.Video.Name] = in.Audio.Stats().Level
	}
	return levels
}

// Speaking is the names of the inputs whose source speaks now
// (mixer.TrackStats.Speaking: with hysteresis, hidden and muted ones
// too), sorted.
func (p *Pipeline) Speaking() []string {
	var names []string
	for in := range p.speakers() {
		names = append(names, in.Video.Name)
	}
	slices.Sort(names)
	return names
}

// speakers yields the inputs whose source speaks now
// (mixer.TrackStats.Speaking), hidden and muted ones too, holding p.mu
// while it runs: the one place Speaking and anyoneSpeaks ask.
func (p *Pipeline) speakers() iter.Seq[*Input] {
	return func(yield func(*Input) bool) {
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, in := range p.inputs {
			if in.Audio.Stats().Speaking && !yield(in) {
				return
			}
		}
	}
}

// NewFrame returns a w×h picture for this input to fill and pass to
// WriteVideo; pictures are recycled, not allocated per frame.
func (in *Input) NewFrame(w, h int) *compositor.Frame { return in.pool.Get(w, h) }

// WriteVideo makes f the input's current picture, taking the caller's
// reference.
func (in *Input) WriteVideo(f *compositor.Frame) { in.Video.Put(f) }

// WriteVideoAt makes f the input's picture at media time at on the
// program clock (at once if that has passed), taking the caller's
// reference; placed as late as the input's sound still plays against
// where its own writes put it (mixer.Track.Late), so that a picture and
// a sound captured together play together while the sound slips to a
// new place.
func (in *Input) WriteVideoAt(f *compositor.Frame, at time.Duration) {
	in.Video.PutAt(f, in.p.clock.At(at+in.Audio.Late()))
}

// WriteAudio queues interleaved float samples.
func (in *Input) WriteAudio(pcm []float32, rate, channels int) error {
	return in.Audio.Write(pcm, rate, channels)
}

// WriteAudioAt queues samples whose first one belongs at media time at
// on the program clock: they are mixed exactly then (see mixer.WriteAt).
func (in *Input) WriteAudioAt(pcm []float32, rate, channels int, at time.Duration) error {
	return in.Audio.WriteAt(pcm, rate, channels, int64(clock.Timestamp(at, astiav.NewRational(1, mixer.Rate))))
}

// Close takes the input out of the program. Safe to call twice.
func (in *Input) Close() {
	in.once.Do(func() {
		if in.stop != nil {
			in.stop()
		}
		p := in.p
		p.mu.Lock()
		p.inputs = slices.DeleteFunc(p.inputs, func(x *Input) bool { return x == in })
		p.mu.Unlock()
		in.Video.Clear()
		// The audio stage may be pulling from the track right now; the
		// track's own lock makes Close wait for that.
		in.Audio.Close()
	})
}

// Layouts are the arrangements SetLayout accepts (package scene's).
var Layouts = scene.Layouts

// SetScene arranges the program: the layout, the main input (by name), the
// name tags and which inputs are letterboxed rather than cropped. Tiles
// move to their new places over scene.TransitionTime.
func (p *Pipeline) SetScene(s scene.Scene) error {
	if err := s.Valid(); err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	s.Names, s.Fit = maps.Clone(s.Names), maps.Clone(s.Fit) // the video stage reads them
	p.mu.Lock()
	p.scene = s
	p.mu.Unlock()
	p.sceneGen.Add(1)
	return nil
}

// Scene returns the program's arrangement (its maps are shared: read only).
func (p *Pipeline) Scene() scene.Scene {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.scene
}

// SetLayout changes only the scene's layout: one of Layouts ("grid" tiles
// every input, "solo" shows the main input alone, full frame, …).
func (p *Pipeline) SetLayout(name string) error {
	if err := (scene.Scene{Layout: name}).Valid(); err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	p.mu.Lock()
	p.scene.Layout = name
	p.mu.Unlock()
	p.sceneGen.Add(1)
	return nil
}

// AddOutput starts sending the program to o, which must have been made
// for Info as it is now (not before a Reconfigure). The pipeline owns o
// from now on and closes it on RemoveOutput or Close.
func (p *Pipeline) AddOutput(o stream.Output) {
	p.fmtMu.Lock()
	defer p.fmtMu.Unlock()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.outputs = append(p.outputs, o)
}

// RemoveOutput stops sending to o and closes it.
func (p *Pipeline) RemoveOutput(o stream.Output) error {
	p.mu.Lock()
	n := len(p.outputs)
	p.outputs = slices.DeleteFunc(p.outputs, func(x stream.Output) bool { return x == o })
	found := len(p.outputs) != n || p.removeVerticalOutput(o)
	p.mu.Unlock()
	if !found {
		return fmt.Errorf("encode: output %s is not part of the program", o.Name())
	}
	return o.Close()
}

// Outputs returns every output's stats, the vertical program's last.
func (p *Pipeline) Outputs() []stream.Stats {
	p.mu.Lock()
	outs := slices.Concat(p.outputs, p.vertOutputs)
	p.mu.Unlock()
	stats := make([]stream.Stats, len(outs))
	for i, o := range outs {
		stats[i] = o.Stats()
	}
	return stats
}

// Stats reports whether the pipeline keeps up.
func (p *Pipeline) Stats() Stats {
	p.mu.Lock()
	cfg, preset, vpreset := p.cfg, p.venc.Preset(), ""
	if v := p.vert.Load(); v != nil {
		vpreset = v.venc.Preset()
	}
	p.mu.Unlock()
	return Stats{
		Uptime:         p.clock.Now(),
		Frames:         p.frames.Load(),
		Dropped:        p.dropped.Load(),
		EncodeTime:     time.Duration(p.encodeNanos.Load()),
		Latency:        time.Duration(p.latencyNanos.Load()),
		Preset:         preset,
		VerticalPreset: vpreset,
		Behind:         p.behind.Load(),
		Width:          cfg.Width, Height: cfg.Height, FPS: cfg.FPS,
	}
}

// hasOutputs says whether anything takes the encoded program now.
func (p *Pipeline) hasOutputs() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.outputs) > 0
}

func (p *Pipeline) publish(pkt *stream.Packet) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, o := range p.outputs {
		o.Write(pkt)
	}
}

// publishSound sends an audio packet to every output, landscape and
// vertical: both programs share the sound.
func (p *Pipeline) publishSound(pkt *stream.Packet) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, o := range p.outputs {
		o.Write(pkt)
	}
	for _, o := range p.vertOutputs {
		o.Write(pkt)
	}
}

// previewOf is the preview in slot (&p.preview or &p.vpreview), or nil.
func (p *Pipeline) previewOf(slot **preview) *preview {
	p.mu.Lock()
	defer p.mu.Unlock()
	return *slot
}

func (p *Pipeline) snapshotInputs(dst []*Input) []*Input {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append(dst[:0], p.inputs...)
}

// sleepUntil waits for the wall instant t; false if ctx ended.
func sleepUntil(ctx context.Context, t time.Time, timer *time.Timer) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer.Reset(d)
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// runVideo is the video stage: at every frame tick it renders the newest
// picture of each input and hands the frame to the encoder stage. It never
// waits for the encoder: with no free frame the tick is dropped and counted.
// Frame n is due at n/fps on the program clock; a stage started by
// Reconfigure begins at the next such tick, so timestamps go on from the
// program's present.
func (p *Pipeline) runVideo(ctx context.Context, fps int, out chan<- toEncode) {
	defer p.stages.Done()
	defer close(out)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var inputs []*Input
	var slots []*compositor.Slot
	sceneGen := int64(-1) // a new compositor: give it the scene at once
	interval := time.Second / time.Duration(fps)
	for n := int64((p.clock.Now() + interval - 1) / interval); ; n++ {
		due := time.Duration(n) * interval
		if !sleepUntil(ctx, p.clock.At(due), timer) {
			return
		}
		// Far behind (the machine stalled): skip to the current tick
		// rather than render a burst of stale frames.
		if late := p.clock.Now() - due; late > 2*interval {
			skip := int64(late / interval)
			p.dropped.Add(skip)
			n += skip
		}
		inputs = p.snapshotInputs(inputs)
		slots = slots[:0]
		for _, in := range inputs {
			if in.hidden.Load() {
				continue // for the layout, as if it did not exist
			}
			// Rings whoever speaks, unless nobody hears them.
			in.Video.SetSpeaking(in.Audio.Stats().Speaking && !in.muted.Load())
			slots = append(slots, in.Video)
		}
		if g := p.sceneGen.Load(); g != sceneGen {
			sceneGen = g
			p.comp.SetScene(p.Scene()) // valid: SetScene checked it
		}
		// The frame stands for its interval on screen; pictures are
		// placed to their instant (a guest's by their sender's clock), so
		// the frame shows those due by its middle: each lands in the
		// frame nearest its time, half a frame early or late. By when
		// the loop drew it, every picture was up to a frame late (the
		// sound 17 ms early on average, and the later the loop, under
		// load, the less). Both programs, landscape and vertical, take
		// their slots' pictures at that one instant.
		at := p.clock.At(time.Duration(n)*interval + interval/2)
		var newest time.Time
		for _, sl := range slots {
			if u := sl.Updated(at); u.After(newest) {
				newest = u
			}
		}
		p.renderVertical(n, at, slots, sceneGen, newest)
		var f *astiav.Frame
		select {
		case f = <-p.free:
		default:
			p.dropped.Add(1) // the encoder still has every frame: it is behind
			continue
		}
		canvas, err := p.comp.Render(slots, at)
		if err == nil {
			err = shim.CopyImage(f, canvas)
		}
		if err != nil {
			p.log.Error("render", "err", err)
			p.free <- f
			continue
		}
		if pv := p.previewOf(&p.preview); pv != nil {
			pv.offer(n, canvas)
		}
		f.SetPts(n)
		out <- toEncode{f, newest} // never blocks: at most len(free) frames exist
	}
}

// toEncode is a rendered frame on its way to the encoder, with the arrival
// time of the newest source picture in it (for Stats.Latency).
type toEncode struct {
	frame  *astiav.Frame
	newest time.Time
}

// runVideoEncoder is the encoder stage: H.264-encode every frame it gets
// while there is an output (without one, frames are only counted),
// stepping the preset when the governor says so, then flush when the video
// stage ends.
func (p *Pipeline) runVideoEncoder(fps int, in <-chan toEncode) {
	defer p.stages.Done()
	venc := p.videoEncoder()
	ladder := codec.Presets
	level := slices.Index(ladder, venc.Preset())
	var gov *governor
	if level >= 0 { // a preset off the ladder was the user's choice: keep it
		gov = newGovernor(time.Second/time.Duration(fps), len(ladder), level)
		gov.lastDrops = p.dropped.Load() // before this encoder: not its doing
	}
	idle := false
	for job := range in {
		f := job.frame
		if !p.hasOutputs() {
			// Nobody to send it to: the picture was made for the preview
			// and the meters; x264, most of the program's CPU, rests.
			p.free <- f
			p.frames.Add(1)
			idle = true
			if gov != nil {
				gov.lastDrops = p.dropped.Load() // x264 rests: not its doing
			}
			continue
		}
		if idle {
			// The first output after a rest starts on this frame, an IDR
			// (with a closed GOP x264 makes a forced keyframe an IDR),
			// instead of waiting up to a GOP for the next one.
			f.SetPictureType(astiav.PictureTypeI)
			idle = false
		}
		start := time.Now()
		err := venc.Encode(f, p.publish)
		f.SetPictureType(astiav.PictureTypeNone) // frames are recycled
		if d := p.slowdown.Load(); d > 0 {
			time.Sleep(time.Duration(d))
		}
		took := time.Since(start)
		p.free <- f
		if !job.newest.IsZero() && err == nil {
			// zerolatency: the frame's packet was published within Encode.
			lat := int64(time.Since(job.newest))
			if old := p.latencyNanos.Load(); old != 0 {
				lat = old + (lat-old)/16
			}
			p.latencyNanos.Store(lat)
		}
		if err != nil {
			p.log.Error("video encode", "err", err)
			continue
		}
		p.frames.Add(1)
		old := p.encodeNanos.Load()
		avg := old + (int64(took)-old)/16
		p.encodeNanos.Store(avg)
		if gov == nil {
			continue
		}
		next := gov.observe(time.Now(), time.Duration(avg), p.dropped.Load())
		p.behind.Store(gov.behind())
		if next != level && p.stepPreset(&p.venc, ladder[next], "landscape", p.publish) {
			venc, level = p.venc, next // this stage's own write: read without mu
			// The new encoder starts from scratch: judge it afresh.
			p.encodeNanos.Store(0)
		}
	}
	if err := venc.Encode(nil, p.publish); err != nil {
		p.log.Warn("video flush", "err", err)
	}
}

// After a stall of the machine the audio stage is late, and catches up
// at most a block every catchUpEvery (4× real time) once it is more than
// catchUpAfter behind: the guests' decoders, starved by the same stall,
// then put their sound in before it is mixed. Mixing the late blocks at
// once (in a few ms) had passed each guest's place before their decoder
// caught up: the stall's sound came after its time and was dropped, a
// silence as long as the stall (issue #10: 188 ms in the lab at load
// 15–19, after a 150 ms stall).
const (
	catchUpAfter = 25 * time.Millisecond
	catchUpEvery = 5 * time.Millisecond
)

// runAudio is the audio stage: every encoder frame (1024 samples at 48 kHz)
// it mixes the inputs, passes the sum through the master bus (limiter,
// loudness meter) and AAC-encodes what comes out. Audio is never skipped
// for small delays, only when the machine stalled for longer than half a
// second.
func (p *Pipeline) runAudio() {
	defer p.encoders.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	size := int64(p.aenc.FrameSize())
	left, right := make([]float32, size), make([]float32, size)
	monitor := make([]float32, size*mixer.Channels)
	var mix mixer.Mixer
	var inputs []*Input
	var tracks []*mixer.Track
	var heard []bool
	// The bus's frames keep the program sample they were pushed at (the
	// limiter's look-ahead is taken out of their timestamps), so audio and
	// video stay in step though the sound leaves that look-ahead (5 ms) later.
	encode := func(f *astiav.Frame) error {
		if err := p.aenc.Encode(f, p.publishSound); err != nil {
			return fmt.Errorf("audio encode: %w", err)
		}
		return nil
	}
	var mixed time.Time // when the last block was mixed
	for k := int64(0); ; k++ {
		due := time.Duration(k*size) * time.Second / mixer.Rate
		if !sleepUntil(p.ctx, p.clock.At(due), timer) {
			break
		}
		if late := p.clock.Now() - due; late > 500*time.Millisecond {
			k += int64(late) * mixer.Rate / int64(time.Second) / size
		} else if late > catchUpAfter && !sleepUntil(p.ctx, mixed.Add(catchUpEvery), timer) {
			break
		}
		mixed = time.Now()
		inputs = p.snapshotInputs(inputs)
		tracks = tracks[:0]
		for _, in := range inputs {
			tracks = append(tracks, in.Audio)
		}
		tracks = append(tracks, p.sounds)
		if mon := p.monitor.Load(); mon != nil {
			heard = heard[:0]
			for _, in := range inputs {
				heard = append(heard, in.Monitored() && !in.Muted())
			}
			heard = append(heard, true) // the music: the host hears the show's
			mix.SumMonitorAt(tracks, heard, left, right, monitor, k*size)
			(*mon)(monitor)
		} else {
			mix.SumAt(tracks, left, right, k*size)
		}
		if err := p.bus.Process(left, right, k*size, encode); err != nil {
			p.log.Error("master bus", "err", err)
		}
	}
	if err := p.bus.Flush(encode); err != nil {
		p.log.Warn("master bus flush", "err", err)
	}
	if err := p.aenc.Encode(nil, p.publishSound); err != nil {
		p.log.Warn("audio flush", "err", err)
	}
}

// Loudness is the program's sound as EBU R128 measures it after the
// limiter (package master).
func (p *Pipeline) Loudness() master.Loudness { return p.bus.Loudness() }

// ResetLoudness starts the loudness meter afresh: for a show going live,
// whose integrated loudness counts from there.
func (p *Pipeline) ResetLoudness() { p.bus.Reset() }

// SetLoudnessTarget steers the program towards lufs (−14, −16, −23…; 0
// for none, as a new program starts) with a slow gain before the limiter
// that adds no latency (master.Bus.SetTarget).
func (p *Pipeline) SetLoudnessTarget(lufs float64) error { return p.bus.SetTarget(lufs) }

// Music is the program's music player (package music): what it plays is
// mixed into the program, heard on the monitor, and written to any sink
// added to it (the host's conference feed, for the guests). It ducks
// while anyone in the program speaks.
func (p *Pipeline) Music() *music.Player { return p.music }

// anyoneSpeaks says whether anyone in the program speaks now: an input
// in the mix (not hidden, not muted) whose source speaks
// (mixer.TrackStats.Speaking, as Speaking and the ring judge it). The
// music's own track is no input: it never ducks itself.
func (p *Pipeline) anyoneSpeaks() bool {
	for in := range p.speakers() {
		if !in.hidden.Load() && !in.muted.Load() {
			return true
		}
	}
	return false
}

// Close ends the program: the stages stop, the encoders flush their last
// packets to the outputs, the outputs flush and close (in parallel), and
// everything is freed. It returns the outputs' errors. Safe to call twice.
func (p *Pipeline) Close() error {
	p.once.Do(func() {
		p.fmtMu.Lock() // not in the middle of a Reconfigure
		defer p.fmtMu.Unlock()
		p.music.Close()
		p.cancel()
		p.wg.Wait()
		p.stages.Wait()
		p.encoders.Wait()
		p.closeVertical() // its last packets out before its outputs close
		p.mu.Lock()
		outs := slices.Concat(p.outputs, p.vertOutputs)
		p.outputs, p.vertOutputs = nil, nil
		inputs := slices.Clone(p.inputs) // Input.Close edits p.inputs in place
		p.mu.Unlock()
		errs := make([]error, len(outs))
		var wg sync.WaitGroup
		for i, o := range outs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = o.Close()
			}()
		}
		wg.Wait()
		for _, slot := range []**preview{&p.preview, &p.vpreview} {
			if pv := p.previewOf(slot); pv != nil {
				pv.close()
			}
		}
		p.stopThumbnails()
		for _, in := range inputs {
			in.Close()
		}
		p.freeAll()
		p.closeErr = errors.Join(errs...)
	})
	return p.closeErr
}

func (p *Pipeline) freeAll() {
	p.comp.Close()
	freeVideo(p.venc, p.free)
	p.aenc.Close()
	p.bus.Close()
	p.sounds.Close()
}
