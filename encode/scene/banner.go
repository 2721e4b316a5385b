package scene

import (
	"image"
	"image/color"

	"golang.org/x/image/math/fixed"
)

// TickerHeight is the height of the ticker's band at the bottom of the
// program: 60 px at 1080p, 40 at 720p (and at 720x1280: sizes go by the
// short side).
func TickerHeight(bounds image.Rectangle) int { return even(short(bounds) / 18) }

// Stage is the part of bounds the tiles are arranged in: all of it, or
// all but the ticker's band.
func Stage(bounds image.Rectangle, ticker bool) image.Rectangle {
	if ticker {
		bounds.Max.Y -= TickerHeight(bounds)
	}
	return bounds
}

// Banner renders a lower-third banner: text on a plate of the brand
// colour, a tenth of the program's short side high, at most 70 % of its
// width (90 % in portrait; longer text ends in "…"). nil for empty text.
func Banner(text string, bounds image.Rectangle, colour color.RGBA) *image.RGBA {
	h := even(short(bounds) / 10)
	widest := bounds.Dx() * 7 / 10
	if Portrait(bounds) {
		widest = bounds.Dx() * 9 / 10
	}
	pad := h / 3
	if h < 8 {
		return nil
	}
	px := float64(h) * 0.42
	txt, ok := typeset(text, px, fixed.I(widest-2*pad))
	if !ok {
		return nil
	}
	w := even(txt.width.Ceil() + 2*pad + 1)
	img := paint(RoundedRect(w, h, h/6), colour)
	txt.draw(img, Contrast(colour), fixed.I(pad), baseline(h, px))
	return img
}

// BannerAt is where a banner of size sz sits, a fraction p of the way in
// (0: just off the left edge; 1: in place at the bottom left, above the
// ticker and above a full-frame tile's name tag; in portrait above the
// band phone apps cover, PortraitSafe).
func BannerAt(sz image.Point, bounds image.Rectangle, ticker bool, p float64) image.Point {
	st := Stage(bounds, ticker)
	m := 2 * Gap(bounds)
	x := bounds.Min.X - sz.X + int(float64(m+sz.X)*p)
	// Above where a full-frame tile's name tag sits, so both can be read.
	y := st.Max.Y - TagMargin(st.Size()) - TagHeight(st.Dy()) - m - sz.Y
	if Portrait(bounds) {
		y = min(y, bounds.Max.Y-PortraitSafe(bounds)-sz.Y)
	}
	return image.Pt(even(x), even(y))
}

// TickerText renders the ticker's text for its band: white on nothing,
// followed by a gap of three band heights, so that drawing it again and
// again side by side makes the endless ribbon. nil for empty text.
func TickerText(text string, bounds image.Rectangle) *image.RGBA {
	h := TickerHeight(bounds)
	if h < 8 {
		return nil
	}
	px := float64(h) * 0.5
	txt, ok := typeset(text, px, 0)
	if !ok {
		return nil
	}
	w := even(txt.width.Ceil() + 3*h)
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	txt.draw(img, color.RGBA{255, 255, 255, 255}, fixed.I(h), baseline(h, px))
	return img
}

// TickerSpeed is how fast the ticker runs: the program's height per 9
// seconds (120 px/s at 1080p), slow enough to read.
func TickerSpeed(bounds image.Rectangle) float64 { return float64(short(bounds)) / 9 }
