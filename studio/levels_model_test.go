package studio

import (
	"testing"
	"time"
)

// A guest's volume holds for the show: one whose page drops and comes
// back within the grace has it still; setting the same volume again says
// nothing new.
func TestVolumeHoldsAcrossAReconnect(t *testing.T) {
	sh := newShow("", time.Minute)
	events, cancel := sh.subscribe()
	defer cancel()
	c1, c2 := &fakeConn{}, &fakeConn{}
	p, key, _ := sh.addGuest("Ann", c1)
	<-events // joined
	if _, err := sh.setVolume(p.ID, -6); err != nil {
		t.Fatal(err)
	}
	if ev := <-events; ev.Kind != EventVolume || ev.Participant.Volume != -6 {
		t.Fatalf("event %+v, want Ann's volume at -6", ev)
	}
	if _, err := sh.setVolume(p.ID, -6); err != nil {
		t.Fatal(err)
	}
	sh.detach(p.ID, c1)
	sh.resume(p.ID, key.Reveal(), c2)
	if v := find(sh, p.ID).Volume; v != -6 {
		t.Errorf("back after a drop, Ann's volume is %v, want -6 dB", v)
	}
	for len(events) > 0 {
		if ev := <-events; ev.Kind == EventVolume {
			t.Errorf("an event for a volume set to what it was: %+v", ev)
		}
	}
}
