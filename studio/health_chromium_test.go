package studio_test

import (
	"strings"
	"testing"
	"time"

	"greenroom/studio"
)

// A headless Chromium guest's page says its connection is weak, and what
// to do, when the studio rates it red — at once — or amber for 10 s, and
// hides it when the level is back to green (after the studio's 5 s hold). The level is forced through the test seam
// (ForceHealth): the studio's rating from real loss is
// TestHealthFromRealLoss's.
func TestChromiumGuestHearsWeakConnection(t *testing.T) {
	checkLeaks(t)
	s := newStudio(t, func(c *studio.Config) { c.PlainHTTP = false })
	page := chromiumPages(t, s.GuestURL()+"?name=Ann&join=1")[0]
	id := joined(t, page, "Ann")
	eventually(t, "Ann's media to connect and be rated", func() bool {
		p := find(s, id)
		return p.Connected && p.Health != nil && p.Health.Level != studio.LevelUnknown
	})
	type view struct {
		Level, Text string
		Weak, Shown bool
	}
	const viewJS = `({level: greenroom.health.level, weak: greenroom.weak,
	  shown: !document.getElementById("weak").hidden, text: document.getElementById("weak").textContent})`
	read := func() view {
		var v view
		if err := page.Eval(viewJS, &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	if v := read(); v.Shown || v.Weak {
		t.Fatalf("a fresh guest's page says their connection is weak: %+v (studio: %+v)", v, find(s, id).Health)
	}

	// Amber for a moment: nothing on the page yet.
	if !s.ForceHealth(id, studio.LevelAmber, "weak uplink: 3 % loss") {
		t.Fatal("no session for Ann")
	}
	eventually(t, "the page to hear amber", func() bool { return read().Level == "amber" })
	heard := time.Now()
	if v := read(); v.Shown {
		t.Errorf("a fresh amber shows the banner: %+v", v)
	}
	eventually(t, "the banner after an amber that lasts", func() bool { return read().Shown })
	if waited := time.Since(heard); waited < 9*time.Second {
		t.Errorf("an amber showed the banner after %v, not 10 s", waited)
	}
	if v := read(); !strings.Contains(v.Text, "weak uplink: 3 % loss") {
		t.Errorf("banner at amber: %q", v.Text)
	}

	s.ForceHealth(id, studio.LevelRed, "weak uplink: 12 % loss")
	eventually(t, "the banner at red", func() bool { v := read(); return v.Level == "red" && v.Shown })
	v := read()
	for _, want := range []string{"Your connection is weak", "weak uplink: 12 % loss", "Close other apps", "Wi-Fi", "turn your camera off"} {
		if !strings.Contains(v.Text, want) {
			t.Errorf("banner %q lacks %q", v.Text, want)
		}
	}
	if h := find(s, id).Health; h == nil || h.Level != studio.LevelRed || h.Reason != "weak uplink: 12 % loss" {
		t.Errorf("state: %+v", h)
	}
	screenshot(t, page, "guest-weak-connection.png")

	s.ForceHealth(id, studio.LevelGreen, "")
	start := time.Now()
	eventually(t, "the banner to go at green", func() bool { return !read().Shown })
	if waited := time.Since(start); waited < 4*time.Second {
		t.Errorf("the banner went after %v: the studio holds red 5 s", waited)
	}

	// From green, red shows at once: at the studio's next rating.
	s.ForceHealth(id, studio.LevelRed, "weak downlink: 20 % loss")
	start = time.Now()
	eventually(t, "the banner at red again", func() bool { return read().Shown })
	if waited := time.Since(start); waited > qualityEvery+time.Second {
		t.Errorf("red showed after %v", waited)
	}
}

// qualityEvery is how often the studio rates a guest (studio's qualityInterval).
const qualityEvery = 2 * time.Second
