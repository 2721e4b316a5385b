package ui

import (
	"errors"
	"testing"

	"fyne.io/fyne/v2/test"
)

// TestStartFailure: a studio that can't start says why and where the log
// is, in a window (issue #15: from a menu, stderr is read by no one).
func TestStartFailure(t *testing.T) {
	problem := errors.New("settings: read /home/ann/.config/greenroom/settings.json: permission denied")
	w := StartFailure(test.NewTempApp(t), problem, "/home/ann/.local/state/greenroom/greenroom.log")
	for _, want := range []string{
		"Greenroom couldn't start",
		problem.Error(),
		"This is also written in /home/ann/.local/state/greenroom/greenroom.log.",
	} {
		if !shows(w.Content(), want) {
			t.Errorf("the window does not say %q", want)
		}
	}
	w = StartFailure(test.NewTempApp(t), problem, "")
	if !shows(w.Content(), "Start Greenroom from a terminal to see more.") {
		t.Error("with no log, the window does not say where to look")
	}
}
