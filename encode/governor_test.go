package encode

import (
	"testing"
	"time"
)

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
	// Dropped frames step down at once.
	if l := g.observe(at(2100*time.Millisecond), interval/2, 3); l != 2 {
		t.Fatalf("frames dropped: level %d, want 2", l)
	}
	// Already the fastest: stays.
	if l := g.observe(at(2200*time.Millisecond), interval, 9); l != 2 {
		t.Fatalf("at the fastest preset: level %d, want 2", l)
	}
	// Headroom for less than 20 s: stays; then one step back.
	g.observe(at(3*time.Second), interval/4, 9)
	if l := g.observe(at(22*time.Second), interval/4, 9); l != 2 {
		t.Fatalf("19 s of headroom: level %d, want 2", l)
	}
	if l := g.observe(at(23*time.Second), interval/4, 9); l != 1 {
		t.Fatalf("20 s of headroom: level %d, want 1", l)
	}
	// Overloaded again soon after stepping back: down, and the next step
	// back waits twice as long.
	g.observe(at(30*time.Second), interval, 9)
	if l := g.observe(at(31*time.Second), interval, 9); l != 2 {
		t.Fatalf("overloaded after stepping back: level %d, want 2", l)
	}
	g.observe(at(32*time.Second), interval/4, 9)
	if l := g.observe(at(53*time.Second), interval/4, 9); l != 2 {
		t.Fatalf("21 s of headroom after a flip-flop: level %d, want 2", l)
	}
	if l := g.observe(at(72*time.Second), interval/4, 9); l != 1 {
		t.Fatalf("40 s of headroom after a flip-flop: level %d, want 1", l)
	}
	// Middling load: neither way.
	if l := g.observe(at(200*time.Second), interval*6/10, 9); l != 1 {
		t.Fatalf("60%% load: level %d, want 1", l)
	}
}
