package studio

import (
	"slices"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// Three layers as a browser sends them (720p, 360p, 180p), in the order
// pion announces them, which is not the order of their size.
var (
	h = layerStat{height: 720, rate: 1_500_000, live: true}
	m = layerStat{height: 360, rate: 500_000, live: true}
	l = layerStat{height: 180, rate: 150_000, live: true}
)

func TestFitRate(t *testing.T) {
	dead := func(s layerStat) layerStat { s.live = false; return s }
	for _, c := range []struct {
		name   string
		layers []layerStat
		budget uint64
		want   int
	}{
		{"no estimate: the top", []layerStat{l, h, m}, 0, 1},
		{"plenty", []layerStat{l, h, m}, 5_000_000, 1},
		{"room for the middle", []layerStat{l, h, m}, 1_000_000, 2},
		{"room for the bottom", []layerStat{l, h, m}, 200_000, 0},
		{"room for none: the bottom", []layerStat{l, h, m}, 50_000, 0},
		{"the top stopped", []layerStat{l, dead(h), m}, 0, 2},
		{"all stopped", []layerStat{dead(l)}, 0, -1},
		{"a rate not measured yet fits", []layerStat{{height: 720, live: true}, l}, 100_000, 0},
		{"H.264: sizes unknown, by rate", []layerStat{{rate: 150_000, live: true}, {rate: 1_500_000, live: true}}, 1_000_000, 0},
	} {
		if got := fitRate(c.layers, c.budget); got != c.want {
			t.Errorf("%s: layer %d, want %d", c.name, got, c.want)
		}
	}
}

func TestFitHeight(t *testing.T) {
	for _, c := range []struct {
		name   string
		layers []layerStat
		tile   int
		want   int
	}{
		{"solo at 1080p: the top", []layerStat{l, h, m}, 1080, 1},
		{"solo at 720p", []layerStat{l, h, m}, 720, 1},
		{"a 2×2 grid at 1080p (tiles 520 px)", []layerStat{l, h, m}, 520, 1},
		{"a 10-grid at 1080p (tiles 256 px)", []layerStat{l, h, m}, 256, 2},
		{"a 3×3 grid at 720p (tiles 226 px)", []layerStat{l, h, m}, 226, 2},
		{"a picture-in-picture corner (170 px)", []layerStat{l, h, m}, 170, 0},
		{"not in the layout: the smallest", []layerStat{l, h, m}, 0, 0},
		{"sizes unknown: the top", []layerStat{{rate: 150_000, live: true}, {rate: 1_500_000, live: true}}, 256, 1},
	} {
		if got := fitHeight(c.layers, c.tile); got != c.want {
			t.Errorf("%s: layer %d, want %d", c.name, got, c.want)
		}
	}
}

func TestLossBudget(t *testing.T) {
	for _, c := range []struct {
		name                   string
		prev, current, ceiling uint64
		loss                   float64
		want                   uint64
	}{
		{"no loss, no limit", 0, 1_000_000, 3_000_000, 0.01, 0},
		{"some loss, still no limit", 0, 1_000_000, 3_000_000, 0.08, 0},
		{"heavy loss starts from the current layer", 0, 1_000_000, 3_000_000, 0.2, 900_000},
		{"heavy loss cuts by half the loss", 1_000_000, 500_000, 3_000_000, 0.5, 750_000},
		{"some loss holds", 1_000_000, 500_000, 3_000_000, 0.05, 1_000_000},
		{"no loss grows by 5%", 1_000_000, 500_000, 3_000_000, 0, 1_050_000},
		{"past the ceiling the limit is lifted", 2_900_000, 1_000_000, 3_000_000, 0, 0},
		{"loss that goes on never lifts it", 10_500, 80_000, 3_000_000, 0.5, minBudget},
	} {
		if got := lossBudget(c.prev, c.current, c.ceiling, c.loss); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
}

// A switcher sends one layer, moves at the wanted layer's keyframe and
// numbers on from where it was: the receiver sees one stream.
func TestSwitcherRewrites(t *testing.T) {
	now := time.Now()
	var plis int
	hi := &layer{rid: "h", pli: func() {}}
	lo := &layer{rid: "l", pli: func() { plis++ }}
	for _, x := range []*layer{hi, lo} {
		x.lastAt.Store(now.UnixNano())
		x.since.Store(now.Add(-layerSteady).UnixNano())
	}
	hi.size.Store(1280<<32 | 720)
	lo.size.Store(320<<32 | 180)
	layers := []*layer{hi, lo}
	pick := 0
	s := &switcher{choose: func([]layerStat) int { return pick }}
	pkt := func(seq uint16, ts uint32) *rtp.Packet {
		return &rtp.Packet{Header: rtp.Header{SequenceNumber: seq, Timestamp: ts}}
	}
	fw := func(l *layer, p *rtp.Packet, key bool, clock uint32, now time.Time) (sent rtp.Header, ok bool) {
		s.forward(layers, l, p, key, clock, now, func(h rtp.Header, _ []byte) { sent, ok = h, true })
		return sent, ok
	}
	if _, ok := fw(hi, pkt(100, 9000), false, 90000, now); ok {
		t.Fatal("forwarded before a keyframe")
	}
	if hd, ok := fw(hi, pkt(101, 9000), true, 90000, now); !ok || hd.SequenceNumber != 101 || hd.Timestamp != 9000 {
		t.Fatalf("first keyframe: %v %+v", ok, hd)
	}
	if _, ok := fw(lo, pkt(5000, 777), true, 90000, now); ok {
		t.Fatal("forwarded a layer not chosen")
	}
	fw(hi, pkt(102, 12000), false, 90000, now)
	// The low layer is wanted now (half a second later it is chosen
	// again): its packets wait for its keyframe.
	pick = 1
	now = now.Add(switchEvery)
	if _, ok := fw(lo, pkt(5001, 780), false, 90000, now); ok {
		t.Fatal("switched without a keyframe")
	}
	if plis != 1 {
		t.Fatalf("%d keyframe requests for the wanted layer, want 1", plis)
	}
	lo.lastPLI.Store(0) // as if pliInterval had passed: it asks again
	fw(hi, pkt(103, 15000), false, 90000, now)
	if plis != 2 {
		t.Fatalf("%d keyframe requests while waiting, want 2", plis)
	}
	if _, ok := fw(hi, pkt(104, 15000), false, 90000, now); !ok {
		t.Fatal("left the old layer before the new one's keyframe")
	}
	later := now.Add(33 * time.Millisecond)
	hd, ok := fw(lo, pkt(5002, 3780), true, 90000, later)
	if !ok || hd.SequenceNumber != 105 || hd.Timestamp != 15000+2970 {
		t.Fatalf("switch: %v seq %d ts %d, want 105 %d", ok, hd.SequenceNumber, hd.Timestamp, 15000+2970)
	}
	if hd, _ := fw(lo, pkt(5003, 6780), false, 90000, later); hd.SequenceNumber != 106 || hd.Timestamp != 15000+2970+3000 {
		t.Fatalf("after the switch: seq %d ts %d", hd.SequenceNumber, hd.Timestamp)
	}
	if _, ok := fw(hi, pkt(105, 18000), false, 90000, later); ok {
		t.Fatal("the old layer still forwarded")
	}
	if s.current() != lo {
		t.Fatal("current layer")
	}
}

// On a path that reorders packets (jitter), packets of the wanted layer's
// keyframe come before its first, the one that says it is a keyframe:
// they follow it to the receiver, renumbered in order, while older
// pictures' packets held with them do not (issue #10: dropped, they left
// a keyframe with holes the receiver waited for in vain).
func TestSwitcherKeepsAKeyframesReorderedPackets(t *testing.T) {
	now := time.Now()
	hi := &layer{rid: "h", pli: func() {}}
	lo := &layer{rid: "l", pli: func() {}}
	for _, x := range []*layer{hi, lo} {
		x.lastAt.Store(now.UnixNano())
		x.since.Store(now.Add(-layerSteady).UnixNano())
	}
	layers := []*layer{hi, lo}
	pick := 1
	s := &switcher{choose: func([]layerStat) int { return pick }}
	var sent []uint16
	fw := func(l *layer, seq uint16, ts uint32, key bool) {
		ssrc := uint32(1)
		if l == hi {
			ssrc = 2
		}
		p := &rtp.Packet{Header: rtp.Header{SSRC: ssrc, SequenceNumber: seq, Timestamp: ts}}
		l.keep(p) // as forwardLayer does
		s.forward(layers, l, p, key, 90000, now, func(h rtp.Header, _ []byte) { sent = append(sent, h.SequenceNumber) })
	}
	fw(lo, 500, 3000, true)
	fw(lo, 501, 6000, false)
	pick = 1 - pick // h from now on
	now = now.Add(switchEvery)
	// h's keyframe is 200–203 at 9000, after 198–199 of a picture
	// before it; they come shuffled, with lo's packets still flowing.
	fw(hi, 202, 9000, false)
	fw(hi, 198, 6000, false)
	fw(lo, 502, 9000, false)
	fw(hi, 203, 9000, false)
	fw(hi, 199, 6000, false)
	fw(hi, 200, 9000, true)
	fw(hi, 201, 9000, false)
	fw(hi, 204, 12000, false)
	want := []uint16{500, 501, 502, 503, 505, 506, 504, 507}
	if !slices.Equal(sent, want) {
		t.Fatalf("the receiver got %v, want %v (h's 200–204 as 503–507, in order but for 201, which came after the switch)", sent, want)
	}
	if s.current() != hi {
		t.Fatal("not switched")
	}
}

// A layer that has just (re)started is not switched to while the current
// one flows; once steady, or if the current one stops, it is.
func TestStatsOfSteadiness(t *testing.T) {
	now := time.Now()
	cur := &layer{rid: "m"}
	back := &layer{rid: "h"}
	cur.lastAt.Store(now.UnixNano())
	cur.since.Store(now.Add(-time.Minute).UnixNano())
	back.lastAt.Store(now.UnixNano())
	back.since.Store(now.Add(-time.Second).UnixNano())
	layers := []*layer{back, cur}
	if st := statsOf(layers, cur, now); st[0].live || !st[1].live {
		t.Errorf("a layer back for 1 s: %+v", st)
	}
	later := now.Add(layerSteady)
	cur.lastAt.Store(later.UnixNano())
	back.lastAt.Store(later.UnixNano())
	if st := statsOf(layers, cur, later); !st[0].live {
		t.Errorf("a layer back for 3 s: %+v", st)
	}
	if st := statsOf(layers, nil, now); !st[0].live {
		t.Errorf("a receiver with no layer yet takes any that flows: %+v", st)
	}
	cur.lastAt.Store(now.Add(-2 * layerLive).UnixNano())
	if st := statsOf(layers, cur, now); !st[0].live || st[1].live {
		t.Errorf("the current layer stopped: %+v", st)
	}
}

// A layer silent for layerPaused while another of its track flows is
// paused (the browser stopped it): it no longer counts as live, and a
// receiver on it is moved off at once, not at the next choice
// (switchEvery) or after layerLive, which froze the program's picture for
// over a second (issue #10). Every layer silent together is no pause.
func TestPausedLayer(t *testing.T) {
	now := time.Now()
	var plis int
	hi := &layer{rid: "h", pli: func() {}}
	lo := &layer{rid: "l", pli: func() { plis++ }}
	hi.size.Store(1280<<32 | 720)
	lo.size.Store(320<<32 | 180)
	for _, x := range []*layer{hi, lo} {
		x.since.Store(now.Add(-time.Minute).UnixNano())
	}
	layers := []*layer{hi, lo}
	hi.lastAt.Store(now.Add(-layerPaused).UnixNano())
	lo.lastAt.Store(now.Add(-layerPaused).UnixNano())
	if st := statsOf(layers, hi, now); !st[0].live || !st[1].live {
		t.Errorf("every layer quiet for %v: %+v, want both live", layerPaused, st)
	}
	lo.lastAt.Store(now.UnixNano())
	if st := statsOf(layers, hi, now); st[0].live || !st[1].live {
		t.Errorf("the top layer quiet for %v while the low one flows: %+v, want it paused", layerPaused, st)
	}

	s := &switcher{choose: func(ls []layerStat) int { return fitHeight(ls, 720) }}
	s.cur.Store(hi)
	s.chosenAt.Store(now.Add(-time.Millisecond).UnixNano()) // just chosen
	s.forward(layers, lo, &rtp.Packet{Header: rtp.Header{SequenceNumber: 7}}, false, 90000, now, func(rtp.Header, []byte) {})
	if plis != 1 {
		t.Errorf("%d keyframe requests of the low layer with the current one paused, want 1: the receiver waits for its keyframe", plis)
	}
	// The top layer back after its pause is not moved back onto before
	// it flowed for layerSteady: a browser sends it in fits.
	later := now.Add(50 * time.Millisecond)
	lo.lastAt.Store(later.UnixNano())
	hi.count(&rtp.Packet{}, "video/VP8", later, layers)
	if st := statsOf(layers, lo, later); st[0].live {
		t.Errorf("the top layer just back from a pause: %+v, want it not live yet", st)
	}
	steady := later.Add(layerSteady)
	hi.lastAt.Store(steady.UnixNano())
	lo.lastAt.Store(steady.UnixNano())
	if st := statsOf(layers, lo, steady); !st[0].live {
		t.Errorf("the top layer back for %v: %+v, want it live", layerSteady, st)
	}
}
