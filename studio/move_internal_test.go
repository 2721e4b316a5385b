package studio

import (
	"net/netip"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/stun/v4"
)

// TestFollowMove: the studio takes a guest's nomination at once only for
// the first check from a new peer-reflexive address while the guest is
// connected elsewhere (issue #9, lab case d); pion's rules decide the rest.
func TestFollowMove(t *testing.T) {
	old := netip.MustParseAddrPort("198.18.0.12:40000")
	local, err := ice.NewCandidateHost(&ice.CandidateHostConfig{Network: "udp", Address: "198.19.1.10", Port: 8443, Component: 1})
	if err != nil {
		t.Fatal(err)
	}
	prflx := func(addr string) ice.Candidate {
		c, err := ice.NewCandidatePeerReflexive(&ice.CandidatePeerReflexiveConfig{Network: "udp", Address: addr, Port: 40000, Component: 1})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	srflx, err := ice.NewCandidateServerReflexive(&ice.CandidateServerReflexiveConfig{Network: "udp", Address: "198.18.0.13", Port: 40000, Component: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		user     string
		nominate bool
		remote   ice.Candidate
		checks   int // received on the pair, this one included
		selected *netip.AddrPort
		faked    bool // made up by moveConn (movehint.go)
		want     bool
	}{
		{"moved", "ours:theirs", true, prflx("198.18.0.13"), 1, &old, false, true},
		{"moved, not nominated", "ours:theirs", false, prflx("198.18.0.13"), 1, &old, false, false},
		{"moved, a later check", "ours:theirs", true, prflx("198.18.0.13"), 2, &old, false, false},
		{"the same address on another of our candidates", "ours:theirs", true, prflx("198.18.0.12"), 1, &old, false, false},
		{"still connecting", "ours:theirs", true, prflx("198.18.0.13"), 1, nil, false, false},
		{"a candidate the guest told us", "ours:theirs", true, srflx, 1, &old, false, false},
		{"another session", "other:theirs", true, prflx("198.18.0.13"), 1, &old, false, false},
		{"made up, back at an address it was at", "ours:theirs", true, prflx("198.18.0.13"), 3, &old, true, true},
		{"made up, at a candidate the guest told us", "ours:theirs", true, srflx, 1, &old, true, true},
		{"made up, where the studio sends", "ours:theirs", true, prflx("198.18.0.12"), 1, &old, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ss iceSessions
			s := &iceSession{}
			s.selected.Store(tc.selected)
			ss.byUfrag = map[string]*iceSession{"ours": s}
			setters := []stun.Setter{stun.BindingRequest, stun.NewUsername(tc.user)}
			if tc.nominate {
				setters = append(setters, ice.UseCandidate())
			}
			m, err := stun.Build(setters...)
			if err != nil {
				t.Fatal(err)
			}
			pair := &ice.CandidatePair{Local: local, Remote: tc.remote}
			for range tc.checks {
				pair.UpdateRequestReceived()
			}
			if tc.faked {
				ss.fake(m.TransactionID, time.Now())
			}
			if got := ss.followMove(m, local, tc.remote, pair); got != tc.want {
				t.Errorf("followMove = %v, want %v", got, tc.want)
			}
		})
	}
}
