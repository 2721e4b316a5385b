package studio

import "sync/atomic"

// tileView is how big a receiving guest's page draws each other
// participant (signal "view", issue #10): each tile's height in device
// pixels, by stream ID (the participant's ID, or ID + "/screen"). The SFU
// sends that guest the smallest layer of their camera that fills the tile,
// capped by the guest's downlink as before: a page showing three people in
// a grid needs their 360p layers, not three 720p streams. The guest's
// actor replaces the map whole (set); the switchers of the tracks the
// guest receives read it from their forwarding goroutines.
type tileView struct {
	heights atomic.Pointer[map[string]int]
}

// set takes the page's latest sizes, [width, height] by stream ID.
func (v *tileView) set(sizes map[string][2]int) {
	m := make(map[string]int, len(sizes))
	for id, wh := range sizes {
		m[id] = wh[1]
	}
	v.heights.Store(&m)
}

// height is how tall the page draws stream id (0: no picture: a hidden
// tile, or a page in a background tab), and whether it said.
func (v *tileView) height(id string) (int, bool) {
	if v == nil {
		return 0, false
	}
	m := v.heights.Load()
	if m == nil {
		return 0, false
	}
	px, ok := (*m)[id]
	return px, ok
}

// capToTile is ls with every layer above the one that fills a tile px
// tall (fitHeight) taken out of the choice, so that the downlink's choice
// that follows picks among the rest: what the tile needs, or less if the
// downlink is short.
func capToTile(ls []layerStat, px int) []layerStat {
	top := fitHeight(ls, px)
	if top < 0 {
		return ls
	}
	capped := make([]layerStat, len(ls))
	for i, l := range ls {
		capped[i] = l
		if better(l, ls[top]) {
			capped[i].live = false
		}
	}
	return capped
}
