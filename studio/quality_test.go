package studio

import (
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

func TestRateQuality(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		loss  float64
		rtt   time.Duration
		known bool
		want  Quality
	}{
		{0, 0, false, QualityUnknown},
		{0, 20 * ms, true, QualityGood},
		{0.019, 299 * ms, true, QualityGood},
		{0.02, 20 * ms, true, QualityFair},
		{0, 300 * ms, true, QualityFair},
		{0.079, 799 * ms, true, QualityFair},
		{0.08, 20 * ms, true, QualityPoor},
		{0, 800 * ms, true, QualityPoor},
	} {
		if got := rateQuality(tc.loss, tc.rtt, tc.known); got != tc.want {
			t.Errorf("rateQuality(%v, %v, %v) = %s, want %s", tc.loss, tc.rtt, tc.known, got, tc.want)
		}
	}
}

func TestLossMeter(t *testing.T) {
	var m lossMeter
	report := func(recv uint32, lost int32, fraction float64, rtt float64) webrtc.StatsReport {
		return webrtc.StatsReport{
			"in":   webrtc.InboundRTPStreamStats{PacketsReceived: recv, PacketsLost: lost},
			"rin":  webrtc.RemoteInboundRTPStreamStats{FractionLost: fraction},
			"pair": webrtc.ICECandidatePairStats{Nominated: true, CurrentRoundTripTime: rtt},
		}
	}
	if loss, rtt, known := m.measure(report(1000, 0, 0, 0.05)); loss != 0 || rtt != 50*time.Millisecond || !known {
		t.Fatalf("first: %v %v %v", loss, rtt, known)
	}
	// 100 more received and 25 more lost: 20 % uplink loss this interval.
	if loss, _, _ := m.measure(report(1100, 25, 0.01, 0.05)); loss != 0.2 {
		t.Fatalf("uplink loss %v, want 0.2", loss)
	}
	// No uplink change; the guest reports 5 % downlink loss.
	if loss, _, _ := m.measure(report(1100, 25, 0.05, 0.05)); loss != 0.05 {
		t.Fatalf("downlink loss %v, want 0.05", loss)
	}
}
