package encode

import (
	"testing"

	"greenroom/encode/shim"
)

// A thumbnail in steady state allocates nothing: the frame comes from the
// input's pool, the crop is a view, the RGBA buffer is the input's own.
func TestThumbnailAllocatesNothing(t *testing.T) {
	p, err := New(Config{Width: 320, Height: 180, FPS: 30})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	in := p.AddInput("a")
	th := &thumbnails{w: 160, h: 90}
	tb := &thumb{img: shim.NewRGBA(160, 90)}
	defer tb.scaler.Close()
	next := func() {
		in.WriteVideo(in.NewFrame(640, 480))
		if !th.render(in, tb) {
			t.Fatal("no thumbnail of a new picture")
		}
	}
	next()
	next() // the pool now has a frame to hand back
	if n := testing.AllocsPerRun(50, next); n != 0 {
		t.Errorf("%v allocations per thumbnail, want none", n)
	}
}
