package compositor

import (
	"flag"
	"fmt"
	"image"
	"image/color"
	"math"
	"os"
	"testing"
	"time"

	"greenroom/encode/scene"
	"greenroom/encode/scene/golden"
)

// Golden images: each layout with 1, 2, 4 and 10 synthetic people, name
// tags, and a transition's midpoint, rendered at 720p and compared with
// PNGs in testdata/. `go test ./encode/compositor -run Golden -update`
// writes them afresh (look at them before committing); a mismatch writes
// the picture got and a diff to testdata/failed/.
var update = flag.Bool("update", false, "write the golden images instead of comparing with them")

func TestMain(m *testing.M) {
	// The same pictures on every machine: the embedded font only (it has
	// Latin, Greek and Cyrillic; package scene tests the fallbacks).
	scene.FallbackFonts = nil
	os.Exit(m.Run())
}

var names = []string{"Ann Lee", "Bob Martin", "Chiara Rossi", "Dev Patel", "Emma Schultz", "Farid Haddad", "Grace Kim", "Hugo Dubois", "Ines Costa", "Jonas Berg"}

// person is a synthetic camera picture: a coloured backdrop with a lighter
// head and shoulders, so crops and letterboxes show where the face went.
func person(pool *Pool, i, w, h int) *Frame {
	hues := []color.RGBA{
		{0x3b, 0x82, 0xf6, 255}, {0xef, 0x44, 0x44, 255}, {0xf5, 0x9e, 0x0b, 255}, {0x10, 0xb9, 0x81, 255},
		{0x8b, 0x5c, 0xf6, 255}, {0xec, 0x48, 0x99, 255}, {0x06, 0xb6, 0xd4, 255}, {0x84, 0xcc, 0x16, 255},
		{0xf9, 0x73, 0x16, 255}, {0x64, 0x74, 0x8b, 255},
	}
	back, skin, shirt := RGB(hues[i%len(hues)]), RGB(color.RGBA{0xf1, 0xc2, 0x7d, 255}), RGB(color.RGBA{0x1f, 0x29, 0x37, 255})
	f := pool.Get(w, h)
	img := &f.YCbCr
	fw, fh := float64(w), float64(h)
	for y := range h {
		for x := range w {
			c := back
			// A gentle vertical gradient, so the picture is not flat.
			c.Y = uint8(int(back.Y) - 20*y/h)
			dx, dy := (float64(x)-fw/2)/(fh*0.16), (float64(y)-fh*0.38)/(fh*0.2)
			if dx*dx+dy*dy < 1 {
				c = skin
			}
			sx, sy := (float64(x)-fw/2)/(fh*0.36), (float64(y)-fh*1.02)/(fh*0.42)
			if sx*sx+sy*sy < 1 {
				c = shirt
			}
			img.Y[img.YOffset(x, y)] = c.Y
			if x%2 == 0 && y%2 == 0 {
				img.Cb[img.COffset(x, y)], img.Cr[img.COffset(x, y)] = c.Cb, c.Cr
			}
		}
	}
	return f
}

type cast struct {
	pool  Pool
	slots []*Slot
	names map[string]string
}

func newCast(n int) *cast {
	c := &cast{names: map[string]string{}}
	for i := range n {
		s := NewSlot(fmt.Sprintf("p%d", i))
		w, h := 1280, 720
		if i%4 == 3 {
			w, h = 640, 480 // an old webcam: 4:3
		}
		s.Put(person(&c.pool, i, w, h))
		c.slots = append(c.slots, s)
		c.names[s.Name] = names[i]
	}
	return c
}

func TestGoldenLayouts(t *testing.T) {
	for _, layout := range scene.Layouts {
		for _, n := range []int{1, 2, 4, 10} {
			t.Run(fmt.Sprintf("%s-%d", layout, n), func(t *testing.T) {
				cs := newCast(n)
				checkGolden(t, fmt.Sprintf("%s-%d", layout, n), renderOnce(t, cs, scene.Scene{Layout: layout, Main: "p1", Names: cs.names}))
			})
		}
	}
}

func TestGoldenNameTags(t *testing.T) {
	cs := newCast(4)
	cs.names["p0"] = "Dr. Maximiliane Wolkenstein-Oberhausen, Institute for Advanced Study"
	cs.names["p1"] = "Σωκράτης Παπαδόπουλος · Зоя"
	cs.names["p2"] = "José Ñúñez 李 🎙️" // no font here for the last two: boxes, no crash
	checkGolden(t, "nametags", renderOnce(t, cs, scene.Scene{Layout: scene.Grid, Names: cs.names, Fit: map[string]bool{"p3": true}}))
}

// renderOnce renders the cast in sc on a fresh 720p compositor.
// newStill is a 720p compositor for golden pictures: the cast's frames,
// put once, never count as stalled (StallAfter), however long the
// rendering takes (scaling a brand's overlay takes seconds under -race).
func newStill(t *testing.T) *Compositor {
	c := New(1280, 720)
	c.StallAfter = time.Hour
	t.Cleanup(c.Close)
	return c
}

func renderOnce(t *testing.T, cs *cast, sc scene.Scene) *image.YCbCr {
	t.Helper()
	c := newStill(t)
	if err := c.SetScene(sc); err != nil {
		t.Fatal(err)
	}
	img, err := c.Render(cs.slots, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestGoldenAvatars: people without a picture (audio only; a camera that
// stopped) show their initials on the placeholder, in every size of tile;
// whoever speaks is ringed in the brand colour.
func TestGoldenAvatars(t *testing.T) {
	cs := newCast(4)
	cs.slots[1].Clear()                     // never sent video
	cs.slots[2] = NewSlot(cs.slots[2].Name) // the same, a newcomer
	cs.names["p2"] = "Ζωή Λάμπρου"
	cs.slots[0].SetSpeaking(true) // Ann is speaking: her tile is ringed
	checkGolden(t, "avatars", renderOnce(t, cs, scene.Scene{Layout: scene.Spotlight, Main: "p1", Names: cs.names}))
}

// TestGoldenBrand: a brand kit — a light background, a purple brand
// colour (name tags turn, their text stays legible), a logo with alpha in
// the top-right corner and a full-frame overlay (a coloured edge).
func TestGoldenBrand(t *testing.T) {
	cs := newCast(4)
	c := newStill(t)
	b := scene.Brand{
		Colour:     color.RGBA{0x7c, 0x3a, 0xed, 255},
		Background: color.RGBA{0xe2, 0xe8, 0xf0, 255},
		Logo:       testLogo(),
		Overlay:    testOverlay(1920, 1080), // scaled to the program
	}
	if err := c.SetScene(scene.Scene{Layout: scene.Spotlight, Names: cs.names, Brand: b}); err != nil {
		t.Fatal(err)
	}
	img, err := c.Render(cs.slots, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "brand", img)
	// Frame after frame, the overlays do not pile up where they lie over
	// the background.
	first := toRGBA(img)
	for range 5 {
		img, _ = c.Render(cs.slots, time.Now())
	}
	if d := meanDiff(first, toRGBA(img), nil); d > 0.0005 {
		t.Errorf("the brand's overlays changed by %.3f%% over five frames", d*100)
	}
	// Back to the default brand: background and tags as before.
	c.SetScene(scene.Scene{Layout: scene.Spotlight, Names: cs.names})
	img, _ = c.Render(cs.slots, time.Now())
	if y := img.Y[img.YOffset(1276, 4)]; y != Background.Y {
		t.Errorf("background luma %d after the brand was dropped, want %d", y, Background.Y)
	}
}

// testLogo is a 300x120 logo: a white rounded plate with an orange disc,
// the rest see-through.
func testLogo() image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, 300, 120))
	plate := scene.RoundedRect(300, 120, 24)
	for y := range 120 {
		for x := range 300 {
			c := color.NRGBA{255, 255, 255, plate.AlphaAt(x, y).A}
			if dx, dy := float64(x-60), float64(y-60); dx*dx+dy*dy < 40*40 {
				c = color.NRGBA{0xf9, 0x73, 0x16, 255}
			}
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}

// testOverlay is a full-frame overlay: a 1 % brand-coloured edge, half
// see-through, and nothing else.
func testOverlay(w, h int) image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	e := h / 100
	for y := range h {
		for x := range w {
			if x < e || y < e || x >= w-e || y >= h-e {
				img.SetNRGBA(x, y, color.NRGBA{0x7c, 0x3a, 0xed, 160})
			}
		}
	}
	return img
}

// TestGoldenTransition renders the midpoint of a move from the grid to the
// spotlight: tiles on their way, no black, the background behind them.
func TestGoldenTransition(t *testing.T) {
	cs := newCast(4)
	c := New(1280, 720)
	defer c.Close()
	c.SetScene(scene.Scene{Layout: scene.Grid, Names: cs.names})
	t0 := time.Now()
	c.Render(cs.slots, t0)
	c.SetScene(scene.Scene{Layout: scene.Spotlight, Main: "p2", Names: cs.names})
	c.Render(cs.slots, t0) // the move starts
	img, err := c.Render(cs.slots, t0.Add(scene.TransitionTime/2))
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "transition-mid", img)
	for y := 0; y < 720; y += 4 {
		for x := 0; x < 1280; x += 4 {
			if v := img.Y[img.YOffset(x, y)]; v < 17 {
				t.Fatalf("black at (%d,%d) mid-transition", x, y)
			}
		}
	}
	// And it arrives where the spotlight puts it.
	end, _ := c.Render(cs.slots, t0.Add(scene.TransitionTime))
	want := New(1280, 720)
	defer want.Close()
	want.SetScene(scene.Scene{Layout: scene.Spotlight, Main: "p2", Names: cs.names})
	ref, _ := want.Render(cs.slots, t0)
	if d := meanDiff(toRGBA(end), toRGBA(ref), nil); d > 0.01 {
		t.Errorf("after the transition the picture differs from the spotlight's by %.3f", d)
	}
}

// TestGoldenBannerTicker: one person full frame with a lower-third banner
// and the ticker; the tiles make room for the ticker's band. Midway, the
// banner is sliding in; after, it is in place and the ticker runs on.
func TestGoldenBannerTicker(t *testing.T) {
	cs := newCast(2)
	c := New(1280, 720)
	defer c.Close()
	sc := scene.Scene{Layout: scene.Solo, Names: cs.names,
		Banner: "Live from the Greenroom — episode 12: building a studio in Go",
		Ticker: "Next week: screen sharing and brand kits   •   Ask your questions in the chat"}
	c.SetScene(sc)
	t0 := time.Now()
	c.Render(cs.slots, t0)
	mid, _ := c.Render(cs.slots, t0.Add(scene.TransitionTime/2))
	checkGolden(t, "banner-mid", mid)
	img, err := c.Render(cs.slots, t0.Add(scene.TransitionTime))
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "banner-ticker", img)
	band := image.Rect(0, 720-scene.TickerHeight(c.bounds), 1280, 720)
	a := toRGBA(img).SubImage(band).(*image.RGBA)
	later, _ := c.Render(cs.slots, t0.Add(scene.TransitionTime+time.Second))
	if d := meanDiff(a, toRGBA(later).SubImage(band).(*image.RGBA), nil); d < 0.01 {
		t.Errorf("the ticker did not move in a second (%.3f)", d)
	}
	// Taking the banner down slides it out; the ticker's band goes with
	// the ticker, and the tile takes the whole frame again.
	sc.Banner, sc.Ticker = "", ""
	c.SetScene(sc)
	t1 := t0.Add(5 * time.Second)
	c.Render(cs.slots, t1)
	c.Render(cs.slots, t1.Add(scene.TransitionTime))
	if c.oldBanner != nil || c.banner != nil || c.ticker != nil || c.tiles[cs.slots[0]].drawn != c.bounds {
		t.Errorf("banner %v, ticker %v, tile %v after both were taken down", c.banner != nil || c.oldBanner != nil, c.ticker != nil, c.tiles[cs.slots[0]].drawn)
	}
}

// TestGoldenStageChange: in the grid, one of four leaves the stage while a
// newcomer joins; midway the leaver shrinks away with their last picture,
// the newcomer grows in, the others slide to their new places.
func TestGoldenStageChange(t *testing.T) {
	cs := newCast(5)
	c := New(1280, 720)
	defer c.Close()
	c.SetScene(scene.Scene{Layout: scene.Grid, Names: cs.names})
	t0 := time.Now()
	before := []*Slot{cs.slots[0], cs.slots[1], cs.slots[2], cs.slots[3]}
	c.Render(before, t0)
	after := []*Slot{cs.slots[0], cs.slots[2], cs.slots[3], cs.slots[4]}
	c.Render(after, t0)
	img, err := c.Render(after, t0.Add(scene.TransitionTime/2))
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "stage-change-mid", img)
	c.Render(after, t0.Add(scene.TransitionTime))
	if len(c.order) != 4 || c.tiles[cs.slots[1]] != nil {
		t.Errorf("%d tiles after the move, want the 4 on stage", len(c.order))
	}
}

// toRGBA converts the video-range 4:2:0 canvas to RGBA, as a player shows it.
func toRGBA(img *image.YCbCr) *image.RGBA {
	out := image.NewRGBA(img.Rect)
	clamp := func(v float64) uint8 { return uint8(math.Max(0, math.Min(255, v+0.5))) }
	for y := img.Rect.Min.Y; y < img.Rect.Max.Y; y++ {
		for x := img.Rect.Min.X; x < img.Rect.Max.X; x++ {
			Y := (float64(img.Y[img.YOffset(x, y)]) - 16) * 255 / 219
			cb := (float64(img.Cb[img.COffset(x, y)]) - 128) * 255 / 224
			cr := (float64(img.Cr[img.COffset(x, y)]) - 128) * 255 / 224
			o := out.PixOffset(x, y)
			out.Pix[o+0] = clamp(Y + 1.402*cr)
			out.Pix[o+1] = clamp(Y - 0.344136*cb - 0.714136*cr)
			out.Pix[o+2] = clamp(Y + 1.772*cb)
			out.Pix[o+3] = 255
		}
	}
	return out
}

// meanDiff is the mean absolute difference of two pictures, 0 to 1.
func meanDiff(a, b *image.RGBA, diff *image.RGBA) float64 {
	m, _ := golden.Compare(a, b, diff)
	return m
}

// checkGolden compares img with testdata/NAME.png within a tolerance:
// swscale's code paths differ by CPU and a name in a script the embedded
// fonts lack is drawn with whatever fallback font the machine has (see
// scene.Tag), so small differences pass; a tile or a name tag out of place
// does not (a tag is over 1 % of the picture).
func checkGolden(t *testing.T, name string, img *image.YCbCr) {
	t.Helper()
	golden.Check(t, "testdata", name, toRGBA(img), *update, golden.Tolerance{Mean: 0.005, Far: 0.003})
}

// TestGoldenPortrait: the vertical program (720x1280; issue #13) in every
// layout with 1, 2, 4 and 10 people — stacked, the main source across the
// top, a screen whole at 16:9 — and with a banner and the ticker, the
// banner above the band phone apps cover.
func TestGoldenPortrait(t *testing.T) {
	render := func(t *testing.T, cs *cast, sc scene.Scene, at time.Duration) *image.YCbCr {
		c := New(720, 1280)
		c.StallAfter = time.Hour
		defer c.Close()
		if err := c.SetScene(sc); err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		c.Render(cs.slots, t0)
		img, err := c.Render(cs.slots, t0.Add(at))
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	for _, layout := range scene.Layouts {
		for _, n := range []int{1, 2, 4, 10} {
			name := fmt.Sprintf("portrait-%s-%d", layout, n)
			t.Run(name, func(t *testing.T) {
				cs := newCast(n)
				checkGolden(t, name, render(t, cs, scene.Scene{Layout: layout, Main: "p1", Names: cs.names}, 0))
			})
		}
	}
	t.Run("portrait-banner-ticker", func(t *testing.T) {
		cs := newCast(2)
		sc := scene.Scene{Layout: scene.Grid, Names: cs.names,
			Banner: "Live from the Greenroom — episode 12: building a studio in Go",
			Ticker: "Next week: screen sharing and brand kits   •   Ask your questions in the chat"}
		checkGolden(t, "portrait-banner-ticker", render(t, cs, sc, scene.TransitionTime))
	})
}
