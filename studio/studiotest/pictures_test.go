package studiotest

import (
	"testing"
	"time"

	"github.com/pion/rtp"
)

// Pictures goes on past a packet that never came between two frames whose
// picture IDs follow (padding, as a browser's decoder does), and stops at a
// frame that never came until the next keyframe.
func TestPicturesGoOnPastMissingPadding(t *testing.T) {
	// One packet a frame: VP8 descriptor with a 15-bit picture ID, then
	// the frame's first byte (bit 0 clear: a keyframe).
	frame := func(seq uint16, pid int, key bool) *rtp.Packet {
		first := byte(0x01)
		if key {
			first = 0x00
		}
		return &rtp.Packet{Header: rtp.Header{SequenceNumber: seq, Timestamp: uint32(pid) * 3000, Marker: true},
			Payload: []byte{0x90, 0x80, 0x80 | byte(pid>>8), byte(pid), first, 0, 0}}
	}
	var p Pictures
	p.See(frame(10, 100, true))
	p.See(frame(11, 101, false))
	// 12 (padding) never comes.
	p.See(frame(13, 102, false))
	p.mu.Lock()
	afterPadding := p.lastTS
	p.mu.Unlock()
	if afterPadding != 102*3000 {
		t.Errorf("after a missing padding packet, the last picture shown is at %d, want picture 102's (%d)", afterPadding, 102*3000)
	}
	// Picture 103 (seq 14) never comes: 104 can't be shown, the keyframe
	// 105 can.
	p.See(frame(15, 104, false))
	p.mu.Lock()
	afterLoss := p.lastTS
	p.mu.Unlock()
	if afterLoss != 102*3000 {
		t.Errorf("after a lost frame, the last picture shown is at %d, want still picture 102's", afterLoss)
	}
	time.Sleep(5 * time.Millisecond)
	p.See(frame(16, 105, true))
	p.mu.Lock()
	stills := p.stills // the one going on now left out
	p.mu.Unlock()
	if last := stills[len(stills)-1]; !last.Key || last.Missing != 1 || last.Took < 5*time.Millisecond {
		t.Errorf("the still a keyframe ended: %v, want 5 ms or more, 1 packet missing, then a keyframe", last)
	}
}
