package studio

import (
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// A guest's layer nobody gets rests once unused for restAfter, and only
// while it flows; it still counts as live to a receiver's choice; chosen,
// it wakes the owner's actor and is resumed, and its first packet back is
// no browser's pause (it is not held back for layerSteady). The lowest
// layer never rests; a receiver with no picture flowing is not offered it.
func TestRestUnused(t *testing.T) {
	now := time.Now()
	hi, mid, lo := &layer{rid: "h"}, &layer{rid: "m"}, &layer{rid: "l"}
	wakes := 0
	for i, x := range []*layer{hi, mid, lo} {
		x.size.Store(uint64(1280>>i)<<32 | uint64(720>>i))
		x.since.Store(now.Add(-time.Minute).UnixNano())
		x.lastAt.Store(now.UnixNano())
		x.wake = func() { wakes++ }
	}
	layers := []*layer{hi, mid, lo}
	tr := &pubTrack{prog: &switcher{}, simul: newSimulcastLocal(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "t", "g1", slog.Default())}
	tr.layers.Store(&layers)
	tr.prog.cur.Store(mid) // the program shows the guest at 360p; no guest receives them

	rest := func(at time.Time, want []string, changed bool) {
		t.Helper()
		for _, x := range layers {
			x.lastAt.Store(max(x.lastAt.Load(), at.Add(-10*time.Millisecond).UnixNano()))
		}
		paused, c := tr.restUnused(at)
		if !slices.Equal(paused, want) || c != changed {
			t.Fatalf("at +%v: paused %q (changed %v), want %q (%v)", at.Sub(now), paused, c, want, changed)
		}
	}
	rest(now, nil, false)
	rest(now.Add(restAfter-time.Millisecond), nil, false)
	rest(now.Add(restAfter), []string{"h"}, true)
	rest(now.Add(restAfter+time.Second), []string{"h"}, false)

	// Resting and silent, it is live to a receiver's choice, at its size.
	silent := now.Add(restAfter + 3*time.Second)
	mid.lastAt.Store(silent.UnixNano())
	lo.lastAt.Store(silent.UnixNano())
	if st := statsOf(layers, mid, silent); !st[0].live || st[0].height != 720 {
		t.Fatalf("a resting layer: %+v, want it live at 720", st)
	}
	// Not to a receiver whose picture stands still (its layer went
	// quiet), nor to one with none yet: they go to a layer that flows.
	if st := statsOf(layers, nil, silent); st[0].live {
		t.Fatalf("a resting layer to a receiver with none yet: %+v, want it not live", st)
	}
	// A pinned tile: the program's choice takes it, which wakes its actor.
	tr.prog.choose = func(ls []layerStat) int { return fitHeight(ls, 720) }
	tr.prog.rechoose(layers, silent)
	if tr.prog.wanted() != hi || wakes != 1 {
		t.Fatalf("the program wants %v after choosing a 720 tile, %d wakes; want h and 1", ridOf(tr.prog.wanted()), wakes)
	}
	rest(silent, nil, true)
	waiting := silent.Add(resumeGrace / 2)
	mid.lastAt.Store(waiting.UnixNano())
	lo.lastAt.Store(waiting.UnixNano())
	if st := statsOf(layers, mid, waiting); !st[0].live {
		t.Fatalf("a layer resumed %v ago, before its first packet: %+v, want it live", resumeGrace/2, st)
	}
	// Its first packet back: steady at once, the silence was the studio's.
	back := silent.Add(200 * time.Millisecond)
	mid.lastAt.Store(back.UnixNano())
	hi.count(&rtp.Packet{}, webrtc.MimeTypeVP8, back, layers)
	if st := statsOf(layers, mid, back); !st[0].live {
		t.Fatalf("a resumed layer's first packet: %+v, want it live (steady)", st)
	}
	if hi.rest.resumedAt.Load() != 0 {
		t.Error("the resumed layer's first packet did not end its resumption")
	}

	// Unused again, but the browser paused it itself meanwhile (silent):
	// left to the browser.
	tr.prog.want = mid
	rest(back, nil, false)
	hi.lastAt.Store(back.UnixNano())
	paused, _ := tr.restUnused(back.Add(restAfter + 2*layerLive))
	if len(paused) != 0 {
		t.Errorf("a layer the browser stopped itself was rested: %q", paused)
	}
	// Flowing again, long unused: it rests at once. The lowest never
	// rests, even unused by all.
	tr.prog.cur.Store(nil)
	tr.prog.want = nil
	later := back.Add(time.Hour)
	rest(later, []string{"h"}, true)
	rest(later.Add(restAfter), []string{"h", "m"}, true)
}

// A guest whose browser sends its top layer only in fits (its uplink
// estimate pauses it, as Chromium does at 5 % loss; issue #10), with the
// program wanting it for a big tile: the program is not moved onto it
// and off again at every fit, nor is the layer rested and resumed over
// and over (a rested layer counts as live, and was chosen at once). Each
// needless switch costs a keyframe and risks a still in the program. The
// clock is simulated: the studio's own code (count, the program's
// switcher, restUnused at every tick of the guest's actor, the page
// obeying "layers") runs over a minute of packets in milliseconds.
func TestRestNotALayerTheBrowserSendsInFits(t *testing.T) {
	for _, c := range []struct {
		name    string
		on, off time.Duration // the top layer's fits
	}{
		{"1 s on, 2 s off: never steady, rested and resumed", time.Second, 2 * time.Second},
		{"2.5 s on, 1.5 s off: steady for a moment each time", 2500 * time.Millisecond, 1500 * time.Millisecond},
	} {
		t.Run(c.name, func(t *testing.T) {
			switches, rests, last := fitfulTopLayer(t, c.on, c.off, time.Minute, holdMax+4*time.Second)
			// The program starts on the top layer and leaves it at its
			// first pause: two switches. Then none until the layer
			// flows steadily again, for its hold (holdMax at most),
			// when the program is moved back onto it.
			if switches > 3 || rests > 0 {
				t.Errorf("the program switched %d times and the top layer was rested %d times in a minute of fits, want at most 3 and 0", switches, rests)
			}
			if last != "h" {
				t.Errorf("the program gets %q after the top layer flowed steadily for %v, want h", last, holdMax+4*time.Second)
			}
		})
	}
}

// fitfulTopLayer runs a guest's three layers for fits of simulated time,
// the top one sent for on and paused for off in turn, then for steady
// with the top one flowing (and never while it rests), to a program that
// wants the top; it returns how often the program's layer changed, how
// often the top one was rested, and the layer the program gets at the
// end.
func fitfulTopLayer(t *testing.T, on, off, fits, steady time.Duration) (switches, rests int, end string) {
	t.Helper()
	start := time.Now()
	hi, mid, lo := &layer{rid: "h", pli: func() {}}, &layer{rid: "m", pli: func() {}}, &layer{rid: "l", pli: func() {}}
	woken := false
	for i, x := range []*layer{hi, mid, lo} {
		x.size.Store(uint64(1280>>i)<<32 | uint64(720>>i))
		x.wake = func() { woken = true }
	}
	layers := []*layer{hi, mid, lo}
	tr := &pubTrack{prog: &switcher{choose: func(ls []layerStat) int { return fitHeight(ls, 1080) }},
		simul: newSimulcastLocal(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "t", "g1", slog.Default())}
	tr.layers.Store(&layers)
	var seq [3]uint16
	var last *layer
	nextTick := start.Add(qualityInterval)
	for now := start; now.Sub(start) < fits+steady; now = now.Add(33 * time.Millisecond) {
		for i, x := range layers {
			if e := now.Sub(start); x == hi && (x.rest.resting() || e < fits && e%(on+off) >= on) {
				continue
			}
			seq[i]++
			pkt := &rtp.Packet{Header: rtp.Header{SequenceNumber: seq[i], Timestamp: uint32(seq[i]) * 3000, Marker: true}}
			x.count(pkt, webrtc.MimeTypeVP8, now, layers)
			x.keep(pkt)
			tr.prog.forward(layers, x, pkt, true, 90000, now, func(rtp.Header, []byte) {})
			if cur := tr.prog.current(); cur != last {
				switches++
				last = cur
			}
		}
		if woken || !now.Before(nextTick) {
			if !now.Before(nextTick) {
				nextTick = nextTick.Add(qualityInterval)
			}
			woken = false
			was := hi.rest.resting()
			tr.restUnused(now)
			if !was && hi.rest.resting() {
				rests++
			}
		}
	}
	return switches, rests, ridOf(last)
}
