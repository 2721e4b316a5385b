package ui

import (
	"strings"
	"sync"
	"testing"
	"time"

	"greenroom/studio"
)

// graceShow is the fake show with a GraceSetter and a GuestLimiter: it
// records the grace, the limits and the cap it is given.
type graceShow struct {
	*fakeShow
	mu     sync.Mutex
	grace  time.Duration
	limits studio.Limits
	kbps   int
}

func (f *graceShow) SetLimits(l studio.Limits) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.limits = l
	return nil
}

func (f *graceShow) SetGuestKbps(kbps int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.kbps = kbps
	return nil
}

func (f *graceShow) SetReconnectGrace(d time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.grace = d
	return nil
}

// Settings → Guests: the grace a gone guest has, 10 s to start with; a
// value out of range or not a number is refused in words and nothing is
// saved; a good one is saved and handed to the show at once.
func TestGraceSetting(t *testing.T) {
	f := &graceShow{fakeShow: newFake()}
	s, st := openShow(t, f, nil)
	g := &s.prefs.guests.grace
	if g.entry.Text != "10" {
		t.Errorf("the grace shows %q, want 10", g.entry.Text)
	}
	for _, tc := range []struct{ typed, want string }{
		{"1", "The time a gone guest has to come back must be 2 to 600 seconds, not 1."},
		{"601", "The time a gone guest has to come back must be 2 to 600 seconds, not 601."},
		{"soon", "Type a whole number of seconds, 2 to 600."},
	} {
		g.entry.SetText(tc.typed)
		s.settle()
		if !g.note.Visible() || g.note.Text != tc.want {
			t.Errorf("typed %q: the note says %q (shown %v), want %q", tc.typed, g.note.Text, g.note.Visible(), tc.want)
		}
		if got := st.Get().ReconnectGrace; got != 10*time.Second {
			t.Errorf("typed %q: saved %v", tc.typed, got)
		}
	}
	g.entry.SetText("30")
	eventually(t, s, "the grace saved and applied", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return st.Get().ReconnectGrace == 30*time.Second && f.grace == 30*time.Second
	})
	eventually(t, s, "the note", func() bool { return strings.Contains(g.note.Text, "applies to guests who go from now on") })
}

// Settings → Guests: the stage's and the green room's limits and the
// upload cap start at the studio's defaults; a value out of range is
// refused in words and nothing is saved; a good one is saved and handed to
// the show at once, the other limit kept.
func TestGuestLimitSettings(t *testing.T) {
	f := &graceShow{fakeShow: newFake()}
	s, st := openShow(t, f, nil)
	g := &s.prefs.guests
	if g.stage.entry.Text != "10" || g.greenRoom.entry.Text != "20" || g.kbps.entry.Text != "2500" {
		t.Errorf("the limits show %q, %q, %q; want 10, 20, 2500", g.stage.entry.Text, g.greenRoom.entry.Text, g.kbps.entry.Text)
	}
	for _, tc := range []struct {
		f           *numberField
		typed, want string
	}{
		{&g.stage, "17", "The guests on stage must be 1 to 16, not 17."},
		{&g.greenRoom, "lots", "Type a whole number of guests, 1 to 50."},
		{&g.kbps, "100", "The most a guest may send must be 800 to 20000 kb/s, not 100."},
	} {
		tc.f.entry.SetText(tc.typed)
		s.settle()
		if !tc.f.note.Visible() || tc.f.note.Text != tc.want {
			t.Errorf("typed %q: the note says %q (shown %v), want %q", tc.typed, tc.f.note.Text, tc.f.note.Visible(), tc.want)
		}
	}
	if got := st.Get(); got.Limits != studio.DefaultLimits || got.GuestKbps != studio.DefaultGuestKbps {
		t.Errorf("saved %+v, %d after refusals", got.Limits, got.GuestKbps)
	}
	g.greenRoom.entry.SetText("5")
	s.settle()
	g.kbps.entry.SetText("1200")
	eventually(t, s, "the limits saved and applied", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		want := studio.Limits{Stage: 10, GreenRoom: 5}
		return st.Get().Limits == want && f.limits == want && st.Get().GuestKbps == 1200 && f.kbps == 1200
	})
	eventually(t, s, "the note", func() bool { return strings.Contains(g.greenRoom.note.Text, "applies to the next guest who joins") })
}
