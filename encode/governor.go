package encode

import "time"

// governor decides when the H.264 encoder must trade quality for speed.
// The program must never fall behind real time: when encoding a frame takes
// most of a frame interval, or the video stage had to drop frames because
// the encoder still held them all, it steps the x264 preset one notch
// faster at once; after a long stretch with plenty of headroom it steps
// back one notch. A step back that had to be undone soon doubles the wait
// before the next, so a machine on the edge does not flip-flop.
//
// It is owned by the encoder stage's goroutine.
type governor struct {
	interval time.Duration
	levels   int // number of presets; level 0 is the slowest (best)
	level    int

	overSince  time.Time // start of the current overloaded stretch
	underSince time.Time // start of the current stretch with headroom
	upWait     time.Duration
	lastUp     time.Time
	lastDrops  int64
}

const (
	govOverload    = 0.85 // encode time / frame interval that is too close
	govHeadroom    = 0.45 // below this, the slower preset would fit
	govOverFor     = time.Second
	govFirstUpWait = 20 * time.Second
	govMaxUpWait   = 5 * time.Minute
	govFlipFlop    = time.Minute
)

func newGovernor(interval time.Duration, levels, level int) *governor {
	return &governor{interval: interval, levels: levels, level: level, upWait: govFirstUpWait}
}

// observe takes the average encode time and the video stage's total drop
// count at instant now, and returns the level to use (possibly unchanged).
func (g *governor) observe(now time.Time, encode time.Duration, drops int64) int {
	load := float64(encode) / float64(g.interval)
	dropped := drops > g.lastDrops
	g.lastDrops = drops

	if load > govOverload || dropped {
		g.underSince = time.Time{}
		if g.overSince.IsZero() {
			g.overSince = now
		}
		if (dropped || now.Sub(g.overSince) >= govOverFor) && g.level < g.levels-1 {
			if !g.lastUp.IsZero() && now.Sub(g.lastUp) < govFlipFlop {
				g.upWait = min(2*g.upWait, govMaxUpWait)
			}
			g.level++
			g.overSince = time.Time{}
		}
		return g.level
	}
	g.overSince = time.Time{}
	if load < govHeadroom && g.level > 0 {
		if g.underSince.IsZero() {
			g.underSince = now
		}
		if now.Sub(g.underSince) >= g.upWait {
			g.level--
			g.lastUp = now
			g.underSince = time.Time{}
		}
		return g.level
	}
	g.underSince = time.Time{}
	return g.level
}

// behind reports whether the encoder is currently not keeping up.
func (g *governor) behind() bool { return !g.overSince.IsZero() }
