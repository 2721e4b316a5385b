package encode

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asticode/go-astiav"

	"greenroom/encode/codec"
	"greenroom/encode/compositor"
	"greenroom/encode/shim"
	"greenroom/encode/stream"
)

// The vertical program (issue #13 item 4) is the same show for phones: the
// same inputs, scene and sound, composed in a portrait frame (package
// scene arranges 9:16 bounds for it: people stacked, the main source
// across the top) and encoded by an H.264 encoder of its own, beside the
// landscape program, on the same clock — so a flash is in both at the same
// timestamp. The sound is the one AAC stream both share. It costs nothing
// until Vertical is asked for, and is composed and encoded only while it
// has outputs (AddVerticalOutput).
type vertical struct {
	cfg  codec.VideoConfig
	comp *compositor.Compositor // the video stage's, as p.comp
	// venc is its encoder stage's, which the governor swaps for another
	// preset under p.mu, as p.venc: others read it under p.mu.
	venc *codec.VideoEncoder
	free chan *astiav.Frame // frames back from its encoder stage
	jobs chan toEncode      // video stage → its encoder stage
	done chan struct{}      // closed when its encoder stage has flushed

	sceneGen int64 // the scene the compositor has, video stage's
	// live is whether it has outputs (p.mu guards the outputs; this is
	// the video stage's cheap look).
	live            atomic.Bool
	frames, dropped atomic.Int64
	closeOnce       sync.Once
}

// VerticalSize is the portrait program's size for a landscape program of
// w×h: the same short side, 9:16 (720x1280 for 720p, 1080x1920 for 1080p).
func VerticalSize(w, h int) (int, int) {
	short := min(w, h)
	return short, short * 16 / 9 &^ 1
}

// Vertical opens the portrait program, if it is not open, and describes
// its streams for outputs: its own H.264 and the program's AAC. Its size
// is VerticalSize of the program's, at the program's frame rate and video
// bit rate, and the x264 preset the program's encoder has now.
func (p *Pipeline) Vertical() (stream.Info, error) {
	p.fmtMu.Lock()
	defer p.fmtMu.Unlock()
	if p.ctx.Err() != nil {
		return stream.Info{}, errors.New("encode: vertical: the program has ended")
	}
	v := p.vert.Load()
	if v == nil {
		cfg := p.Config()
		w, h := VerticalSize(cfg.Width, cfg.Height)
		vc := codec.VideoConfig{Width: w, Height: h, FPS: cfg.FPS, BitRate: cfg.VideoBitRate, Preset: p.videoEncoder().Preset()}
		venc, free, err := newVideoWith(vc)
		if err != nil {
			return stream.Info{}, fmt.Errorf("encode: vertical %dx%d: %w", w, h, err)
		}
		v = &vertical{cfg: vc, comp: compositor.New(w, h), venc: venc, free: free,
			jobs: make(chan toEncode, 1), done: make(chan struct{}), sceneGen: -1}
		go p.runVerticalEncoder(v)
		p.vert.Store(v)
		p.log.Info("vertical program", "size", fmt.Sprintf("%dx%d@%d", w, h, vc.FPS), "kbps", vc.BitRate/1000, "preset", vc.Preset)
	}
	p.mu.Lock()
	video := v.venc.Info()
	p.mu.Unlock()
	return stream.Info{Video: video, Audio: p.aenc.Info()}, nil
}

// AddVerticalOutput sends the vertical program (Vertical must have opened
// it) and the program's sound to o from now on, and closes it on
// RemoveOutput or Close.
func (p *Pipeline) AddVerticalOutput(o stream.Output) error {
	p.fmtMu.Lock()
	defer p.fmtMu.Unlock()
	v := p.vert.Load()
	if v == nil {
		return errors.New("encode: a vertical output before Vertical opened the vertical program")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.vertOutputs = append(p.vertOutputs, o)
	v.live.Store(true)
	return nil
}

// renderVertical is the video stage's work for the vertical program at
// tick n, whose frame stands for instant at (see runVideo): the same
// slots, composed in portrait, handed to its encoder stage — or nothing
// while it has no outputs. It never waits: with no free frame the tick
// is dropped and counted.
func (p *Pipeline) renderVertical(n int64, at time.Time, slots []*compositor.Slot, sceneGen int64, newest time.Time) {
	v := p.vert.Load()
	if v == nil || !v.live.Load() {
		return
	}
	if v.sceneGen != sceneGen {
		v.sceneGen = sceneGen
		v.comp.SetScene(p.Scene())
	}
	var f *astiav.Frame
	select {
	case f = <-v.free:
	default:
		v.dropped.Add(1)
		return
	}
	canvas, err := v.comp.Render(slots, at)
	if err == nil {
		err = shim.CopyImage(f, canvas)
	}
	if err != nil {
		p.log.Error("render vertical", "err", err)
		v.free <- f
		return
	}
	if pv := p.previewOf(&p.vpreview); pv != nil {
		pv.offer(n, canvas)
	}
	f.SetPts(n)
	select {
	case v.jobs <- toEncode{f, newest}:
	default: // its encoder is behind: the landscape program must not wait
		v.free <- f
		v.dropped.Add(1)
	}
}

// runVerticalEncoder is the vertical program's encoder stage: every frame
// to H.264 for the vertical outputs, the first after a rest an IDR, until
// closeVertical. A governor of its own steps its preset by its own encode
// times and drops, as the landscape encoder's does: the two share the
// machine, but either may be the one behind (the vertical one has as many
// pixels as 1080p).
func (p *Pipeline) runVerticalEncoder(v *vertical) {
	defer close(v.done)
	ladder := codec.Presets
	level := slices.Index(ladder, v.venc.Preset())
	var gov *governor
	if level >= 0 { // a preset off the ladder was the user's choice: keep it
		gov = newGovernor(time.Second/time.Duration(v.cfg.FPS), len(ladder), level)
	}
	idle := true
	var avg time.Duration
	for job := range v.jobs {
		f := job.frame
		if !v.live.Load() {
			v.free <- f
			idle = true
			continue
		}
		if idle {
			f.SetPictureType(astiav.PictureTypeI)
			idle = false
			if gov != nil {
				gov.lastDrops = v.dropped.Load() // while it rested: not its doing
			}
		}
		start := time.Now()
		err := v.venc.Encode(f, p.publishVertical)
		f.SetPictureType(astiav.PictureTypeNone)
		if d := p.slowdown.Load(); d > 0 {
			time.Sleep(time.Duration(d))
		}
		took := time.Since(start)
		v.free <- f
		if err != nil {
			p.log.Error("vertical encode", "err", err)
			continue
		}
		v.frames.Add(1)
		avg += (took - avg) / 16
		if gov == nil {
			continue
		}
		if next := gov.observe(time.Now(), avg, v.dropped.Load()); next != level &&
			p.stepPreset(&v.venc, ladder[next], "vertical", p.publishVertical) {
			level, avg = next, 0 // a new encoder: judged afresh
		}
	}
	if err := v.venc.Encode(nil, p.publishVertical); err != nil {
		p.log.Warn("vertical flush", "err", err)
	}
}

// publishVertical sends a vertical video packet to the vertical outputs.
func (p *Pipeline) publishVertical(pkt *stream.Packet) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, o := range p.vertOutputs {
		o.Write(pkt)
	}
}

// closeVertical ends the vertical program's encoder stage (the video
// stage has stopped: nothing sends to it) and frees what it owns; its
// outputs are the caller's to close.
func (p *Pipeline) closeVertical() {
	v := p.vert.Swap(nil)
	if v == nil {
		return
	}
	v.closeOnce.Do(func() {
		close(v.jobs)
		<-v.done
		v.comp.Close()
		freeVideo(v.venc, v.free)
	})
}

// VerticalStats is the vertical program's count of frames encoded and
// dropped; zero while it is not open.
func (p *Pipeline) VerticalStats() (frames, dropped int64) {
	if v := p.vert.Load(); v != nil {
		return v.frames.Load(), v.dropped.Load()
	}
	return 0, 0
}

// removeVerticalOutput takes o out of the vertical outputs, if it is one;
// the last one gone rests the vertical program. Under p.mu.
func (p *Pipeline) removeVerticalOutput(o stream.Output) bool {
	n := len(p.vertOutputs)
	p.vertOutputs = slices.DeleteFunc(p.vertOutputs, func(x stream.Output) bool { return x == o })
	if v := p.vert.Load(); v != nil && len(p.vertOutputs) == 0 {
		v.live.Store(false)
	}
	return len(p.vertOutputs) != n
}
