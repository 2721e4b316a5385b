package scene

import (
	"flag"
	"image"
	"image/color"
	"path/filepath"
	"testing"

	"github.com/go-text/typesetting/di"
	"golang.org/x/image/math/fixed"

	"greenroom/encode/scene/golden"
)

// Golden images of name tags, banners and the ticker in every script a
// guest may bring, in testdata/text/. `go test ./encode/scene -run
// Golden -update` writes them afresh (look at them before committing); a
// mismatch writes the picture got and a diff to testdata/text/failed/. Names
// that need a system font (Chinese, emoji) are skipped where that font
// is not the one that would draw them; the others use only the embedded
// fonts.
var update = flag.Bool("update", false, "write the golden images instead of comparing with them")

var (
	tile720  = image.Pt(618, 348) // a 2×2 grid's tile at 720p
	tile1080 = image.Pt(944, 530) // … and at 1080p
)

func TestGoldenText(t *testing.T) {
	hd := image.Rect(0, 0, 1920, 1080)
	for _, tc := range []struct {
		name string
		img  func() *image.RGBA
		need rune   // a character only a system font has, if any …
		font string // … and the font its golden image was drawn with
	}{
		{"tag-latin", func() *image.RGBA { return Tag("Chiara Rossi", tile720, BrandColour) }, 0, ""},
		{"tag-arabic", func() *image.RGBA { return Tag("مريم الحسيني", tile720, BrandColour) }, 0, ""},
		{"tag-arabic-1080p", func() *image.RGBA { return Tag("مريم الحسيني", tile1080, BrandColour) }, 0, ""},
		{"tag-hebrew", func() *image.RGBA { return Tag("דנה כהן", tile720, BrandColour) }, 0, ""},
		{"tag-bidi", func() *image.RGBA { return Tag("Dr. مريم الحسيني (MD)", tile720, BrandColour) }, 0, ""},
		{"tag-arabic-long", func() *image.RGBA {
			return Tag("مريم الحسيني، كلية الطب، جامعة القاهرة", image.Pt(240, 300), BrandColour)
		}, 0, ""},
		{"tag-combining", func() *image.RGBA { return Tag("Zoe\u0308 Lo\u0301pez", tile720, BrandColour) }, 0, ""},
		{"tag-light-brand", func() *image.RGBA { return Tag("דנה כהן", tile720, color.RGBA{0xfa, 0xcc, 0x15, 255}) }, 0, ""},
		{"tag-cjk", func() *image.RGBA { return Tag("山田 太郎", tile720, BrandColour) }, '山', "DroidSansFallbackFull.ttf"},
		{"tag-emoji", func() *image.RGBA { return Tag("Zoë 🎙️", tile720, BrandColour) }, '🎙', "NotoColorEmoji.ttf"},
		{"avatar-arabic", func() *image.RGBA { return Avatar("مريم الحسيني", tile720, BrandColour) }, 0, ""},
		{"banner-bidi", func() *image.RGBA { return Banner("أخبار اليوم: Greenroom مباشر", hd, BrandColour) }, 0, ""},
		{"ticker-hebrew", func() *image.RGBA { return TickerText("שאלות בצ'אט · Questions in the chat", hd) }, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.need != 0 {
				if f := fontFor(tc.need); filepath.Base(f) != tc.font {
					t.Skipf("%q is drawn with %q here, its golden image with %s", tc.need, f, tc.font)
				}
			}
			img := tc.img()
			if img == nil {
				t.Fatal("nothing rendered")
			}
			// Text in the same fonts draws the same everywhere but for
			// rounding: a glyph out of place is far more than 1 %.
			golden.Check(t, filepath.Join("testdata", "text"), tc.name, img, *update, golden.Tolerance{Mean: 0.01, Far: 0.01})
		})
	}
}

// fontFor is the file of the system font that draws r ("" if none does,
// or an embedded one).
func fontFor(r rune) string {
	ts := &typesetter
	ts.mu.Lock()
	defer ts.mu.Unlock()
	m := fontmap{faces: loadFaces()}
	f := m.face(r, r >= 0x1F000)
	for _, fc := range m.faces {
		if f != nil && fc.f == f {
			return fc.path
		}
	}
	return ""
}

// installed tells whether a font has r, other than as a box.
func installed(r rune) bool {
	ts := &typesetter
	ts.mu.Lock()
	defer ts.mu.Unlock()
	m := fontmap{faces: loadFaces()}
	return m.face(r, false) != nil
}

// ink is where a tag (white text on the brand colour) is more text than
// plate.
func ink(img *image.RGBA) [][]bool {
	out := make([][]bool, img.Rect.Dy())
	for y := range out {
		out[y] = make([]bool, img.Rect.Dx())
		for x := range out[y] {
			c := img.RGBAAt(x, y)
			out[y][x] = c.A == 255 && int(c.R) > (int(BrandColour.R)+255)/2
		}
	}
	return out
}

// blobs are the sizes of the 8-connected pieces of ink, dots and marks
// included.
func blobs(in [][]bool) []int {
	seen := make([][]bool, len(in))
	for y := range in {
		seen[y] = make([]bool, len(in[y]))
	}
	var sizes []int
	for y := range in {
		for x := range in[y] {
			if !in[y][x] || seen[y][x] {
				continue
			}
			n, stack := 0, []image.Point{{x, y}}
			seen[y][x] = true
			for len(stack) > 0 {
				p := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				n++
				for dy := -1; dy <= 1; dy++ {
					for dx := -1; dx <= 1; dx++ {
						q := p.Add(image.Pt(dx, dy))
						if q.Y >= 0 && q.Y < len(in) && q.X >= 0 && q.X < len(in[q.Y]) && in[q.Y][q.X] && !seen[q.Y][q.X] {
							seen[q.Y][q.X] = true
							stack = append(stack, q)
						}
					}
				}
			}
			sizes = append(sizes, n)
		}
	}
	return sizes
}

// bodies counts the blobs bigger than a tenth of the biggest: letters and
// joined runs of letters, not their dots.
func bodies(img *image.RGBA) int {
	b := blobs(ink(img))
	top := 0
	for _, n := range b {
		top = max(top, n)
	}
	k := 0
	for _, n := range b {
		if n*10 > top {
			k++
		}
	}
	return k
}

// Arabic letters join: "محمد" is one stroke; "مريم" two (ر does not join
// the letter after it), where the same letters unjoined (kept apart by
// zero-width non-joiners, as an unshaped renderer would draw them) are
// four.
func TestArabicJoins(t *testing.T) {
	for _, tc := range []struct {
		name          string
		joined, apart int
	}{{"محمد", 1, 4}, {"مريم", 2, 4}} {
		j := bodies(Tag(tc.name, tile1080, BrandColour))
		var sep []rune
		for i, r := range tc.name {
			if i > 0 {
				sep = append(sep, '\u200c')
			}
			sep = append(sep, r)
		}
		a := bodies(Tag(string(sep), tile1080, BrandColour))
		if j != tc.joined || a != tc.apart {
			t.Errorf("%s: %d strokes joined (want %d), %d apart (want %d)", tc.name, j, tc.joined, a, tc.apart)
		}
	}
}

// Right-to-left text starts at the right: in "לאה" (Leah) the first
// letter, ל, is the only one that rises above the others, so the top of
// the ink is at the right end of the text.
func TestRightToLeft(t *testing.T) {
	in := ink(Tag("לאה", tile1080, BrandColour))
	left, right := len(in[0]), 0
	top := -1
	for y := range in {
		for x, on := range in[y] {
			if on {
				left, right = min(left, x), max(right, x)
				if top < 0 {
					top = y
				}
			}
		}
	}
	var topX []int
	for x, on := range in[top] {
		if on {
			topX = append(topX, x)
		}
	}
	if len(topX) == 0 || topX[0] < left+(right-left)*2/3 {
		t.Errorf("the top of the ink (ל) at x %v, the text from %d to %d: not at the right end", topX, left, right)
	}
}

// Runs are in bidi order: "Dr. مريم" (left to right) has the Latin on
// the left, "مريم Lee" (right to left) too; either way the Arabic run is
// on the right, its first letter rightmost.
func TestBidiOrder(t *testing.T) {
	for _, text := range []string{"Dr. مريم", "مريم Lee"} {
		l, ok := typeset(text, 20, 0)
		if !ok {
			t.Fatalf("%q: nothing", text)
		}
		latin, arabic := l.runs[0], l.runs[len(l.runs)-1]
		if latin.Direction.Progression() != di.FromTopLeft || arabic.Direction.Progression() != di.TowardTopLeft {
			t.Errorf("%q: runs in the wrong order (%v … %v)", text, latin.Direction, arabic.Direction)
			continue
		}
		g := arabic.Glyphs
		first := g[0].ClusterIndex
		for _, gl := range g {
			first = min(first, gl.ClusterIndex)
		}
		if g[len(g)-1].ClusterIndex != first {
			t.Errorf("%q: the Arabic's first letter is not its rightmost glyph", text)
		}
	}
}

// A combining mark sits on its letter: "e" + U+0308 is drawn as "ë".
func TestCombiningMark(t *testing.T) {
	a, b := Tag("Zoe\u0308", tile720, BrandColour), Tag("Zoë", tile720, BrandColour)
	if a.Rect != b.Rect || string(a.Pix) != string(b.Pix) {
		t.Error(`"Zoe" + U+0308 is not drawn as "Zoë"`)
	}
}

// A long right-to-left name is cut at its logical end, on the left, and
// fits.
func TestEllipsizeRTL(t *testing.T) {
	name := "مريم الحسيني، كلية الطب، جامعة القاهرة"
	limit := fixed.I(200)
	l, _ := typeset(name, 20, limit)
	if l.width > limit {
		t.Errorf("%v wide, limit %v", l.width, limit)
	}
	ts := &typesetter
	ts.mu.Lock()
	main := ts.faces[0].f
	ellipsis, _ := main.NominalGlyph('…')
	ts.mu.Unlock()
	if left := l.runs[0]; left.Face != main || len(left.Glyphs) != 1 || left.Glyphs[0].GlyphID != ellipsis {
		t.Error(`no "…" at the left end`)
	}
	if right := l.runs[len(l.runs)-1]; right.Direction.Progression() != di.TowardTopLeft {
		t.Error("the name's start is not on the right")
	}
}

// Without a font for them, emoji and symbols are left out with their
// selectors and joiners, not drawn as boxes; letters stay.
func TestDrawableWithoutEmojiFont(t *testing.T) {
	ts := &typesetter
	ts.mu.Lock()
	defer ts.mu.Unlock()
	embedded := loadFaces()[:3]
	for _, tc := range []struct{ in, want string }{
		{"Bob 🎙️🎉", "Bob"},
		{"👩\u200d👩\u200d👧 Ann", "Ann"},
		{"李 Ann", "李 Ann"},
		{"Ann\nLee\t", "Ann Lee"},
		{"مریم\u200cزاده", "مریم\u200cزاده"}, // a Persian name keeps its non-joiner
	} {
		if got := string(drawable(tc.in, embedded)); got != tc.want {
			t.Errorf("drawable(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// BenchmarkTag is the cost of one name tag on a 1080p grid tile (rendered
// once per change of name or tile size, never per frame).
func BenchmarkTag(b *testing.B) {
	for _, bc := range []struct{ what, name string }{
		{"latin", "Chiara Rossi"},
		{"arabic", "مريم الحسيني"},
		{"long", "Dr. Maximiliane Wolkenstein-Oberhausen, Institute for Advanced Study, Princeton"},
	} {
		b.Run(bc.what, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Tag(bc.name, tile1080, BrandColour)
			}
		})
	}
}
