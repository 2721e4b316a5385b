package scene

import (
	"image"
	"image/color"
	"math"
	"strings"
	"unicode"

	"golang.org/x/image/math/fixed"
)

// BrandColour is the brand colour (name tags, avatars) until a brand kit
// says otherwise: a deep green, white text on it.
var BrandColour = color.RGBA{R: 0x15, G: 0x80, B: 0x3d, A: 0xff}

// TagHeight is the height of a name tag on a tile of height h: a tenth of
// it, within 20 and 44 px.
func TagHeight(h int) int { return even(max(20, min(44, h/10))) }

// Tag renders name as a name tag for a tile of size tile: the name on a
// rounded plate of the brand colour, in white or near-black, whichever
// reads better on it; at most the tile's width less two margins (longer
// names end in "…"). It returns nil for an empty name. The picture is
// premultiplied RGBA with even size, rendered once per change of name or
// tile size, not per frame. Any script: see text.go for shaping, right-to-
// left text and the fonts. A name of nothing but emoji gets no tag where
// no emoji font is installed.
func Tag(name string, tile image.Point, brand color.RGBA) *image.RGBA {
	if name == "" || tile.X <= 0 || tile.Y <= 0 {
		return nil
	}
	h := TagHeight(tile.Y)
	pad := h * 2 / 5
	maxW := tile.X - 2*TagMargin(tile) - 2*pad
	if maxW < h {
		return nil
	}
	px := float64(h) * 0.52
	text, ok := typeset(name, px, fixed.I(maxW))
	if !ok {
		return nil // only emoji no font has: better no tag than an empty one
	}
	w := even(text.width.Ceil() + 2*pad + 1)
	img := paint(RoundedRect(w, h, h/4), brand)
	text.draw(img, Contrast(brand), fixed.I(pad), baseline(h, px))
	return img
}

// Avatar renders the picture of someone with no video (audio only, or a
// camera that stopped): a disc of the brand colour with their initials, a
// third of the tile's height across. nil for a name without letters.
// Premultiplied RGBA of even size, rendered once per change.
func Avatar(name string, tile image.Point, brand color.RGBA) *image.RGBA {
	ini := initials(name)
	d := even(min(tile.X, tile.Y) * 2 / 5)
	if ini == nil || d < 16 {
		return nil
	}
	px := float64(d) * 0.4
	// Initials are letters apart, not a word: a zero-width non-joiner
	// keeps Arabic ones from joining.
	text, ok := typeset(strings.Join(strings.Split(string(ini), ""), "\u200c"), px, 0)
	if !ok {
		return nil
	}
	img := paint(RoundedRect(d, d, d/2), brand)
	text.draw(img, Contrast(brand), (fixed.I(d)-text.width)/2, baseline(d, px))
	return img
}

// initials are the upper-case first letters of the first and the last
// word of name: "Ann Lee" → "AL", "Zoë" → "Z", "李小龍" → "李".
func initials(name string) []rune {
	var out []rune
	words := strings.Fields(name)
	for i, w := range words {
		if i != 0 && i != len(words)-1 {
			continue
		}
		for _, r := range w {
			if unicode.IsLetter(r) || unicode.IsDigit(r) {
				out = append(out, unicode.ToUpper(r))
				break
			}
		}
	}
	return out
}

// Ring is the coverage of the highlight around the tile of someone
// speaking: an outline thick pixels wide along the edges of a w×h tile
// with corners of radius r. nil for a tile too small for one.
func Ring(w, h, r, thick int) *image.Alpha {
	if w < 4*thick || h < 4*thick {
		return nil
	}
	outer := RoundedRect(w, h, r)
	inner := RoundedRect(w-2*thick, h-2*thick, max(0, r-thick))
	for y := range inner.Rect.Dy() {
		for x := range inner.Rect.Dx() {
			o := (y+thick)*outer.Stride + x + thick
			outer.Pix[o] = uint8(int(outer.Pix[o]) * (255 - int(inner.Pix[y*inner.Stride+x])) / 255)
		}
	}
	return outer
}

// TagMargin is how far a name tag sits from its tile's edges.
func TagMargin(tile image.Point) int { return even(max(6, min(tile.X, tile.Y)/36)) }

// Contrast is the text colour that reads best on c: white, or near-black on
// light colours (WCAG relative luminance above ~0.18, where black text has
// the better contrast ratio).
func Contrast(c color.RGBA) color.RGBA {
	lin := func(v uint8) float64 {
		s := float64(v) / 255
		if s <= 0.03928 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	l := 0.2126*lin(c.R) + 0.7152*lin(c.G) + 0.0722*lin(c.B)
	if (1.05)/(l+0.05) >= (l+0.05)/0.05 {
		return color.RGBA{R: 255, G: 255, B: 255, A: 255}
	}
	return color.RGBA{R: 17, G: 17, B: 17, A: 255}
}

// paint returns a premultiplied RGBA picture of colour c through mask.
func paint(mask *image.Alpha, c color.RGBA) *image.RGBA {
	img := image.NewRGBA(mask.Rect)
	for i, a := range mask.Pix {
		img.Pix[4*i+0] = uint8(uint16(c.R) * uint16(a) / 255)
		img.Pix[4*i+1] = uint8(uint16(c.G) * uint16(a) / 255)
		img.Pix[4*i+2] = uint8(uint16(c.B) * uint16(a) / 255)
		img.Pix[4*i+3] = a
	}
	return img
}

// RoundedRect is the coverage of a w×h rectangle with corners of radius r,
// anti-aliased (one pixel of soft edge). Tags use it for their plate and
// the compositor for its tiles' corners.
func RoundedRect(w, h, r int) *image.Alpha {
	a := image.NewAlpha(image.Rect(0, 0, w, h))
	for i := range a.Pix {
		a.Pix[i] = 255
	}
	// Only the four r×r corner squares are not solid.
	rf := float64(r)
	for y := range min(r, h) {
		for x := range min(r, w) {
			// Distance from the pixel centre into the corner's circle.
			dx, dy := rf-(float64(x)+0.5), rf-(float64(y)+0.5)
			cov := 1.0
			if dx > 0 && dy > 0 {
				cov = math.Min(1, math.Max(0, rf-math.Hypot(dx, dy)+0.5))
			}
			v := uint8(cov*255 + 0.5)
			a.Pix[y*a.Stride+x] = v
			a.Pix[y*a.Stride+w-1-x] = v
			a.Pix[(h-1-y)*a.Stride+x] = v
			a.Pix[(h-1-y)*a.Stride+w-1-x] = v
		}
	}
	return a
}
