package encode

import (
	"time"

	"greenroom/encode/codec"
	"greenroom/encode/stream"
)

// stepPreset is the governor's step on one program's encoder: *venc,
// which others read under p.mu, is replaced by one like it at preset once
// its last packets are out to emit (the outputs learn the new parameter
// sets from the new one's first frame, an IDR). It says whether it was;
// program names it in the log. Call it from the encoder's own stage.
func (p *Pipeline) stepPreset(venc **codec.VideoEncoder, preset, program string, emit func(*stream.Packet)) bool {
	old := *venc
	n, err := old.WithPreset(preset)
	if err != nil {
		p.log.Error("change x264 preset", "program", program, "preset", preset, "err", err)
		return false
	}
	p.log.Warn("encoder preset changed to keep up with real time", "program", program, "from", old.Preset(), "to", preset)
	if err := old.Encode(nil, emit); err != nil {
		p.log.Warn("video flush", "program", program, "err", err)
	}
	p.mu.Lock()
	*venc = n
	p.mu.Unlock()
	old.Close()
	return true
}

// governor decides when the H.264 encoder must trade quality for speed.
// The program must never fall behind real time: when encoding a frame takes
// most of a frame interval for a second, or the video stage dropped frames
// while the encoder was busy, it steps the x264 preset one notch faster at
// once.
//
// Stepping back is judged on a window of encode times, one summary per
// second, not on an unbroken run: after upWait at a preset, it steps back
// one notch when the window's mean load and nine seconds in ten of it leave
// room for the slower preset and at most 1 % of its frames were dropped. A
// drop while the encoder had room to spare is the machine stalling (another
// process, the scheduler), not the preset: it counts against the window and
// does not step down. Before, any drop restarted the 20 s of headroom it
// waited for, and counted as the step back having failed, so on a shared
// box a show stayed on ultrafast for minutes after its load had gone.
//
// A step back that had to be undone within govFlipFlop doubles upWait, so a
// machine on the edge does not flip-flop; one that held that long sets it
// back to govFirstUpWait.
//
// It is owned by the encoder stage's goroutine.
type governor struct {
	interval time.Duration
	levels   int // number of presets; level 0 is the slowest (best)
	level    int

	overSince time.Time // start of the current overloaded stretch
	changed   time.Time // the last change of level, or the first observation
	upWait    time.Duration
	lastUp    time.Time // the last step back, until it held or was undone
	lastDrops int64
	window    [govWindow]govSecond // per second since changed, by Unix second mod govWindow
}

// govSecond sums one second of the encoder's record.
type govSecond struct {
	sec    int64 // Unix second; 0: unused
	frames int
	load   float64 // the sum of the frames' loads
	drops  int64
}

const (
	govOverload    = 0.85 // encode time / frame interval that is too close
	govHeadroom    = 0.45 // below this, the slower preset would fit
	govOverFor     = time.Second
	govFirstUpWait = 20 * time.Second
	govMaxUpWait   = 5 * time.Minute
	govFlipFlop    = time.Minute
	govWindow      = int(govMaxUpWait / time.Second)
	govDropShare   = 0.01 // of the window's frames, dropped, still allowing a step back
	govCalmShare   = 0.9  // of the window's seconds with room to spare
)

func newGovernor(interval time.Duration, levels, level int) *governor {
	return &governor{interval: interval, levels: levels, level: level, upWait: govFirstUpWait}
}

// observe takes the average encode time and the video stage's total drop
// count at instant now, and returns the level to use (possibly unchanged).
func (g *governor) observe(now time.Time, encode time.Duration, drops int64) int {
	load := float64(encode) / float64(g.interval)
	dropped := drops - g.lastDrops
	g.lastDrops = drops
	if g.changed.IsZero() {
		g.changed = now
	}
	g.record(now, load, max(dropped, 0))
	if !g.lastUp.IsZero() && now.Sub(g.lastUp) >= govFlipFlop {
		g.lastUp = time.Time{} // the step back held: the box has room again
		g.upWait = govFirstUpWait
	}

	if load > govOverload || (dropped > 0 && load >= govHeadroom) {
		if g.overSince.IsZero() {
			g.overSince = now
		}
		if (dropped > 0 || now.Sub(g.overSince) >= govOverFor) && g.level < g.levels-1 {
			if !g.lastUp.IsZero() {
				g.upWait = min(2*g.upWait, govMaxUpWait)
				g.lastUp = time.Time{}
			}
			g.setLevel(now, g.level+1)
		}
		return g.level
	}
	g.overSince = time.Time{}
	if g.level > 0 && now.Sub(g.changed) >= g.upWait && g.roomToStepBack(now) {
		g.setLevel(now, g.level-1)
		g.lastUp = now
	}
	return g.level
}

func (g *governor) setLevel(now time.Time, level int) {
	g.level = level
	g.changed = now
	g.overSince = time.Time{}
	g.window = [govWindow]govSecond{} // another preset: judged afresh
}

func (g *governor) record(now time.Time, load float64, drops int64) {
	sec := now.Unix()
	s := &g.window[int(sec%int64(govWindow))]
	if s.sec != sec {
		*s = govSecond{sec: sec}
	}
	s.frames++
	s.load += load
	s.drops += drops
}

// roomToStepBack judges the window's last upWait.
func (g *governor) roomToStepBack(now time.Time) bool {
	from := now.Add(-g.upWait).Unix()
	var seconds, calm, frames int
	var load float64
	var drops int64
	for _, s := range g.window {
		if s.sec <= from || s.sec > now.Unix() || s.frames == 0 {
			continue
		}
		seconds++
		frames += s.frames
		load += s.load
		drops += s.drops
		if s.load/float64(s.frames) < govHeadroom {
			calm++
		}
	}
	// At least half the window seen: seconds without frames (x264
	// resting) say nothing about the load.
	if seconds == 0 || time.Duration(seconds)*time.Second < g.upWait/2 {
		return false
	}
	return load/float64(frames) < govHeadroom &&
		float64(calm) >= govCalmShare*float64(seconds) &&
		float64(drops) <= govDropShare*float64(frames+int(drops))
}

// behind reports whether the encoder is currently not keeping up.
func (g *governor) behind() bool { return !g.overSince.IsZero() }
