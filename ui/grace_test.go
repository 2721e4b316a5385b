package ui

import (
	"strings"
	"sync"
	"testing"
	"time"
)

// graceShow is the fake show with a GraceSetter: it records the grace it
// is given.
type graceShow struct {
	*fakeShow
	mu    sync.Mutex
	grace time.Duration
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
	g := &s.prefs.grace
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
