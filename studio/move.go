package studio

import (
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/stun/v4"
	"github.com/pion/webrtc/v4"
)

// A guest whose router takes a new public address (they move to a phone's
// hotspot, their provider renumbers them) keeps its connection in the
// browser's eyes: the browser's socket and the studio's address are the
// same, only the NAT in between maps it anew. Its packets now come from an
// address the studio has never seen (issue #9, lab case d):
//
//   - pion's UDP mux drops them — RTP included — until an ICE check from
//     that address registers it; the browser checks its selected pair
//     every 2.5 s (libwebrtc's ping interval for a stable connection);
//   - that check nominates its pair (Chromium sets USE-CANDIDATE on every
//     check of the pair it uses), but pion, as the controlled agent, takes
//     a nomination only on a pair its own check has succeeded on, and only
//     if its priority is higher. Its triggered check's answer is often
//     filed under another of our host candidates (they share the mux's one
//     socket), so the nomination waits for the browser's next check,
//     another 2.5 s, while pion keeps sending the guest's stage to the old
//     address: nothing reaches the guest though the browser calls the
//     connection connected (its checks are answered).
//
// followMove takes such a nomination at once: the studio's side sends to
// where the guest's packets come from as soon as its first check from
// there arrives. The check passed MESSAGE-INTEGRITY (pion checks it before
// calling us), so it comes from the guest's browser; an attacker on the
// path who replays one from elsewhere could divert the media until the
// browser's next check, which an attacker on the path can do anyway by
// dropping it.
//
// The browser's first check comes up to 2.5 s after the move, though, and
// a pion guest's checks never nominate once it is connected: movehint.go
// makes one at the guest's first media packet from its new address.

// iceSessions finds a guest's ICE session by the studio's ICE ufrag in
// the checks the guest sends (their USERNAME is "ours:theirs"), and by
// the SSRCs of the media it sends (movehint.go), and knows the checks
// movehint.go made up (faked, by transaction ID, when). Guarded by mu;
// the guest's run loop files and removes its session, pion's OnTrack
// goroutines add its SSRCs.
type iceSessions struct {
	mu      sync.Mutex
	byUfrag map[string]*iceSession
	bySSRC  map[uint32]*iceSession
	faked   map[[stun.TransactionIDSize]byte]time.Time
}

// iceSession is where one guest's connection sends: the remote address of
// its selected candidate pair, as pion last reported it (nil before the
// first and during an ICE restart). followMove can't ask pion: it runs in
// the ICE agent's loop, and the transport's getters take locks that are
// held while waiting for that loop.
//
// creds are both sides' ICE credentials, for the checks movehint.go sends
// and fakes (nil until both descriptions are set); heard is when a packet
// of the guest's last came from the selected address (0: none since it
// was selected), and lastHint when
// movehint.go last sent a check (Unix nanoseconds); ssrcs are the guest's
// inbound SSRCs, guarded by iceSessions.mu.
type iceSession struct {
	selected atomic.Pointer[netip.AddrPort]
	creds    atomic.Pointer[iceCreds]
	heard    atomic.Int64
	lastHint atomic.Int64
	ssrcs    []uint32
	// checked are the addresses the guest's checks came from in this ICE
	// session (at most maxChecked, the latest), guarded by
	// iceSessions.mu: pion's mux knows them, and pion's rules and
	// followMove's decide on them (movehint.go).
	checked []netip.AddrPort
	// browserControlled: the browser's last check to us said
	// ICE-CONTROLLED (our agent controls; movehint.go).
	browserControlled atomic.Bool
}

// iceCreds are one ICE session's credentials: ours from the local
// description, the guest's from the remote one.
type iceCreds struct {
	ourUfrag, ourPwd     string
	theirUfrag, theirPwd string
}

// learn takes both sides' ICE credentials from pc's descriptions, after
// either changed (the first offer and answer, an ICE restart we offer and
// its answer). Between those two, ours are new and the guest's old: no
// matter, a session is not followed until pion selects a pair again
// (file forgot the old one).
func (s *iceSession) learn(pc *webrtc.PeerConnection) {
	l, r := pc.LocalDescription(), pc.RemoteDescription()
	if l == nil || r == nil {
		s.creds.Store(nil)
		return
	}
	c := &iceCreds{
		ourUfrag: sdpAttr(l.SDP, "ice-ufrag"), ourPwd: sdpAttr(l.SDP, "ice-pwd"),
		theirUfrag: sdpAttr(r.SDP, "ice-ufrag"), theirPwd: sdpAttr(r.SDP, "ice-pwd"),
	}
	if c.ourUfrag == "" || c.ourPwd == "" || c.theirUfrag == "" || c.theirPwd == "" {
		c = nil
	}
	s.creds.Store(c)
}

// watch keeps s.selected up to date from t's selected pair; moved, if not
// nil, runs (on pion's goroutine) when the pair changes from one remote
// address to another.
func (s *iceSession) watch(t *webrtc.ICETransport, moved func(from, to netip.AddrPort)) {
	t.OnSelectedCandidatePairChange(func(p *webrtc.ICECandidatePair) {
		if p == nil || p.Remote == nil {
			return
		}
		to, ok := addrPort(p.Remote.Address, int(p.Remote.Port))
		if !ok {
			return
		}
		from := s.selected.Swap(&to)
		if from == nil || *from != to {
			s.heard.Store(0) // nothing heard from there yet (movehint.go)
		}
		if from != nil && *from != to && moved != nil {
			moved(*from, to)
		}
	})
}

// file files s under ufrag, our ICE username fragment, new after each ICE
// restart, instead of old, and returns it. A restart starts over: until
// pion selects a pair again, followMove leaves the session to pion.
func (ss *iceSessions) file(s *iceSession, old, ufrag string) string {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.byUfrag, old)
	if ufrag == "" {
		return ""
	}
	if ufrag != old {
		s.selected.Store(nil)
		s.heard.Store(0)
		s.checked = nil
	}
	if ss.byUfrag == nil {
		ss.byUfrag = make(map[string]*iceSession)
	}
	ss.byUfrag[ufrag] = s
	return ufrag
}

// localUfrag is our ICE username fragment, read from the local description
// we just set (pion writes it there under its lock). Not from
// ICETransport.GetLocalParameters: it reads the transport's gatherer
// unlocked while the start of the transport that SetRemoteDescription
// queues writes it (pion/webrtc v4.2.26 icetransport.go ensureGatherer
// and StartContext), a data race -race found (issue #14).
func localUfrag(pc *webrtc.PeerConnection) string {
	d := pc.LocalDescription()
	if d == nil {
		return ""
	}
	return sdpAttr(d.SDP, "ice-ufrag")
}

// sdpAttr is the value of sdp's first a=name: line (ICE credentials are
// the same in every m-line: we bundle).
func sdpAttr(sdp, name string) string {
	for _, line := range strings.Split(sdp, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "a="+name+":"); ok {
			return v
		}
	}
	return ""
}

// remove forgets s, filed under ufrag, and its SSRCs: the session ended.
func (ss *iceSessions) remove(s *iceSession, ufrag string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.byUfrag, ufrag)
	for _, ssrc := range s.ssrcs {
		if ss.bySSRC[ssrc] == s {
			delete(ss.bySSRC, ssrc)
		}
	}
	s.ssrcs = nil
}

func (ss *iceSessions) get(ufrag string) *iceSession {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.byUfrag[ufrag]
}

// followMove is pion's binding-request handler (run in the ICE agent's
// loop; it must not block): it says to select pair when the guest is
// connected over another address and this is the first check from a new
// one, nominated by the browser (see above), or a check movehint.go made
// up when the guest's media went quiet on the selected address and came
// from this one, the browser's answer proving it there: even to an address
// the guest was at before (a pair pion knows), where its own checks would
// not be taken. Everything else is left to pion's own rules.
func (ss *iceSessions) followMove(m *stun.Message, _, remote ice.Candidate, pair *ice.CandidatePair) bool {
	faked := ss.takeFaked(m.TransactionID)
	if !m.Contains(stun.AttrUseCandidate) || !faked && (remote.Type() != ice.CandidateTypePeerReflexive || pair.RequestsReceived() != 1) {
		return false
	}
	var user stun.Username
	if err := user.GetFrom(m); err != nil {
		return false
	}
	ours, _, _ := strings.Cut(user.String(), ":")
	s := ss.get(ours)
	if s == nil {
		return false
	}
	was := s.selected.Load()
	now, ok := addrPort(remote.Address(), remote.Port())
	// Not connected yet, or restarting: pion's rules pick the pair.
	return was != nil && ok && *was != now
}

func addrPort(ip string, port int) (netip.AddrPort, bool) {
	a, err := netip.ParseAddr(ip)
	if err != nil || port <= 0 || port > 65535 {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(a.Unmap(), uint16(port)), true
}
