package studio

import (
	"testing"
	"time"
)

// holes says a packet is lost for good once it has been missing for
// holeWait, once; a retransmission or a keyframe after it takes it back.
func TestHolesTellALossBeyondRepair(t *testing.T) {
	type pkt struct {
		seq  uint16
		key  bool
		at   time.Duration // since the first packet
		lost bool          // what see must say
	}
	for _, tc := range []struct {
		name string
		pkts []pkt
	}{
		{"a hole that stays", []pkt{{1, false, 0, false}, {3, false, 0, false}, {4, false, 100 * time.Millisecond, false},
			{5, false, holeWait, true}, {6, false, 2 * holeWait, false}}},
		{"filled by a retransmission", []pkt{{1, false, 0, false}, {3, false, 0, false}, {2, false, 200 * time.Millisecond, false},
			{4, false, holeWait, false}}},
		{"forgotten at a keyframe after it", []pkt{{1, false, 0, false}, {3, false, 0, false}, {4, true, 100 * time.Millisecond, false},
			{5, false, holeWait, false}}},
		{"a hole in the keyframe itself stays", []pkt{{1, false, 0, false}, {2, true, 0, false}, {4, false, 0, false},
			{5, false, holeWait, true}}},
		{"across the wrap", []pkt{{65534, false, 0, false}, {0, false, 0, false}, {1, false, holeWait, true}}},
		{"a jump too far to follow", []pkt{{1, false, 0, false}, {1 + maxHoles + 1, false, 0, true}, {2 + maxHoles + 1, false, holeWait, false}}},
		{"a jump to a keyframe", []pkt{{1, false, 0, false}, {1 + maxHoles + 1, true, 0, false}}},
		{"reordered", []pkt{{1, false, 0, false}, {3, false, 0, false}, {2, false, 30 * time.Millisecond, false}, {4, false, holeWait, false}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h holes
			start := time.Unix(1000, 0)
			for i, p := range tc.pkts {
				if got := h.see(p.seq, p.key, start.Add(p.at)); got != p.lost {
					t.Errorf("packet %d (seq %d at %v): lost %t, want %t", i, p.seq, p.at, got, p.lost)
				}
			}
		})
	}
}
