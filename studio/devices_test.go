package studio_test

import (
	"strings"
	"testing"
	"time"

	"greenroom/studio"
	"greenroom/studio/signal"
	"greenroom/studio/studiotest"
)

// TestGuestTurnsDevicesOff: a guest's "devices" message turns its mic and
// camera off and on in the studio's state (an event each time, and
// /api/state says so, and the other guests' rosters, for their pages to
// show the initials and a mic-off mark); a malformed one is refused with an
// error reply, changes nothing, and the guest stays. The host's mute is in
// the rosters too.
func TestGuestTurnsDevicesOff(t *testing.T) {
	checkLeaks(t)
	s := newStudio(t, nil)
	ann := join(t, s, "Ann", studiotest.Options{})
	bob := join(t, s, "Bob", studiotest.Options{})
	events, stop := s.Subscribe()
	defer stop()
	next := func() studio.Event {
		t.Helper()
		select {
		case ev := <-events:
			return ev
		case <-time.After(5 * time.Second):
			t.Fatal("no event")
			return studio.Event{}
		}
	}

	if err := ann.WriteRaw([]byte(`{"type":"devices","mic":false,"camera":false}`)); err != nil {
		t.Fatal(err)
	}
	ev := next()
	if ev.Kind != studio.EventDevices || ev.Participant.ID != ann.ID || !ev.Participant.MicOff || !ev.Participant.CameraOff {
		t.Fatalf("event %+v, want devices with mic and camera off", ev)
	}
	if p := find(s, ann.ID); !p.MicOff || !p.CameraOff {
		t.Fatalf("state %+v", p)
	}
	annInBobs := func() signal.Member {
		for _, m := range bob.Roster() {
			if m.ID == ann.ID {
				return m
			}
		}
		return signal.Member{}
	}
	eventually(t, "Bob's roster to say Ann's mic and camera are off", func() bool {
		m := annInBobs()
		return m.MicOff && m.CameraOff && !m.Muted
	})
	_, st := api(t, s, "GET", "/api/state", "", "")
	ps, _ := st["participants"].([]any)
	if len(ps) != 3 || ps[1].(map[string]any)["cameraOff"] != true || ps[1].(map[string]any)["micOff"] != true {
		t.Fatalf("/api/state participants %v", ps)
	}

	for _, m := range []string{`{"type":"devices","mic":true}`, `{"type":"devices","mic":"on","camera":true}`} {
		if err := ann.WriteRaw([]byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "two error replies", func() bool { return len(ann.Errors()) >= 2 })
	if errs := ann.Errors(); !strings.Contains(errs[0], "devices needs mic and camera") || !strings.Contains(errs[1], "invalid message") {
		t.Errorf("errors %q", errs)
	}
	if p := find(s, ann.ID); !p.MicOff || !p.CameraOff || p.Place != studio.PlaceGreenRoom {
		t.Fatalf("after malformed messages: %+v", p)
	}

	// The same again is no news; the camera back on is.
	for _, m := range []string{`{"type":"devices","mic":false,"camera":false}`, `{"type":"devices","mic":false,"camera":true}`} {
		if err := ann.WriteRaw([]byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	ev = next()
	if ev.Kind != studio.EventDevices || !ev.Participant.MicOff || ev.Participant.CameraOff {
		t.Fatalf("event %+v, want devices with the camera back on", ev)
	}
	eventually(t, "Bob's roster to say Ann's camera is on", func() bool {
		m := annInBobs()
		return m.MicOff && !m.CameraOff
	})

	// The host's mute: in the roster as well as her own mic off, and each
	// goes away on its own.
	if err := s.SetMuted(ann.ID, true); err != nil {
		t.Fatal(err)
	}
	eventually(t, "Bob's roster to say the host muted Ann", func() bool {
		m := annInBobs()
		return m.Muted && m.MicOff
	})
	if err := ann.WriteRaw([]byte(`{"type":"devices","mic":true,"camera":true}`)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "Bob's roster to say Ann's mic is on, still muted", func() bool {
		m := annInBobs()
		return m.Muted && !m.MicOff
	})
	if err := s.SetMuted(ann.ID, false); err != nil {
		t.Fatal(err)
	}
	eventually(t, "Bob's roster to say Ann is unmuted", func() bool {
		m := annInBobs()
		return m.ID == ann.ID && !m.Muted && !m.MicOff && !m.CameraOff
	})
}
