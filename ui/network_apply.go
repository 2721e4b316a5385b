package ui

import (
	"fyne.io/fyne/v2/widget"
)

// NetworkApplier makes the Settings tab's STUN/TURN servers apply without a
// restart, to the guests who join from then on. A Show that has it gets the
// list each time it is saved; one without (a test's fake) only saves it,
// and the servers apply at the next start. The NAT IP has no such method:
// the studio fixes it when it starts.
type NetworkApplier interface {
	// SetICEServers hands guests who join from now on these servers, each
	// spelled as studio.ParseICEServer takes it (a TURN server's with its
	// password); guests already in keep theirs. A server it cannot use
	// is an error and changes nothing; the error must not contain a
	// password. The window calls it off the UI thread.
	SetICEServers(urls []string) error
}

// networkApplier hands the saved servers to the show's NetworkApplier, one
// change at a time and only the latest.
type networkApplier struct {
	na      NetworkApplier // nil: the show cannot; changes apply at the next start
	changes latestOnly
}

// serversSaved applies the saved servers (those the studio can use: a bad
// one from a hand edit is shown as not used) and says when they apply.
func (n *networkSection) serversSaved() {
	a := &n.apply
	if a.na == nil {
		n.saved()
		return
	}
	a.changes.run(n.s, func() error {
		var urls []string
		for _, srv := range n.s.st.Get().Network.ICEServers {
			if srv.Validate() == nil {
				urls = append(urls, srv.Reveal())
			}
		}
		return a.na.SetICEServers(urls)
	}, func(err error) {
		if err != nil {
			n.note.SetText("Saved, but not applied: " + n.s.scrub(err.Error()) + ". It applies at the next start of Greenroom.")
			n.note.Importance = widget.WarningImportance
		} else {
			n.note.SetText("Saved. It applies to guests who join from now on.")
			n.note.Importance = widget.SuccessImportance
		}
		n.note.Show()
		n.note.Refresh()
	})
}
