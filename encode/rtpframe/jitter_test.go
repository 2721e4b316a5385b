package rtpframe

import (
	"slices"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// TestJitter: packets come out in sequence order; a missing one is waited
// for up to maxWait of RTP time (a retransmission in time fills its place), then
// given up on and counted; a packet after its place was passed, or twice,
// is dropped; a jump wider than the ring gives up what waits.
func TestJitter(t *testing.T) {
	type in struct {
		seq uint16
		at  int // RTP time, ms
	}
	for _, c := range []struct {
		name string
		in   []in
		want []uint16 // released, in order
		lost []int    // lost before each released
		late int64
	}{
		{"in order", []in{{10, 0}, {11, 1}, {12, 2}}, []uint16{10, 11, 12}, []int{0, 0, 0}, 0},
		{"reordered", []in{{10, 0}, {12, 1}, {13, 2}, {11, 30}}, []uint16{10, 11, 12, 13}, []int{0, 0, 0, 0}, 0},
		{"retransmitted in time", []in{{10, 0}, {12, 10}, {13, 20}, {11, 350}, {14, 360}}, []uint16{10, 11, 12, 13, 14}, []int{0, 0, 0, 0, 0}, 0},
		{"given up after the wait", []in{{10, 0}, {12, 10}, {13, 20}, {14, 410}, {11, 420}}, []uint16{10, 12, 13, 14}, []int{0, 1, 0, 0}, 1},
		{"duplicate", []in{{10, 0}, {11, 1}, {11, 2}, {12, 3}}, []uint16{10, 11, 12}, []int{0, 0, 0}, 1},
		{"two gaps", []in{{10, 0}, {12, 10}, {14, 20}, {15, 411}, {16, 500}, {17, 811}}, []uint16{10, 12, 14, 15, 16, 17}, []int{0, 1, 1, 0, 0, 0}, 0},
		{"wraps", []in{{65534, 0}, {65535, 1}, {1, 2}, {0, 3}}, []uint16{65534, 65535, 0, 1}, []int{0, 0, 0, 0}, 0},
		{"jump past the ring", []in{{10, 0}, {12, 1}, {3000, 2}}, []uint16{10, 12, 3000}, []int{0, 1, 1}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			j := newJitter(400*time.Millisecond, 1000) // RTP ticks are milliseconds here
			var seqs []uint16
			var lost []int
			for _, p := range c.in {
				for _, r := range j.push(&rtp.Packet{Header: rtp.Header{SequenceNumber: p.seq, Timestamp: uint32(p.at)}}, nil) {
					seqs = append(seqs, r.pkt.SequenceNumber)
					lost = append(lost, r.lost)
				}
			}
			if !slices.Equal(seqs, c.want) || !slices.Equal(lost, c.lost) || j.late != c.late {
				t.Errorf("released %v lost %v late %d, want %v lost %v late %d", seqs, lost, j.late, c.want, c.lost, c.late)
			}
		})
	}
}
