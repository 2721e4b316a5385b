package compositor

import (
	"math"
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

	level atomic.Uint32 // float32 bits: how loud the source is now, 0..1

	mu     sync.Mutex
	latest *Frame
	at     time.Time // wall time of the last Put
	puts   int64
}

// NewSlot returns an empty slot for the named source.
func NewSlot(name string) *Slot { return &Slot{Name: name} }

// Put makes f the slot's picture, taking over the caller's reference.
func (s *Slot) Put(f *Frame) {
	s.mu.Lock()
	old := s.latest
	s.latest, s.at = f, time.Now()
	s.puts++
	s.mu.Unlock()
	if old != nil {
		old.Release()
	}
}

// take returns the newest frame with a reference of the caller's own, and
// when it arrived; nil if the source never delivered.
func (s *Slot) take() (*Frame, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.latest == nil {
		return nil, time.Time{}
	}
	return s.latest.retain(), s.at
}

// Frames is how many pictures the source has delivered.
func (s *Slot) Frames() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.puts
}

// Clear drops the slot's picture.
func (s *Slot) Clear() {
	s.mu.Lock()
	old := s.latest
	s.latest = nil
	s.mu.Unlock()
	if old != nil {
		old.Release()
	}
}

// Take returns the newest picture with a reference of the caller's own
// (Release it), or nil if the source never delivered.
func (s *Slot) Take() *Frame {
	f, _ := s.take()
	return f
}

// Updated is when the source last delivered a picture (zero: never).
func (s *Slot) Updated() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.at
}

// SetLevel records how loud the source is now (its audio peak, 0..1): the
// compositor rings the tile of whoever is speaking.
func (s *Slot) SetLevel(peak float32) { s.level.Store(math.Float32bits(peak)) }

// Level is the source's loudness as last set.
func (s *Slot) Level() float32 { return math.Float32frombits(s.level.Load()) }
