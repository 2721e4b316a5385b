package scene

import (
	"image"
	"image/color"

	"golang.org/x/image/math/fixed"
)

// TickerHeight is the height of the ticker's band at the bottom of the
// program: 60 px at 1080p, 40 at 720p.
func TickerHeight(bounds image.Rectangle) int { return even(bounds.Dy() / 18) }

// Stage is the part of bounds the tiles are arranged in: all of it, or
// all but the ticker's band.
func Stage(bounds image.Rectangle, ticker bool) image.Rectangle {
	if ticker {
		bounds.Max.Y -= TickerHeight(bounds)
	}
	return bounds
}

// Banner renders a lower-third banner: text on a plate of the brand
// colour, a tenth of the program's height, at most 70 % of its width
// (longer text ends in "…"). nil for empty text.
func Banner(text string, bounds image.Rectangle, colour color.RGBA) *image.RGBA {
	h := even(bounds.Dy() / 10)
	pad := h / 3
	tx := newText(float64(h) * 0.42)
	defer tx.close()
	runes := tx.drawable(text)
	if len(runes) == 0 || h < 8 {
		return nil
	}
	runes = ellipsize(runes, fixed.I(bounds.Dx()*7/10-2*pad), tx.width)
	w := even(tx.width(runes).Ceil() + 2*pad + 1)
	img := paint(RoundedRect(w, h, h/6), colour)
	m := tx.faces[0].Metrics()
	tx.draw(img, image.NewUniform(Contrast(colour)), fixed.Point26_6{X: fixed.I(pad), Y: (fixed.I(h) + m.Ascent - m.Descent) / 2}, runes)
	return img
}

// BannerAt is where a banner of size sz sits, a fraction p of the way in
// (0: just off the left edge; 1: in place at the bottom left, above the
// ticker and above a full-frame tile's name tag).
func BannerAt(sz image.Point, bounds image.Rectangle, ticker bool, p float64) image.Point {
	st := Stage(bounds, ticker)
	m := 2 * Gap(bounds)
	x := bounds.Min.X - sz.X + int(float64(m+sz.X)*p)
	// Above where a full-frame tile's name tag sits, so both can be read.
	y := st.Max.Y - TagMargin(st.Size()) - TagHeight(st.Dy()) - m - sz.Y
	return image.Pt(even(x), even(y))
}

// TickerText renders the ticker's text for its band: white on nothing,
// followed by a gap of three band heights, so that drawing it again and
// again side by side makes the endless ribbon. nil for empty text.
func TickerText(text string, bounds image.Rectangle) *image.RGBA {
	h := TickerHeight(bounds)
	tx := newText(float64(h) * 0.5)
	defer tx.close()
	runes := tx.drawable(text)
	if len(runes) == 0 || h < 8 {
		return nil
	}
	w := even(tx.width(runes).Ceil() + 3*h)
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	m := tx.faces[0].Metrics()
	tx.draw(img, image.White, fixed.Point26_6{X: fixed.I(h), Y: (fixed.I(h) + m.Ascent - m.Descent) / 2}, runes)
	return img
}

// TickerSpeed is how fast the ticker runs: the program's height per 9
// seconds (120 px/s at 1080p), slow enough to read.
func TickerSpeed(bounds image.Rectangle) float64 { return float64(bounds.Dy()) / 9 }
