//go:build unix

package studio_test

import (
	"context"
	"testing"
	"time"

	"greenroom/studio"
)

// A Chromium guest on stage whose tab is reloaded (navigated to its link
// again, as the reload button does) takes its place back by itself: the
// same participant, on stage with its media flowing again within a few
// seconds, the host doing nothing. A second tab opened on the same link
// is another guest, in the green room (the place is kept in the tab's own
// sessionStorage). Leave forgets it: the tab reloaded after that shows
// the setup screen and joins nobody.
func TestGuestReloadKeepsPlaceChromium(t *testing.T) {
	needChromium(t)
	s := newStudio(t, func(c *studio.Config) { c.ReconnectGrace = 10 * time.Second })
	link := s.GuestURL() + "?name=Ann&join=1"
	b, pages := chromium(t, link)
	page := pages[0]
	id := joined(t, page, "Ann")
	if err := s.Stage(id, true); err != nil {
		t.Fatal(err)
	}
	eventually(t, "Ann on stage, her media flowing", func() bool { return connected(s, id) && place(s, id) == studio.PlaceStage })

	// The old page marks itself, so the check below never takes it for
	// the new one.
	if err := page.Eval(`window.oldPage = true`, nil); err != nil {
		t.Fatal(err)
	}
	reloaded := time.Now()
	if err := page.Call("Page.navigate", map[string]any{"url": link}, nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the reloaded page back on stage", func() bool {
		var back struct {
			ID, Place string
			Fresh     bool
		}
		err := page.Eval(`({id: greenroom.id, place: greenroom.place, fresh: !window.oldPage})`, &back)
		return err == nil && back.Fresh && back.ID == id && back.Place == "stage" && connected(s, id) && find(s, id).LeavingAt.IsZero()
	})
	took := time.Since(reloaded)
	t.Logf("the reloaded page was back on stage, its media flowing, %v after the reload", took.Round(10*time.Millisecond))
	if took > 5*time.Second {
		t.Errorf("back on stage %v after the reload, want within a few seconds", took.Round(10*time.Millisecond))
	}
	if p := find(s, id); p.Place != studio.PlaceStage {
		t.Errorf("after the reload Ann is %+v, want on stage", p)
	}
	if n := len(s.State().Participants); n != 2 {
		t.Errorf("%d participants after the reload, want the host and Ann", n)
	}

	// Another tab of the same link: another guest, who waits in the
	// green room.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	other, err := b.NewPage(ctx, s.GuestURL()+"?name=Bob&join=1", "")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	bob := joined(t, other, "the second tab")
	if bob == id {
		t.Fatalf("the second tab took Ann's place (%s)", id)
	}
	if p := find(s, bob); p.Place != studio.PlaceGreenRoom || p.Name != "Bob" {
		t.Errorf("the second tab's guest: %+v, want Bob in the green room", p)
	}
	if p := find(s, id); p.Place != studio.PlaceStage || !p.LeavingAt.IsZero() {
		t.Errorf("Ann after the second tab joined: %+v, want on stage", p)
	}

	// Leave, then reload: the setup screen, nobody joins.
	if err := page.Eval(`document.getElementById("leave").click()`, nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, "Ann to leave", func() bool { return find(s, id).ID == "" })
	if err := page.Call("Page.navigate", map[string]any{"url": s.GuestURL()}, nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the setup screen", func() bool {
		var setup bool
		return page.Eval(`!document.getElementById("setup").hidden && !document.getElementById("join").disabled`, &setup) == nil && setup
	})
	time.Sleep(time.Second)
	if n := len(s.State().Participants); n != 2 {
		t.Errorf("%d participants after Ann left and reloaded, want the host and Bob", n)
	}
}
