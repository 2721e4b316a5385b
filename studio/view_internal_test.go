package studio

import (
	"testing"
	"time"
)

// A receiver is sent the smallest layer that fills the tile its page shows
// a participant in, and less only when its downlink is short; a page that
// said nothing of that participant is sent what its downlink carries.
func TestChooseByTile(t *testing.T) {
	ann := &pubTrack{info: TrackInfo{ParticipantID: "ann"}}
	var view tileView
	view.set(map[string][2]int{"ann": {616, 346}, "bob": {0, 0}})
	for _, c := range []struct {
		name   string
		sizes  map[string][2]int
		budget uint64      // REMB, bits/s; 0: no limit
		layers []layerStat // l, h, m if nil
		want   int
	}{
		{name: "no view: the downlink's choice", want: 1},
		{name: "a 2-grid tile, 346 px: 360p", sizes: map[string][2]int{"ann": {616, 346}}, want: 2},
		{name: "a tile as tall as a layer: that layer", sizes: map[string][2]int{"ann": {640, 360}}, want: 2},
		{name: "pinned, 702 px: 720p", sizes: map[string][2]int{"ann": {1248, 702}}, want: 1},
		{name: "hidden: the lowest", sizes: map[string][2]int{"ann": {0, 0}}, want: 0},
		{name: "a tall tile on a thin downlink: the downlink's", sizes: map[string][2]int{"ann": {1248, 702}}, budget: 300_000, want: 0},
		{name: "someone else's tile: the downlink's choice", sizes: map[string][2]int{"bob": {100, 56}}, want: 1},
		{name: "a 2-grid tile, 360p paused: 180p, not 720p", sizes: map[string][2]int{"ann": {616, 346}}, layers: []layerStat{l, h, paused(m)}, want: 0},
		{name: "hidden, only 720p flows: 720p", sizes: map[string][2]int{"ann": {0, 0}}, layers: []layerStat{paused(l), h, paused(m)}, want: 1},
		{name: "sizes not known (H.264): the downlink's choice", sizes: map[string][2]int{"ann": {616, 346}}, layers: []layerStat{{rate: 150_000, live: true}, {rate: 1_500_000, live: true}}, want: 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			var b binding
			if c.sizes != nil {
				var v tileView
				v.set(c.sizes)
				b.setReceiver(receiver{view: &v}, ann)
			}
			b.byREMB.Store(c.budget)
			ls := c.layers
			if ls == nil {
				ls = []layerStat{l, h, m}
			}
			if got := b.choose(ls, ann, time.Now()); got != c.want {
				t.Errorf("layer %d, want %d", got, c.want)
			}
		})
	}
	if px, ok := view.height("bob"); !ok || px != 0 {
		t.Errorf("a hidden tile reads %d, %v; want 0, said", px, ok)
	}
	if _, ok := (*tileView)(nil).height("ann"); ok {
		t.Error("no view says a height")
	}
}

// A tile that needs more than the send-side estimate allows, on a link
// that carries what it is sent: one layer up at a time toward the tile's,
// kept while the link stays clear, given back to the estimate after a
// second of congestion.
func TestTowardTile(t *testing.T) {
	b := &binding{}
	b.down.Store(&downlink{})
	b.climb.fell(time.Unix(999, 0)) // the estimate's falls hold back its own tries only
	t0 := time.Unix(1000, 0)
	at := func(cur int) []layerStat {
		ls := []layerStat{l, h, m}
		ls[cur].cur = true
		return ls
	}
	const lo, hi, mid = 0, 1, 2
	for _, c := range []struct {
		name   string
		cur    int
		need   int
		clear  bool
		after  time.Duration
		want   int
		wantOK bool
		full   bool // the estimate no further ahead of what is sent than a thin link allows
	}{
		{"clear but full: stays", lo, hi, true, 0, lo, true, true},
		{"clear: one up", lo, hi, true, 0, mid, true, false},
		{"the next try waits its turn", mid, hi, true, 100 * time.Millisecond, mid, true, false},
		{"then up again", mid, hi, true, 600 * time.Millisecond, hi, true, false},
		{"there: kept while clear", hi, hi, true, 1100 * time.Millisecond, hi, true, false},
		{"congested once: kept", hi, hi, false, 1600 * time.Millisecond, hi, true, false},
		{"congested twice: the estimate's", hi, hi, false, 2100 * time.Millisecond, 0, false, false},
		{"clear again, moved down: held back", lo, hi, true, 2200 * time.Millisecond, lo, true, false},
		{"after the hold: up again", lo, hi, true, 4200 * time.Millisecond, mid, true, false},
		{"the tile needs no more than the estimate: the estimate's", lo, lo, true, 4800 * time.Millisecond, 0, false, false},
	} {
		got, ok := b.towardTile(at(c.cur), c.need, c.cur, lo, c.clear, !c.full, t0.Add(c.after))
		if got != c.want || ok != c.wantOK {
			t.Errorf("%s: layer %d %v, want %d %v", c.name, got, ok, c.want, c.wantOK)
		}
	}
}

// paused is ls as the browser sends it no more.
func paused(ls layerStat) layerStat {
	ls.live = false
	return ls
}
