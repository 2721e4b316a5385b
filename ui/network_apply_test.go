package ui

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"fyne.io/fyne/v2/test"
)

// netShow is the fake show with a NetworkApplier: it records each list it
// is given, and refuses one while refuse is set.
type netShow struct {
	*fakeShow
	mu     sync.Mutex
	lists  [][]string
	refuse error
}

func (f *netShow) SetICEServers(urls []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.refuse != nil {
		return f.refuse
	}
	f.lists = append(f.lists, slices.Clone(urls))
	return nil
}

func (f *netShow) last() ([]string, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.lists) == 0 {
		return nil, 0
	}
	return f.lists[len(f.lists)-1], len(f.lists)
}

// TestNetworkAppliesToNewGuests: with a show that can take them, saved
// servers are handed to it at once (the usable ones, passwords and all),
// and the section says they apply to guests who join from now on; a
// refusal is shown without the password.
func TestNetworkAppliesToNewGuests(t *testing.T) {
	f := &netShow{fakeShow: newFake()}
	s, st := openShow(t, f, noServers)
	n := &s.prefs.net
	if m := settingsMarkup(s); !strings.Contains(m, "applies to guests who join from now on") || strings.Contains(m, "applies at the next start.") {
		t.Errorf("the section does not say servers apply to guests joining from now on:\n%s", m)
	}

	turn := "turn:ann:" + turnPass + "@turn.example.com:3478?transport=udp"
	n.entry.SetText(turn)
	test.Tap(n.add)
	s.settle()
	if got, calls := f.last(); calls != 1 || !slices.Equal(got, []string{turn}) {
		t.Errorf("SetICEServers got %q (%d calls), want [%s]", got, calls, turn)
	}
	if !n.note.Visible() || n.note.Text != "Saved. It applies to guests who join from now on." {
		t.Errorf("note %q (visible %v)", n.note.Text, n.note.Visible())
	}

	n.entry.SetText("stun:stun.example.com:3478")
	test.Tap(n.add)
	s.settle()
	if got, _ := f.last(); !slices.Equal(got, []string{turn, "stun:stun.example.com:3478"}) {
		t.Errorf("SetICEServers got %q after adding STUN", got)
	}

	// The show refuses (its own check): saved all the same, and said so.
	f.mu.Lock()
	f.refuse = errors.New("studio: ICE server turn:ann:" + turnPass + "@x: no")
	f.mu.Unlock()
	n.remove(1)
	s.settle()
	if got := st.Get().Network.ICEServers; len(got) != 1 {
		t.Errorf("saved %v", got)
	}
	if !strings.Contains(n.note.Text, "not applied") || strings.Contains(n.note.Text, turnPass) {
		t.Errorf("note %q", n.note.Text)
	}

	// Removing the last server applies an empty list.
	f.mu.Lock()
	f.refuse = nil
	f.mu.Unlock()
	n.remove(0)
	s.settle()
	if got, calls := f.last(); calls != 3 || len(got) != 0 {
		t.Errorf("SetICEServers got %q (%d calls), want an empty list", got, calls)
	}
	if n.note.Text != "Saved. It applies to guests who join from now on." {
		t.Errorf("note %q", n.note.Text)
	}
}
