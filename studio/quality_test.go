package studio

import (
	"testing"
	"time"
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
