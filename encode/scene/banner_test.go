package scene

import (
	"image"
	"testing"
)

func TestBannerAndTicker(t *testing.T) {
	hd := image.Rect(0, 0, 1920, 1080)
	if got := Stage(hd, true); got != image.Rect(0, 0, 1920, 1020) || Stage(hd, false) != hd {
		t.Errorf("stage with the ticker %v", got)
	}
	b := Banner("Live from the Greenroom", hd, BrandColour)
	if b == nil || b.Rect.Dy() != 108 || b.Rect.Dx() > 1920*7/10 {
		t.Fatalf("banner %v", b)
	}
	long := Banner("An extremely long banner that goes on and on and on and on and on and on and on and on and on about nothing", hd, BrandColour)
	if long.Rect.Dx() > 1920*7/10 {
		t.Errorf("long banner %d px wide", long.Rect.Dx())
	}
	sz := b.Rect.Size()
	if at := BannerAt(sz, hd, false, 0); at.X+sz.X > 0 {
		t.Errorf("banner at the start %v: on screen", at)
	}
	in := BannerAt(sz, hd, false, 1)
	if in.X != 2*Gap(hd) || in.Y+sz.Y > 1080-TagHeight(1080) {
		t.Errorf("banner in place at %v: over the name tag or off the margin", in)
	}
	if up := BannerAt(sz, hd, true, 1); up.Y+sz.Y > 1080-TickerHeight(hd)-TagHeight(1020) {
		t.Errorf("with the ticker the banner is at %v: over the ticker or the name tag", up)
	}
	tk := TickerText("Next week", hd)
	if tk == nil || tk.Rect.Dy() != TickerHeight(hd) || tk.Rect.Dx() <= 3*TickerHeight(hd) {
		t.Errorf("ticker text %v", tk)
	}
	if Banner("", hd, BrandColour) != nil || TickerText("", hd) != nil {
		t.Error("a banner or ticker of nothing")
	}
	if (TickerText("🎉", hd) != nil) != installed('🎉') {
		t.Error("an emoji ticker without an emoji font, or none with one")
	}
}
