package studio

import (
	"maps"
	"slices"
	"sync/atomic"
	"time"

	"greenroom/studio/signal"
)

// Resting a guest's unused layers (issue #10). A layer of a guest's camera
// that nobody gets or waits for — no other guest, not the program — is
// paused at its source: the studio tells the page ("layers"), which sets
// that encoding inactive (RTCRtpSender.setParameters), so a thin uplink
// carries, and a slow laptop encodes, only what someone sees. A resting
// layer still counts as live, at its last rate and size, to the choice of
// every receiver whose own layer flows, as the host's feed's on-demand
// layers do (one whose picture stands still is moved to a layer that
// flows now, not kept waiting for a resumption): a receiver that comes
// to need it (a pinned tile, a link that grew) chooses it, the page
// is told at once to send it again, and the receiver stays on the layer
// it has until the resumed one's keyframe, which its switcher asks for as
// at any switch. Hysteresis: a layer rests only once unused for restAfter,
// and is resumed as soon as it is chosen.
//
// The lowest layer never rests: it is how the studio sees the guest's
// camera alive (the placeholder after 0.5 s without media, the freezes in
// its health) even when nobody receives it, and the smallest any
// receiver falls back to.

// restAfter is how long a layer goes unused before its page is told to
// stop sending it: a receiver moved between layers (its downlink's
// estimate, a tile resized, its layer paused by a browser short of CPU)
// comes back within seconds, and each resumption costs a keyframe. At
// 5 s, ten pion guests joining a loaded box rested and resumed layers
// over and over while the program and the guests settled, and
// TestSimulcastTenGuestsInTheProgram failed where it passed without.
const restAfter = 10 * time.Second

// resumeGrace is how long a resumed layer counts as live before its first
// packet: the page applies "layers" within a round trip, and the encoder
// starts the layer with its next frame. One that has not come by then is
// the browser's own pause (its uplink or CPU short), and is judged as such.
const resumeGrace = 2 * time.Second

// layerRest is whether the studio has told a guest's page to stop
// sending a layer. The owner guest's actor writes it (restUnused); the
// layer's forwarding goroutine and every receiver's switcher read it.
type layerRest struct {
	pausedAt  atomic.Int64 // unix nanoseconds the page was told to pause it; 0: to send it
	resumedAt atomic.Int64 // unix nanoseconds it was told to send it again; 0 once it came back
	unused    time.Time    // since when nobody uses it; zero while used. The actor only
}

// resting says whether the page was told to pause the layer.
func (r *layerRest) resting() bool { return r.pausedAt.Load() != 0 }

// asleep says whether, at t (unix nanoseconds), the layer is silent by
// the studio's asking: resting, or resumed under resumeGrace ago.
func (r *layerRest) asleep(t int64) bool {
	at := r.resumedAt.Load()
	return r.resting() || at != 0 && t-at < int64(resumeGrace)
}

// ours says whether a packet at t (unix nanoseconds) ends a silence the
// studio asked for (or comes during one: sent before the page paused
// it), not a pause of the browser's own. The resumed layer's first
// packet ends its resumption. The layer's forwarding goroutine only.
func (r *layerRest) ours(t int64) bool {
	if r.resting() {
		return true
	}
	at := r.resumedAt.Load()
	if at == 0 {
		return false
	}
	r.resumedAt.CompareAndSwap(at, 0)
	return t-at < int64(resumeGrace)
}

// restUnused pauses the layers of a guest's simulcast track that nobody
// has got or waited for over restAfter (while they flow steadily: a layer
// the browser paused itself, or sends in fits, is left to it), and
// resumes those a receiver wants again. It returns the rids resting now,
// and whether that changed. The owner guest's actor only.
func (t *pubTrack) restUnused(now time.Time) (paused []string, changed bool) {
	ls := t.layerList()
	low := lowestLayer(ls)
	if low == nil {
		return nil, false // sizes not known yet (or not VP8): every layer flows
	}
	n := now.UnixNano()
	for _, l := range ls {
		r := &l.rest
		switch {
		case l == low || t.uses(l):
			r.unused = time.Time{}
			if r.resting() {
				r.resumedAt.Store(n) // before pausedAt clears: never neither
				r.pausedAt.Store(0)
				changed = true
			}
		case r.resting():
		case r.unused.IsZero():
			r.unused = now
		case now.Sub(r.unused) >= restAfter && l.flowsSteadily(n):
			r.pausedAt.Store(n)
			// A switcher that chose the layer since uses was asked saw
			// it flowing, and woke nobody: it would rest, wanted, until
			// the next tick (qualityInterval). Asked again now that it
			// rests, a switcher choosing it from here on sees it resting
			// and wakes the actor (rechoose).
			if t.uses(l) {
				r.pausedAt.Store(0)
				r.unused = time.Time{}
			} else {
				changed = true
			}
		}
		if r.resting() {
			paused = append(paused, l.rid)
		}
	}
	return paused, changed
}

// flowsSteadily says whether at n (unix nanoseconds) layer l flows and
// has for its hold, with time to spare for every receiver to choose it
// (switchEvery): one the browser sends in fits is unused because no
// receiver may be moved onto it yet (steady), not because none wants
// it. Rested, it would count as live to their choice at once, be chosen
// and resumed, and the browser pause it again: the program switched onto
// it and off every restAfter or so in the lab (issue #10).
func (l *layer) flowsSteadily(n int64) bool {
	return n-l.lastAt.Load() < int64(layerPaused) && l.steady(n-2*int64(switchEvery))
}

// uses says whether a receiving guest or the program gets layer l of
// the track or waits for it.
func (t *pubTrack) uses(l *layer) bool {
	used, _ := t.simul.uses(l)
	return used || t.prog.uses(l)
}

// lowestLayer is the layer of ls with the shortest pictures; nil while
// any layer's size is not known.
func lowestLayer(ls []*layer) *layer {
	var low *layer
	for _, l := range ls {
		if l.height() == 0 {
			return nil
		}
		if low == nil || l.height() < low.height() {
			low = l
		}
	}
	return low
}

// restSoon asks the actor to rest or resume the guest's layers now (a
// receiver chose a resting one); it never blocks the forwarding
// goroutine that calls it.
func (g *guest) restSoon() {
	select {
	case g.restDue <- struct{}{}:
	default:
	}
}

// restLayers rests the guest's camera layers nobody uses and resumes
// those wanted again (restUnused), and tells the page when that changed.
// Run calls it.
func (g *guest) restLayers(now time.Time) {
	g.simMu.Lock()
	tracks := slices.Collect(maps.Values(g.simul))
	g.simMu.Unlock()
	var paused []string
	changed := false
	for _, t := range tracks {
		if t.info.Screen {
			continue // the page pauses its camera's layers only
		}
		p, c := t.restUnused(now)
		paused, changed = append(paused, p...), changed || c
	}
	if changed {
		g.paused = paused
		g.log.Debug("simulcast layers paused", "rids", paused)
		g.sendLayers()
	}
}

// sendLayers tells the page which of its camera's layers rest.
func (g *guest) sendLayers() {
	m := signal.Message{Type: signal.TypeLayers, Paused: g.paused}
	if err := signal.CheckLayers(m); err != nil {
		g.log.Warn("layers not sent", "err", err) // rids the page's own offer named
		return
	}
	g.send(m)
}
