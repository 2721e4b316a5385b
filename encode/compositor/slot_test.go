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
