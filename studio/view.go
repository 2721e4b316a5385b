package studio

import (
	"slices"
	"sync/atomic"
	"time"
)

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

// capToTile is ls with every layer taller than the shortest that fills a
// tile px tall (0: no picture, the shortest of all) taken out of the
// choice, so that the downlink's choice that follows picks among the rest:
// what the tile needs, or less if the downlink is short. The cap is
// judged on every layer, flowing or not: a layer the browser paused a
// moment is no reason to send a bigger one than the tile needs (each move
// costs a keyframe). With none of those flowing, the shortest that flows;
// with sizes not known (H.264) or a tile taller than every layer, no cap.
func capToTile(ls []layerStat, px int) []layerStat {
	limit := 0
	for _, l := range ls {
		if l.height == 0 {
			return ls
		}
		if (px <= 0 || l.height >= px) && (limit == 0 || l.height < limit) {
			limit = l.height
		}
	}
	if limit == 0 {
		return ls
	}
	capped := slices.Clone(ls)
	left := false
	for i := range capped {
		if capped[i].height > limit {
			capped[i].live = false
		}
		left = left || capped[i].live
	}
	if !left {
		idx := ranked(ls)
		if len(idx) == 0 {
			return ls
		}
		copy(capped, ls)
		for i := range capped {
			capped[i].live = i == idx[len(idx)-1]
		}
	}
	return capped
}

// towardTile is the layer for a receiver whose tile needs layer need (-1:
// its page said nothing) above the one its send-side estimate allows (i),
// while the link carries what we send it without congestion (clear); c
// is the layer it gets now (-1: none). ok false: the estimate's choice
// stands.
//
// GCC's estimate then says how much we sent, not what the link could
// carry: it stays within 1.5 times what was delivered and grows at most
// 8 % a second (draft-ietf-rmcat-gcc-02 §5.5), and we sent little while
// the tile was small (we send no probes). So the receiver is moved one
// layer up toward the tile's (one track at a time, as the estimate's own
// tries up: downlink.mayClimb) while the link is clear and the estimate
// runs well ahead of what we send it in all (room: downlink.roomAbove;
// on a thin link it does not, and a try would cost freezes), and kept
// there while the link stays clear, the estimate growing behind it. Two
// choices in a row (a second) that see congestion hand it back to the
// estimate, which moves it down, and hold back the next climb toward the
// tile (tileClimb: 2 s, doubled at each such fall up to 8 s). The
// estimate's own falls (it trails what we send) do not: they are why
// this climb exists.
func (b *binding) towardTile(ls []layerStat, need, c, i int, clear, room bool, now time.Time) (int, bool) {
	if need < 0 || i < 0 || !better(ls[need], ls[i]) {
		b.tileClimb.congested(false)
		return 0, false
	}
	if run := b.tileClimb.congested(!clear); run >= 2 || c < 0 {
		if run == 2 {
			b.tileClimb.fell(now)
		}
		return 0, false
	}
	if !better(ls[need], ls[c]) || !room || !b.tileClimb.may(now) || !b.down.Load().mayClimb(now) {
		return c, true // there already, or not its turn yet
	}
	idx := ranked(ls)
	if at := slices.Index(idx, c); at > 0 {
		return idx[at-1], true
	}
	return c, true
}
