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
		budget uint64 // REMB, bits/s; 0: no limit
		want   int
	}{
		{name: "no view: the downlink's choice", want: 1},
		{name: "a 2-grid tile, 346 px: 360p", sizes: map[string][2]int{"ann": {616, 346}}, want: 2},
		{name: "a tile as tall as a layer: that layer", sizes: map[string][2]int{"ann": {640, 360}}, want: 2},
		{name: "pinned, 702 px: 720p", sizes: map[string][2]int{"ann": {1248, 702}}, want: 1},
		{name: "hidden: the lowest", sizes: map[string][2]int{"ann": {0, 0}}, want: 0},
		{name: "a tall tile on a thin downlink: the downlink's", sizes: map[string][2]int{"ann": {1248, 702}}, budget: 300_000, want: 0},
		{name: "someone else's tile: the downlink's choice", sizes: map[string][2]int{"bob": {100, 56}}, want: 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			var b binding
			if c.sizes != nil {
				var v tileView
				v.set(c.sizes)
				b.setReceiver(receiver{view: &v}, ann)
			}
			b.byREMB.Store(c.budget)
			if got := b.choose([]layerStat{l, h, m}, ann, time.Now()); got != c.want {
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
