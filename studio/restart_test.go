package studio_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"greenroom/studio"
	"greenroom/studio/studiotest"
)

// movingGuest is Ann, whose ICE path the test breaks and moves
// (studiotest.Options.Movable), on stage with Bob; both receive each
// other. It returns what the checks after her move compare with.
type movingGuest struct {
	ann, bob *studiotest.Client
	ufrag    string // the studio's ICE ufrag in Ann's session
	sections int    // Bob's m-lines
	people   int
}

func startMovingGuest(t *testing.T, s *studio.Studio) movingGuest {
	t.Helper()
	ann := join(t, s, "Ann", studiotest.Options{VideoIVF: videoIVF, AudioOgg: audioOgg, Movable: true})
	bob := join(t, s, "Bob", studiotest.Options{VideoIVF: videoIVF})
	for _, c := range []*studiotest.Client{ann, bob} {
		if err := s.Stage(c.ID, true); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "Bob to receive Ann", func() bool { return bob.Packets(ann.ID, "video") > 20 && connected(s, ann.ID) })
	return movingGuest{ann: ann, bob: bob, ufrag: ann.RemoteICEUfrag(), sections: bob.MediaSections(), people: len(s.State().Participants)}
}

// backWithin3s waits for Ann to be connected again and her video to reach
// Bob, for at most 3 s since start (the network's return), then checks it
// was an ICE restart of the same session: a new ufrag, her place, nobody
// gone or added, Bob not renegotiated, no errors, no bye.
func (m movingGuest) backWithin3s(t *testing.T, s *studio.Studio, start time.Time, before int64) {
	t.Helper()
	ann, bob := m.ann, m.bob
	for !connected(s, ann.ID) || bob.Packets(ann.ID, "video") < before+10 {
		if time.Since(start) > 3*time.Second {
			t.Fatalf("not back 3 s after the network returned: media %q, Bob got %d packets of Ann's since; errors %q",
				find(s, ann.ID).Media, bob.Packets(ann.ID, "video")-before, ann.Errors())
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("back in %v", time.Since(start).Round(time.Millisecond))
	if u := ann.RemoteICEUfrag(); u == m.ufrag || u == "" {
		t.Errorf("the studio's ICE ufrag %q, was %q: no ICE restart", u, m.ufrag)
	}
	if p := find(s, ann.ID); p.Place != studio.PlaceStage || len(s.State().Participants) != m.people {
		t.Errorf("after: place %q, %d participants (was %d)", p.Place, len(s.State().Participants), m.people)
	}
	if bob.MediaSections() != m.sections {
		t.Errorf("Bob's media was renegotiated: %d m-lines (was %d)", bob.MediaSections(), m.sections)
	}
	if errs := append(ann.Errors(), bob.Errors()...); len(errs) > 0 {
		t.Errorf("errors: %q", errs)
	}
	if ann.Bye() != "" {
		t.Errorf("Ann's session ended: %q", ann.Bye())
	}
}

// Issue #9, reconnect without rejoining: a guest on stage whose media path
// breaks (every packet lost, as when Wi-Fi drops) and comes back at a new
// address (a hotspot) gets back through an ICE restart the studio offers
// when asked: new ICE credentials, the same participant in the same place,
// the same tracks going on to the others — within 3 s of the network
// returning, and without a renegotiation of anyone else's media.
func TestICERestartAfterPathMoves(t *testing.T) {
	checkLeaks(t)
	s := newStudio(t, nil)
	m := startMovingGuest(t, s)
	ann := m.ann

	ann.BreakPath()
	eventually(t, "the studio to see Ann's media stop", func() bool { return find(s, ann.ID).Media == studio.MediaReconnecting })
	if p := find(s, ann.ID); p.Connected || p.Place != studio.PlaceStage {
		t.Fatalf("path broken: connected %v place %q", p.Connected, p.Place)
	}
	before := m.bob.Packets(ann.ID, "video")

	start := time.Now()
	// The network is back at a new address; the page asks again.
	if err := ann.MovePath(); err != nil {
		t.Fatal(err)
	}
	if err := ann.RequestICERestart(); err != nil {
		t.Fatal(err)
	}
	m.backWithin3s(t, s, start, before)
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
	m := startMovingGuest(t, s)
	ann := m.ann
	events, cancel := s.Subscribe()
	defer cancel()

	ann.BreakPath()
	ann.DropSignaling()
	eventually(t, "the studio to mark Ann away", func() bool { return held(s, ann.ID) })
	time.Sleep(time.Second)
	before := m.bob.Packets(ann.ID, "video")

	start := time.Now()
	if err := ann.MovePath(); err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithTimeout(context.Background(), 3*time.Second)
	defer stop()
	if kept, err := ann.Resignal(ctx); err != nil || !kept {
		t.Fatalf("resignal: kept %v, %v", kept, err)
	}
	m.backWithin3s(t, s, start, before)

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
}

// Issue #9, lab case d, with pion guests: Ann's router maps her anew (a
// new public port; her socket, her candidate and the studio's address
// stay). pion never nominates again once connected, so the studio would
// never follow her checks; it follows her media instead (movehint.go):
// it sends to her new address within 2 s (about 0.1 s unloaded: quietFor,
// then a round trip), media flows both ways again, and no ICE restart was
// needed. Without moveConn the studio went on sending to her old port and
// the test timed out.
func TestFollowsRebindAtFirstPacket(t *testing.T) {
	checkLeaks(t)
	s := newStudio(t, nil)
	m := startMovingGuest(t, s)
	ann, bob := m.ann, m.bob
	eventually(t, "Ann to receive Bob", func() bool { return ann.Packets(bob.ID, "video") > 20 })
	if at, want := s.SelectedRemote(ann.ID), ann.PathAddr(); at != want {
		t.Fatalf("the studio sends to %v, Ann is at %v", at, want)
	}
	toBob, toAnn := bob.Packets(ann.ID, "video"), ann.Packets(bob.ID, "video")

	start := time.Now()
	to, err := ann.RebindPath()
	if err != nil {
		t.Fatal(err)
	}
	var followed time.Duration
	for followed == 0 || bob.Packets(ann.ID, "video") < toBob+10 || ann.Packets(bob.ID, "video") < toAnn+10 {
		if followed == 0 && s.SelectedRemote(ann.ID) == to {
			followed = time.Since(start)
		}
		if time.Since(start) > 2*time.Second {
			t.Fatalf("2 s after Ann's address changed to %v: the studio sends to %v; Bob got %d packets of hers since, she %d of his",
				to, s.SelectedRemote(ann.ID), bob.Packets(ann.ID, "video")-toBob, ann.Packets(bob.ID, "video")-toAnn)
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("followed %v after Ann's address changed; media both ways %v after",
		followed.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	if u := ann.RemoteICEUfrag(); u != m.ufrag {
		t.Errorf("the studio's ICE ufrag %q, was %q: an ICE restart", u, m.ufrag)
	}
	if errs := append(ann.Errors(), bob.Errors()...); len(errs) > 0 {
		t.Errorf("errors: %q", errs)
	}
	if ann.Bye() != "" {
		t.Errorf("Ann's session ended: %q", ann.Bye())
	}
}

// Guests who join while someone is on stage get the studio's answer and,
// right behind it, its offer of the stage's tracks; each answers that
// offer without restarting ICE. The pion client once applied the offer
// before its transport had started, restarted ICE with credentials the
// studio had not seen, and on a loaded box (the studio's transport
// starting after it took that answer) never connected:
// TestSceneReachesThePipeline timed out under -race. Without the fix a
// guest restarted about one join in three unloaded, two in three loaded
// (and one in four runs of this test had a guest never connect, even
// unloaded); four joins catch it most runs.
func TestGuestAnswersTheFirstOfferWithoutICERestart(t *testing.T) {
	s := newStudio(t, nil)
	bob := join(t, s, "Bob", studiotest.Options{AudioOgg: audioOgg})
	if err := s.Stage(bob.ID, true); err != nil {
		t.Fatal(err)
	}
	var guests []*studiotest.Client
	for _, name := range []string{"Ann", "Cat", "Dan", "Eve"} {
		guests = append(guests, join(t, s, name, studiotest.Options{}))
	}
	for _, c := range guests {
		// A guest whose restart went unseen never hears Bob: its error
		// says why at once.
		eventually(t, c.ID+" to hear Bob", func() bool { return c.Packets(bob.ID, "audio") > 0 || len(c.Errors()) > 0 })
		if errs := c.Errors(); len(errs) > 0 {
			t.Errorf("%s: %q", c.ID, errs)
		}
	}
}
