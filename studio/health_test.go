package studio_test

import (
	"testing"

	"greenroom/studio"
	"greenroom/studio/studiotest"
)

// Real loss, measured by the studio from pion peers: Bob loses every
// fourth video packet he receives (below NACK), so his receiver reports
// say so and his level goes red for his downlink — in /api/state and in
// the "health" his page is sent; Dan's sender drops every fifth video
// packet on the wire, which the studio sees as loss on his uplink (what
// NACK didn't mend: about 1 %; the retransmissions also show as jitter). Ann,
// who sends her camera in layers over loopback, stays green: her uplink
// has a bit rate, no loss and no freeze.
func TestHealthFromRealLoss(t *testing.T) {
	checkLeaks(t)
	s := newStudio(t, nil)
	ann := join(t, s, "Ann", studiotest.Options{Simulcast: simulcastLayers, AudioOgg: audioOgg})
	bob := join(t, s, "Bob", studiotest.Options{LoseEvery: 4})
	dan := join(t, s, "Dan", studiotest.Options{VideoIVF: videoIVF, DropEvery: 5})
	if err := s.Stage(ann.ID, true); err != nil {
		t.Fatal(err)
	}
	health := func(id string) studio.Health {
		if h := find(s, id).Health; h != nil {
			return *h
		}
		return studio.Health{}
	}
	eventually(t, "Bob's level to go red for his downlink", func() bool {
		h := health(bob.ID)
		return h.Level == studio.LevelRed && h.Down.Loss >= 0.08
	})
	h := health(bob.ID)
	t.Logf("Bob: %+v", h)
	if want := "weak downlink"; len(h.Reason) < len(want) || h.Reason[:len(want)] != want {
		t.Errorf("Bob's reason %q, want it to start %q", h.Reason, want)
	}
	if h.Down.Kbps == 0 || h.Down.EstimateKbps == 0 {
		t.Errorf("Bob's downlink %+v: want a bit rate and the estimate from his loss reports", h.Down)
	}
	eventually(t, "Bob's page to be told", func() bool {
		level, reason := bob.Health()
		return level == "red" && reason == health(bob.ID).Reason
	})
	eventually(t, "Dan's uplink loss to show", func() bool {
		h := health(dan.ID)
		return h.Up.Loss > 0 && h.Up.Kbps > 0
	})
	t.Logf("Dan: %+v", health(dan.ID))
	eventually(t, "Ann to be measured", func() bool { return health(ann.ID).Up.Kbps > 0 })
	if h := health(ann.ID); h.Level != studio.LevelGreen || h.Freezes.Count != 0 || h.Up.Loss != 0 {
		t.Errorf("Ann: %+v, want green without loss or freezes", h)
	}
}
