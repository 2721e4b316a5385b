package studio

import (
	"encoding/binary"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/stun/v4"
)

// followMove (move.go) follows a guest whose public address changed at
// the browser's first check from the new address: Chromium sends it up to
// 2.5 s after the move, and notices that it receives nothing only then
// (issue #9: media back at the page 3.8–4.2 s after the move in the lab),
// and a pion guest never nominates again, so it is never followed. But
// the guest's media keeps coming all along, from the new address: pion's
// mux drops it (it knows only addresses an ICE check came from), not
// before moveConn, the studio's ICE socket as the mux reads it, has seen
// it:
//
//  1. An RTP or RTCP packet from an address no guest's connection sends
//     to, and no check of the guest's came from in this ICE session (pion
//     knows those: its rules and followMove's decide), whose SSRC (in the clear in SRTP and SRTCP) is one a guest sends,
//     hints that this guest moved there, if its packets came from the
//     selected address and none did for quietFor: packets still in
//     flight when a path changes, or one the browser is leaving, don't
//     draw the studio away from where the guest's media comes; nor does
//     media over another pair than the one pion selected while the
//     browser settles on one at the start (Chromium on a machine with
//     several addresses: TestChromiumGuestICERestart), which pion's
//     rules sort out as before.
//  2. moveConn checks the hint with an ICE connectivity check of its own
//     to that address, as the studio's agent would send one (USERNAME
//     "theirs:ours", our role, MESSAGE-INTEGRITY with the guest's
//     password).
//  3. The browser answers it, signed with its password: it is there. In
//     the answer's place the mux reads a check as if the browser had sent
//     it from there, nominating the pair (USE-CANDIDATE, signed with our
//     password): pion makes the address a peer-reflexive candidate (if
//     new), and followMove, which knows the check's transaction ID,
//     selects its pair. pion's answer to that check reaches the browser,
//     which drops it (a transaction it never started).
//
// So the studio follows one round trip after the guest's first packet
// from its new address, whichever peer it is.
//
// An SSRC proves nothing: anyone can send a packet with a guest's SSRC
// from anywhere. All it gets them is one small STUN request to where it
// came from, at most every hintEvery per guest; the media goes there only
// after an answer signed with the guest's ICE password, which only the
// guest's browser and the studio know (it travels over the signaling
// WebSocket, under TLS). An attacker who could read that password could
// send the check themselves.

const (
	// hintEvery is how often a guest's packets from unknown addresses may
	// make the studio send a check: a moved guest sends tens of packets a
	// second, and the first check's answer comes within a round trip.
	hintEvery = 250 * time.Millisecond
	// quietFor is how long a guest's packets must have stopped coming
	// from the selected address for packets from elsewhere to be a hint:
	// a guest sends audio every 20 ms, video tens of packets a second,
	// RTCP besides.
	quietFor = 100 * time.Millisecond
	// checkFor is how long a check's answer is waited for: a round trip on
	// the worst link a guest could be on, with room to spare.
	checkFor = 2 * time.Second
	// maxProbes bounds the checks waited for, all guests together.
	maxProbes = 64
	// maxSSRCs bounds the SSRCs remembered per guest: a camera's three
	// simulcast layers, a screen's, audio, and renegotiations.
	maxSSRCs = 16
	// maxChecked bounds the addresses remembered per guest that its
	// checks came from: one per pair the browser checks.
	maxChecked = 16
	// prflxPriority is the PRIORITY of the checks moveConn sends and fakes:
	// that of a peer-reflexive candidate of component 1 with the highest
	// local preference (RFC 8445, 5.1.2.1).
	prflxPriority = 110<<24 | 65535<<8 | (256 - 1)
)

// moveConn is the studio's ICE UDP socket as the universal mux reads it
// (see above). Its ReadFromAddrPort runs on the mux's one reading
// goroutine; mu guards probes, the checks sent and not yet answered, by
// transaction ID; pending is how many there are, read without mu for
// every STUN message.
//
// The checks it sends claim our agent's role and those it fakes the
// browser's, as the browser's last check to us said: the studio answers a
// guest's first offer (its agent is controlled), but after an ICE restart
// the studio offered, Chromium takes the controlled role and pion,
// meeting that in a check, controls (pion/ice v4.4.8 agent.go
// handleRoleConflict); Chromium answers a check claiming its own role
// with 487 Role Conflict. A controlling pion agent calls followMove only
// on a pair's second check (selection.go, controllingSelector's
// HandleBindingRequest returns early for a new pair), so then moveConn
// fakes two: next is the second, read before the socket again (only the
// mux's reading goroutine touches it).
type moveConn struct {
	*net.UDPConn
	ss         *iceSessions
	log        *slog.Logger
	tieBreaker uint64
	next       []byte
	nextFrom   netip.AddrPort

	mu      sync.Mutex
	probes  map[[stun.TransactionIDSize]byte]probe
	pending atomic.Int32
}

// probe is a check sent to a guest's new address, to, as it was sent
// (from the socket's point of view).
type probe struct {
	s     *iceSession
	to    netip.AddrPort
	creds *iceCreds
	sent  time.Time
}

func newMoveConn(c *net.UDPConn, ss *iceSessions, log *slog.Logger) *moveConn {
	return &moveConn{UDPConn: c, ss: ss, log: log, tieBreaker: rand.Uint64(), probes: make(map[[stun.TransactionIDSize]byte]probe)}
}

// ReadFromAddrPort and WriteToAddrPort make moveConn an
// ice.AddrPortReaderWriter, which pion's mux prefers to ReadFrom and
// WriteTo (pion/ice v4.4.8 addr.go asAddrPortReaderWriter).
func (c *moveConn) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	if c.next != nil && len(c.next) <= len(b) {
		n, from := copy(b, c.next), c.nextFrom
		c.next = nil
		return n, from, nil
	}
	n, from, err := c.ReadFromUDPAddrPort(b)
	if err != nil || n == 0 {
		return n, from, err
	}
	switch {
	case b[0] >= 0x80 && b[0] <= 0xbf: // RTP or RTCP (RFC 7983)
		c.hint(b[:n], from)
	case stun.IsMessage(b[:n]):
		if req := c.onSTUN(b[:n], from); req != nil && len(req) <= len(b) {
			n = copy(b, req)
		}
	}
	return n, from, nil
}

func (c *moveConn) WriteToAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	return c.WriteToUDPAddrPort(b, addr)
}

func (c *moveConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, from, err := c.ReadFromAddrPort(b)
	if err != nil {
		return n, nil, err
	}
	return n, net.UDPAddrFromAddrPort(from), nil
}

// hint checks, at most every hintEvery per guest, whether the guest whose
// SSRC packet p has is at from, when from is an address no guest's
// connection sends to.
func (c *moveConn) hint(p []byte, from netip.AddrPort) {
	ssrc, ok := packetSSRC(p)
	if !ok {
		return
	}
	now := time.Now()
	s := c.ss.stranger(ssrc, netip.AddrPortFrom(from.Addr().Unmap(), from.Port()), now)
	if s == nil {
		return
	}
	last := s.lastHint.Load()
	if now.UnixNano()-last < int64(hintEvery) || !s.lastHint.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	creds := s.creds.Load()
	if creds == nil {
		return
	}
	m, err := stun.Build(stun.TransactionID, stun.BindingRequest,
		stun.NewUsername(creds.theirUfrag+":"+creds.ourUfrag),
		ice.PriorityAttr(prflxPriority), c.role(s.browserControlled.Load()),
		stun.NewShortTermIntegrity(creds.theirPwd), stun.Fingerprint)
	if err != nil {
		return
	}
	c.mu.Lock()
	for id, pr := range c.probes {
		if now.Sub(pr.sent) > checkFor {
			delete(c.probes, id)
		}
	}
	if len(c.probes) >= maxProbes {
		c.mu.Unlock()
		return
	}
	c.probes[m.TransactionID] = probe{s: s, to: from, creds: creds, sent: now}
	c.pending.Store(int32(len(c.probes)))
	c.mu.Unlock()
	c.log.Debug("checking whether a guest moved", "ssrc", ssrc, "to", from)
	_, _ = c.WriteToUDPAddrPort(m.Raw, from)
}

// role is the ICE-CONTROLLED attribute, or ICE-CONTROLLING if
// controlling, with our tiebreaker.
func (c *moveConn) role(controlling bool) stun.Setter {
	if controlling {
		return ice.AttrControlling(c.tieBreaker)
	}
	return ice.AttrControlled(c.tieBreaker)
}

// onSTUN learns the browser's role from its checks and, if p is the
// guest's signed answer from from to one of our checks, returns the
// nominating check for the mux to read in its place; nil for anything
// else (the answer to one of pion's checks, to a STUN server's query,
// publicaddr.go), which the mux reads as it is.
func (c *moveConn) onSTUN(p []byte, from netip.AddrPort) []byte {
	m := &stun.Message{Raw: append([]byte(nil), p...)}
	if m.Decode() != nil {
		return nil
	}
	if m.Type == stun.BindingRequest {
		var user stun.Username
		if user.GetFrom(m) == nil && (m.Contains(stun.AttrICEControlled) || m.Contains(stun.AttrICEControlling)) {
			ours, _, _ := strings.Cut(user.String(), ":")
			if s := c.ss.get(ours); s != nil {
				s.browserControlled.Store(m.Contains(stun.AttrICEControlled))
				c.ss.checkedFrom(s, netip.AddrPortFrom(from.Addr().Unmap(), from.Port()))
			}
		}
		return nil
	}
	if m.Type != stun.BindingSuccess || c.pending.Load() == 0 {
		return nil
	}
	c.mu.Lock()
	pr, ok := c.probes[m.TransactionID]
	if ok && pr.to == from {
		delete(c.probes, m.TransactionID)
		c.pending.Store(int32(len(c.probes)))
	}
	c.mu.Unlock()
	if !ok || pr.to != from || time.Since(pr.sent) > checkFor {
		return nil
	}
	if stun.MessageIntegrity(pr.creds.theirPwd).Check(m) != nil || stun.Fingerprint.Check(m) != nil {
		return nil
	}
	// An ICE restart since the check: the old credentials are no use.
	if pr.s.creds.Load() != pr.creds {
		return nil
	}
	controlled := pr.s.browserControlled.Load()
	fake := func() []byte {
		req, err := stun.Build(stun.TransactionID, stun.BindingRequest,
			stun.NewUsername(pr.creds.ourUfrag+":"+pr.creds.theirUfrag),
			ice.UseCandidate(), ice.PriorityAttr(prflxPriority), c.role(!controlled),
			stun.NewShortTermIntegrity(pr.creds.ourPwd), stun.Fingerprint)
		if err != nil {
			return nil
		}
		c.ss.fake(req.TransactionID, time.Now())
		return req.Raw
	}
	c.log.Debug("a guest answered from a new address", "at", from)
	first := fake()
	if controlled && first != nil {
		c.next, c.nextFrom = fake(), from
	}
	return first
}

// packetSSRC is the SSRC of an RTP packet, or the sender SSRC of an RTCP
// one (payload types 64–95 mark RTCP, RFC 5761 4).
func packetSSRC(p []byte) (uint32, bool) {
	if len(p) >= 8 && p[1]&0x7f >= 64 && p[1]&0x7f <= 95 {
		return binary.BigEndian.Uint32(p[4:8]), true
	}
	if len(p) >= 12 {
		return binary.BigEndian.Uint32(p[8:12]), true
	}
	return 0, false
}

// addSSRC notes that s's guest sends ssrc; the oldest is forgotten past
// maxSSRCs.
func (ss *iceSessions) addSSRC(s *iceSession, ssrc uint32) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.bySSRC == nil {
		ss.bySSRC = make(map[uint32]*iceSession)
	}
	if ss.bySSRC[ssrc] == s {
		return
	}
	if len(s.ssrcs) >= maxSSRCs {
		if old := s.ssrcs[0]; ss.bySSRC[old] == s {
			delete(ss.bySSRC, old)
		}
		s.ssrcs = s.ssrcs[1:]
	}
	s.ssrcs = append(s.ssrcs, ssrc)
	ss.bySSRC[ssrc] = s
}

// stranger returns the session of the guest that sends ssrc if from is
// not where any guest's connection sends nor where its checks came from,
// and the guest's packets came
// from where it sends, then stopped (quietFor before now): a hint that it
// moved there. Run for every RTP and RTCP packet; the loop over the sessions
// only for those from elsewhere than the sender's own address.
func (ss *iceSessions) stranger(ssrc uint32, from netip.AddrPort, now time.Time) *iceSession {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.bySSRC[ssrc]
	if s == nil {
		return nil
	}
	// Not connected yet, or restarting: pion's rules pick the pair.
	at := s.selected.Load()
	if at == nil {
		return nil
	}
	if *at == from {
		s.heard.Store(now.UnixNano())
		return nil
	}
	if heard := s.heard.Load(); heard == 0 || now.UnixNano()-heard < int64(quietFor) {
		return nil
	}
	if slices.Contains(s.checked, from) {
		return nil
	}
	for _, o := range ss.byUfrag {
		if at := o.selected.Load(); at != nil && *at == from {
			return nil
		}
	}
	return s
}

// checkedFrom notes that a check of s's guest came from from; the oldest
// is forgotten past maxChecked.
func (ss *iceSessions) checkedFrom(s *iceSession, from netip.AddrPort) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if slices.Contains(s.checked, from) {
		return
	}
	if len(s.checked) >= maxChecked {
		s.checked = s.checked[1:]
	}
	s.checked = append(s.checked, from)
}

// fake notes that the mux reads a check with transaction ID id that
// moveConn made up, for followMove; those older than checkFor are
// forgotten, and at most maxProbes kept.
func (ss *iceSessions) fake(id [stun.TransactionIDSize]byte, now time.Time) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for old, at := range ss.faked {
		if now.Sub(at) > checkFor {
			delete(ss.faked, old)
		}
	}
	if len(ss.faked) >= maxProbes {
		return
	}
	if ss.faked == nil {
		ss.faked = make(map[[stun.TransactionIDSize]byte]time.Time)
	}
	ss.faked[id] = now
}

// takeFaked says whether moveConn made up the check with transaction ID
// id, and forgets it.
func (ss *iceSessions) takeFaked(id [stun.TransactionIDSize]byte) bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	_, ok := ss.faked[id]
	delete(ss.faked, id)
	return ok
}
