package compositor

import (
	"image"
	"sync"
	"sync/atomic"
	"time"
)

// Slot holds the latest picture of one source. Sources Put whenever they
// have a frame; the compositor takes whatever is newest at each tick, so a
// slow or stalled source never delays the program. The slot's fields are
// guarded by mu.
type Slot struct {
	Name string

	speaking atomic.Bool // the source speaks now (SetSpeaking)
	// feedUntil is until when the source's feed is known to be alive
	// (unix nanoseconds; 0: the source says nothing of it).
	feedUntil atomic.Int64
	// tile is the size of the tile the compositor last arranged the source
	// into (x<<32 | y), 0 while it has none: what a source that can send
	// several sizes (a guest's simulcast) needs to send (see Tile).
	tile atomic.Uint64

	mu     sync.Mutex
	latest *Frame
	at     time.Time // wall time latest was Put
	puts   int64
	// With a delay, Put queues pictures here, oldest first, and take
	// shows each once it is due: delay after it came (see SetDelay), or
	// when PutAt said.
	delay   time.Duration
	pending [maxPending]struct {
		f       *Frame
		at, due time.Time
	}
	npending int
}

// maxPending bounds how many delayed pictures a slot holds: a second of a
// 30 fps source, more than any delay it is given (clock.MaxPlayout, and a
// guest's own sync offset on top: the studio's Delay, down to −200 ms);
// past that the oldest is dropped.
const maxPending = 32

// NewSlot returns an empty slot for the named source.
func NewSlot(name string) *Slot { return &Slot{Name: name} }

// Tile is the size the compositor draws the source at: its tile in the
// layout, once arranged; zero while the source is in no layout (new, hidden
// or gone), which needs the least.
func (s *Slot) Tile() image.Point {
	v := s.tile.Load()
	return image.Pt(int(v>>32), int(uint32(v)))
}

func (s *Slot) setTile(sz image.Point) {
	s.tile.Store(uint64(uint32(sz.X))<<32 | uint64(uint32(sz.Y)))
}

// SetDelay holds each picture back by d before it is shown: a guest's
// picture arrives sooner than their sound, which waits in the mixer's
// jitter buffer, and the delay brings the two together (lip sync). 0, the
// default, shows every picture at once.
func (s *Slot) SetDelay(d time.Duration) {
	s.mu.Lock()
	s.delay = d
	s.mu.Unlock()
}

// Put makes f the slot's picture (after the slot's delay), taking over
// the caller's reference.
func (s *Slot) Put(f *Frame) {
	now := time.Now()
	s.put(f, now, now.Add(s.delayNow()))
}

// PutAt makes f the slot's picture at due (at once if due has passed and
// no earlier picture waits), whatever the slot's delay: a source that
// knows when its picture belongs (a guest's, placed by their sender's
// clock, clock.Playout). It takes over the caller's reference.
func (s *Slot) PutAt(f *Frame, due time.Time) { s.put(f, time.Now(), due) }

func (s *Slot) delayNow() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.delay
}

// put makes f, come at now, the slot's picture at due.
func (s *Slot) put(f *Frame, now, due time.Time) {
	s.mu.Lock()
	s.puts++
	var old *Frame
	if !due.After(now) && s.npending == 0 {
		old = s.latest
		s.latest, s.at = f, now
	} else {
		if s.npending == maxPending {
			old = s.pending[0].f
			copy(s.pending[:], s.pending[1:])
			s.npending--
		}
		s.pending[s.npending].f, s.pending[s.npending].at, s.pending[s.npending].due = f, now, due
		s.npending++
	}
	s.mu.Unlock()
	if old != nil {
		old.Release()
	}
}

// take returns the newest frame due by now (the instant of the picture
// being made, see Compositor.Render) with a reference of the caller's
// own, and when it arrived; nil if there is none yet.
func (s *Slot) take(now time.Time) (*Frame, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.promote(now)
	if s.latest == nil {
		return nil, time.Time{}
	}
	return s.latest.retain(), s.at
}

// promote makes the newest pending picture that is due the slot's
// picture, releasing the ones it replaces. Call with mu held.
func (s *Slot) promote(now time.Time) {
	n := 0
	for n < s.npending && !s.pending[n].due.After(now) {
		n++
	}
	for i := 0; i < n; i++ {
		if s.latest != nil {
			s.latest.Release() // the slot's own reference; takers hold theirs
		}
		s.latest, s.at = s.pending[i].f, s.pending[i].at
		s.pending[i].f = nil
	}
	copy(s.pending[:], s.pending[n:s.npending])
	for i := s.npending - n; i < s.npending; i++ {
		s.pending[i].f = nil
	}
	s.npending -= n
}

// Frames is how many pictures the source has delivered.
func (s *Slot) Frames() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.puts
}

// Clear drops the slot's picture, and those waiting for their time.
func (s *Slot) Clear() {
	s.mu.Lock()
	old := s.latest
	s.latest = nil
	var pending [maxPending]*Frame
	for i := 0; i < s.npending; i++ {
		pending[i], s.pending[i].f = s.pending[i].f, nil
	}
	s.npending = 0
	s.mu.Unlock()
	if old != nil {
		old.Release()
	}
	for _, f := range pending {
		if f != nil {
			f.Release()
		}
	}
}

// Take returns the newest picture with a reference of the caller's own
// (Release it), or nil if the source never delivered.
func (s *Slot) Take() *Frame {
	f, _ := s.take(time.Now())
	return f
}

// Updated is when the picture shown at now (a program frame's instant,
// see Compositor.Render) was delivered (zero: none yet).
func (s *Slot) Updated(now time.Time) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.promote(now)
	return s.at
}

// FeedAliveUntil says the source's feed (a remote guest's packets, say)
// is known to be alive until t: past t without another word the
// compositor shows the placeholder rather than the last picture, without
// waiting StallAfter — a picture that stops because its sender is gone
// should not stand in for them. Sources that never call it are judged by
// their pictures alone; a feed that comes back shows its pictures again.
func (s *Slot) FeedAliveUntil(t time.Time) { s.feedUntil.Store(t.UnixNano()) }

// feedStopped is whether the source's feed, as it last said, was dead by
// now.
func (s *Slot) feedStopped(now time.Time) bool {
	u := s.feedUntil.Load()
	return u != 0 && now.UnixNano() > u
}

// SetSpeaking records whether the source speaks now: the compositor rings
// the tile of whoever does. The pipeline sets it from the mixer's own
// speaking flag (encode/mixer, with its hysteresis), so the ring and the
// studio's speaking flag agree.
func (s *Slot) SetSpeaking(on bool) { s.speaking.Store(on) }

// Speaking is what SetSpeaking last said.
func (s *Slot) Speaking() bool { return s.speaking.Load() }
