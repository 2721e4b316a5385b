package ui

import (
	"errors"
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"greenroom/studio/settings"
)

// OutputFormat is what makes the Settings tab's Output (size, frame rate,
// bit rate) apply at once. A Show that has it gets each change applied as
// it is saved; one without (a test's fake) only saves it.
type OutputFormat interface {
	// SetOutput makes the program width×height at fps frames a second and
	// kbps kb/s of video, at once: the preview shows it, and the next
	// stream and recording are made that way. While the show is live it
	// returns ErrOutputWhenLive and makes the change when the stream ends.
	// It takes a moment (an encoder opens): the window calls it off the
	// UI thread.
	SetOutput(width, height, fps, kbps int) error
}

// ErrOutputWhenLive is SetOutput's answer while the show is live: a stream
// cannot change size midway, so the change waits for the stream's end.
var ErrOutputWhenLive = errors.New("you're live: the new output applies when the stream ends")

// outputApplier applies the saved Output through OutputFormat, one change
// at a time and only the latest: typing a bit rate saves 6, 600, 6000,
// and only 6000 need be applied.
type outputApplier struct {
	s    *Studio
	of   OutputFormat // nil: the show cannot; changes are only saved
	note *widget.Label
	// waiting is set (on the UI thread) while a change waits for the
	// stream's end; ended applies it again then, to say how it went.
	waiting bool
	changes latestOnly
}

func (a *outputApplier) build(s *Studio) *widget.Label {
	a.s = s
	a.of, _ = s.show.(OutputFormat)
	a.note = widget.NewLabel("")
	a.note.Wrapping = fyne.TextWrapWord
	a.note.Hide()
	return a.note
}

// ended is called when the stream has ended: a change that waited for it
// is made now (the show made it already; this says so).
func (a *outputApplier) ended() {
	if a.waiting {
		a.apply()
	}
}

// apply makes the saved Output the program's, off the UI thread, and says
// how it went under the form.
func (a *outputApplier) apply() {
	if a.of == nil {
		return
	}
	var out settings.Output
	a.changes.run(a.s, func() error {
		out = a.s.st.Get().Output
		return a.of.SetOutput(out.Width, out.Height, out.FPS, out.VideoKbps)
	}, func(err error) {
		a.waiting = errors.Is(err, ErrOutputWhenLive)
		switch {
		case err == nil:
			a.note.SetText(fmt.Sprintf("Applied: %s at %d fps, %d kb/s — the preview shows it, your next stream and recording are made that way.",
				sizeLabel(out.Width, out.Height), out.FPS, out.VideoKbps))
			a.note.Importance = widget.SuccessImportance
		case errors.Is(err, ErrOutputWhenLive):
			a.note.SetText("Saved. You're live: it applies when the stream ends.")
			a.note.Importance = widget.WarningImportance
		default:
			a.note.SetText("Couldn't change the output: " + a.s.explain(err))
			a.note.Importance = widget.DangerImportance
		}
		a.note.Show()
		a.note.Refresh()
	})
}
