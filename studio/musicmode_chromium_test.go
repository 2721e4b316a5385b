//go:build unix

package studio_test

import (
	"testing"

	"greenroom/studio"
)

// processingJS is what the page's mic track says of its processing
// (getSettings), as a string: "echo noise gain" with a dash for each off.
const processingJS = `(() => { const t = window.greenroom.stream.getAudioTracks()[0]; if (!t) return "no mic";
  const s = t.getSettings();
  return [s.echoCancellation ? "echo" : "-", s.noiseSuppression ? "noise" : "-", s.autoGainControl ? "gain" : "-"].join(" "); })()`

// TestChromiumGuestSoundProcessing: a Chromium guest's mic is processed
// for a voice — echo cancellation, noise suppression and auto gain on, as
// the page asks by name (issue #12).
func TestChromiumGuestSoundProcessing(t *testing.T) {
	checkLeaks(t)
	s := newStudio(t, func(c *studio.Config) { c.PlainHTTP = false })
	page := chromiumPages(t, s.GuestURL()+"?name=Ann&join=1")[0]
	var id string
	eventually(t, "Ann to join", func() bool { return page.Eval(`greenroom.id`, &id) == nil && id != "" })
	processing := func() string {
		t.Helper()
		var got string
		if err := page.Eval(processingJS, &got); err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := processing(); got != "echo noise gain" {
		t.Errorf("the mic's processing by default: %q, want echo noise gain", got)
	}
}
