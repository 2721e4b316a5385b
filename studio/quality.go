package studio

import (
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
// interval since.
type lossMeter struct {
	received, lost int64
}

// measure reads a guest's PeerConnection stats: the loss on what the guest
// sends (our inbound streams, over the interval since the last call), the
// loss the guest reports on what we send (receiver reports' fraction lost),
// and the ICE round trip. It keeps the worse loss of the two directions.
func (m *lossMeter) measure(report webrtc.StatsReport) (loss float64, rtt time.Duration, known bool) {
	var received, lost int64
	for _, s := range report {
		switch s := s.(type) {
		case webrtc.InboundRTPStreamStats:
			received += int64(s.PacketsReceived)
			lost += int64(s.PacketsLost)
		case webrtc.RemoteInboundRTPStreamStats:
			loss = max(loss, s.FractionLost)
			known = true
		case webrtc.ICECandidatePairStats:
			if s.Nominated && s.CurrentRoundTripTime > 0 {
				rtt = time.Duration(s.CurrentRoundTripTime * float64(time.Second))
				known = true
			}
		}
	}
	dr, dl := received-m.received, lost-m.lost
	m.received, m.lost = received, lost
	if dr+dl > 0 {
		loss = max(loss, float64(max(dl, 0))/float64(dr+dl))
		known = true
	}
	return loss, rtt, known
}
