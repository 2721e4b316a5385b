package ui

import (
	"fmt"
	"sync/atomic"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// guestsTab shows the guest link, copies it, and replaces it, and says how
// guests reach the studio (reach.go).
type guestsTab struct {
	s      *Studio
	link   *widget.Label
	copy   *widget.Button
	rotate *widget.Button
	status *widget.Label
	count  *widget.Label

	// The reach block: who can join and how, what the router forwards,
	// what keeps guests outside out, the certificate.
	reachTitle                 *widget.Label
	way, mapped, problem, cert *widget.Label
	// links counts the new links made, for watchReach.
	links atomic.Uint64
}

func (t *guestsTab) build(s *Studio) fyne.CanvasObject {
	t.s = s
	title := widget.NewLabelWithStyle("Invite guests", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	about := widget.NewLabel("Send this link to your guests. They join from their browser — nothing to install — and wait backstage until you add them to the stage.")
	about.Wrapping = fyne.TextWrapWord
	t.link = widget.NewLabel(s.show.GuestURL())
	t.link.Wrapping = fyne.TextWrapBreak
	t.link.Selectable = true
	t.link.TextStyle = fyne.TextStyle{Monospace: true}
	t.copy = widget.NewButtonWithIcon("Copy link", theme.ContentCopyIcon(), t.copyLink)
	t.copy.Importance = widget.HighImportance
	t.rotate = widget.NewButtonWithIcon("New link", theme.ViewRefreshIcon(), t.newLink)
	t.status = widget.NewLabel("")
	t.status.Importance = widget.SuccessImportance
	t.status.Hide()
	t.count = widget.NewLabel("")
	t.count.Importance = widget.LowImportance
	t.reachTitle = widget.NewLabelWithStyle("How guests reach you", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	t.reachTitle.Hide()
	t.way, t.mapped, t.problem, t.cert = newReachLabel(), newReachLabel(), newReachLabel(), newReachLabel()
	about2 := widget.NewLabel("A new link stops the old one from working. Guests already in the studio stay.")
	about2.Wrapping = fyne.TextWrapWord
	about2.Importance = widget.LowImportance
	return container.NewVScroll(container.NewVBox(title, about, t.link,
		container.NewHBox(t.copy, t.rotate, layout.NewSpacer()), t.status,
		t.reachTitle, t.way, t.mapped, t.problem, t.cert,
		widget.NewSeparator(), about2, t.count))
}

func (t *guestsTab) copyLink() {
	t.s.app.Clipboard().SetContent(t.link.Text)
	t.status.SetText("Link copied. Paste it into a message to your guest.")
	t.status.Show()
}

func (t *guestsTab) newLink() {
	t.s.confirm("Make a new guest link?",
		"The current link stops working for anyone who has not joined yet.",
		"New link", func() {
			t.rotate.Disable()
			t.s.async(func() {
				u := t.s.show.RotateGuestToken()
				t.links.Add(1)
				t.s.do(func() {
					t.rotate.Enable()
					t.link.SetText(u)
					t.status.SetText("New link ready. The old one no longer works.")
					t.status.Show()
				})
			})
		})
}

func (t *guestsTab) setCount(n int) {
	if t.count == nil {
		return
	}
	switch n {
	case 0:
		t.count.SetText("No guests in the studio.")
	case 1:
		t.count.SetText("1 guest in the studio.")
	default:
		t.count.SetText(fmt.Sprintf("%d guests in the studio.", n))
	}
}
