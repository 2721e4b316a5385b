package studio_test

import (
	"testing"
	"time"

	"greenroom/studio/studiotest"
)

// Over a long show guests come and go: Ann stays while ten others join,
// go on stage and leave one after another, two at a time. Ann receives
// whoever is on stage now, each as its own participant, and her session
// does not grow with the show: the studio gives a newcomer's tracks the
// transceivers of those who left, so her SDP has m-lines for the most
// participants present at once (plus her own), not for everyone who ever
// came.
func TestGuestsComingAndGoingReuseMediaSections(t *testing.T) {
	checkLeaks(t)
	s := newStudio(t, nil)
	av := studiotest.Options{VideoIVF: videoIVF, AudioOgg: audioOgg}
	ann := join(t, s, "Ann", av)
	receives := func(from string) {
		t.Helper()
		for _, kind := range []string{"audio", "video"} {
			n := ann.Packets(from, kind)
			eventually(t, "Ann to receive "+from+"'s "+kind, func() bool { return ann.Packets(from, kind) > n+10 })
		}
	}
	stopped := func(from string) {
		t.Helper()
		eventually(t, "Ann to stop receiving "+from, func() bool {
			a, v := ann.Packets(from, "audio"), ann.Packets(from, "video")
			time.Sleep(200 * time.Millisecond)
			return ann.Packets(from, "audio") == a && ann.Packets(from, "video") == v
		})
	}
	var present []*studiotest.Client
	most := 0
	for i := range 10 {
		g := join(t, s, string(rune('A'+i))+"-guest", av)
		if err := s.Stage(g.ID, true); err != nil {
			t.Fatal(err)
		}
		present = append(present, g)
		for _, p := range present {
			receives(p.ID)
		}
		if len(present) == 2 {
			gone := present[0]
			present = present[1:]
			gone.Leave()
			stopped(gone.ID)
			receives(present[0].ID) // the one who stays is still heard
		}
		n := ann.MediaSections()
		most = max(most, n)
		t.Logf("after guest %d: Ann's SDP has %d m-lines, she has %d transceivers", i+1, n, ann.Transceivers())
	}
	// Ann's own camera and mic, and two participants' audio and video.
	if bound := 2 + 2*2; most > bound {
		t.Errorf("Ann's SDP grew to %d m-lines over 10 guests coming and going, want at most %d", most, bound)
	}
	if errs := ann.Errors(); len(errs) > 0 {
		t.Errorf("Ann's errors: %q", errs)
	}
}
