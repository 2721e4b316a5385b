package studio_test

import (
	"image"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"

	"greenroom/encode"
	"greenroom/encode/feed"
	"greenroom/studio"
	"greenroom/studio/studiotest"
)

// Ann sends three layers (about 400, 150 and 50 kb/s) and her mic. Cat's
// downlink is capped at 330 kb/s (a queue that drains at that rate and
// holds 200 ms, as a slow link's is): the studio's send-side estimate from
// her transport-cc feedback moves her off Ann's top layer within seconds,
// and back up once the cap lifts. Bob, uncapped, gets the top layer
// throughout. Under the cap her link has room over the middle layer, so
// the studio tries her one layer up, and each try is a probe (probe.go:
// padding at the higher rate, which she receives) that the cap fails: she
// is never moved onto the top layer there, and her picture never stands
// still over a second, then or while she climbs back (issue #10: a try
// whose keyframe the cap dropped stood her picture still 1.2–1.6 s).
func TestSimulcastSendSideEstimate(t *testing.T) {
	judgesRealTime(t)
	checkLeaks(t)
	s := newStudio(t, nil)
	ann := join(t, s, "Ann", studiotest.Options{Simulcast: simulcastLayers, AudioOgg: audioOgg})
	bob := join(t, s, "Bob", studiotest.Options{})
	capped := studiotest.NewCap(0)
	var catSees studiotest.Pictures
	cat := join(t, s, "Cat", studiotest.Options{Downlink: capped, OnRTP: videoOf(ann.ID, &catSees)})
	if err := s.Stage(ann.ID, true); err != nil {
		t.Fatal(err)
	}
	layerOf := func(c *studiotest.Client) string { return find(s, c.ID).Forwarded[ann.ID] }
	eventually(t, "Bob and Cat to get Ann's top layer", func() bool {
		return layerOf(bob) == "h" && layerOf(cat) == "h" && cat.Packets(ann.ID, "video") > 100
	})
	// The studio numbers what it sends Cat (the transport-cc header
	// extension) and asks for her feedback, on her audio and video both.
	for _, sec := range strings.Split(cat.RemoteSDP(), "\nm=")[1:] {
		if !strings.Contains(sec, "a=sendonly") || !(strings.HasPrefix(sec, "audio") || strings.HasPrefix(sec, "video")) {
			continue
		}
		if !strings.Contains(sec, "transport-wide-cc-extensions") || !strings.Contains(sec, "transport-cc") {
			t.Errorf("the studio's m-section for Cat lacks transport-cc:\nm=%s", sec)
		}
	}
	capped.Set(capProbed)
	start := time.Now()
	eventually(t, "Cat to be moved off Ann's top layer", func() bool {
		return layerOf(cat) == "m" || layerOf(cat) == "l"
	})
	t.Logf("capped at %d kb/s: Cat moved to %q in %v", capProbed/1000, layerOf(cat), time.Since(start).Round(10*time.Millisecond))
	// While capped she stays down: the tries up are probes the cap
	// fails. (The move down itself may cost a still picture: the top
	// layer's packets queued when the cap fell.)
	if took := time.Since(start); took > downWithin {
		t.Errorf("capped, Cat moved off Ann's top layer in %v, want within %v", took.Round(10*time.Millisecond), downWithin)
	}
	// She settles on the middle layer, which her link carries, and stays
	// there: a move down after a move up is a flip (issue #10), each a
	// keyframe of the layer for all its receivers.
	settled, padded := time.Now(), catSees.Padding()
	var up time.Duration
	var layers studiotest.Layers
	for range 80 {
		l := layerOf(cat)
		if l == "h" {
			up += 100 * time.Millisecond
		}
		layers.See(l, time.Now())
		if got := layerOf(bob); got != "h" {
			t.Errorf("Bob, uncapped, gets Ann's %q", got)
		}
		time.Sleep(100 * time.Millisecond)
	}
	probes := catSees.Padding() - padded
	t.Logf("capped for 8 s: Cat's layers %s (%d changes, %d flips), on Ann's top layer for %v, %d padding packets came", &layers, layers.Changes(), layers.Flips(), up, probes)
	if up > 0 {
		t.Errorf("capped at %d kb/s, Cat got Ann's top layer for %v of 8 s", capProbed/1000, up)
	}
	if probes == 0 {
		t.Errorf("capped at %d kb/s, with room over the middle layer, Cat was never tried a layer up (no padding came)", capProbed/1000)
	}
	// The target is no flip: none in 18 runs alone, one in a CI run of
	// the pass without -race (l, 4.1 s m, 6.2 s l). It fails past one, as
	// TestLabReceiverProbesBeforeClimbing does, and logs a miss.
	if layers.Flips() > 1 || layers.Changes() > 2 {
		t.Errorf("capped at %d kb/s, Cat's layer of Ann changed %d times (%d moves down after a move up), want at most 2 and at most one: %s", capProbed/1000, layers.Changes(), layers.Flips(), &layers)
	} else if layers.Flips() > 0 {
		t.Logf("issue #10's target not met: capped at %d kb/s, Cat's layer of Ann flipped %d time(s): %s", capProbed/1000, layers.Flips(), &layers)
	}
	prev := layers.Current()
	if prev != "m" {
		// Her tries up failed (a probe judges a queue's growth, which a
		// loaded box's scheduling adds to): the thinner link below is
		// not tried, and the test proves less, and says so.
		t.Logf("capped at %d kb/s, Cat ends on Ann's %q, not the middle layer her link carries", capProbed/1000, prev)
	}
	if st := catSees.StillsOver(settled, time.Second); len(st) > 0 {
		t.Errorf("capped, Cat's picture of Ann stood still over 1 s: %v", st)
	}
	if prev == "m" {
		// Her link gets thinner still: off the middle layer as fast,
		// whatever floor its probe set.
		capped.Set(capThinner)
		start = time.Now()
		eventually(t, "Cat to be moved to Ann's bottom layer", func() bool { return layerOf(cat) == "l" })
		took := time.Since(start)
		t.Logf("capped at %d kb/s: Cat moved to \"l\" in %v", capThinner/1000, took.Round(10*time.Millisecond))
		if took > downWithin {
			t.Errorf("capped at %d kb/s, Cat moved off Ann's middle layer in %v, want within %v", capThinner/1000, took.Round(10*time.Millisecond), downWithin)
		}
	}
	capped.Set(0)
	lifted := time.Now()
	start = time.Now()
	deadline := time.Now().Add(45 * time.Second)
	for layerOf(cat) != "h" {
		if time.Now().After(deadline) {
			t.Fatalf("Cat not back on Ann's top layer 45 s after the cap lifted (on %q)", layerOf(cat))
		}
		time.Sleep(50 * time.Millisecond)
	}
	took := time.Since(start)
	t.Logf("cap lifted: Cat back on h in %v", took.Round(10*time.Millisecond))
	if took > climbWithin {
		t.Errorf("Cat back on Ann's top layer %v after the cap lifted, want within %v", took.Round(10*time.Millisecond), climbWithin)
	}
	time.Sleep(time.Second) // the top layer's first frames shown, or not
	for _, st := range catSees.StillsOver(lifted, time.Second) {
		if st.From.Before(lifted) {
			// The thinner link's: it dropped the middle layer's packets
			// until she was moved down.
			t.Logf("capped at %d kb/s, Cat's picture of Ann stood still %v", capThinner/1000, st.Took.Round(10*time.Millisecond))
		} else {
			t.Errorf("climbing back, Cat's picture of Ann stood still over 1 s: %v", st)
		}
	}
	if got := layerOf(bob); got != "h" {
		t.Errorf("Bob, uncapped, gets Ann's %q", got)
	}
	if errs := append(append(ann.Errors(), bob.Errors()...), cat.Errors()...); len(errs) > 0 {
		t.Errorf("errors: %q", errs)
	}
}

// capProbed is Cat's cap in TestSimulcastSendSideEstimate, bits/s: the
// middle layer and the sound fit with room (so she is tried one layer
// up), the top layer does not. climbWithin is how soon after the cap
// lifts she must be back on the top layer: a failed probe holds the next
// try back 2 s, doubling (climbHold), and a probe takes about 1.2 s.
const (
	capProbed   = 330_000
	climbWithin = 15 * time.Second
)

// capThinner is Cat's cap after she settled under capProbed: the bottom
// layer and the sound fit, the middle layer does not. downWithin is how
// soon she must be moved down a layer her link no longer carries: a
// little short, she waits downAfter (a dip); a probe's floor holds until
// the link has looked full for floorPersist.
const (
	capThinner = 180_000
	downWithin = 3 * time.Second
)

// The host's feed goes out in two layers (640x360 and 320x180), each guest
// getting the one its downlink fits: Cat, whose estimate says 300 kb/s
// (REMB), gets the small one; Bob, whose says 3 Mb/s, keeps the full
// picture at the top layer's rate — one thin guest no longer drags the
// host down for everyone. (Bob states his estimate: the send-side one of
// an uncapped pion receiver dips under CI's load, at 800 kb/s, and moved
// him down once in five runs; TestSimulcastSendSideEstimate and the
// Chromium test cover that estimate.) A layer nobody gets is not encoded
// until a guest is to get it again.
func TestHostFeedInLayers(t *testing.T) {
	judgesRealTime(t)
	checkLeaks(t)
	pipe, err := encode.New(encode.Config{Width: 1280, Height: 720, FPS: 30})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pipe.Close() })
	s := newStudio(t, nil)
	f, stop, err := s.StartHostFeed(feed.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	if _, err := pipe.AddTestPatternWith(studio.HostID, 1280, 720, f); err != nil {
		t.Fatal(err)
	}
	var atBob, atCat stream
	watch := func(st *stream) func(string, string, *rtp.Packet) {
		return func(from, kind string, pkt *rtp.Packet) {
			if from == studio.HostID && kind == "video" {
				st.see(pkt)
			}
		}
	}
	bob := join(t, s, "Bob", studiotest.Options{REMB: 3_000_000, OnRTP: watch(&atBob)})
	cat := join(t, s, "Cat", studiotest.Options{REMB: 300_000, OnRTP: watch(&atCat)})
	layerOf := func(c *studiotest.Client) string { return find(s, c.ID).Forwarded[studio.HostID] }
	sizeOf := func(st *stream) image.Point {
		w, h, _, _ := st.size()
		return image.Pt(w, h)
	}
	eventually(t, "Cat to get the host's low layer and Bob the top one", func() bool {
		return layerOf(cat) == "m" && layerOf(bob) == "h" &&
			sizeOf(&atCat) == image.Pt(320, 180) && sizeOf(&atBob) == image.Pt(640, 360)
	})
	atBob.takeBytes()
	time.Sleep(2 * time.Second)
	bobRate := atBob.takeBytes() * 8 / 2
	var top, low int
	for _, l := range find(s, studio.HostID).Layers {
		switch l.RID {
		case "h":
			top = l.Kbps * 1000
		case "m":
			low = l.Kbps * 1000
		}
	}
	_, _, _, jumps := atCat.size()
	t.Logf("layers h %d kb/s, m %d kb/s; Bob gets %d kb/s on %q, Cat %v on %q (%d jumps)", top/1000, low/1000, bobRate/1000, layerOf(bob), sizeOf(&atCat), layerOf(cat), jumps)
	if top == 0 || bobRate < top*8/10 {
		t.Errorf("Bob gets the host at %d b/s, want at least 80%% of the top layer's %d", bobRate, top)
	}
	if layerOf(bob) != "h" || layerOf(cat) != "m" || sizeOf(&atCat) != image.Pt(320, 180) {
		t.Errorf("Bob on %q, Cat on %q at %v; want h, and m at 320x180", layerOf(bob), layerOf(cat), sizeOf(&atCat))
	}
	// Cat may have begun on the top layer: the switch carries the
	// numbering on.
	if jumps > 0 {
		t.Errorf("Cat's stream of the host jumped %d times", jumps)
	}
	if errs := append(bob.Errors(), cat.Errors()...); len(errs) > 0 {
		t.Errorf("errors: %q", errs)
	}

	// Bob leaves: nobody gets the top layer, and it is no longer encoded
	// (the low one goes on for Cat). Dan, on a good link, brings it back.
	bob.Close()
	quiet := func(rid string) time.Duration {
		d, ok := s.LayerQuiet(studio.HostID, rid)
		if !ok {
			t.Fatalf("the host's feed has no layer %q", rid)
		}
		return d
	}
	eventually(t, "the host's top layer to rest", func() bool { return quiet("h") > time.Second && quiet("m") < 200*time.Millisecond })
	var atDan stream
	dan := join(t, s, "Dan", studiotest.Options{REMB: 3_000_000, OnRTP: watch(&atDan)})
	eventually(t, "Dan to get the host's top layer", func() bool {
		return layerOf(dan) == "h" && sizeOf(&atDan) == image.Pt(640, 360) && quiet("h") < 200*time.Millisecond
	})
	if layerOf(cat) != "m" {
		t.Errorf("Cat on %q after Dan came, want m", layerOf(cat))
	}
}
