package studio_test

import (
	"strings"
	"testing"
	"time"

	"greenroom/encode"
	"greenroom/encode/feed"
	"greenroom/studio"
	"greenroom/studio/studiotest"
)

// Ann sends three layers (about 400, 150 and 50 kb/s) and her mic. Cat's
// downlink is capped at 250 kb/s (a queue that drains at that rate, as a
// slow link is): the studio's send-side estimate from her transport-cc
// feedback moves her off Ann's top layer within seconds, and back up once
// the cap lifts. Bob, uncapped, gets the top layer throughout.
func TestSimulcastSendSideEstimate(t *testing.T) {
	checkLeaks(t)
	s := newStudio(t, nil)
	ann := join(t, s, "Ann", studiotest.Options{Simulcast: simulcastLayers, AudioOgg: audioOgg})
	bob := join(t, s, "Bob", studiotest.Options{})
	capped := studiotest.NewCap(0)
	cat := join(t, s, "Cat", studiotest.Options{Downlink: capped})
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
	capped.Set(250_000)
	start := time.Now()
	eventually(t, "Cat to be moved off Ann's top layer", func() bool {
		return layerOf(cat) == "m" || layerOf(cat) == "l"
	})
	t.Logf("capped at 250 kb/s: Cat moved to %q in %v", layerOf(cat), time.Since(start).Round(10*time.Millisecond))
	// While capped she stays down (a try one layer up falls back).
	var up time.Duration
	for range 40 {
		if layerOf(cat) == "h" {
			up += 100 * time.Millisecond
		}
		if got := layerOf(bob); got != "h" {
			t.Errorf("Bob, uncapped, gets Ann's %q", got)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if up > time.Second {
		t.Errorf("capped, Cat got Ann's top layer for %v of 4 s", up)
	}
	capped.Set(0)
	start = time.Now()
	deadline := time.Now().Add(45 * time.Second)
	for layerOf(cat) != "h" {
		if time.Now().After(deadline) {
			t.Fatalf("Cat not back on Ann's top layer 45 s after the cap lifted (on %q)", layerOf(cat))
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("cap lifted: Cat back on h in %v", time.Since(start).Round(10*time.Millisecond))
	if got := layerOf(bob); got != "h" {
		t.Errorf("Bob, uncapped, gets Ann's %q", got)
	}
	if errs := append(append(ann.Errors(), bob.Errors()...), cat.Errors()...); len(errs) > 0 {
		t.Errorf("errors: %q", errs)
	}
}

// The host's feed (one encoding for every guest) follows the slowest
// receiving guest's downlink: Cat's, capped at 300 kb/s, takes it down
// from its 800 kb/s, and it climbs back once the cap lifts.
func TestHostFeedFollowsTheSlowestDownlink(t *testing.T) {
	checkLeaks(t)
	pipe, err := encode.New(encode.Config{Width: 1280, Height: 720, FPS: 30})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pipe.Close() })
	s := newStudio(t, nil)
	f, stop, err := s.StartHostFeed(feed.Config{VideoBitRate: 800_000})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	if _, err := pipe.AddTestPatternWith(studio.HostID, 1280, 720, f); err != nil {
		t.Fatal(err)
	}
	capped := studiotest.NewCap(0)
	bob := join(t, s, "Bob", studiotest.Options{})
	cat := join(t, s, "Cat", studiotest.Options{Downlink: capped})
	eventually(t, "Bob and Cat to get the host's video", func() bool {
		return bob.Packets(studio.HostID, "video") > 100 && cat.Packets(studio.HostID, "video") > 100
	})
	capped.Set(300_000)
	start := time.Now()
	deadline := start.Add(30 * time.Second)
	for f.VideoBitRate() > 300_000 {
		if time.Now().After(deadline) {
			t.Fatalf("the host's feed still at %d b/s 30 s after Cat's downlink was capped at 300 kb/s", f.VideoBitRate())
		}
		time.Sleep(100 * time.Millisecond)
	}
	low := f.VideoBitRate()
	t.Logf("capped at 300 kb/s: the host's feed at %d b/s after %v", low, time.Since(start).Round(10*time.Millisecond))
	// Once the cap lifts it climbs back as GCC's estimate grows (at most
	// 1.5x what was delivered, and additively near where it last fell):
	// at least twice as high within 45 s (in about 6 s; all the way to
	// 800 kb/s in about 20 s).
	capped.Set(0)
	start = time.Now()
	deadline = start.Add(45 * time.Second)
	for f.VideoBitRate() < min(2*low, 800_000) {
		if time.Now().After(deadline) {
			t.Fatalf("the host's feed still at %d b/s 45 s after the cap lifted", f.VideoBitRate())
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("cap lifted: the host's feed at %d b/s after %v", f.VideoBitRate(), time.Since(start).Round(10*time.Millisecond))
}
