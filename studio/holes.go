package studio

import "time"

// holeWait is how long a packet of a guest's video may be missing, the
// studio's NACKs for it unanswered, before the SFU asks the guest for a
// keyframe on behalf of the guests it forwards the stream to: each of
// them got the same hole, which its own NACK can't fill (the studio
// never had the packet), and its picture stands still until the next
// keyframe. A browser asks for one only after about 3 s without a
// picture it could decode, a pion receiver never, and the guest's
// browser sends none of its own for minutes: the lossy guest's picture
// stood still in the call for up to 14 s (TestLabGuestOnBadNetwork,
// issue #10) while the program, whose decoder asks for itself, met its
// targets. The program asks 250 ms after a loss (rtpframe.VideoWait less
// decode's keyframeLatency): the same here, so that a retransmission
// later than that costs a needless keyframe, and a loss beyond repair a
// still of about half a second.
const holeWait = 250 * time.Millisecond

// maxHoles is how many missing packets in a row holes follows one by
// one; a jump further (a burst, a stream restarted) is a loss at once.
const maxHoles = 256

// holes follows the sequence numbers of one stream a guest sends, as the
// studio receives them (retransmissions included), to tell a loss that
// stays from one NACK repairs. Used by the stream's reading goroutine
// only.
type holes struct {
	started bool
	last    uint16           // the highest sequence number seen
	missing map[uint16]int64 // since when (unix nanoseconds), by sequence number
}

// see notes packet seq received at now (key: it begins a keyframe) and
// says whether a packet has now been missing for holeWait: a hole in
// every receiver's copy of the stream, to be filled with a keyframe.
// Each hole is reported once; a keyframe forgets those before it, as a
// receiver decodes on from a keyframe whatever came before.
func (h *holes) see(seq uint16, key bool, now time.Time) (lost bool) {
	t := now.UnixNano()
	if h.missing == nil {
		h.missing = map[uint16]int64{}
	}
	switch d := int16(seq - h.last); {
	case !h.started || d <= -maxHoles:
		h.started, h.last = true, seq
		clear(h.missing)
	case d > maxHoles:
		h.last = seq
		clear(h.missing)
		lost = !key
	case d > 0:
		for s := h.last + 1; s != seq; s++ {
			h.missing[s] = t
		}
		h.last = seq
	default: // a retransmission, or a packet reordered
		delete(h.missing, seq)
	}
	for s, since := range h.missing {
		if key && int16(s-seq) < 0 {
			delete(h.missing, s)
		} else if t-since >= int64(holeWait) {
			delete(h.missing, s)
			lost = true
		}
	}
	return lost
}
