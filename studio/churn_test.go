package studio_test

import (
	"strconv"
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
	parallelWithLeakCheck(t)
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

// The same in a browser: on Ann's page each newcomer, arriving on the
// m-lines of someone who left, gets a tile of their own under their name
// with their picture, the one who left loses theirs, and the page's
// transceivers stay as few as the most people on stage at once.
func TestChromiumGuestSeesNewcomersOnReusedMediaSections(t *testing.T) {
	checkLeaks(t)
	s := newStudio(t, nil)
	ann := chromiumPages(t, s.GuestURL()+"?name=Ann&join=1")[0]
	joined(t, ann, "Ann")

	type tile struct {
		Name  string
		Audio int
		Width int
	}
	tileOf := func(id string) (tl tile) {
		_ = ann.Eval(`(() => { const t = greenroom.tiles.get(`+strconv.Quote(id)+`);
			return t ? {name: t.name.textContent, audio: t.stream.getAudioTracks().length, width: t.video.videoWidth} : {} })()`, &tl)
		return tl
	}
	av := studiotest.Options{VideoIVF: videoIVF, AudioOgg: audioOgg}
	var present []*studiotest.Client
	names := map[string]string{}
	most := 0
	for i := range 5 {
		name := string(rune('A'+i)) + "-guest"
		g := join(t, s, name, av)
		names[g.ID] = name
		if err := s.Stage(g.ID, true); err != nil {
			t.Fatal(err)
		}
		present = append(present, g)
		if len(present) == 3 {
			gone := present[0]
			present = present[1:]
			gone.Leave()
			eventually(t, "Ann's page to drop "+names[gone.ID]+"'s tile", func() bool { return tileOf(gone.ID).Name == "" })
		}
		for _, p := range present {
			eventually(t, "Ann's page to show "+names[p.ID], func() bool {
				tl := tileOf(p.ID)
				return tl.Name == names[p.ID] && tl.Audio == 1 && tl.Width > 0
			})
		}
		var n int
		if err := ann.Eval(`greenroom.pc.getTransceivers().length`, &n); err != nil {
			t.Fatal(err)
		}
		most = max(most, n)
		t.Logf("after guest %d: Ann's page has %d transceivers", i+1, n)
	}
	var st stats
	if err := ann.Eval(statsJS, &st); err != nil {
		t.Fatal(err)
	}
	if st.Tiles != len(present) || len(st.Errors) > 0 {
		t.Errorf("Ann's page has %d tiles for %d on stage, errors %q", st.Tiles, len(present), st.Errors)
	}
	// Her camera, mic and screen, and three guests' audio and video (the
	// newcomer arrives before the first of two leaves).
	if bound := 3 + 3*2; most > bound {
		t.Errorf("Ann's page grew to %d transceivers, want at most %d", most, bound)
	}
}
