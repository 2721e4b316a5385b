package clock

import (
	"sync"
	"time"
)

// Playout says when the program plays one sender's media: at the instant
// the sender captured it (its Sender's mapping of RTP time, through its
// sender reports) plus one delay for all the sender's streams. One delay,
// so a camera and a mic captured together play together however
// differently the network delays each (issue #12, item 5); for all of
// that sender's streams, and per sender, so a guest on a far network
// delays nobody else.
//
// The delay follows the latest any of the sender's frames was ready
// (decoded, at the program's door) after its capture, over the last one
// to two playoutWindows, plus PlayoutMargin for the program to take it in
// time, bounded by MinPlayout and MaxPlayout. It grows at once (a frame
// later than the delay would be played late, out of sync) and shrinks
// only at a window's end (the program's sound then skips at a quiet
// moment: see mixer.Track.SetSlip).
//
// A Playout is safe for concurrent use (each of the sender's decoders
// asks): mu guards it.
type Playout struct {
	sender *Sender

	mu          sync.Mutex
	delay       time.Duration // 0 until the first frame placed
	late        time.Duration // the latest frame of the window under way
	lateBefore  time.Duration // and of the one before
	windowStart time.Time
}

const (
	// PlayoutMargin is what the program needs beyond a frame's being
	// ready to take it in time: the mixer takes a block (1024 samples,
	// 21 ms) at its start, the compositor a picture at its next tick.
	PlayoutMargin = 30 * time.Millisecond
	// MinPlayout is the least delay: a sender on loopback still has its
	// encoder's and our decoder's time.
	MinPlayout = 40 * time.Millisecond
	// MaxPlayout bounds the delay: a frame later than this (a picture
	// that waited for a retransmission, a stalled machine) is shown late
	// rather than holding the whole guest back that much. The mixer's
	// queue (500 ms) and a slot's pending pictures hold this much.
	MaxPlayout = 300 * time.Millisecond
	// playoutWindow is how long the delay remembers a late frame: long
	// enough that a jittery path does not make it flap (and the sound
	// skip and stretch), short enough to come back down after a spike.
	playoutWindow = 5 * time.Second
	// playoutShrink is the least change worth shrinking the delay for.
	playoutShrink = 10 * time.Millisecond
)

// NewPlayout returns the Playout of sender s's media.
func NewPlayout(s *Sender) *Playout { return &Playout{sender: s} }

// At is the wall instant at which the program plays the frame of stream
// ssrc with RTP time ts (clock rate rate), ready now (decoded) at ready;
// false before the stream's first sender report: then the frame goes by
// its arrival.
func (p *Playout) At(ssrc, ts, rate uint32, ready time.Time) (time.Time, bool) {
	if p == nil {
		return time.Time{}, false
	}
	wall, ok := p.sender.Wall(ssrc, ts, rate)
	if !ok {
		return time.Time{}, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.note(ready.Sub(wall), ready)
	return wall.Add(p.delay), true
}

// note takes a frame ready late after its capture into the delay. Call
// with mu held.
func (p *Playout) note(late time.Duration, now time.Time) {
	if p.windowStart.IsZero() {
		p.windowStart = now
	}
	if now.Sub(p.windowStart) >= playoutWindow {
		p.lateBefore, p.late, p.windowStart = p.late, 0, now
		if want := p.want(); want < p.delay-playoutShrink {
			p.delay = want
		}
	}
	p.late = max(p.late, late)
	if want := p.want(); want > p.delay {
		p.delay = want
	}
}

// want is the delay the windows ask for. Call with mu held.
func (p *Playout) want() time.Duration {
	return min(max(max(p.late, p.lateBefore)+PlayoutMargin, MinPlayout), MaxPlayout)
}

// Delay is the delay in use now: how long after its capture the program
// plays the sender's media; 0 before any was placed.
func (p *Playout) Delay() time.Duration {
	if p == nil {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.delay
}
