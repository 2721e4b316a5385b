package studio_test

import (
	"errors"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"

	"greenroom/encode/mediatest"
	"greenroom/encode/scene"
	"greenroom/studio"
	"greenroom/studio/studiotest"
)

// The scene model: the layout and the spotlit participant reach the
// pipeline, bad ones are refused and change nothing, and everyone in the
// program wears their display name — the host from the start, a guest as
// soon as their picture arrives.
func TestSceneReachesThePipeline(t *testing.T) {
	s, prog, pipe := startShow(t, studio.ProgramConfig{})
	if got := prog.Scene(); got.Layout != "grid" || got.Main != "" {
		t.Errorf("first scene %+v, want the grid", got)
	}
	if got := pipe.Scene().Names[studio.HostID]; got != "Host" {
		t.Errorf("host's name tag %q, want Host", got)
	}
	for _, l := range studio.Layouts {
		if err := prog.SetLayout(l); err != nil {
			t.Fatal(err)
		}
		if got := pipe.Scene().Layout; got != l {
			t.Errorf("pipeline layout %q after SetLayout(%q)", got, l)
		}
	}
	prog.SetLayout("pip")
	if err := prog.SetLayout("mosaic"); err == nil || prog.Scene().Layout != "pip" {
		t.Errorf("SetLayout(mosaic) = %v, scene now %+v", err, prog.Scene())
	}
	if err := prog.Spotlight("g99"); !errors.Is(err, studio.ErrNoParticipant) {
		t.Errorf("Spotlight of nobody: %v", err)
	}

	zoe := join(t, s, "Zoë Ω", studiotest.Options{VideoIVF: videoIVF, AudioOgg: audioOgg})
	if err := s.Stage(zoe.ID, true); err != nil {
		t.Fatal(err)
	}
	// Nothing else changes the scene: her first packets bring her name.
	eventually(t, "Zoë's name tag", func() bool { return pipe.Scene().Names[zoe.ID] == "Zoë Ω" })
	if err := prog.Spotlight(zoe.ID); err != nil {
		t.Fatal(err)
	}
	if got := pipe.Scene(); got.Main != zoe.ID || got.Layout != "pip" {
		t.Errorf("pipeline scene %+v, want Zoë large in pip", got)
	}
	if err := prog.SetFit(zoe.ID, true); err != nil || !pipe.Scene().Fit[zoe.ID] {
		t.Errorf("SetFit: %v, %+v", err, pipe.Scene().Fit)
	}
	prog.SetFit(zoe.ID, true) // twice is once
	if got := prog.Scene().Fit; len(got) != 1 {
		t.Errorf("letterboxed %v", got)
	}
	if err := prog.SetScene(studio.Scene{Layout: "solo"}); err != nil || pipe.Scene().Main != "" || len(pipe.Scene().Fit) != 0 {
		t.Errorf("SetScene(solo): %v, %+v", err, pipe.Scene())
	}
}

func TestBannerAndTicker(t *testing.T) {
	_, prog, pipe := startShow(t, studio.ProgramConfig{})
	if err := prog.ShowBanner("  Live from\nthe Greenroom\t "); err != nil {
		t.Fatal(err)
	}
	if err := prog.SetTicker("Next week: screen sharing"); err != nil {
		t.Fatal(err)
	}
	if got := pipe.Scene(); got.Banner != "Live from the Greenroom" || got.Ticker != "Next week: screen sharing" {
		t.Errorf("pipeline banner %q, ticker %q", got.Banner, got.Ticker)
	}
	prog.SetLayout("spotlight") // keeps them
	prog.ShowBanner("")
	if got := pipe.Scene(); got.Banner != "" || got.Ticker == "" || got.Layout != "spotlight" {
		t.Errorf("after taking the banner down: %+v", got)
	}
}

func TestBrandKit(t *testing.T) {
	_, prog, pipe := startShow(t, studio.ProgramConfig{})
	dir := t.TempDir()
	logo := filepath.Join(dir, "logo.png")
	img := image.NewNRGBA(image.Rect(0, 0, 40, 20))
	img.SetNRGBA(5, 5, color.NRGBA{255, 0, 0, 255})
	f, err := os.Create(logo)
	if err != nil {
		t.Fatal(err)
	}
	png.Encode(f, img)
	f.Close()
	notPNG := filepath.Join(dir, "notes.txt")
	os.WriteFile(notPNG, []byte("hello"), 0o644)

	kit := studio.BrandKit{Name: "Studio B", Colour: "#7c3aed", Background: "e2e8f0", Logo: logo, LogoCorner: "bottom-left"}
	if err := prog.SetBrand(kit); err != nil {
		t.Fatal(err)
	}
	b := pipe.Scene().Brand
	if b.Colour != (color.RGBA{0x7c, 0x3a, 0xed, 255}) || b.Background != (color.RGBA{0xe2, 0xe8, 0xf0, 255}) ||
		b.Logo == nil || b.Logo.Bounds().Dx() != 40 || b.LogoCorner != scene.BottomLeft || b.Overlay != nil {
		t.Errorf("pipeline brand %+v", b)
	}
	// A layout change keeps the brand.
	prog.SetLayout("pip")
	if pipe.Scene().Brand.Logo == nil {
		t.Error("the brand was lost on a layout change")
	}
	for _, bad := range []studio.BrandKit{
		{Name: "x", Colour: "green"},
		{Name: "x", Background: "#12345"},
		{Name: "x", Logo: filepath.Join(dir, "missing.png")},
		{Name: "x", Overlay: notPNG},
		{Name: "x", LogoCorner: "middle"},
	} {
		if err := prog.SetBrand(bad); !errors.Is(err, studio.ErrBadBrand) {
			t.Errorf("SetBrand(%+v) = %v, want ErrBadBrand", bad, err)
		}
	}
	if prog.Brand() != kit || pipe.Scene().Brand.Logo == nil {
		t.Error("a bad kit changed the brand")
	}
	if err := prog.SetBrand(studio.BrandKit{}); err != nil || pipe.Scene().Brand.Logo != nil {
		t.Errorf("back to no brand: %v, %+v", err, pipe.Scene().Brand)
	}
}

func TestSceneControlAPI(t *testing.T) {
	s, _, pipe := startShow(t, studio.ProgramConfig{})
	if code, out := api(t, s, "GET", "/api/scene", "", ""); code != 200 || out["layout"] != "grid" {
		t.Errorf("GET /api/scene: %d %v", code, out)
	}
	if code, out := api(t, s, "POST", "/api/scene", "", `{"layout": "pip", "banner": "Hello\nworld"}`); code != 200 || out["layout"] != "pip" || out["banner"] != "Hello world" {
		t.Errorf("POST /api/scene: %d %v", code, out)
	}
	if got := pipe.Scene(); got.Layout != "pip" || got.Banner != "Hello world" {
		t.Errorf("pipeline scene %+v", got)
	}
	// Only what is sent changes.
	if code, out := api(t, s, "POST", "/api/scene", "", `{"main": "host"}`); code != 200 || out["layout"] != "pip" || out["main"] != "host" {
		t.Errorf("POST main: %d %v", code, out)
	}
	for body, want := range map[string]int{
		`{"layout": "mosaic"}`: 400,
		`{"main": "g99"}`:      404,
		`{"layout": 3}`:        400,
	} {
		if code, out := api(t, s, "POST", "/api/scene", "", body); code != want {
			t.Errorf("POST %s: %d %v, want %d", body, code, out, want)
		}
	}
	if code, _ := api(t, s, "GET", "/api/scene", "wrong", ""); code != 401 {
		t.Errorf("GET /api/scene with a wrong token: %d", code)
	}
	if got := pipe.Scene(); got.Layout != "pip" || got.Main != "host" {
		t.Errorf("refused changes changed the scene: %+v", got)
	}
}

// TestSceneChangeThroughAPIWhileLive is the scene issue's end-to-end
// check: while live, the control API puts a banner up, and it is in the
// frames of the stream nginx received — and not before.
func TestSceneChangeThroughAPIWhileLive(t *testing.T) {
	n := mediatest.StartNginx(t, mediatest.NginxOptions{})
	s, _, _ := startShow(t, studio.ProgramConfig{Destinations: []studio.Destination{{Name: "nginx", URL: n.URL("show")}}})
	setLive(t, s, n, true)
	time.Sleep(3 * time.Second)
	if code, body := api(t, s, "POST", "/api/scene", "", `{"banner": "Breaking: Greenroom scenes work"}`); code != 200 {
		t.Fatalf("banner: %d %v", code, body)
	}
	time.Sleep(3 * time.Second)
	setLive(t, s, n, false)
	rec := n.Recording("show")
	bounds := image.Rect(0, 0, 1280, 720)
	b := scene.Banner("Breaking: Greenroom scenes work", bounds, scene.BrandColour)
	at := scene.BannerAt(b.Rect.Size(), bounds, false, 1)
	// The plate left of the text, where the banner's padding is.
	green := func(img image.Image) bool {
		var r, g, bl float64
		for dy := -3; dy <= 3; dy++ {
			for dx := 0; dx < 6; dx++ {
				cr, cg, cb, _ := img.At(at.X+8+dx, at.Y+b.Rect.Dy()/2+dy).RGBA()
				r, g, bl = r+float64(cr>>8), g+float64(cg>>8), bl+float64(cb>>8)
			}
		}
		r, g, bl = r/42, g/42, bl/42
		want := scene.BrandColour // the plate's colour, within what H.264 keeps
		near := func(v float64, c uint8) bool { return v > float64(c)-25 && v < float64(c)+25 }
		return near(r, want.R) && near(g, want.G) && near(bl, want.B)
	}
	if before := mediatest.Frame(t, rec, 1500*time.Millisecond); green(before) {
		t.Error("a banner before it was put up")
	}
	if after := mediatest.Frame(t, rec, 5*time.Second); !green(after) {
		t.Error("no banner in the stream after POST /api/scene")
	}
}
