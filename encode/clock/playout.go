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
// The delay follows how late the sender's frames are ready (decoded, at
// the program's door) after their capture, over the last one to two
// playoutWindows: the playoutTop-th latest, so that a few frames held up
// (a stalled machine, a retransmission) are shown late rather than
// holding the sender back for a window, plus PlayoutMargin for the
// program to take it in time, bounded by MinPlayout and MaxPlayout. It grows at once (a frame
// later than the delay would be played late, out of sync) and shrinks
// only at a window's end (the program's sound then skips at a quiet
// moment: see mixer.Track.SetSlip).
//
// A Playout is safe for concurrent use (each of the sender's decoders
// asks): mu guards it.
type Playout struct {
	sender *Sender

	mu sync.Mutex
	// Until every stream that asked has had a report (started), none is
	// placed: a stream placed by the sender's clock next to one by
	// arrival is out of sync by the difference (Chromium reports video
	// every second, audio every five). waiting holds the streams that
	// asked before their first report, and when they last did: one that
	// stopped asking (a track that ended) is waited for no longer.
	started     bool
	waiting     map[uint32]time.Time
	delay       time.Duration // 0 until the first frame placed
	late        lateness      // of the window under way
	lateBefore  lateness      // and of the one before
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
	// playoutStep is headroom the delay takes when it changes, so that
	// it changes in steps, each of which the sound must move by, rather
	// than a little with every new latest frame.
	playoutStep = 10 * time.Millisecond
	// playoutTop is how many frames of a window may be later than the
	// delay: 2 % of a guest's 80 frames a second (30 pictures, 50 sound
	// packets). Measured with a Chromium guest on a loaded machine: most
	// pictures ready 11–24 ms after capture, the sound 2–5 ms, and a few
	// of either 50–700 ms.
	playoutTop = 8
	// playoutTrust is how far from its capture, by the mapping, a frame
	// may be ready and still be placed by it (as the recording's
	// reanchorAfter).
	playoutTrust = time.Second
)

// lateness keeps the playoutTop latest frames of a window, latest first.
type lateness struct {
	top [playoutTop]time.Duration
	n   int
}

func (l *lateness) add(d time.Duration) {
	i := l.n
	if i == playoutTop {
		if d <= l.top[i-1] {
			return
		}
		i--
	} else {
		l.n++
	}
	for ; i > 0 && l.top[i-1] < d; i-- {
		l.top[i] = l.top[i-1]
	}
	l.top[i] = d
}

// bound is the playoutTop-th latest (of fewer, the least of them).
func (l *lateness) bound() time.Duration {
	if l.n == 0 {
		return 0
	}
	return l.top[l.n-1]
}

// NewPlayout returns the Playout of sender s's media.
func NewPlayout(s *Sender) *Playout { return &Playout{sender: s, waiting: map[uint32]time.Time{}} }

// playoutForget is how long a stream that asked before its first report
// and asks no more is waited for.
const playoutForget = 2 * time.Second

// At is the wall instant at which the program plays the frame of stream
// ssrc with RTP time ts (clock rate rate), ready now (decoded) at ready;
// false before the stream's first sender report, or, until the sender's
// streams are first placed, before any of them has had its first: then
// the frame goes by its arrival.
func (p *Playout) At(ssrc, ts, rate uint32, ready time.Time) (time.Time, bool) {
	if p == nil {
		return time.Time{}, false
	}
	wall, ok := p.sender.Wall(ssrc, ts, rate)
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.started {
		if !ok {
			p.waiting[ssrc] = ready
			return time.Time{}, false
		}
		delete(p.waiting, ssrc)
		for s, at := range p.waiting {
			if ready.Sub(at) > playoutForget {
				delete(p.waiting, s)
			}
		}
		if len(p.waiting) > 0 {
			return time.Time{}, false
		}
		p.started = true
	}
	late := ready.Sub(wall)
	if !ok || late < -playoutTrust || late > playoutTrust {
		// A mapping this far off is not the sender's clock but a
		// renumbering it missed or a clock set anew: by arrival, until
		// the reports agree again.
		return time.Time{}, false
	}
	p.note(late, ready)
	return wall.Add(p.delay), true
}

// note takes a frame ready late after its capture into the delay. Call
// with mu held.
func (p *Playout) note(late time.Duration, now time.Time) {
	if p.windowStart.IsZero() {
		p.windowStart = now
	}
	if now.Sub(p.windowStart) >= playoutWindow {
		p.lateBefore, p.late, p.windowStart = p.late, lateness{}, now
		if want := p.want(); want < p.delay-2*playoutStep {
			p.delay = want + playoutStep
		}
	}
	p.late.add(late)
	if want := p.want(); want > p.delay {
		p.delay = min(want+playoutStep, MaxPlayout)
	}
}

// want is the delay the windows ask for. Call with mu held.
func (p *Playout) want() time.Duration {
	return min(max(max(p.late.bound(), p.lateBefore.bound())+PlayoutMargin, MinPlayout), MaxPlayout)
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
