package rtpframe

import (
	"time"

	"github.com/pion/rtp"
)

// jitter puts one track's RTP packets back in sequence order, waiting a
// bounded time for a missing one (a retransmission the studio NACKed, or
// a packet a jittery path delayed) before it gives up on it: then the
// packets after the gap go on, marked as coming after a loss. A packet
// that comes after its place was passed (played, or given up on) is
// dropped: it is too late to be of use.
//
// It replaced pion's samplebuilder in front of the decoders (issue #10):
// that one moves back to any older packet it is given, and on a path
// with NACK and 50 ± 20 ms of jitter (where retransmissions and reordered
// packets come late all the time) it then gave up on every packet since:
// a keyframe request for nearly every late packet. galene's jitter and
// packetcache packages are the model: a fixed ring indexed by sequence
// number, and in-order release.
type jitter struct {
	ring    [jitterRing]*rtp.Packet
	arrived [jitterRing]time.Time // when each packet in ring came
	next    uint16                // the sequence number to release next
	started bool
	// maxWait is how long a missing packet is waited for: once the
	// first packet held behind it came that long ago, it is given up.
	// The clock of arrival, not RTP time: a sender short of CPU sends
	// its packets late and in bursts, and a jittery path shuffles a
	// burst, so a packet 100 ms newer in RTP time often comes a moment
	// before the older ones. Measured in RTP time, the wait gave those
	// up on arrival, runs of up to 18 audio packets that came within the
	// next 40 ms (issue #10's lab).
	maxWait time.Duration
	lost    int   // given up on since the last packet released
	late    int64 // packets that came after their place was passed
}

// jitterRing is how many packets the buffer holds: over a second of 720p
// video. A packet further ahead than that makes it give up what it waits
// for.
const jitterRing = 1024

// released is a packet in order, with how many were given up on just
// before it.
type released struct {
	pkt  *rtp.Packet
	lost int
}

// newJitter returns a buffer that waits up to wait for a missing packet.
func newJitter(wait time.Duration) jitter {
	return jitter{maxWait: wait}
}

// push takes packet p, which came at now, and appends to out the packets
// that can go on in order.
func (j *jitter) push(p *rtp.Packet, now time.Time, out []released) []released {
	if !j.started {
		j.started, j.next = true, p.SequenceNumber
	}
	switch ahead := int(int16(p.SequenceNumber - j.next)); {
	case ahead < 0:
		j.late++
		return out
	case ahead >= jitterRing:
		// A gap wider than the ring (a link back after a cut): give
		// up on all that waits.
		out = j.flush(out)
		j.next = p.SequenceNumber
		j.lost++ // how many is unknown, and beside the point
	}
	slot := &j.ring[p.SequenceNumber%jitterRing]
	if *slot != nil && (*slot).SequenceNumber == p.SequenceNumber {
		return out // a duplicate (a retransmission that crossed its original)
	}
	*slot = p
	j.arrived[p.SequenceNumber%jitterRing] = now
	out = j.release(out)
	for j.waitedFor(now) >= j.maxWait && j.waiting() {
		out = j.skip(out)
	}
	return out
}

// jump gives up at once on what is missing before a whole keyframe held
// behind it: the first packet held that key says begins a keyframe, and
// every packet from it up to one with the marker bit (the frame's last,
// RFC 7741 and 6184). Nothing before a keyframe is needed to show it, so
// waiting on for a retransmission would only hold the picture still:
// for the rest of maxWait behind an old simulcast layer's packet that
// will never come after a switch, or behind a loss whose keyframe came
// sooner (issue #10). The packets held before it are dropped, as they
// refer to what is missing; only those missing count as given up on.
func (j *jitter) jump(key func(*rtp.Packet) bool, out []released) []released {
	if !j.waiting() {
		return out
	}
	for i := uint16(1); i < jitterRing; i++ {
		start := j.next + i
		if q := j.at(start); q == nil || !key(q) || !j.whole(start) {
			continue
		}
		for seq := j.next; seq != start; seq++ {
			if q := j.at(seq); q != nil {
				j.ring[seq%jitterRing] = nil
			} else {
				j.lost++
			}
		}
		j.next = start
		return j.release(out)
	}
	return out
}

// at is the packet held with sequence number seq, nil if none is.
func (j *jitter) at(seq uint16) *rtp.Packet {
	if q := j.ring[seq%jitterRing]; q != nil && q.SequenceNumber == seq {
		return q
	}
	return nil
}

// whole says whether the frame whose first packet is start is held to
// its last (marker) packet.
func (j *jitter) whole(start uint16) bool {
	for seq := start; seq != start+jitterRing; seq++ {
		q := j.at(seq)
		if q == nil {
			return false
		}
		if q.Marker {
			return true
		}
	}
	return false
}

// waiting says whether packets are held behind a missing one.
func (j *jitter) waiting() bool { return j.held() > 0 }

// held is how far ahead of next the first packet held is; 0 if none is.
func (j *jitter) held() uint16 {
	for i := uint16(1); i < jitterRing; i++ {
		if q := j.ring[(j.next+i)%jitterRing]; q != nil && q.SequenceNumber == j.next+i {
			return i
		}
	}
	return 0
}

// release hands on the packets in order from next.
func (j *jitter) release(out []released) []released {
	for {
		slot := &j.ring[j.next%jitterRing]
		q := *slot
		if q == nil || q.SequenceNumber != j.next {
			return out
		}
		*slot = nil
		out = append(out, released{pkt: q, lost: j.lost})
		j.lost = 0
		j.next++
	}
}

// skip gives up on the missing packets before the next one held, and
// releases from there.
func (j *jitter) skip(out []released) []released {
	if i := j.held(); i > 0 {
		j.next += i
		j.lost += int(i)
		out = j.release(out)
	}
	return out
}

// flush releases everything held, in order, gaps and all.
func (j *jitter) flush(out []released) []released {
	for j.waiting() {
		out = j.skip(out)
	}
	return out
}

// waitedFor is how long, as of now, the first packet held behind a
// missing one has waited; 0 if none waits.
func (j *jitter) waitedFor(now time.Time) time.Duration {
	i := j.held()
	if i == 0 {
		return 0
	}
	return now.Sub(j.arrived[(j.next+i)%jitterRing])
}
