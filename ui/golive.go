package ui

import (
	"context"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"greenroom/studio"
)

// Preflighter is a Show that can try its destinations before going live
// (issue #13 item 3). With it, Go Live checks every enabled destination
// first; all good, the show goes live at once; otherwise the window lists
// what is wrong with each and the host goes live on the others or cancels
// to fix it.
type Preflighter interface {
	// CheckLive tries, all at once, every destination enabled in the
	// settings: dialled and the publish tried, no media sent. It takes a
	// few seconds at most, or until ctx ends, and returns one check per
	// destination, ID being the settings' ID (studio.Program.Check).
	CheckLive(ctx context.Context) []studio.DestinationCheck
	// GoLiveTo is SetLive(true) to only those enabled destinations whose
	// IDs are in ids (the recording as always).
	GoLiveTo(ids []string) error
}

// preflightTimeout bounds the whole check: rtmpout.Check takes at most its
// 5 s dial timeout and a second and a half.
const preflightTimeout = 10 * time.Second

// checkThenGoLive runs the preflight off the UI thread, with the button
// saying so and each enabled destination's row saying "Checking…", then
// goes live or asks.
func (s *Studio) checkThenGoLive(pf Preflighter) {
	s.busy, s.busyOn, s.checking = true, true, true
	s.dest.checks = nil
	s.applyLive(s.live)
	s.async(func() {
		ctx, cancel := context.WithTimeout(context.Background(), preflightTimeout)
		defer cancel()
		go func() { // the window closing ends the check
			select {
			case <-s.stop:
				cancel()
			case <-ctx.Done():
			}
		}()
		checks := pf.CheckLive(ctx)
		s.do(func() {
			select {
			case <-s.stop:
				return // the window closed while checking: go live nowhere
			default:
			}
			s.busy, s.checking = false, false
			s.dest.checks = map[string]studio.DestinationCheck{}
			for _, c := range checks {
				s.dest.checks[c.ID] = c
			}
			s.applyLive(s.live)
			s.afterCheck(pf, checks)
		})
	})
}

// afterCheck goes live at once if every destination passed and none has
// settings its platform would refuse; else it asks, listing each.
func (s *Studio) afterCheck(pf Preflighter, checks []studio.DestinationCheck) {
	var passed []string
	var failed []studio.DestinationCheck
	for _, c := range checks {
		if c.OK {
			passed = append(passed, c.ID)
		} else {
			failed = append(failed, c)
		}
	}
	set := s.st.Get()
	var warnings []string
	for _, d := range set.Enabled() {
		warnings = append(warnings, d.Warnings(set.Output)...)
	}
	goOn := func() { s.runLive(true, func() error { return pf.GoLiveTo(passed) }, nil) }
	switch {
	case len(passed) == 0:
		var why []string
		for _, c := range failed {
			why = append(why, s.scrub(c.Summary+" ("+c.Problem+")"))
		}
		s.showError("Couldn't go live: " + strings.Join(why, "; ") + ". Fix it under Destinations.")
		return
	case len(failed) == 0 && len(warnings) == 0:
		goOn()
		return
	}
	title, action := "Not every destination is ready", "Go live on the others"
	if len(failed) == 0 {
		title, action = "Check your output settings", "Go live anyway"
	}
	d := dialog.NewCustomConfirm(title, action, "Cancel", s.checkReport(checks, warnings), func(ok bool) {
		if ok {
			goOn()
		}
	}, s.w)
	d.Show()
}

// checkReport is the preflight's result as the dialog shows it: a line per
// destination, what is wrong in bold and why below it, then what the
// platforms would refuse in the output.
func (s *Studio) checkReport(checks []studio.DestinationCheck, warnings []string) fyne.CanvasObject {
	box := container.NewVBox()
	for _, c := range checks {
		if c.OK {
			name := s.dest.find(c.ID).Name // the creator's word, without the URL
			if name == "" {
				name = c.Name
			}
			box.Add(widget.NewLabel("✓ " + name + " is ready"))
			continue
		}
		head := widget.NewLabelWithStyle("✕ "+s.scrub(c.Summary), fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
		why := widget.NewLabel(breakLines(s.scrub(c.Problem), 80))
		why.Importance = widget.LowImportance
		box.Add(head)
		box.Add(why)
	}
	for _, w := range warnings {
		l := widget.NewLabel(breakLines("⚠ "+w, 80))
		l.Importance = widget.WarningImportance
		box.Add(l)
	}
	return box
}

// breakLines breaks text into lines of about width characters at spaces.
// A dialog sizes itself before a word-wrapped label knows its width, and
// would cut the label's second line off; lines made here count from the
// start.
func breakLines(text string, width int) string {
	var b strings.Builder
	n := 0
	for i, w := range strings.Fields(text) {
		switch {
		case i == 0:
		case n+1+len([]rune(w)) > width:
			b.WriteByte('\n')
			n = 0
		default:
			b.WriteByte(' ')
			n++
		}
		b.WriteString(w)
		n += len([]rune(w))
	}
	return b.String()
}
