//go:build unix

package studio_test

import (
	"strconv"
	"testing"
	"time"

	"greenroom/studio/studiotest"
)

// Issue #10: a layer nobody gets is not sent. Ann (headless Chromium) is
// on stage with Cat (a pion guest, one layer, whose page shows nobody:
// a background tab); Bob (Chromium) watches the
// stage from the green room in two tiles, which need Ann's 360p at most,
// and the studio makes no program: nobody gets Ann's 720p, and her page
// is told to stop sending it (her sender's bytesSent for rid "h" stands
// still, the encoding inactive) while her 180p flows (her 360p may rest
// too, when Bob's downlink keeps him on her 180p). Bob pins Ann: his
// tile needs her 720p, her page is told to send it again, and Bob is
// forwarded it.
func TestChromiumGuestRestsALayerNobodyGets(t *testing.T) {
	needChromium(t)
	checkLeaks(t)
	s := newStudio(t, nil)
	var ann, bob string
	annPage := chromiumPages(t, s.GuestURL()+"?name=Ann&join=1")[0]
	ann = joined(t, annPage, "Ann")
	if err := s.Stage(ann, true); err != nil {
		t.Fatal(err)
	}
	cat := join(t, s, "Cat", studiotest.Options{VideoIVF: videoIVF})
	if err := s.Stage(cat.ID, true); err != nil {
		t.Fatal(err)
	}
	// Cat's page is in a background tab: it shows Ann no picture, and
	// needs her lowest layer.
	if err := cat.View(map[string][2]int{ann: {0, 0}}); err != nil {
		t.Fatal(err)
	}
	bobPage := chromiumPages(t, s.GuestURL()+"?name=Bob&join=1")[0]
	bob = joined(t, bobPage, "Bob")

	// What Ann's browser has sent of each layer (getStats' outbound-rtp,
	// by rid), and which of its encodings are active.
	sent := func() map[string]int64 {
		t.Helper()
		var out map[string]int64
		if err := annPage.Eval(`(async () => { const out = {};
  (await greenroom.pc.getStats()).forEach(r => {
    if (r.type === "outbound-rtp" && r.kind === "video" && r.rid) out[r.rid] = r.bytesSent;
  });
  return out; })()`, &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	active := func() map[string]bool {
		t.Helper()
		var out map[string]bool
		if err := annPage.Eval(`(() => {
  const s = greenroom.pc.getSenders().find(s => s.track && s.track.kind === "video" && s.getParameters().encodings.length > 1);
  return s ? Object.fromEntries(s.getParameters().encodings.map(e => [e.rid, e.active])) : {};
})()`, &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	// standsStill says whether Ann sent nothing of her 720p over d while
	// her 180p (the lowest, which never rests) grew.
	standsStill := func(d time.Duration) bool {
		a := sent()
		time.Sleep(d)
		b := sent()
		return b["h"] == a["h"] && b["l"] > a["l"]
	}

	// Her browser starts its layers as its bandwidth estimate grows, the
	// top one last (and the studio may have it turned off by the time
	// this looks).
	start := time.Now()
	within(t, 60*time.Second, "Ann's browser to send her 720p", func() bool {
		return sent()["h"] > 0
	})
	flowing := time.Since(start)
	// Chromium pauses a layer now and then by itself (its estimate or CPU
	// short): what rests is the encoding the studio had the page turn off.
	within(t, 30*time.Second, "Ann's page to turn off her 720p, which nobody gets", func() bool {
		a := active()
		return !a["h"] && a["l"]
	})
	rested := time.Since(start) - flowing
	var sizes map[string][2]int
	if err := bobPage.Eval(`JSON.parse(greenroom.view.sent)`, &sizes); err != nil {
		t.Fatal(err)
	}
	t.Logf("Ann's 720p flowed %v after she joined; it was turned off %v later (encodings active %v); Bob's page shows %v and is forwarded Ann's %q",
		flowing.Round(100*time.Millisecond), rested.Round(100*time.Millisecond), active(), sizes, forwardedByAPI(t, s)[bob][ann])
	// Past what was on its way, it stands still for 3 s: no flapping
	// while nothing changes.
	time.Sleep(500 * time.Millisecond)
	if !standsStill(3 * time.Second) {
		t.Errorf("Ann's browser sent her 720p, which nobody gets, while it was turned off (or her 180p stopped)")
	}
	if a := active(); a["h"] {
		t.Errorf("Ann's 720p turned on again with nobody to get it: %v", a)
	}

	// Bob makes Ann big: his tile needs her 720p.
	if err := bobPage.Eval(`greenroom.tiles.get(`+strconv.Quote(ann)+`).el.click()`, nil); err != nil {
		t.Fatal(err)
	}
	pinned := time.Now()
	before := sent()["h"]
	within(t, 30*time.Second, "Bob, who pinned Ann, to be forwarded her 720p", func() bool {
		return forwardedByAPI(t, s)[bob][ann] == "h"
	})
	took := time.Since(pinned)
	after := sent()["h"]
	t.Logf("Ann's 720p forwarded to Bob %v after his click; her page sent %d bytes of it meanwhile; encodings active %v",
		took.Round(10*time.Millisecond), after-before, active())
	if after <= before || !active()["h"] {
		t.Errorf("Bob is forwarded Ann's 720p, yet her page sent %d bytes of it since the click (active %v)", after-before, active())
	}
}
