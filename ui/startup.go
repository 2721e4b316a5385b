package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"greenroom/assets"
)

// Problems met while starting, for a creator who started Greenroom from a
// menu and has no terminal to read (issue #15): one the studio works around
// is a dialog over the studio window (ShowNotice); one it cannot start with
// is a small window of its own (StartFailure).

// ShowNotice opens a dialog over the window, for something main changed
// while starting that the creator must know (the usual port was taken).
// Call it from the UI thread, or before Run.
func (s *Studio) ShowNotice(title, text string) {
	s.log.Info("shown to the user", "title", title, "msg", text)
	dialog.ShowInformation(title, s.scrub(text), s.w)
}

// StartFailure is the window shown instead of the studio when it cannot
// start (settings it may not read, a studio that could not be built):
// what went wrong, where the log is (logPath, if not ""), and Quit. The
// caller runs it with ShowAndRun.
func StartFailure(a fyne.App, problem error, logPath string) fyne.Window {
	a.Settings().SetTheme(studioTheme{})
	icon := fyne.NewStaticResource("greenroom.png", assets.Icon)
	w := a.NewWindow("Greenroom")
	w.SetIcon(icon)
	msg := widget.NewLabel(problem.Error())
	msg.Wrapping = fyne.TextWrapWord
	where := "Start Greenroom from a terminal to see more."
	if logPath != "" {
		where = "This is also written in " + logPath + "."
	}
	hint := widget.NewLabel(where)
	hint.Wrapping = fyne.TextWrapWord
	quit := widget.NewButton("Quit", a.Quit)
	quit.Importance = widget.HighImportance
	title := widget.NewLabelWithStyle("Greenroom couldn't start", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	w.SetContent(container.NewPadded(container.NewBorder(title, container.NewBorder(nil, nil, nil, container.NewCenter(quit), hint), nil, nil, msg)))
	w.Resize(fyne.NewSize(560, 240))
	w.CenterOnScreen()
	return w
}
