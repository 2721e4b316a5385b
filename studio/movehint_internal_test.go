package studio

import (
	"net/netip"
	"testing"
	"time"
)

// TestMoveHints: a packet hints that a guest moved only if its SSRC is
// one the guest sends, it comes from an address no guest's connection
// sends to nor any of the guest's checks came from, and the guest's
// packets came from where it sends, then none for quietFor; RTCP is known
// by its payload type (RFC 5761).
func TestMoveHints(t *testing.T) {
	ann, bob := netip.MustParseAddrPort("198.18.0.12:40000"), netip.MustParseAddrPort("198.18.0.13:40000")
	elsewhere := netip.MustParseAddrPort("198.18.0.14:40000")
	checked := netip.MustParseAddrPort("198.18.0.15:40000")
	var ss iceSessions
	a, b, connecting := &iceSession{}, &iceSession{}, &iceSession{}
	a.selected.Store(&ann)
	b.selected.Store(&bob)
	ss.file(a, "", "a")
	ss.file(b, "", "b")
	ss.file(connecting, "", "c")
	a.selected.Store(&ann) // file forgets it: a new ICE session
	b.selected.Store(&bob)
	ss.addSSRC(a, 1)
	ss.addSSRC(b, 2)
	ss.addSSRC(connecting, 3)
	ss.checkedFrom(a, checked)
	rtp := func(ssrc byte) []byte { return []byte{0x80, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, ssrc} }
	rtcp := func(ssrc byte) []byte { return []byte{0x81, 201, 0, 7, 0, 0, 0, ssrc} }
	start := time.Now()
	for _, tc := range []struct {
		name   string
		after  time.Duration // since start, in order
		packet []byte
		from   netip.AddrPort
		want   *iceSession
	}{
		{"from elsewhere, none yet from where the studio sends", 0, rtp(1), elsewhere, nil},
		{"from where the studio sends", 0, rtp(1), ann, nil},
		{"RTCP from where the studio sends", 0, rtcp(2), bob, nil},
		{"from elsewhere while the guest's packets come", quietFor / 2, rtp(1), elsewhere, nil},
		{"from elsewhere, the guest quiet", quietFor + time.Millisecond, rtp(1), elsewhere, a},
		{"RTCP from elsewhere, the guest quiet", quietFor + time.Millisecond, rtcp(2), elsewhere, b},
		{"an SSRC nobody sends", quietFor, rtp(9), elsewhere, nil},
		{"from another guest's address", quietFor, rtp(1), bob, nil},
		{"from where a check of the guest's came", quietFor * 2, rtp(1), checked, nil},
		{"still connecting", quietFor, rtp(3), elsewhere, nil},
		{"too short", quietFor, []byte{0x80, 96, 0, 1, 0, 0, 0}, elsewhere, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got *iceSession
			if ssrc, ok := packetSSRC(tc.packet); ok {
				got = ss.stranger(ssrc, tc.from, start.Add(tc.after))
			}
			if got != tc.want {
				t.Errorf("session %p, want %p", got, tc.want)
			}
		})
	}

	// A guest's SSRCs are bounded, and forgotten with its session.
	for i := range uint32(100) {
		ss.addSSRC(a, 1000+i)
	}
	if len(a.ssrcs) != maxSSRCs || ss.bySSRC[1099] != a || ss.bySSRC[1] != nil {
		t.Errorf("%d SSRCs kept, the newest %v, the first %v", len(a.ssrcs), ss.bySSRC[1099] == a, ss.bySSRC[1] != nil)
	}
	ss.remove(a, "a")
	if len(ss.bySSRC) != 2 || ss.get("a") != nil {
		t.Errorf("after Ann's session: %d SSRCs, session %v", len(ss.bySSRC), ss.get("a"))
	}
}
