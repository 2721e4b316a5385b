package ui

import (
	"testing"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"greenroom/studio"
)

// recNoticeTexts is the recordings' notices the window shows.
func recNoticeTexts(s *testStudio) []string {
	var out []string
	for _, o := range test.LaidOutObjects(s.notices.box) {
		if l, ok := o.(*widget.Label); ok && l.Visible() {
			out = append(out, l.Text)
		}
	}
	return out
}

// TestRecordingNotices: a studio that found the last show cut short says
// so at the top of the window until the creator dismisses it; a full disk
// while live is said the same way, and the dismissed notice stays away.
func TestRecordingNotices(t *testing.T) {
	const cut = "The last show (Cut short, Fri 4 Dec 23:40) was cut short; its recordings are in /rec/2026-12-04 23.40 Cut short"
	const full = "The disk is full: recording stopped at 12:34 into the show; the stream goes on"
	f := newFake()
	f.state.Recording = &studio.RecordingStatus{CutShort: &studio.CutShort{Title: "Cut short", Message: cut}}
	s, _ := open(t, f, nil)
	s.settle()
	if got := recNoticeTexts(s); len(got) != 1 || got[0] != cut {
		t.Fatalf("notices at the start: %q, want the show cut short", got)
	}
	var dismiss *widget.Button
	for _, o := range test.LaidOutObjects(s.notices.box) {
		if b, ok := o.(*widget.Button); ok {
			dismiss = b
		}
	}
	if dismiss == nil {
		t.Fatal("the notice has no dismiss button")
	}
	test.Tap(dismiss)
	if got := recNoticeTexts(s); len(got) != 0 {
		t.Fatalf("notices after dismissing: %q", got)
	}

	f.change(studio.EventRecording, func(st *studio.State) {
		st.Recording = &studio.RecordingStatus{CutShort: st.Recording.CutShort, Stopped: full}
	})
	eventually(t, s, "the full disk's notice", func() bool {
		got := recNoticeTexts(s)
		return len(got) == 1 && got[0] == full
	})
}
