//go:build unix

package studio_test

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"greenroom/studio"
	"greenroom/studio/studiotest"
)

// The real guest page, joining a full green room (of one, a pion guest
// in it), says the studio is full and stops: the studio sees one attempt
// in the 5 s after, where the page's backoff for a blip would have made
// four or more (0.5, 1, 2, 2 s).
func TestChromiumStudioFull(t *testing.T) {
	needChromium(t)
	checkLeaks(t)
	var log bytes.Buffer
	var logMu sync.Mutex
	s := newStudio(t, func(c *studio.Config) {
		c.Limits = studio.Limits{Stage: 1, GreenRoom: 1}
		c.Logger = slog.New(slog.NewTextHandler(lockedWriter{&logMu, &log}, nil))
	})
	join(t, s, "Ann", studiotest.Options{})
	attempts := func() int {
		logMu.Lock()
		defer logMu.Unlock()
		return strings.Count(log.String(), "refused a guest: the studio is full")
	}
	p := chromiumPages(t, s.GuestURL()+"?name=Bob&join=1")[0]
	var ended struct {
		Shown  bool   `json:"shown"`
		Title  string `json:"title"`
		Reason string `json:"reason"`
	}
	const endedJS = `({shown: !document.getElementById("ended").hidden,
	  title: document.getElementById("ended-title").textContent, reason: document.getElementById("ended-reason").textContent})`
	eventually(t, "the page to say the studio is full", func() bool {
		return p.Eval(endedJS, &ended) == nil && ended.Shown
	})
	time.Sleep(5 * time.Second)
	if err := p.Eval(endedJS, &ended); err != nil {
		t.Fatal(err)
	}
	t.Logf("page: %+v; the studio refused %d attempts", ended, attempts())
	if !ended.Shown || ended.Title != "The studio is full" || !strings.Contains(ended.Reason, "the host can make room; try again later") {
		t.Errorf("the page shows %+v, want the studio is full", ended)
	}
	if n := attempts(); n != 1 {
		t.Errorf("the page tried %d times, want once", n)
	}
}
