package studio

import (
	"slices"
	"testing"
	"time"
)

func TestSplitBudget(t *testing.T) {
	for _, c := range []struct {
		name         string
		total, fixed uint64
		uses         []uint64
		want         []uint64
	}{
		{"one camera takes what audio leaves", 1_000_000, 128_000, []uint64{500_000}, []uint64{872_000}},
		{"room to spare: shared equally on top of what each uses", 1_000_000, 0, []uint64{400_000, 150_000}, []uint64{625_000, 375_000}},
		{"short: each cut by the same fraction", 500_000, 100_000, []uint64{400_000, 100_000}, []uint64{320_000, 80_000}},
		{"a newcomer not sending yet gets a part of the spare", 1_000_000, 0, []uint64{0, 400_000}, []uint64{300_000, 700_000}},
		{"fixed takes it all: the least, not 0", 100_000, 200_000, []uint64{400_000, 400_000}, []uint64{minBudget, minBudget}},
		{"nothing sent yet", 1_000_000, 0, []uint64{0, 0}, []uint64{500_000, 500_000}},
		{"no cameras", 1_000_000, 64_000, nil, []uint64{}},
	} {
		if got := splitBudget(c.total, c.fixed, c.uses); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestFitEstimate(t *testing.T) {
	cur := func(s layerStat) layerStat { s.cur = true; return s }
	for _, c := range []struct {
		name   string
		layers []layerStat
		share  uint64
		climb  bool
		clear  bool // the link: no congestion seen
		want   int
	}{
		{"fits the top", []layerStat{l, cur(h), m}, 2_000_000, true, false, 1},
		{"congested: down to what fits", []layerStat{l, cur(h), m}, 600_000, true, false, 2},
		{"headroom over the bottom: one up, not two", []layerStat{cur(l), h, m}, 200_000, true, false, 2},
		{"headroom, but held back", []layerStat{cur(l), h, m}, 200_000, false, false, 0},
		{"no headroom: stays", []layerStat{cur(l), h, m}, 160_000, true, false, 0},
		{"no headroom, a clear link: tried one up (a probe judges)", []layerStat{cur(l), h, m}, 160_000, true, true, 2},
		{"short of the current on a clear link: down, no try", []layerStat{l, h, cur(m)}, 200_000, true, true, 0},
		{"headroom over the middle: the top", []layerStat{l, h, cur(m)}, 700_000, true, false, 1},
		{"fits higher than one up anyway", []layerStat{cur(l), h, m}, 2_000_000, true, false, 1},
		{"none current yet: as fitRate", []layerStat{l, h, m}, 200_000, true, false, 0},
		{"a little short of the current: stays", []layerStat{l, cur(h), m}, 1_400_000, true, false, 1},
		{"well short of the current: down", []layerStat{l, cur(h), m}, 1_200_000, true, false, 2},
	} {
		if got := fitEstimate(c.layers, c.share, c.climb, c.clear); got != c.want {
			t.Errorf("%s: layer %d, want %d", c.name, got, c.want)
		}
	}
}

func TestClimberHoldsBackLongerAfterEachFall(t *testing.T) {
	var c climber
	t0 := time.Unix(1000, 0)
	if !c.may(t0) {
		t.Fatal("a receiver that never fell may climb")
	}
	var holds []time.Duration
	at := t0
	for range 6 {
		wait := fallAndWait(&c, at)
		holds = append(holds, wait)
		at = at.Add(wait)
	}
	want := []time.Duration{climbHold, 2 * climbHold, 4 * climbHold, climbHoldMax, climbHoldMax, climbHoldMax}
	if !slices.Equal(holds, want) {
		t.Errorf("holds %v, want %v", holds, want)
	}
	// Long after the last fall, the next one holds back as the first.
	if fallAndWait(&c, at.Add(2*climbHoldMax)) != climbHold {
		t.Error("the hold did not start again from climbHold")
	}
}

// fallAndWait notes a fall at at, and says how long (in whole seconds)
// the climber then holds back a try up.
func fallAndWait(c *climber, at time.Time) time.Duration {
	c.fell(at)
	wait := time.Duration(0)
	for !c.may(at.Add(wait)) {
		wait += time.Second
	}
	return wait
}

// A receiver that falls soon after each climb a probe allowed (a flip)
// waits longer at each, however long ago her last fall: at most one flip
// in climbHoldMax. A fall long after the climb starts from climbHold
// again.
func TestClimberHoldsBackFlips(t *testing.T) {
	var c climber
	at := time.Unix(1000, 0)
	var holds []time.Duration
	for range 4 {
		wait := fallAndWait(&c, at)
		holds = append(holds, wait)
		// The climb holds flipWithin less a second: a flip, which
		// after the longest hold comes more than climbHoldMax after
		// the last fall.
		at = at.Add(wait)
		c.rose(at)
		at = at.Add(flipWithin - time.Second)
	}
	want := []time.Duration{climbHold, 2 * climbHold, 4 * climbHold, climbHoldMax}
	if !slices.Equal(holds, want) {
		t.Errorf("holds %v, want %v", holds, want)
	}
	c.rose(at)
	if fallAndWait(&c, at.Add(max(flipWithin, climbHoldMax)+time.Second)) != climbHold {
		t.Error("a fall long after the climb: the hold did not start again from climbHold")
	}
}

// A receiver a little short of her layer is moved down only once she has
// been short for downAfter; a choice that is not short starts it again.
func TestClimberShortFor(t *testing.T) {
	var c climber
	at := time.Unix(1000, 0)
	step := 500 * time.Millisecond
	var got []time.Duration
	for _, short := range []bool{true, true, false, true, true, true} {
		got = append(got, c.shortFor(short, at))
		at = at.Add(step)
	}
	want := []time.Duration{0, step, 0, 0, step, 2 * step}
	if !slices.Equal(got, want) {
		t.Errorf("short for %v, want %v", got, want)
	}
}
