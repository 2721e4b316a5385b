package encode_test

import (
	"context"
	"image"
	"testing"
	"time"

	"greenroom/encode/mediatest"
	"greenroom/encode/scene"
)

// TestSceneChangeWhileLive: the program goes live to nginx in the grid,
// with name tags; while live the layout changes to picture-in-picture with
// the guest large. Frames from nginx's recording of the RTMP stream show
// both scenes, tags included.
func TestSceneChangeWhileLive(t *testing.T) {
	n := mediatest.StartNginx(t, mediatest.NginxOptions{})
	p := startProgram(t)
	if _, err := p.AddTestPattern("guest", 640, 360); err != nil {
		t.Fatal(err)
	}
	names := map[string]string{"host": "Host", "guest": "Ann Lee"}
	if err := p.SetScene(scene.Scene{Layout: scene.Grid, Names: names}); err != nil {
		t.Fatal(err)
	}
	live := addRTMP(t, p, n.URL("show"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := live.WaitLive(ctx); err != nil {
		t.Fatalf("publish: %v\n%s", err, n.LogTail(20))
	}
	time.Sleep(3 * time.Second)
	if err := p.SetScene(scene.Scene{Layout: scene.PiP, Main: "guest", Names: names}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	if err := p.RemoveOutput(live); err != nil {
		t.Fatal(err)
	}
	n.WaitUnpublished(t, "show", 5*time.Second)
	rec := n.Recording("show")
	bounds := image.Rect(0, 0, 1280, 720)

	// tagged reports whether the brand-green plate of a name tag is at the
	// bottom left of cell (just inside its padding, left of the text).
	tagged := func(img image.Image, cell image.Rectangle) bool {
		m, h := scene.TagMargin(cell.Size()), scene.TagHeight(cell.Dy())
		var r, g, b float64
		for dy := -2; dy <= 2; dy++ {
			for dx := 0; dx < 4; dx++ {
				cr, cg, cb, _ := img.At(cell.Min.X+m+3+dx, cell.Max.Y-m-h/2+dy).RGBA()
				r, g, b = r+float64(cr>>8), g+float64(cg>>8), b+float64(cb>>8)
			}
		}
		return g > r+30*20 && g > b+20*20 // 20 samples
	}
	band := image.Rect(0, 0, 1280, 120)
	top := func(img image.Image) float64 { return mediatest.MeanLuma(cropped(img, band)) }

	grid := mediatest.Frame(t, rec, 1500*time.Millisecond)
	cells, _ := scene.Arrange(scene.Grid, 2, 0, bounds)
	if l := top(grid); l > 30 {
		t.Errorf("grid: the band above the tiles has mean luma %.0f, want the dark background", l)
	}
	for i, c := range cells {
		if !tagged(grid, c) {
			t.Errorf("grid: no name tag on tile %d %v", i, c)
		}
	}
	pip := mediatest.Frame(t, rec, 5*time.Second)
	cells, _ = scene.Arrange(scene.PiP, 2, 1, bounds)
	if l := top(pip); l < 40 {
		t.Errorf("picture-in-picture: the top of the frame has mean luma %.0f, want the guest's picture", l)
	}
	for i, c := range cells {
		if !tagged(pip, c) {
			t.Errorf("picture-in-picture: no name tag on tile %d %v", i, c)
		}
	}
}

type crop struct {
	image.Image
	r image.Rectangle
}

func (c crop) Bounds() image.Rectangle { return c.r }

func cropped(img image.Image, r image.Rectangle) image.Image { return crop{img, r} }
