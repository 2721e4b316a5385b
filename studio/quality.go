package studio

import (
	"net"
	"time"

	"github.com/pion/webrtc/v4"
)

// qualityInterval is how often a guest's connection is rated: often enough
// for the host to see a guest's Wi-Fi collapse, rarely enough that GetStats
// costs nothing.
const qualityInterval = 2 * time.Second

// Thresholds of the rating. Loss is what hurts a forwarded call first
// (frozen video, robotic audio); a long round trip delays the conversation
// and every retransmission.
const (
	goodLoss = 0.02
	fairLoss = 0.08
	goodRTT  = 300 * time.Millisecond
	fairRTT  = 800 * time.Millisecond
)

// rateQuality turns a measurement into a Quality. known is false until
// something was measured.
func rateQuality(loss float64, rtt time.Duration, known bool) Quality {
	switch {
	case !known:
		return QualityUnknown
	case loss < goodLoss && rtt < goodRTT:
		return QualityGood
	case loss < fairLoss && rtt < fairRTT:
		return QualityFair
	}
	return QualityPoor
}

// lossMeter keeps the counters of the last measurement, to rate the
// interval since (see links).
type lossMeter struct {
	received, lost int64
	in             uint64    // bytes received from the guest
	at             time.Time // when; zero before the first
}

// Path is how a guest's media reaches the studio: what the host needs to
// know when a guest's picture stutters, and what "guests from anywhere"
// rests on.
type Path string

const (
	// PathDirect: straight to the studio's media port, which the guest
	// could reach as it is (the same network, a port the router forwards,
	// a public address).
	PathDirect Path = "direct"
	// PathHolePunched: straight between the two, through both routers'
	// NATs opened from inside by the ICE checks (STUN).
	PathHolePunched Path = "hole-punched"
	// PathRelayed: through a TURN server.
	PathRelayed Path = "relayed"
)

// pathOf reads the path from the candidate pair in use; "" while there
// is none. portOpen says the studio's media port is open to the internet
// (mapped, forwarded, or public), where a guest behind its own NAT needs
// no punching on the studio's side.
func pathOf(report webrtc.StatsReport, portOpen bool) Path {
	for _, s := range report {
		p, ok := s.(webrtc.ICECandidatePairStats)
		if !ok || !p.Nominated || p.State != webrtc.StatsICECandidatePairStateSucceeded {
			continue
		}
		local, _ := report[p.LocalCandidateID].(webrtc.ICECandidateStats)
		remote, _ := report[p.RemoteCandidateID].(webrtc.ICECandidateStats)
		switch {
		case local.CandidateType == webrtc.ICECandidateTypeRelay || remote.CandidateType == webrtc.ICECandidateTypeRelay:
			return PathRelayed
		case remote.CandidateType == webrtc.ICECandidateTypeHost || portOpen || onLAN(remote.IP):
			return PathDirect
		}
		return PathHolePunched
	}
	return ""
}

// onLAN says whether ip is on a local network (a browser's host address
// learned from its checks, peer-reflexive, when it hides it behind mDNS).
func onLAN(ip string) bool {
	a := net.ParseIP(ip)
	return a != nil && (a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast())
}
