package studio_test

import (
	"errors"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"

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
