package rtpframe

import (
	"slices"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// TestJitter: packets come out in sequence order; a missing one is waited
// for up to maxWait (a retransmission in time fills its place), then
// given up on and counted; a packet after its place was passed, or twice,
// is dropped; a jump wider than the ring gives up what waits.
func TestJitter(t *testing.T) {
	type in struct {
		seq uint16
		at  int // when it comes, ms (and its RTP time: a steady sender)
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
			j := newJitter(400 * time.Millisecond)
			var seqs []uint16
			var lost []int
			for _, p := range c.in {
				at := time.Unix(0, 0).Add(time.Duration(p.at) * time.Millisecond)
				for _, r := range j.push(&rtp.Packet{Header: rtp.Header{SequenceNumber: p.seq, Timestamp: uint32(p.at)}}, at, nil) {
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

// TestJitterBurst: a sender short of CPU sends a burst late, and the path
// shuffles it: the newest packet (100 ms of audio ahead) comes a moment
// before the four older ones. The wait runs on the clock of arrival, so
// they are all taken, in order; a packet that never comes is given up
// maxWait after the first one held behind it came (issue #10: measured in
// RTP time, the whole burst but its first packet was given up).
func TestJitterBurst(t *testing.T) {
	j := newJitter(40 * time.Millisecond)
	at := func(ms int) time.Time { return time.Unix(0, 0).Add(time.Duration(ms) * time.Millisecond) }
	var seqs []uint16
	push := func(seq uint16, ts uint32, ms int) {
		for _, r := range j.push(&rtp.Packet{Header: rtp.Header{SequenceNumber: seq, Timestamp: ts * 48}}, at(ms), nil) {
			seqs = append(seqs, r.pkt.SequenceNumber)
			if r.lost > 0 {
				t.Errorf("%d given up before %d", r.lost, r.pkt.SequenceNumber)
			}
		}
	}
	push(10, 0, 0)
	for _, p := range []struct {
		seq uint16
		ts  uint32
	}{{15, 100}, {12, 40}, {11, 20}, {14, 80}, {13, 60}} {
		push(p.seq, p.ts, 200) // the burst, late and shuffled
	}
	if want := []uint16{10, 11, 12, 13, 14, 15}; !slices.Equal(seqs, want) {
		t.Fatalf("released %v, want %v", seqs, want)
	}
	// 16 never comes: 17 waits for it until 40 ms after it came.
	seqs = nil
	push(17, 140, 250)
	push(18, 160, 289)
	if len(seqs) != 0 {
		t.Fatalf("released %v 39 ms after the first packet held, want none yet", seqs)
	}
	out := j.push(&rtp.Packet{Header: rtp.Header{SequenceNumber: 19, Timestamp: 180 * 48}}, at(290), nil)
	if len(out) != 3 || out[0].pkt.SequenceNumber != 17 || out[0].lost != 1 {
		t.Fatalf("released %d packets 40 ms after the first held (first %+v), want 17 (after one given up), 18, 19", len(out), out)
	}
}

// TestJitterJumpsToAWholeKeyframe: a packet is missing, and a keyframe
// comes whole behind it (asked for, or the first of another simulcast
// layer): it goes on at once, not after maxWait; the picture held before
// it, which refers to what is missing, is dropped. A keyframe with a
// hole of its own is no reason to jump.
func TestJitterJumpsToAWholeKeyframe(t *testing.T) {
	j := newJitter(400 * time.Millisecond)
	key := func(p *rtp.Packet) bool { return len(p.Payload) > 0 && p.Payload[0] == 'K' }
	at := func(ms int) time.Time { return time.Unix(0, 0).Add(time.Duration(ms) * time.Millisecond) }
	push := func(seq uint16, ms int, marker bool, payload string) []released {
		p := &rtp.Packet{Header: rtp.Header{SequenceNumber: seq, Marker: marker}, Payload: []byte(payload)}
		return j.jump(key, j.push(p, at(ms), nil))
	}
	push(10, 0, true, "P")
	// 11 never comes; 12 is the rest of its picture; 13–15 a keyframe.
	for _, p := range []struct {
		seq    uint16
		ms     int
		marker bool
		data   string
	}{{12, 10, true, "P"}, {13, 20, false, "K"}, {15, 21, true, "p"}} {
		if out := push(p.seq, p.ms, p.marker, p.data); len(out) > 0 {
			t.Fatalf("released %d packets at %d before the keyframe was whole", len(out), p.seq)
		}
	}
	out := push(14, 30, false, "p")
	var seqs []uint16
	for _, r := range out {
		seqs = append(seqs, r.pkt.SequenceNumber)
	}
	if !slices.Equal(seqs, []uint16{13, 14, 15}) || out[0].lost != 1 {
		t.Fatalf("released %v (%+v) once the keyframe was whole, want 13, 14, 15 after 1 given up", seqs, out)
	}
	if out := push(11, 40, false, "P"); len(out) > 0 || j.late != 1 {
		t.Fatalf("the missing packet, come after the keyframe: released %d, late %d; want dropped as late", len(out), j.late)
	}
}
