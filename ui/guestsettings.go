package ui

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"greenroom/studio"
	"greenroom/studio/settings"
)

// GraceSetter makes the Settings tab's grace for gone guests
// (settings.Settings.ReconnectGrace) apply at once, to the guests who go
// from then on. A Show without it (a test's fake) only saves it, and it
// applies at the next start.
type GraceSetter interface {
	// SetReconnectGrace refuses a grace out of studio.CheckReconnectGrace's
	// range. The window calls it off the UI thread.
	SetReconnectGrace(d time.Duration) error
}

// GuestLimiter makes the Settings tab's guest limits and upload cap
// (settings.Settings.Limits, GuestKbps) apply at once. A Show without it
// only saves them, and they apply at the next start.
type GuestLimiter interface {
	// SetLimits and SetGuestKbps refuse values out of studio.CheckLimits's
	// and CheckGuestKbps's ranges. The window calls them off the UI thread.
	SetLimits(l studio.Limits) error
	SetGuestKbps(kbps int) error
}

// guestsSection is Settings → Guests: how long a gone guest keeps their
// place, how many guests the stage and the green room take, and the most
// each guest may send.
type guestsSection struct {
	grace, stage, greenRoom, kbps numberField
}

func (g *guestsSection) build(s *Studio) fyne.CanvasObject {
	set := s.st.Get()
	gs, _ := s.show.(GraceSetter)
	gl, _ := s.show.(GuestLimiter)
	var applyGrace, applyStage, applyGreenRoom, applyKbps func(int) error
	if gs != nil {
		applyGrace = func(n int) error { return gs.SetReconnectGrace(time.Duration(n) * time.Second) }
	}
	if gl != nil {
		// The other limit as saved: save has run by the time apply does.
		applyStage = func(n int) error { l := s.st.Get().Limits; l.Stage = n; return gl.SetLimits(l) }
		applyGreenRoom = func(n int) error { l := s.st.Get().Limits; l.GreenRoom = n; return gl.SetLimits(l) }
		applyKbps = gl.SetGuestKbps
	}
	g.grace.init(s, int(set.ReconnectGrace/time.Second), numberSpec{
		what: "seconds", lo: int(studio.MinReconnectGrace / time.Second), hi: int(studio.MaxReconnectGrace / time.Second),
		check: func(n int) error { return studio.CheckReconnectGrace(time.Duration(n) * time.Second) },
		save:  func(set *settings.Settings, n int) { set.ReconnectGrace = time.Duration(n) * time.Second },
		apply: applyGrace, applied: "It applies to guests who go from now on.",
	})
	g.stage.init(s, set.Limits.Stage, numberSpec{
		what: "guests", lo: 1, hi: studio.MaxLimits.Stage,
		check: func(n int) error { l := s.st.Get().Limits; l.Stage = n; return studio.CheckLimits(l) },
		save:  func(set *settings.Settings, n int) { set.Limits.Stage = n },
		apply: applyStage, applied: "It applies to the next guest put on stage.",
	})
	g.greenRoom.init(s, set.Limits.GreenRoom, numberSpec{
		what: "guests", lo: 1, hi: studio.MaxLimits.GreenRoom,
		check: func(n int) error { l := s.st.Get().Limits; l.GreenRoom = n; return studio.CheckLimits(l) },
		save:  func(set *settings.Settings, n int) { set.Limits.GreenRoom = n },
		apply: applyGreenRoom, applied: "It applies to the next guest who joins.",
	})
	g.kbps.init(s, set.GuestKbps, numberSpec{
		what: "kb/s", lo: studio.MinGuestKbps, hi: studio.MaxGuestKbps,
		check: studio.CheckGuestKbps,
		save:  func(set *settings.Settings, n int) { set.GuestKbps = n },
		apply: applyKbps, applied: "It applies to every guest within a second.",
	})
	hint := lowLabel("A guest whose tab closes or whose network goes shows as a placeholder in the program at once, and leaves the stage after this many seconds unless their page comes back; their card counts down. " +
		"A guest who joins a full green room is told the studio is full. What a guest may send is their camera's layers together; a shared screen gets as much again.")
	return container.NewVBox(
		widget.NewLabelWithStyle("Guests", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		widget.NewForm(
			widget.NewFormItem("Keep a gone guest's place (s)", g.grace.entry),
			widget.NewFormItem("Guests on stage at most", g.stage.entry),
			widget.NewFormItem("Guests in the green room at most", g.greenRoom.entry),
			widget.NewFormItem("Each guest sends at most (kb/s)", g.kbps.entry),
		),
		g.grace.note, g.stage.note, g.greenRoom.note, g.kbps.note, hint,
	)
}

// numberSpec is what a numberField takes: its unit and range (for "type a
// whole number of …"), the studio's check of a value, in words, how to
// save it, and how to apply it at once (nil: at the next start) and what
// that means for the user.
type numberSpec struct {
	what    string
	lo, hi  int
	check   func(int) error
	save    func(*settings.Settings, int)
	apply   func(int) error
	applied string
}

// numberField is a whole number of Settings → Guests: refused in words
// out of range, nothing saved; else saved, then applied, as typed.
type numberField struct {
	s       *Studio
	spec    numberSpec
	entry   *widget.Entry
	note    *widget.Label
	changes latestOnly
}

func (f *numberField) init(s *Studio, value int, spec numberSpec) {
	f.s, f.spec = s, spec
	f.entry = widget.NewEntry()
	f.entry.SetText(strconv.Itoa(value))
	f.entry.OnChanged = f.changed
	f.note = widget.NewLabel("")
	f.note.Wrapping = fyne.TextWrapWord
	f.note.Hide()
}

// changed saves the number typed once it is a whole number in range (else
// says which range, and saves nothing), then applies it.
func (f *numberField) changed(v string) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		f.say(fmt.Sprintf("Type a whole number of %s, %d to %d.", f.spec.what, f.spec.lo, f.spec.hi), widget.DangerImportance)
		return
	}
	if err := f.spec.check(n); err != nil {
		f.say(capitalize(err.Error())+".", widget.DangerImportance)
		return
	}
	f.s.save(func(set *settings.Settings) { f.spec.save(set, n) }, func(err error) {
		if err != nil {
			f.note.Hide() // save has shown why
			return
		}
		if f.spec.apply == nil {
			f.say("Saved. It applies at the next start of Greenroom.", widget.SuccessImportance)
			return
		}
		f.changes.run(f.s, func() error { return f.spec.apply(n) }, func(err error) {
			if err != nil {
				f.say("Saved, but not applied: "+err.Error()+". It applies at the next start of Greenroom.", widget.WarningImportance)
			} else {
				f.say("Saved. "+f.spec.applied, widget.SuccessImportance)
			}
		})
	})
}

func (f *numberField) say(text string, imp widget.Importance) {
	f.note.SetText(text)
	f.note.Importance = imp
	f.note.Show()
	f.note.Refresh()
}
