package ui

import (
	"fmt"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"

	"greenroom/studio"
	"greenroom/studio/settings"
)

// TestBrandKit: each control of the Brand tab dresses the show (SetBrand
// with the kit as edited) and saves the kit; the kit chosen is worn again
// when the window opens next.
func TestBrandKit(t *testing.T) {
	f := newFake()
	s, st := open(t, f, nil)
	b := &s.brand
	if len(f.brandCalls()) != 0 || b.pick.Selected != "" {
		t.Fatalf("a new user wears a kit: %+v, %q", f.brandCalls(), b.pick.Selected)
	}
	test.Type(b.colour.entry, "#FF2200") // worn once complete, not per letter
	test.Type(b.background.entry, "101418")
	b.size.SetValue(20) // as a drag ends
	b.corner.SetSelected("Bottom left")
	b.edit(func(k *studio.BrandKit) { k.Logo = "/home/me/logo.png" }) // what the file dialog does
	b.edit(func(k *studio.BrandKit) { k.Overlay = "/home/me/frame.png" })
	s.settle()
	want := studio.BrandKit{Name: "Brand kit 1", Colour: "#ff2200", Background: "#101418", LogoSize: 0.2, LogoCorner: "bottom-left", Logo: "/home/me/logo.png", Overlay: "/home/me/frame.png"}
	calls := f.brandCalls()
	if len(calls) != 6 || calls[len(calls)-1] != want {
		t.Fatalf("SetBrand calls %+v, want 6 ending with %+v", calls, want)
	}
	if calls[0].Colour != "#ff2200" || calls[0].Background != "" {
		t.Errorf("first call %+v", calls[0])
	}
	if b.logo.label.Text != "logo.png" || b.logo.clear.Disabled() {
		t.Errorf("logo shown as %q", b.logo.label.Text)
	}
	b.name.SetText("Morning show") // renames
	s.settle()
	want.Name = "Morning show"
	set := st.Get()
	if k, ok := set.BrandKit(); !ok || k != want || len(set.Brands) != 1 {
		t.Errorf("saved %+v (%q)", set.Brands, set.Brand)
	}

	// A second kit, then back to the first.
	b.newKit() // the New button
	s.settle()
	if got := f.brandCalls(); got[len(got)-1] != (studio.BrandKit{Name: "Brand kit 2"}) {
		t.Errorf("new kit worn as %+v", got[len(got)-1])
	}
	b.pick.SetSelected("Morning show")
	s.settle()
	if got := f.brandCalls(); got[len(got)-1] != want || b.colour.entry.Text != "#ff2200" {
		t.Errorf("chose the first again: worn %+v, colour field %q", got[len(got)-1], b.colour.entry.Text)
	}

	// Restored at start.
	f2 := newFake()
	s2, _ := open(t, f2, func(s *settings.Settings) { *s = st.Get() })
	s2.settle()
	if got := f2.brandCalls(); len(got) != 1 || got[0] != want || s2.brand.pick.Selected != want.Name || s2.brand.corner.Selected != "Bottom left" {
		t.Errorf("restored: worn %+v, picker %q, corner %q", got, s2.brand.pick.Selected, s2.brand.corner.Selected)
	}

	// Back to Greenroom's own look.
	test.Tap(s.brand.remove)
	s.settle()
	if got := f.brandCalls(); got[len(got)-1] != (studio.BrandKit{}) || len(st.Get().Brands) != 1 {
		t.Errorf("after delete: worn %+v, kits %+v", got[len(got)-1], st.Get().Brands)
	}
}

func TestBrandKitRefused(t *testing.T) {
	f := newFake()
	f.brandErr = fmt.Errorf("studio: %w %q: logo: gone.png is not a PNG picture: bad", studio.ErrBadBrand, "Brand kit 1")
	s, _ := open(t, f, nil)
	s.brand.edit(func(k *studio.BrandKit) { k.Logo = "/tmp/gone.png" })
	s.settle()
	if msg := bannerText(s); !strings.HasPrefix(msg, "Couldn't use the brand kit: brand kit \"Brand kit 1\": logo: gone.png is not a PNG picture") {
		t.Errorf("banner %q", msg)
	}
}
