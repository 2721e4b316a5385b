package encode

import (
	"testing"
	"time"
)

// govRun feeds a governor a frame every interval from from to to (times
// after t0) at the given load (encode time / interval), with one dropped
// frame every dropEvery frames (0: none), as the encoder stage would. It
// returns the level at the end and when the level first changed (-1: it
// did not).
type govRun struct {
	g     *governor
	t0    time.Time
	drops int64
}

func (r *govRun) feed(from, to time.Duration, load float64, dropEvery int) (level int, changedAt time.Duration) {
	changedAt = -1
	start := r.g.level
	enc := time.Duration(load * float64(r.g.interval))
	for i, t := 0, from; t < to; i, t = i+1, t+r.g.interval {
		if dropEvery > 0 && i%dropEvery == dropEvery-1 {
			r.drops++
		}
		level = r.g.observe(r.t0.Add(t), enc, r.drops)
		if level != start && changedAt < 0 {
			changedAt = t
		}
	}
	return level, changedAt
}

func TestGovernor(t *testing.T) {
	const interval = time.Second / 30
	t0 := time.Unix(1000, 0)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	g := newGovernor(interval, 3, 0)

	if l := g.observe(at(0), interval/2, 0); l != 0 {
		t.Fatalf("half load: level %d, want 0", l)
	}
	// Overloaded, but only briefly: no change yet.
	g.observe(at(time.Second), interval*9/10, 0)
	if l := g.observe(at(1500*time.Millisecond), interval*9/10, 0); l != 0 {
		t.Fatalf("0.5 s overloaded: level %d, want 0", l)
	}
	if !g.behind() {
		t.Fatal("not reported behind while overloaded")
	}
	// A full second overloaded: one step faster.
	if l := g.observe(at(2*time.Second), interval*9/10, 0); l != 1 {
		t.Fatalf("1 s overloaded: level %d, want 1", l)
	}
	// Frames dropped while the encoder is busy step down at once.
	if l := g.observe(at(2100*time.Millisecond), interval/2, 3); l != 2 {
		t.Fatalf("frames dropped: level %d, want 2", l)
	}
	// Already the fastest: stays.
	if l := g.observe(at(2200*time.Millisecond), interval, 9); l != 2 {
		t.Fatalf("at the fastest preset: level %d, want 2", l)
	}
	r := &govRun{g: g, t0: t0, drops: 9}
	// Headroom for less than 20 s since the change: stays; then one step back.
	if l, _ := r.feed(3*time.Second, 22*time.Second, 0.25, 0); l != 2 {
		t.Fatalf("19 s of headroom: level %d, want 2", l)
	}
	if l, _ := r.feed(22*time.Second, 23*time.Second, 0.25, 0); l != 1 {
		t.Fatalf("20 s of headroom: level %d, want 1", l)
	}
	// Overloaded again soon after stepping back: down, and the next step
	// back waits twice as long.
	if l, _ := r.feed(30*time.Second, 31500*time.Millisecond, 1, 0); l != 2 {
		t.Fatalf("overloaded after stepping back: level %d, want 2", l)
	}
	if l, at := r.feed(31500*time.Millisecond, 80*time.Second, 0.25, 0); l != 1 || at < 70*time.Second {
		t.Fatalf("headroom after a flip-flop: level %d from %v, want 1 after 40 s (at 71 s)", l, at)
	}
	// Middling load: neither way.
	if l, _ := r.feed(80*time.Second, 200*time.Second, 0.6, 0); l != 1 {
		t.Fatalf("60%% load: level %d, want 1", l)
	}
	// That step back held for a minute: the next one waits 20 s again.
	if l, at := r.feed(200*time.Second, 230*time.Second, 0.25, 0); l != 0 || at > 221*time.Second {
		t.Fatalf("headroom after a step that held: level %d from %v, want 0 within 21 s", l, at)
	}
}

// After a stretch of load, a box that still drops a frame now and then
// (another process took the CPU for a moment) steps back up: the governor
// judges the window, not the last drop. It stayed on ultrafast for as
// long as such drops came within every 20 s, and each drop after a step
// back doubled the next wait, up to 5 minutes.
func TestGovernorStepsBackDespiteStrayDrops(t *testing.T) {
	const interval = time.Second / 30
	g := newGovernor(interval, 3, 0)
	r := &govRun{g: g, t0: time.Unix(1000, 0)}
	if l, _ := r.feed(0, 3*time.Second, 0.95, 0); l != 2 {
		t.Fatalf("3 s overloaded: level %d, want 2", l)
	}
	// The load has gone; one frame in 150 (every 5 s) is still dropped.
	l, at := r.feed(3*time.Second, 60*time.Second, 0.25, 150)
	if l != 0 {
		t.Fatalf("a minute of headroom with a drop every 5 s: level %d, want 0 (veryfast)", l)
	}
	if at > 25*time.Second {
		t.Fatalf("first step back at %v, want about 20 s after the load went", at)
	}
	if g.upWait != govFirstUpWait {
		t.Fatalf("stray drops after a step back doubled its wait to %v", g.upWait)
	}
}

func TestGovernorWindow(t *testing.T) {
	const interval = time.Second / 30
	for _, c := range []struct {
		name      string
		load      float64
		dropEvery int // one frame in dropEvery dropped; 0: none
		spiky     bool
		want      int
	}{
		{name: "room to spare", load: 0.3, want: 1},
		{name: "one drop in 200", load: 0.3, dropEvery: 200, want: 1},
		{name: "one drop in 20", load: 0.3, dropEvery: 20, want: 2},
		{name: "mean just over headroom", load: 0.5, want: 2},
		// Idle half the time, over the limit the other half: the mean (0.45)
		// is no guide, most seconds had no room.
		{name: "spiky", load: 0.05, spiky: true, want: 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := newGovernor(interval, 3, 2)
			r := &govRun{g: g, t0: time.Unix(1000, 0)}
			var l int
			for s := time.Duration(0); s < 30*time.Second; s += time.Second {
				load := c.load
				if c.spiky && (s/time.Second)%2 == 1 {
					load = 0.84 // just under overload: no step down
				}
				l, _ = r.feed(s, s+time.Second, load, c.dropEvery)
			}
			if l != c.want {
				t.Fatalf("30 s at load %.2f: level %d, want %d", c.load, l, c.want)
			}
		})
	}
}

// A drop while the encoder had room to spare is not the preset's doing:
// no step down. One while it was busy is.
func TestGovernorDropsStepDownOnlyWhenBusy(t *testing.T) {
	const interval = time.Second / 30
	t0 := time.Unix(1000, 0)
	g := newGovernor(interval, 3, 0)
	if l := g.observe(t0, interval/4, 1); l != 0 {
		t.Fatalf("a drop at 25 %% load: level %d, want 0", l)
	}
	if l := g.observe(t0.Add(interval), interval*6/10, 2); l != 1 {
		t.Fatalf("a drop at 60 %% load: level %d, want 1", l)
	}
}
