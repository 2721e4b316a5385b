package studio_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"

	"greenroom/encode/mediatest"
	"greenroom/studio"
	"greenroom/studio/studiotest"
)

// The host mutes their own mic: the guests get Opus silence from them
// (packets still flowing, so nothing stalls), and their sound again on
// unmute.
func TestHostMutesThemselves(t *testing.T) {
	s, _, _ := startShowAt(t, smallShow, studio.ProgramConfig{})
	var sizes [2]atomic.Int64 // host audio packets: silent (≤ 3 bytes), with sound
	ann := join(t, s, "Ann", studiotest.Options{OnRTP: func(from, kind string, pkt *rtp.Packet) {
		if from == studio.HostID && kind == "audio" {
			if len(pkt.Payload) <= 3 {
				sizes[0].Add(1)
			} else {
				sizes[1].Add(1)
			}
		}
	}})
	eventually(t, "Ann to hear the host", func() bool { return sizes[1].Load() > 20 })
	if err := s.SetMuted(studio.HostID, true); err != nil {
		t.Fatal(err)
	}
	// What was on its way: the mute acts in the host feed's mix, ahead
	// of its Opus encoder, whose queue under the race detector holds
	// some half a second more.
	onItsWay := 300 * time.Millisecond
	if mediatest.Race {
		onItsWay = time.Second
	}
	time.Sleep(onItsWay)
	silent, loud := sizes[0].Load(), sizes[1].Load()
	time.Sleep(time.Second)
	if got := sizes[1].Load() - loud; got > 0 {
		t.Errorf("Ann got %d packets of the muted host's sound", got)
	}
	if got := sizes[0].Load() - silent; got < 40 {
		t.Errorf("Ann got %d silent packets in a second from the muted host, want ~50", got)
	}
	if p := find(s, studio.HostID); !p.Muted {
		t.Errorf("the host's state says not muted: %+v", p)
	}
	if err := s.SetMuted(studio.HostID, false); err != nil {
		t.Fatal(err)
	}
	loud = sizes[1].Load()
	eventually(t, "Ann to hear the host again", func() bool { return sizes[1].Load() > loud+20 })
	_ = ann
}

// Solo is for the host's ears only: the monitor (the host's speakers)
// hears the guests — never the host's own mic — and, while a guest is on
// solo, only them; the state says who is on solo; an unknown guest is a
// 404. Ann sends sound, Bob none: with Bob on solo the monitor is silent
// while Ann still talks in the program.
func TestSoloIsForTheHostsEars(t *testing.T) {
	s, _, pipe := startShowAt(t, smallShow, studio.ProgramConfig{})
	var loud, quiet atomic.Int64 // monitor blocks with sound, and without
	pipe.SetMonitor(func(stereo []float32) {
		var peak float32
		for _, v := range stereo {
			peak = max(peak, v, -v)
		}
		if peak > 0.01 {
			loud.Add(1)
		} else {
			quiet.Add(1)
		}
	})
	defer pipe.SetMonitor(nil)
	ann := join(t, s, "Ann", studiotest.Options{AudioOgg: audioOgg})
	bob := join(t, s, "Bob", studiotest.Options{})
	if err := s.Stage(ann.ID, true); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the host to hear Ann", func() bool { return loud.Load() > 10 })

	if code, body := api(t, s, "POST", "/api/solo", "", `{"id":"`+bob.ID+`","on":true}`); code != 200 {
		t.Fatalf("solo: %d %v", code, body)
	}
	if p := find(s, bob.ID); !p.Solo {
		t.Errorf("Bob's state says not on solo: %+v", p)
	}
	// The monitor goes on playing (about 47 blocks a second), silence
	// only: some 30 blocks of it, however long the box takes to play them.
	time.Sleep(200 * time.Millisecond)
	l, q := loud.Load(), quiet.Load()
	eventually(t, "the monitor to play on with Bob on solo", func() bool { return quiet.Load()-q >= 30 })
	if got := loud.Load() - l; got > 0 {
		t.Errorf("with silent Bob on solo the host heard %d blocks of sound (Ann's) among %d", got, quiet.Load()-q+got)
	}
	if lv := pipe.Levels()[ann.ID]; lv == 0 {
		t.Error("Ann went quiet in the program: solo must not touch it")
	}
	if p := find(s, ann.ID); p.Muted || p.Solo {
		t.Errorf("Ann's state changed: %+v", p)
	}

	if code, _ := api(t, s, "POST", "/api/solo", "", `{"id":"`+bob.ID+`","on":false}`); code != 200 {
		t.Fatalf("solo off: %d", code)
	}
	l = loud.Load()
	eventually(t, "the host to hear Ann again", func() bool { return loud.Load() > l+10 })
	if code, _ := api(t, s, "POST", "/api/solo", "", `{"id":"g99","on":true}`); code != 404 {
		t.Errorf("solo of an unknown guest: %d, want 404", code)
	}
}
