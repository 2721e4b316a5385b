package studio_test

import (
	"testing"
	"time"

	"greenroom/studio"
	"greenroom/studio/studiotest"
)

// TestMusicModeRenegotiates: the host's music mode for a guest is said to
// their page ("music") with an offer for the page to set its Opus
// parameters on; the page's own switch is taken without being said back
// (the page knows), with an offer too. Each change is an event.
func TestMusicModeRenegotiates(t *testing.T) {
	checkLeaks(t)
	s := newStudio(t, nil)
	events, cancel := s.Subscribe()
	defer cancel()
	ann := join(t, s, "Ann", studiotest.Options{AudioOgg: audioOgg})
	eventually(t, "Ann's media", func() bool { return connected(s, ann.ID) })
	time.Sleep(200 * time.Millisecond) // any offer of the join's settles
	_, before := ann.Music()

	if err := s.SetMusicMode(ann.ID, true); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the page told, and offered", func() bool { on, n := ann.Music(); return on && n == before+1 })
	if !find(s, ann.ID).MusicMode {
		t.Error("the state does not say Ann is in music mode")
	}

	_, before = ann.Music()
	if err := ann.SetMusic(false); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the page's own switch taken, and offered", func() bool {
		_, n := ann.Music()
		return !find(s, ann.ID).MusicMode && n == before+1
	})
	time.Sleep(200 * time.Millisecond)
	if on, _ := ann.Music(); !on {
		t.Error("the studio said the page's own switch back to it")
	}
	if errs := ann.Errors(); len(errs) > 0 {
		t.Errorf("the client's errors: %v", errs)
	}

	var changes []bool
	for len(changes) < 2 {
		select {
		case ev := <-events:
			if ev.Kind == studio.EventMusic && ev.Participant.ID == ann.ID {
				changes = append(changes, ev.Participant.MusicMode)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("music events %v, want [true false]", changes)
		}
	}
	if changes[0] != true || changes[1] != false {
		t.Errorf("music events %v, want [true false]", changes)
	}
}
