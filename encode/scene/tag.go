package scene

import (
	"image"
	"image/color"
	"math"
	"os"
	"strings"
	"sync"
	"unicode"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gomedium"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// BrandColour is the brand colour (name tags, avatars) until a brand kit
// says otherwise: a deep green, white text on it.
var BrandColour = color.RGBA{R: 0x15, G: 0x80, B: 0x3d, A: 0xff}

// FallbackFonts are system fonts tried, in order, for characters the
// embedded Go font lacks (Go fonts cover Latin, Greek and Cyrillic; DejaVu
// adds Arabic, Hebrew, Armenian, …; Noto CJK or Droid Sans Fallback,
// where installed, Chinese, Japanese and Korean). A character no font has
// is drawn as the embedded font's empty box, never a crash. They are read
// when the first tag is rendered: golden-image tests clear the list first,
// so their pictures do not depend on the machine's fonts.
var FallbackFonts = []string{
	"/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
	"/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
	"/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
	"/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
}

var fonts struct {
	once sync.Once
	list []*opentype.Font // the embedded font first
}

func loadFonts() []*opentype.Font {
	fonts.once.Do(func() {
		f, err := opentype.Parse(gomedium.TTF)
		if err != nil {
			panic("scene: embedded font: " + err.Error()) // the embedded bytes are fixed
		}
		fonts.list = append(fonts.list, f)
		for _, path := range FallbackFonts {
			b, err := os.ReadFile(path)
			if err != nil {
				continue
			}
			if f, err := opentype.Parse(b); err == nil {
				fonts.list = append(fonts.list, f)
			} else if c, err := opentype.ParseCollection(b); err == nil {
				if f, err := c.Font(0); err == nil {
					fonts.list = append(fonts.list, f)
				}
			}
		}
	})
	return fonts.list
}

// text is a run of faces at one size that draws a string with, for each
// character, the first face that has it.
type text struct {
	faces []font.Face
}

func newText(px float64) *text {
	t := &text{}
	for _, f := range loadFonts() {
		face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: px, DPI: 72, Hinting: font.HintingFull})
		if err == nil {
			t.faces = append(t.faces, face)
		}
	}
	return t
}

func (t *text) close() {
	for _, f := range t.faces {
		f.Close()
	}
}

func (t *text) face(r rune) font.Face {
	for _, f := range t.faces {
		if _, ok := f.GlyphAdvance(r); ok {
			return f
		}
	}
	return t.faces[0]
}

// drawable is s without what no font can show and a box would only spoil:
// emoji and other symbols, and the invisible selectors and joiners that
// come with them. Letters no font has stay, drawn as boxes: a name should
// not silently lose its letters.
func (t *text) drawable(s string) []rune {
	var out []rune
	for _, r := range s {
		if unicode.In(r, unicode.Variation_Selector, unicode.Join_Control) {
			continue
		}
		if _, ok := t.face(r).GlyphAdvance(r); !ok && unicode.In(r, unicode.So, unicode.Sk, unicode.Cs, unicode.Co) {
			continue
		}
		out = append(out, r)
	}
	return []rune(strings.TrimSpace(string(out)))
}

func (t *text) width(s []rune) fixed.Int26_6 {
	var w fixed.Int26_6
	for _, r := range s {
		a, _ := t.face(r).GlyphAdvance(r)
		w += a
	}
	return w
}

func (t *text) draw(dst *image.RGBA, src image.Image, dot fixed.Point26_6, s []rune) {
	d := font.Drawer{Dst: dst, Src: src, Dot: dot}
	for _, r := range s {
		d.Face = t.face(r)
		d.DrawString(string(r))
	}
}

// ellipsize shortens s with a trailing "…" until its width fits limit; it
// returns s unchanged if it fits, and just "…" if nothing else does.
func ellipsize(s []rune, limit fixed.Int26_6, width func([]rune) fixed.Int26_6) []rune {
	if width(s) <= limit {
		return s
	}
	for n := len(s) - 1; n > 0; n-- {
		cut := append(trimRight(s[:n:n]), '…')
		if width(cut) <= limit {
			return cut
		}
	}
	return []rune{'…'}
}

func trimRight(s []rune) []rune {
	for len(s) > 0 && unicode.IsSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

// TagHeight is the height of a name tag on a tile of height h: a tenth of
// it, within 20 and 44 px.
func TagHeight(h int) int { return even(max(20, min(44, h/10))) }

// Tag renders name as a name tag for a tile of size tile: the name on a
// rounded plate of the brand colour, in white or near-black, whichever
// reads better on it; at most the tile's width less two margins (longer
// names end in "…"). It returns nil for an empty name. The picture is
// premultiplied RGBA with even size, rendered once per change of name or
// tile size, not per frame. A name of nothing but emoji gets no tag.
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
	t := newText(float64(h) * 0.52)
	defer t.close()
	runes := t.drawable(name)
	if len(runes) == 0 {
		return nil // only emoji: better no tag than an empty one
	}
	runes = ellipsize(runes, fixed.I(maxW), t.width)
	w := even(t.width(runes).Ceil() + 2*pad + 1)
	img := paint(RoundedRect(w, h, h/4), brand)
	m := t.faces[0].Metrics()
	baseline := (fixed.I(h) + m.Ascent - m.Descent) / 2
	t.draw(img, image.NewUniform(Contrast(brand)), fixed.Point26_6{X: fixed.I(pad), Y: baseline}, runes)
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
	t := newText(float64(d) * 0.4)
	defer t.close()
	img := paint(RoundedRect(d, d, d/2), brand)
	m := t.faces[0].Metrics()
	w := t.width(ini)
	dot := fixed.Point26_6{X: (fixed.I(d) - w) / 2, Y: (fixed.I(d) + m.Ascent - m.Descent) / 2}
	t.draw(img, image.NewUniform(Contrast(brand)), dot, ini)
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
