package compositor

import (
	"testing"
	"time"
)

// A delayed slot shows each picture once it is delay old — the newest
// such — and lets go of every picture it replaces or drops.
func TestSlotDelay(t *testing.T) {
	var p Pool
	s := NewSlot("guest")
	s.SetDelay(60 * time.Millisecond)
	a, b := p.Get(16, 16), p.Get(16, 16)
	s.Put(a)
	if f := s.Take(); f != nil {
		t.Fatal("a picture shown before its delay")
	}
	time.Sleep(30 * time.Millisecond)
	s.Put(b)
	time.Sleep(40 * time.Millisecond) // a is 70 ms old, b 40
	if f := s.Take(); f != a {
		t.Fatalf("after 70 ms: %p, want the first picture %p", f, a)
	} else {
		f.Release()
	}
	time.Sleep(30 * time.Millisecond)
	f := s.Take()
	if f != b {
		t.Fatalf("after 100 ms: %p, want the second picture %p", f, b)
	}
	f.Release()
	if got := p.Get(16, 16); got != a {
		t.Error("the replaced picture was not released")
	}

	// More than maxPending waiting: the oldest go; Clear lets go of all.
	var put []*Frame
	for range maxPending + 2 {
		f := p.Get(16, 16)
		put = append(put, f)
		s.Put(f)
	}
	s.Clear()
	for _, f := range put {
		if f.refs.Load() != 0 {
			t.Fatalf("a picture still held after Clear: %d refs", f.refs.Load())
		}
	}
	if f := s.Take(); f != nil {
		t.Error("a picture after Clear")
	}
}

// A picture placed at its instant (PutAt) is shown from that instant on,
// by the instant asked for and not by when it is asked: the compositor
// asks for a frame's own time (Render), which a loaded machine draws late.
func TestSlotPutAtIsShownByTheInstantAsked(t *testing.T) {
	var p Pool
	s := NewSlot("guest")
	due := time.Now().Add(time.Hour)
	a, b := p.Get(16, 16), p.Get(16, 16)
	s.PutAt(a, due)
	s.PutAt(b, due.Add(33*time.Millisecond))
	for _, c := range []struct {
		at   time.Duration
		want *Frame
	}{{-time.Millisecond, nil}, {0, a}, {32 * time.Millisecond, a}, {33 * time.Millisecond, b}} {
		f, _ := s.take(due.Add(c.at))
		if f != c.want {
			t.Errorf("at due%+v: picture %p, want %p", c.at, f, c.want)
		}
		if f != nil {
			f.Release()
		}
	}
	s.Clear()
}
