package scene

import (
	"bytes"
	"image"
	"image/color"
	"image/draw"
	_ "image/png" // colour emoji are PNG bitmaps (CBDT)
	"os"
	"strings"
	"sync"
	"unicode"

	"github.com/go-text/typesetting/di"
	"github.com/go-text/typesetting/font"
	"github.com/go-text/typesetting/font/opentype"
	"github.com/go-text/typesetting/segmenter"
	"github.com/go-text/typesetting/shaping"
	xdraw "golang.org/x/image/draw"
	"golang.org/x/image/font/gofont/gomedium"
	"golang.org/x/image/math/fixed"
	"golang.org/x/image/vector"
	"golang.org/x/text/unicode/bidi"
	"golang.org/x/text/unicode/norm"

	"greenroom/assets/fonts"
)

// Text on name tags, avatars, banners and the ticker is shaped (OpenType,
// HarfBuzz's rules, by go-text): Arabic letters join, marks sit on their
// letters, and a line's runs are put in Unicode bidi order, so Arabic and
// Hebrew read right to left, inside Latin text too ("Dr. مريم"). Each run
// is drawn with the first font that has its characters:
//
//	Go Medium (embedded: Latin, Greek, Cyrillic — the look of the tags)
//	→ Noto Sans Arabic, Noto Sans Hebrew (embedded, assets/fonts)
//	→ FallbackFonts, the system's, each optional
//
// An emoji goes to an emoji font first (one with many emoji; Noto Color
// Emoji's colour bitmaps are drawn in colour, Symbola's outlines in the
// text's colour). A symbol or emoji no font has is left out, as are the
// selectors and joiners that came with it; a letter no font has is drawn
// as the main font's box: a name should not silently lose its letters.

// FallbackFonts are system fonts tried, in order, for characters the
// embedded fonts lack: DejaVu (Armenian, Georgian, symbols, …), Noto CJK
// or Droid Sans Fallback (Chinese, Japanese and Korean), then emoji: Noto
// Color Emoji (Debian's fonts-noto-color-emoji) or Symbola (fonts-symbola).
// A missing one is skipped. Each is read the first time a character needs
// it; the list is taken when the first text is rendered, so golden-image
// tests that clear it first get pictures that do not depend on the
// machine's fonts.
var FallbackFonts = []string{
	"/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
	"/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
	"/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
	"/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
	"/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf",
	"/usr/share/fonts/truetype/ancient-scripts/Symbola_hint.ttf",
}

// typesetter owns the fonts, their caches and the shaper; mu guards all
// of it (go-text's faces and shaper keep caches and are not safe for
// concurrent use). Text is set once per change, never per frame, so one
// lock costs nothing that matters.
var typesetter struct {
	mu     sync.Mutex
	once   sync.Once
	faces  []*face
	shaper shaping.HarfbuzzShaper
	seg    shaping.Segmenter
	fm     fontmap
}

// face is one font of the fallback chain, parsed when first needed.
type face struct {
	path   string // "" for an embedded font
	data   []byte
	loaded bool
	f      *font.Face // nil if it could not be read
	emoji  bool       // a font made for emoji
}

func (fc *face) load() *font.Face {
	if fc.loaded {
		return fc.f
	}
	fc.loaded = true
	b := fc.data
	if fc.path != "" {
		var err error
		if b, err = os.ReadFile(fc.path); err != nil {
			return nil
		}
	}
	if f, err := font.ParseTTF(bytes.NewReader(b)); err == nil {
		fc.f = f
	} else if c, err := font.ParseTTC(bytes.NewReader(b)); err == nil && len(c) > 0 {
		fc.f = c[0]
	} else {
		return nil
	}
	// An emoji font has most of the Miscellaneous Symbols and Pictographs
	// block; DejaVu, which has a few, is not one.
	n := 0
	for r := rune(0x1F300); r < 0x1F600; r++ {
		if _, ok := fc.f.NominalGlyph(r); ok {
			n++
		}
	}
	fc.emoji = n > 300
	return fc.f
}

func loadFaces() []*face {
	typesetter.once.Do(func() {
		typesetter.faces = []*face{{data: gomedium.TTF}, {data: fonts.Arabic}, {data: fonts.Hebrew}}
		for _, p := range FallbackFonts {
			typesetter.faces = append(typesetter.faces, &face{path: p})
		}
		if typesetter.faces[0].load() == nil {
			panic("scene: the embedded Go font does not parse") // the embedded bytes are fixed
		}
	})
	return typesetter.faces
}

// fontmap picks the face for each character in a text being split into
// runs: go-text asks for each character that may change the face, in
// order, so it follows along in text to see what comes next (an emoji
// selector) and what came before (the letter a mark sits on).
type fontmap struct {
	faces []*face
	text  []rune
	at    int // index in text of the last character asked about
	last  *font.Face
}

func (m *fontmap) reset(faces []*face, text []rune) {
	*m = fontmap{faces: faces, text: text, at: -1}
}

func (m *fontmap) ResolveFace(r rune) *font.Face {
	prev := rune(-1)
	for i := m.at + 1; i < len(m.text); i++ {
		if m.text[i] == r {
			if i > 0 {
				prev = m.text[i-1]
			}
			m.at = i
			break
		}
	}
	// A combining mark stays with its letter if that face can draw the
	// pair (the mark itself, or the precomposed letter: "e" + U+0308 is
	// "ë" in Go Medium, which has no U+0308).
	if m.last != nil && unicode.In(r, unicode.Mn, unicode.Me, unicode.Mc) {
		if has(m.last, r) || prev >= 0 && hasComposed(m.last, prev, r) {
			return m.last
		}
	}
	f := m.face(r, m.emojiPresentation(r))
	if f == nil {
		f = m.faces[0].f
	}
	m.last = f
	return f
}

// face is the first face that has r, emoji fonts first if emoji, or nil.
func (m *fontmap) face(r rune, emoji bool) *font.Face {
	if emoji {
		for _, fc := range m.faces {
			if f := fc.load(); f != nil && fc.emoji && has(f, r) {
				return f
			}
		}
	}
	for _, fc := range m.faces {
		if f := fc.load(); f != nil && has(f, r) {
			return f
		}
	}
	return nil
}

// emojiPresentation tells whether r, at m.at, is shown as an emoji: a
// pictograph from the emoji planes, or a symbol asking for it with
// U+FE0F ("❤️"), unless it asks for text with U+FE0E.
func (m *fontmap) emojiPresentation(r rune) bool {
	next := rune(-1)
	if m.at >= 0 && m.at+1 < len(m.text) && m.text[m.at] == r {
		next = m.text[m.at+1]
	}
	switch {
	case next == 0xFE0E:
		return false
	case next == 0xFE0F:
		return true
	}
	return r >= 0x1F000 && unicode.In(r, unicode.So, unicode.Sk)
}

func has(f *font.Face, r rune) bool {
	_, ok := f.NominalGlyph(r)
	return ok
}

func hasComposed(f *font.Face, base, mark rune) bool {
	c := []rune(norm.NFC.String(string([]rune{base, mark})))
	return len(c) == 1 && has(f, c[0])
}

// drawable is s as it will be drawn: on one line (control characters and
// line breaks as spaces), without symbols and emoji that no font has (a box
// would only spoil the tag) and the variation selectors, joiners and tags
// that came with them, and without space at either end.
// Call with typesetter.mu held.
func drawable(s string, faces []*face) []rune {
	out := make([]rune, 0, len(s))
	dropped := false
	for _, r := range s {
		if dropped && (unicode.In(r, unicode.Variation_Selector, unicode.Join_Control) || r >= 0xE0020 && r <= 0xE007F) {
			continue
		}
		dropped = false
		if unicode.IsControl(r) || unicode.In(r, unicode.Zl, unicode.Zp) {
			r = ' ' // one line: a tab or a line break is a space, not a box
		}
		if unicode.In(r, unicode.So, unicode.Sk, unicode.Cs, unicode.Co) {
			m := fontmap{faces: faces}
			if m.face(r, false) == nil {
				dropped = true
				continue
			}
		}
		out = append(out, r)
	}
	return []rune(strings.TrimSpace(string(out)))
}

// shaped is a line of shaped text: its runs in visual order, left to right,
// and its width.
type shaped struct {
	runs  []shaping.Output
	width fixed.Int26_6
}

// shape shapes s at px pixels per em. Call with typesetter.mu held.
func shape(s []rune, px fixed.Int26_6) shaped {
	ts := &typesetter
	if len(s) == 0 {
		return shaped{}
	}
	rtl := paragraphRTL(s)
	in := shaping.Input{Text: s, RunStart: 0, RunEnd: len(s), Direction: di.DirectionLTR, Size: px}
	if rtl {
		in.Direction = di.DirectionRTL
	}
	ts.fm.reset(ts.faces, s)
	split := ts.seg.Split(in, &ts.fm)
	var l shaped
	var levels []int
	for i, run := range split {
		level := runLevel(run, rtl, i > 0 && split[i-1].Direction.Progression() == di.TowardTopLeft)
		for _, part := range spacesApart(run, ts.faces) {
			out := ts.shaper.Shape(part)
			l.runs = append(l.runs, out)
			l.width += out.Advance
			levels = append(levels, level)
		}
	}
	reorder(l.runs, levels)
	ts.fm.reset(nil, nil) // keep no text
	return l
}

// spacesApart splits the spaces off a run in an emoji font: go-text keeps
// a space in the font of the text before it, and Noto Color Emoji's space
// has no width ("🎙️ Ann" would lose its space). They go to the main font.
func spacesApart(run shaping.Input, faces []*face) []shaping.Input {
	emoji := false
	for _, fc := range faces {
		emoji = emoji || fc.f == run.Face && fc.emoji
	}
	if !emoji {
		return []shaping.Input{run}
	}
	var parts []shaping.Input
	part := run
	for i := run.RunStart; i <= run.RunEnd; i++ {
		space := i < run.RunEnd && unicode.Is(unicode.Zs, run.Text[i])
		if i == run.RunEnd || i > part.RunStart && space != unicode.Is(unicode.Zs, run.Text[i-1]) {
			part.RunEnd = i
			if unicode.Is(unicode.Zs, run.Text[part.RunStart]) {
				part.Face = faces[0].f
			} else {
				part.Face = run.Face
			}
			parts = append(parts, part)
			part.RunStart = i
		}
	}
	return parts
}

// paragraphRTL tells whether s is a right-to-left paragraph: its first
// strong character is Arabic, Hebrew, … (Unicode bidi rules P2 and P3).
func paragraphRTL(s []rune) bool {
	for _, r := range s {
		p, _ := bidi.LookupRune(r)
		switch p.Class() {
		case bidi.L:
			return false
		case bidi.R, bidi.AL:
			return true
		}
	}
	return false
}

// runLevel is the bidi embedding level of a run that go-text's segmenter
// split off (it gives directions, not levels): right-to-left runs are at
// level 1; left-to-right ones at 0 in a left-to-right paragraph, and at 2
// in a right-to-left one, or as numbers inside right-to-left text (no
// strong letter, after a right-to-left run: "مريم 2").
func runLevel(run shaping.Input, rtlPara, afterRTL bool) int {
	if run.Direction.Progression() == di.TowardTopLeft {
		return 1
	}
	if rtlPara {
		return 2
	}
	if afterRTL {
		for _, r := range run.Text[run.RunStart:run.RunEnd] {
			if p, _ := bidi.LookupRune(r); p.Class() == bidi.L {
				return 0
			}
		}
		return 2
	}
	return 0
}

// reorder puts runs in visual order (Unicode bidi rule L2): from the
// highest level down to 1, every sequence of runs at that level or above
// is reversed. The shaper has already put each right-to-left run's glyphs
// in visual order.
func reorder(runs []shaping.Output, levels []int) {
	top := 0
	for _, l := range levels {
		top = max(top, l)
	}
	for lvl := top; lvl >= 1; lvl-- {
		for i := 0; i < len(runs); {
			if levels[i] < lvl {
				i++
				continue
			}
			j := i
			for j < len(runs) && levels[j] >= lvl {
				j++
			}
			for a, b := i, j-1; a < b; a, b = a+1, b-1 {
				runs[a], runs[b] = runs[b], runs[a]
				levels[a], levels[b] = levels[b], levels[a]
			}
			i = j
		}
	}
}

// typeset prepares s to be drawn at px pixels per em on one line at most
// limit wide (0: any width), cut at a character's edge and ended with "…"
// if it is longer (at its logical end, so on the left of right-to-left
// text). It returns false if s has nothing to draw.
func typeset(s string, px float64, limit fixed.Int26_6) (shaped, bool) {
	ts := &typesetter
	ts.mu.Lock()
	defer ts.mu.Unlock()
	faces := loadFaces()
	runes := drawable(s, faces)
	if len(runes) == 0 {
		return shaped{}, false
	}
	// go-text shapes at whole pixels per em (it rounds the size up), so
	// the size is rounded here and the outlines drawn at the same size.
	size := fixed.I(int(px + 0.5))
	l := shape(runes, size)
	if limit > 0 && l.width > limit {
		l = shape(ellipsize(runes, limit, func(r []rune) fixed.Int26_6 { return shape(r, size).width }), size)
	}
	return l, true
}

// ellipsize shortens s with a trailing "…" until its width fits limit: it
// cuts between graphemes (never between a letter and its marks, nor
// inside an emoji sequence) and drops space before the "…". It returns s
// unchanged if it fits, and just "…" if nothing else does.
func ellipsize(s []rune, limit fixed.Int26_6, width func([]rune) fixed.Int26_6) []rune {
	if width(s) <= limit {
		return s
	}
	// Where a grapheme ends, other than at the end.
	var cuts []int
	var seg segmenter.Segmenter
	seg.Init(s)
	for it := seg.GraphemeIterator(); it.Next(); {
		g := it.Grapheme()
		if end := g.Offset + len(g.Text); end < len(s) {
			cuts = append(cuts, end)
		}
	}
	cut := func(n int) []rune {
		return append(trimRight(s[:n:n]), '…')
	}
	// The longest that fits (the width grows with the cut, near enough:
	// shaping can change a letter's form at the cut by a pixel or two).
	lo, hi, best := 0, len(cuts)-1, []rune{'…'}
	for lo <= hi {
		mid := (lo + hi) / 2
		if c := cut(cuts[mid]); len(trimRight(s[:cuts[mid]])) > 0 && width(c) <= limit {
			best, lo = c, mid+1
		} else {
			hi = mid - 1
		}
	}
	return best
}

func trimRight(s []rune) []rune {
	for len(s) > 0 && unicode.IsSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

// baseline is where text at px pixels per em sits to look centred on a
// band h pixels high: the main font's ascent and descent, each rounded to
// the pixel, centred, and the baseline on a whole pixel.
func baseline(h int, px float64) int {
	ts := &typesetter
	ts.mu.Lock()
	defer ts.mu.Unlock()
	f := loadFaces()[0].f
	ext, _ := f.FontHExtents()
	scale := px / float64(f.Upem())
	asc := int(float64(ext.Ascender)*scale + 0.5)
	desc := int(-float64(ext.Descender)*scale + 0.5)
	return (h + asc - desc + 1) / 2
}

// draw draws l onto dst, its left end at x and on the baseline y: outlines
// in colour c, colour bitmaps (emoji) in their own colours.
func (l shaped) draw(dst *image.RGBA, c color.RGBA, x fixed.Int26_6, y int) {
	ts := &typesetter
	ts.mu.Lock()
	defer ts.mu.Unlock()
	b := dst.Bounds()
	mask := image.NewAlpha(b)
	var z vector.Rasterizer
	for _, run := range l.runs {
		// Each run is rasterized on its own, over its own columns (and
		// an em either side for what overhangs): glyphs of one font
		// overlap (joined Arabic letters) with the same winding, which
		// adds up; fonts of different outline formats might not.
		area := image.Rect((x - run.Size).Floor(), b.Min.Y, (x + run.Advance + run.Size).Ceil(), b.Max.Y).Intersect(b)
		if area.Empty() {
			x += run.Advance
			continue
		}
		z.Reset(area.Dx(), area.Dy())
		ink := false
		scale := float32(run.Size) / 64 / float32(run.Face.Upem())
		for _, g := range run.Glyphs {
			gx := float32(x+g.XOffset) / 64
			gy := float32(y) - float32(g.YOffset)/64
			switch data := run.Face.GlyphData(g.GlyphID).(type) {
			case font.GlyphOutline:
				ink = outline(&z, data, scale, gx-float32(area.Min.X), gy-float32(area.Min.Y)) || ink
			case font.GlyphSVG:
				ink = outline(&z, data.Outline, scale, gx-float32(area.Min.X), gy-float32(area.Min.Y)) || ink
			case font.GlyphBitmap:
				bitmap(dst, g, data, gx, gy)
			}
			x += g.XAdvance
		}
		if ink {
			z.Draw(mask, area, image.Opaque, image.Point{})
		}
	}
	draw.DrawMask(dst, b, image.NewUniform(c), image.Point{}, mask, b.Min, draw.Over)
}

// outline adds a glyph's outline, in font units, to z at (x, y) in pixels
// (y down); false if the glyph has none (a space).
func outline(z *vector.Rasterizer, o font.GlyphOutline, scale, x, y float32) bool {
	open := false
	for _, s := range o.Segments {
		a := s.Args
		switch s.Op {
		case opentype.SegmentOpMoveTo:
			if open {
				z.ClosePath()
			}
			z.MoveTo(x+a[0].X*scale, y-a[0].Y*scale)
			open = true
		case opentype.SegmentOpLineTo:
			z.LineTo(x+a[0].X*scale, y-a[0].Y*scale)
		case opentype.SegmentOpQuadTo:
			z.QuadTo(x+a[0].X*scale, y-a[0].Y*scale, x+a[1].X*scale, y-a[1].Y*scale)
		case opentype.SegmentOpCubeTo:
			z.CubeTo(x+a[0].X*scale, y-a[0].Y*scale, x+a[1].X*scale, y-a[1].Y*scale, x+a[2].X*scale, y-a[2].Y*scale)
		}
	}
	if open {
		z.ClosePath()
	}
	return open
}

// bitmap draws a colour glyph (a PNG in the font: Noto Color Emoji's CBDT)
// scaled into the box the shaper gave it, at (x, y) in pixels.
func bitmap(dst *image.RGBA, g shaping.Glyph, b font.GlyphBitmap, x, y float32) {
	if b.Format != font.PNG {
		return // no font we use has others
	}
	pic, _, err := image.Decode(bytes.NewReader(b.Data))
	if err != nil {
		return
	}
	left := x + float32(g.XBearing)/64
	top := y - float32(g.YBearing)/64
	r := image.Rect(int(left+0.5), int(top+0.5), int(left+float32(g.Width)/64+0.5), int(top-float32(g.Height)/64+0.5))
	xdraw.CatmullRom.Scale(dst, r, pic, pic.Bounds(), draw.Over, nil)
}
