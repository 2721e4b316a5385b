package ui

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// outputShow is the fake with OutputFormat: it records the formats it is
// asked for and answers err.
type outputShow struct {
	*fakeShow
	mu    sync.Mutex
	calls []string // "WxH@fps kbps"
	err   error
}

func (o *outputShow) SetOutput(w, h, fps, kbps int) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls = append(o.calls, fmt.Sprintf("%dx%d@%d %d", w, h, fps, kbps))
	return o.err
}

func (o *outputShow) last() (string, int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.calls) == 0 {
		return "", 0
	}
	return o.calls[len(o.calls)-1], len(o.calls)
}

// A change of the output in the Settings tab is saved and applied at once,
// the latest one last, and the tab says what the program is now.
func TestOutputAppliesAtOnce(t *testing.T) {
	o := &outputShow{fakeShow: newFake()}
	s, st := openShow(t, o, nil)
	if s.prefs.output.note.Visible() {
		t.Error("a note under the output before any change")
	}
	s.prefs.size.SetSelected(sizeLabel(1920, 1080))
	s.settle()
	if call, _ := o.last(); call != "1920x1080@30 6000" {
		t.Errorf("after choosing 1080p, the show was asked for %q, want 1920x1080@30 6000 (the bit rate follows the size)", call)
	}
	if got := s.prefs.output.note.Text; !s.prefs.output.note.Visible() || !strings.HasPrefix(got, "Applied: 1920 × 1080 (1080p) at 30 fps, 6000 kb/s") {
		t.Errorf("the tab says %q", got)
	}
	if out := st.Get().Output; out.Width != 1920 || out.VideoKbps != 6000 {
		t.Errorf("saved %+v", out)
	}

	s.prefs.fps.SetSelected("25")
	for _, v := range []string{"5", "50", "500", "5000"} {
		s.prefs.kbps.SetText(v)
	}
	s.settle()
	if call, _ := o.last(); call != "1920x1080@25 5000" {
		t.Errorf("last applied %q, want the last change, 1920x1080@25 5000", call)
	}

	o.mu.Lock()
	o.err = ErrOutputWhenLive
	o.mu.Unlock()
	s.prefs.fps.SetSelected("30")
	s.settle()
	if got := s.prefs.output.note.Text; got != "Saved. You're live: it applies when the stream ends." {
		t.Errorf("while live, the tab says %q", got)
	}
	o.mu.Lock()
	o.err = nil // the show made the change as the stream ended
	o.mu.Unlock()
	s.prefs.setLive(true)
	s.prefs.setLive(false)
	s.settle()
	if call, _ := o.last(); call != "1920x1080@30 5000" || !strings.HasPrefix(s.prefs.output.note.Text, "Applied: 1920 × 1080 (1080p) at 30 fps") {
		t.Errorf("after the stream: asked for %q, the tab says %q", call, s.prefs.output.note.Text)
	}

	o.mu.Lock()
	o.err = errors.New("encode: no encoder")
	o.mu.Unlock()
	s.prefs.fps.SetSelected("50")
	s.settle()
	if got := s.prefs.output.note.Text; !strings.HasPrefix(got, "Couldn't change the output: ") || !strings.Contains(got, "no encoder") {
		t.Errorf("after a failure, the tab says %q", got)
	}
}

// A show that cannot change its output (no OutputFormat) only saves the
// change, and the tab claims nothing.
func TestOutputSavedOnlyWithoutOutputFormat(t *testing.T) {
	s, st := openShow(t, bareShow{newFake()}, nil)
	s.prefs.fps.SetSelected("25")
	s.settle()
	if st.Get().Output.FPS != 25 {
		t.Error("the frame rate was not saved")
	}
	if s.prefs.output.note.Visible() {
		t.Errorf("the tab says %q", s.prefs.output.note.Text)
	}
}

var _ OutputFormat = (*outputShow)(nil)
