package compositor

import (
	"image"
	"testing"
	"time"
)

func TestGrid(t *testing.T) {
	bounds := image.Rect(0, 0, 1920, 1080)
	for n := 1; n <= 10; n++ {
		cells := Grid(n, bounds, 12)
		if len(cells) != n {
			t.Fatalf("n=%d: %d cells", n, len(cells))
		}
		for i, c := range cells {
			if !c.In(bounds) {
				t.Errorf("n=%d cell %d %v outside %v", n, i, c, bounds)
			}
			if c.Min.X%2 != 0 || c.Min.Y%2 != 0 || c.Dx()%2 != 0 || c.Dy()%2 != 0 {
				t.Errorf("n=%d cell %d %v not even", n, i, c)
			}
			if a := float64(c.Dx()) / float64(c.Dy()); a < 1.74 || a > 1.81 {
				t.Errorf("n=%d cell %d aspect %.3f, want 16:9", n, i, a)
			}
			for j := 0; j < i; j++ {
				if c.Overlaps(cells[j]) {
					t.Errorf("n=%d cells %d and %d overlap: %v %v", n, i, j, c, cells[j])
				}
			}
		}
	}
	// One source fills the program but for the gap; two sit side by side.
	if c := Grid(1, bounds, 12)[0]; c.Dx() < 1860 {
		t.Errorf("solo cell %v is too small", c)
	}
	if c := Grid(2, bounds, 12); c[0].Min.Y != c[1].Min.Y || c[0].Max.X > c[1].Min.X {
		t.Errorf("two cells not side by side: %v", c)
	}
	// Three: two on top, one centred below.
	c := Grid(3, bounds, 12)
	if mid := (c[2].Min.X + c[2].Max.X) / 2; mid < 940 || mid > 980 {
		t.Errorf("last row not centred: %v", c[2])
	}
}

func TestFit(t *testing.T) {
	for _, tc := range []struct {
		src  image.Point
		cell image.Rectangle
		want image.Rectangle
	}{
		{image.Pt(1280, 720), image.Rect(0, 0, 1920, 1080), image.Rect(0, 0, 1920, 1080)},
		{image.Pt(640, 480), image.Rect(0, 0, 1920, 1080), image.Rect(240, 0, 1680, 1080)},
		{image.Pt(1080, 1920), image.Rect(100, 100, 740, 460), image.Rect(318, 100, 520, 460)},
		{image.Pt(0, 0), image.Rect(0, 0, 10, 10), image.Rectangle{}},
	} {
		if got := Fit(tc.src, tc.cell); got != tc.want {
			t.Errorf("Fit(%v, %v) = %v, want %v", tc.src, tc.cell, got, tc.want)
		}
	}
}

func solid(p *Pool, w, h int, c YCbCr) *Frame {
	f := p.Get(w, h)
	Fill(&f.YCbCr, f.Rect, c)
	return f
}

func lumaAt(img *image.YCbCr, p image.Point) uint8 { return img.Y[img.YOffset(p.X, p.Y)] }

func TestRenderPlacesSourcesAndPlaceholders(t *testing.T) {
	c := New(1280, 720)
	defer c.Close()
	var pool Pool
	bright, empty, stalled := NewSlot("bright"), NewSlot("empty"), NewSlot("stalled")
	bright.Put(solid(&pool, 640, 360, YCbCr{Y: 235, Cb: 128, Cr: 128}))
	stalled.Put(solid(&pool, 640, 360, YCbCr{Y: 200, Cb: 128, Cr: 128}))
	slots := []*Slot{bright, empty, stalled}
	cells := Grid(len(slots), image.Rect(0, 0, 1280, 720), c.gap)

	img, err := c.Render(slots, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	centre := func(r image.Rectangle) image.Point { return image.Pt((r.Min.X+r.Max.X)/2, (r.Min.Y+r.Max.Y)/2) }
	if y := lumaAt(img, centre(cells[0])); y < 230 {
		t.Errorf("bright source tile luma %d, want ~235", y)
	}
	if y := lumaAt(img, centre(cells[1])); y != Placeholder.Y {
		t.Errorf("empty source tile luma %d, want placeholder %d", y, Placeholder.Y)
	}
	if y := lumaAt(img, centre(cells[2])); y < 195 {
		t.Errorf("fresh source tile luma %d, want ~200", y)
	}
	if y := lumaAt(img, image.Pt(1, 1)); y != Background.Y {
		t.Errorf("corner luma %d, want background %d", y, Background.Y)
	}

	// The same frame, seen after StallAfter with nothing new: placeholder.
	img, _ = c.Render(slots, time.Now().Add(3*time.Second))
	if y := lumaAt(img, centre(cells[2])); y != Placeholder.Y {
		t.Errorf("stalled source tile luma %d, want placeholder %d", y, Placeholder.Y)
	}
	// Removing a source frees its scaler.
	c.Render(slots[:1], time.Now())
	if len(c.scalers) != 1 {
		t.Errorf("%d scalers after a source left, want 1", len(c.scalers))
	}
}

func TestPoolRecycles(t *testing.T) {
	var p Pool
	f := p.Get(64, 32)
	s := NewSlot("x")
	s.Put(f)
	g, _ := s.take()
	s.Clear() // the slot lets go; the taker still holds it
	if got := p.Get(64, 32); got == f {
		t.Fatal("a frame still referenced was handed out again")
	}
	g.Release()
	if got := p.Get(64, 32); got != f {
		t.Fatal("a released frame was not recycled")
	}
}

// BenchmarkRender1080p4Tiles is the compositor's budget: four 720p sources
// scaled into a 1080p program. Target: ≤4 ms per frame on the 2-core box.
func BenchmarkRender1080p4Tiles(b *testing.B) {
	c := New(1920, 1080)
	defer c.Close()
	var pool Pool
	var slots []*Slot
	for i := range 4 {
		s := NewSlot("s")
		f := pool.Get(1280, 720)
		for j := range f.Y {
			f.Y[j] = byte(j + i*40)
		}
		s.Put(f)
		slots = append(slots, s)
	}
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Render(slots, now); err != nil {
			b.Fatal(err)
		}
	}
}
