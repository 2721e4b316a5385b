package compositor

import (
	"image"
	"testing"
	"time"

	"greenroom/encode/scene"
)

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
	cells, _ := scene.Arrange(scene.Grid, len(slots), 0, image.Rect(0, 0, 1280, 720))

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
	// A source that leaves shrinks away with its last picture, then its
	// scaler and picture are let go.
	left := time.Now()
	c.Render(slots, left) // its picture is fresh again
	c.Render(slots[:1], left)
	mid, _ := c.Render(slots[:1], left.Add(scene.TransitionTime/2))
	if y := lumaAt(mid, centre(cells[2])); y < 195 {
		t.Errorf("leaving tile luma %d mid-way, want its last picture ~200", y)
	}
	c.Render(slots[:1], left.Add(scene.TransitionTime))
	if len(c.scalers) != 1 || len(c.order) != 1 {
		t.Errorf("%d scalers and %d tiles after a source left, want 1", len(c.scalers), len(c.order))
	}
	if got := pool.Get(640, 360); got != nil {
		got.Release()
	}
}

func TestPoolRecycles(t *testing.T) {
	var p Pool
	f := p.Get(64, 32)
	s := NewSlot("x")
	s.Put(f)
	g, _ := s.take(time.Now())
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
// scaled into a 1080p grid, with name tags and rounded corners. Target:
// ≤4 ms per frame on the 2-core box, no allocations.
func BenchmarkRender1080p4Tiles(b *testing.B) { benchRender(b, scene.Grid, 4, scene.Brand{}) }

// BenchmarkRender1080p10Tiles: ten sources (two of them 4:3, cropped) in a
// grid with name tags. Target: ≤8 ms per frame, no allocations.
func BenchmarkRender1080p10Tiles(b *testing.B) { benchRender(b, scene.Grid, 10, scene.Brand{}) }

// BenchmarkRender1080p4TilesFull and 10TilesFull: the budget —
// name tags, a logo, a full-frame overlay (an edge), a lower-third banner
// and the ticker. Targets: ≤4 ms and ≤8 ms, no allocations.
func BenchmarkRender1080p4TilesFull(b *testing.B) { benchRender(b, scene.Grid, 4, fullBrand()) }

func BenchmarkRender1080p10TilesFull(b *testing.B) { benchRender(b, scene.Grid, 10, fullBrand()) }

func fullBrand() scene.Brand {
	return scene.Brand{Logo: testLogo(), Overlay: testOverlay(1920, 1080)}
}

// BenchmarkRender1080pSpotlight10: one large tile and a strip of nine.
func BenchmarkRender1080pSpotlight10(b *testing.B) {
	benchRender(b, scene.Spotlight, 10, scene.Brand{})
}

// BenchmarkRender1080pPiP4: a full-frame main and three tiles over it.
func BenchmarkRender1080pPiP4(b *testing.B) { benchRender(b, scene.PiP, 4, scene.Brand{}) }

// BenchmarkRender1080pTransition: frames while ten tiles move between the
// grid and the spotlight, a new move every 9 frames. Moving tiles cost
// more (new swscale contexts every frame, the whole background repainted)
// and each move renders the name tags anew (the allocations: per change,
// not per frame); this is paid for a third of a second.
func BenchmarkRender1080pTransition(b *testing.B) {
	cs := newCast(10)
	c := New(1920, 1080)
	defer c.Close()
	c.StallAfter = time.Hour // the pictures are put once, and the clock runs on
	now := time.Now()
	layouts := []string{scene.Grid, scene.Spotlight}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i%9 == 0 {
			c.SetScene(scene.Scene{Layout: layouts[i/9%2], Names: cs.names})
		}
		now = now.Add(scene.TransitionTime / 9)
		if _, err := c.Render(cs.slots, now); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func benchRender(b *testing.B, layout string, n int, brand scene.Brand) {
	cs := newCast(n)
	c := New(1920, 1080)
	defer c.Close()
	sc := scene.Scene{Layout: layout, Names: cs.names, Brand: brand}
	if brand.Logo != nil {
		sc.Banner, sc.Ticker = "Live from the Greenroom", "Next week: screen sharing   •   Questions in the chat"
	}
	if err := c.SetScene(sc); err != nil {
		b.Fatal(err)
	}
	// A new Frame from every source at every tick, as from 30 fps
	// cameras: a picture held from one tick to the next is copied from
	// what its tile kept scaled, and the budget is the scaling.
	tw := newTwin(cs, func(i int) int { w, _ := castSize(i); return w }, func(i int) int { _, h := castSize(i); return h })
	now := time.Now()
	c.Render(cs.slots, now) // arrange and render the tags: once per change, not per frame
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		tw.put(i)
		if _, err := c.Render(cs.slots, now); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkArrange10: what one scene change costs the video stage with ten
// people at 1080p (placing the tiles, rendering ten name tags and ten
// avatars), paid once per change, within a frame's time.
func BenchmarkArrange10(b *testing.B) {
	cs := newCast(10)
	c := New(1920, 1080)
	defer c.Close()
	layouts := []string{scene.Grid, scene.Spotlight}
	now := time.Now()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c.SetScene(scene.Scene{Layout: layouts[i%2], Names: cs.names})
		c.arrange(cs.slots, now)
		i++
	}
}

func TestVideoColours(t *testing.T) {
	for _, tc := range []struct {
		r, g, b, a uint8
		want       YCbCr
	}{
		{255, 255, 255, 255, YCbCr{235, 128, 128}},
		{0, 0, 0, 255, YCbCr{16, 128, 128}},
		{255, 0, 0, 255, YCbCr{81, 90, 240}},
		{128, 128, 128, 128, YCbCr{118, 64, 64}}, // white at half alpha, premultiplied
		{0, 0, 0, 0, YCbCr{}},
	} {
		if got := toVideo(tc.r, tc.g, tc.b, tc.a); got != tc.want {
			t.Errorf("toVideo(%d,%d,%d,%d) = %v, want %v", tc.r, tc.g, tc.b, tc.a, got, tc.want)
		}
	}
}

// The smallest program the pipeline allows still composes every layout,
// with someone speaking, without a panic.
func TestTinyProgram(t *testing.T) {
	cs := newCast(3)
	cs.slots[1].SetSpeaking(true)
	c := New(160, 90)
	defer c.Close()
	for _, l := range scene.Layouts {
		c.SetScene(scene.Scene{Layout: l, Names: cs.names, Banner: "Hi", Ticker: "News"})
		if _, err := c.Render(cs.slots, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
}

// The tiles' references to the pictures they drew go back on Close, so
// the sources' pools recycle every frame.
func TestCloseReleasesPictures(t *testing.T) {
	var pool Pool
	s := NewSlot("a")
	f := solid(&pool, 64, 36, YCbCr{Y: 200, Cb: 128, Cr: 128})
	s.Put(f)
	c := New(320, 180)
	c.SetScene(scene.Scene{Layout: scene.Grid})
	c.Render([]*Slot{s, NewSlot("b")}, time.Now())
	s.Clear()
	if got := pool.Get(64, 36); got == f {
		t.Fatal("a picture the compositor holds was handed out again")
	}
	c.Close()
	c.Close() // twice is fine
	if got := pool.Get(64, 36); got != f {
		t.Error("the compositor did not let go of its picture on Close")
	}
}

// A source whose feed stopped (Slot.FeedAliveUntil passed) shows the
// placeholder at once, long before StallAfter, in the same tile; a feed
// alive again shows the picture again. A source that says nothing of its
// feed keeps its picture until StallAfter.
func TestFeedStopped(t *testing.T) {
	c := New(1280, 720)
	defer c.Close()
	var pool Pool
	guest, device := NewSlot("guest"), NewSlot("device")
	guest.Put(solid(&pool, 640, 360, YCbCr{Y: 200, Cb: 128, Cr: 128}))
	device.Put(solid(&pool, 640, 360, YCbCr{Y: 200, Cb: 128, Cr: 128}))
	slots := []*Slot{guest, device}
	cells, _ := scene.Arrange(scene.Grid, len(slots), 0, image.Rect(0, 0, 1280, 720))
	centre := func(r image.Rectangle) image.Point { return image.Pt((r.Min.X+r.Max.X)/2, (r.Min.Y+r.Max.Y)/2) }
	start := time.Now()
	guest.FeedAliveUntil(start.Add(500 * time.Millisecond))
	for _, step := range []struct {
		at         time.Duration
		guest, dev bool // the picture shows (else the placeholder)
		aliveUntil time.Duration
	}{
		{at: 0, guest: true, dev: true},
		{at: 400 * time.Millisecond, guest: true, dev: true},
		{at: 600 * time.Millisecond, guest: false, dev: true},
		{at: 700 * time.Millisecond, guest: true, dev: true, aliveUntil: 1200 * time.Millisecond},
		{at: 1300 * time.Millisecond, guest: false, dev: true},
	} {
		if step.aliveUntil > 0 {
			guest.FeedAliveUntil(start.Add(step.aliveUntil))
		}
		img, err := c.Render(slots, start.Add(step.at))
		if err != nil {
			t.Fatal(err)
		}
		for i, want := range []bool{step.guest, step.dev} {
			y := lumaAt(img, centre(cells[i]))
			if shows := y != Placeholder.Y; shows != want {
				t.Errorf("at %v: tile %d luma %d, want the picture: %v", step.at, i, y, want)
			}
		}
	}
	if len(c.tiles) != 2 {
		t.Errorf("%d tiles, want the guest's kept in place", len(c.tiles))
	}
}
