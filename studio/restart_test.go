package studio_test

import (
	"testing"
	"time"

	"greenroom/studio"
	"greenroom/studio/studiotest"
)

// Issue #9, reconnect without rejoining: a guest on stage whose media path
// breaks (every packet lost, as when Wi-Fi drops) and comes back at a new
// address (a hotspot) gets back through an ICE restart the studio offers
// when asked: new ICE credentials, the same participant in the same place,
// the same tracks going on to the others — within 3 s of the network
// returning, and without a renegotiation of anyone else's media.
func TestICERestartAfterPathMoves(t *testing.T) {
	checkLeaks(t)
	s := newStudio(t, nil)
	ann := join(t, s, "Ann", studiotest.Options{VideoIVF: videoIVF, AudioOgg: audioOgg, Movable: true})
	bob := join(t, s, "Bob", studiotest.Options{VideoIVF: videoIVF})
	for _, c := range []*studiotest.Client{ann, bob} {
		if err := s.Stage(c.ID, true); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "Bob to receive Ann", func() bool { return bob.Packets(ann.ID, "video") > 20 && connected(s, ann.ID) })
	ufrag, sections, people := ann.RemoteICEUfrag(), bob.MediaSections(), len(s.State().Participants)
	received := bob.Received(ann.ID, "video")

	ann.BreakPath()
	eventually(t, "the studio to see Ann's media stop", func() bool { return find(s, ann.ID).Media == studio.MediaConnecting })
	if p := find(s, ann.ID); p.Connected || p.Place != studio.PlaceStage {
		t.Fatalf("path broken: connected %v place %q", p.Connected, p.Place)
	}
	before := bob.Packets(ann.ID, "video")

	start := time.Now()
	if err := ann.MovePath(); err != nil {
		t.Fatal(err)
	}
	for !connected(s, ann.ID) || bob.Packets(ann.ID, "video") < before+10 {
		if time.Since(start) > 3*time.Second {
			t.Fatalf("not back 3 s after the network returned: media %q, Bob got %d packets of Ann's since; errors %q",
				find(s, ann.ID).Media, bob.Packets(ann.ID, "video")-before, ann.Errors())
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("back in %v", time.Since(start).Round(time.Millisecond))

	if u := ann.RemoteICEUfrag(); u == ufrag || u == "" {
		t.Errorf("the studio's ICE ufrag %q, was %q: no ICE restart", u, ufrag)
	}
	p := find(s, ann.ID)
	if p.Place != studio.PlaceStage || len(s.State().Participants) != people {
		t.Errorf("after the restart: place %q, %d participants (was %d)", p.Place, len(s.State().Participants), people)
	}
	if bob.Received(ann.ID, "video") != received || bob.MediaSections() != sections {
		t.Errorf("Bob's media was renegotiated: %d m-lines (was %d)", bob.MediaSections(), sections)
	}
	if errs := append(ann.Errors(), bob.Errors()...); len(errs) > 0 {
		t.Errorf("errors: %q", errs)
	}
	if ann.Bye() != "" {
		t.Errorf("Ann's session ended: %q", ann.Bye())
	}
}
