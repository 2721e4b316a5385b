package compositor

import (
	"image"
	"sync"
	"sync/atomic"
)

// Frame is a reference-counted 4:2:0 picture. A source fills one it got
// from a Pool and hands it to a Slot; the compositor holds a reference while
// it scales from it, so the source never writes into a picture being read
// and no picture is allocated per frame once the pool is warm.
type Frame struct {
	image.YCbCr
	refs atomic.Int32
	pool *Pool
}

// Release drops one reference; the last one returns the frame to its pool.
func (f *Frame) Release() {
	if f.refs.Add(-1) == 0 && f.pool != nil {
		f.pool.put(f)
	}
}

func (f *Frame) retain() *Frame {
	f.refs.Add(1)
	return f
}

// Pool recycles frames of one size. It is safe for concurrent use.
type Pool struct {
	mu   sync.Mutex
	w, h int
	free []*Frame
}

// Get returns a frame of w×h with one reference. Its pixels are whatever
// the last user left: a source overwrites all of them.
func (p *Pool) Get(w, h int) *Frame {
	p.mu.Lock()
	if w != p.w || h != p.h {
		p.w, p.h, p.free = w, h, nil
	}
	var f *Frame
	if n := len(p.free); n > 0 {
		f, p.free = p.free[n-1], p.free[:n-1]
	}
	p.mu.Unlock()
	if f == nil {
		f = &Frame{YCbCr: *image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420), pool: p}
	}
	f.refs.Store(1)
	return f
}

func (p *Pool) put(f *Frame) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if f.Rect.Dx() == p.w && f.Rect.Dy() == p.h && len(p.free) < 8 {
		p.free = append(p.free, f)
	}
}

// Retain adds a reference, for handing one picture to several consumers
// (each releases its own).
func (f *Frame) Retain() *Frame { return f.retain() }
