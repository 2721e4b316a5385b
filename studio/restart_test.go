package studio_test

import (
	"context"
	"slices"
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
	eventually(t, "the studio to see Ann's media stop", func() bool { return find(s, ann.ID).Media == studio.MediaReconnecting })
	if p := find(s, ann.ID); p.Connected || p.Place != studio.PlaceStage {
		t.Fatalf("path broken: connected %v place %q", p.Connected, p.Place)
	}
	before := bob.Packets(ann.ID, "video")

	start := time.Now()
	// The network is back at a new address; the page asks again.
	if err := ann.MovePath(); err != nil {
		t.Fatal(err)
	}
	if err := ann.RequestICERestart(); err != nil {
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

// Issue #9 when the signaling socket breaks with the path (a new address
// kills the TCP connection too): the session waits, marked lost, for the
// page to come back over another socket asking to keep its
// RTCPeerConnection; the studio adopts the socket and offers an ICE
// restart, and the media is back within 3 s of the network returning —
// the same session, not a rejoin: no "reconnected" (which a resume sends),
// nobody left or joined, Bob not renegotiated.
func TestSessionSurvivesNetworkChange(t *testing.T) {
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
	events, cancel := s.Subscribe()
	defer cancel()

	ann.BreakPath()
	ann.DropSignaling()
	eventually(t, "the studio to mark Ann away", func() bool { return held(s, ann.ID) })
	time.Sleep(time.Second)
	before := bob.Packets(ann.ID, "video")

	start := time.Now()
	if err := ann.MovePath(); err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithTimeout(context.Background(), 3*time.Second)
	defer stop()
	if kept, err := ann.Resignal(ctx); err != nil || !kept {
		t.Fatalf("resignal: kept %v, %v", kept, err)
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
	if p := find(s, ann.ID); p.Place != studio.PlaceStage || len(s.State().Participants) != people {
		t.Errorf("after: place %q, %d participants (was %d)", p.Place, len(s.State().Participants), people)
	}
	if bob.MediaSections() != sections {
		t.Errorf("Bob's media was renegotiated: %d m-lines (was %d)", bob.MediaSections(), sections)
	}
	cancel()
	var kinds []studio.EventKind
	for ev := range events {
		if ev.Participant.ID == ann.ID {
			kinds = append(kinds, ev.Kind)
		}
	}
	if len(kinds) < 2 || kinds[0] != studio.EventLost || kinds[len(kinds)-1] != studio.EventMedia || slices.Contains(kinds, studio.EventBack) || slices.Contains(kinds, studio.EventLeft) {
		t.Errorf("Ann's events %v, want lost, then media (connected) without a rejoin", kinds)
	}
	if errs := append(ann.Errors(), bob.Errors()...); len(errs) > 0 {
		t.Errorf("errors: %q", errs)
	}
	if ann.Bye() != "" {
		t.Errorf("Ann's session ended: %q", ann.Bye())
	}
}
