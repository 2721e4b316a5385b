package scene

import (
	"image"
	"image/color"
	"testing"
	"time"

	"golang.org/x/image/math/fixed"
)

func TestTag(t *testing.T) {
	tile := image.Pt(618, 348)
	short := Tag("Ann", tile, BrandColour)
	long := Tag("Dr. Maximiliane Wolkenstein-Oberhausen, Institute for Advanced Study, Princeton", tile, BrandColour)
	if short == nil || long == nil {
		t.Fatal("no tag")
	}
	if h := short.Rect.Dy(); h != TagHeight(tile.Y) {
		t.Errorf("tag height %d, want %d", h, TagHeight(tile.Y))
	}
	if w := long.Rect.Dx(); w > tile.X-2*TagMargin(tile) {
		t.Errorf("long name's tag %d px wide on a %d px tile", w, tile.X)
	}
	if short.Rect.Dx() >= long.Rect.Dx() || short.Rect.Dx()%2 != 0 || short.Rect.Dy()%2 != 0 {
		t.Errorf("tag sizes: short %v, long %v", short.Rect, long.Rect)
	}
	// The plate is the brand colour; its corners are see-through.
	mid := short.RGBAAt(2, short.Rect.Dy()/2)
	if mid != BrandColour {
		t.Errorf("plate %v, want the brand colour %v", mid, BrandColour)
	}
	if a := short.RGBAAt(0, 0).A; a > 64 {
		t.Errorf("corner alpha %d: not rounded", a)
	}
	// Scripts the fonts lack, and emoji, draw without a panic.
	for _, name := range []string{"李小龍", "Bob 🎙️🎉", "مريم", "Zoë Ω Зоя", "a\u200d\u0301"} {
		if Tag(name, tile, BrandColour) == nil {
			t.Errorf("no tag for %q", name)
		}
	}
	// A name of emoji only has a tag where an emoji font is installed, and
	// none (rather than an empty one) where not.
	if emoji := Tag("🎙️🎉", tile, BrandColour); (emoji != nil) != installed('🎉') {
		t.Errorf("a name of emoji only: tag %v with an emoji font %v", emoji != nil, installed('🎉'))
	}
	if Tag("", tile, BrandColour) != nil || Tag("Ann", image.Pt(40, 30), BrandColour) != nil {
		t.Error("a tag for no name, or on a tile too small for one")
	}
}

func TestAvatar(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"Ann Lee", "AL"}, {"ann", "A"}, {"Zoë Ω Petrova", "ZP"}, {"李小龍", "李"}, {"🎙️ bob", "B"}, {"Dr. José M. Ñúñez", "DÑ"}, {"🎉", ""},
	} {
		if got := string(initials(tc.name)); got != tc.want {
			t.Errorf("initials(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
	tile := image.Pt(640, 360)
	a := Avatar("Ann Lee", tile, BrandColour)
	if a == nil || a.Rect.Dx() != 144 || a.Rect.Dy() != 144 {
		t.Fatalf("avatar %v, want a 144 px disc", a)
	}
	if c := a.RGBAAt(72, 4); c != BrandColour {
		t.Errorf("disc %v, want the brand colour", c)
	}
	if a.RGBAAt(0, 0).A != 0 {
		t.Error("the disc's corner is not see-through")
	}
	if Avatar("🎉", tile, BrandColour) != nil || Avatar("Ann", image.Pt(30, 20), BrandColour) != nil {
		t.Error("an avatar without initials, or on a tile too small for one")
	}
}

// Latin, Greek and Cyrillic are drawn with the embedded Go font, Arabic
// and Hebrew with the embedded Noto fonts; with a fallback font for Chinese
// installed (scripts/deps.sh installs Droid Sans Fallback), Chinese with
// it, not as boxes.
func TestFallbackFont(t *testing.T) {
	ts := &typesetter
	ts.mu.Lock()
	defer ts.mu.Unlock()
	faces := loadFaces()
	m := fontmap{faces: faces}
	if m.face('A', false) != faces[0].f || m.face('Ж', false) != faces[0].f || m.face('ë', false) != faces[0].f {
		t.Error("Latin or Cyrillic not drawn with the embedded font")
	}
	if m.face('م', false) != faces[1].f || m.face('ד', false) != faces[2].f {
		t.Error("Arabic or Hebrew not drawn with the embedded Noto fonts")
	}
	if has(faces[0].f, '李') {
		t.Fatal("the embedded font has Chinese: the test means nothing")
	}
	if m.face('李', false) == nil {
		t.Skip("no fallback font with Chinese on this machine")
	}
}

func TestEllipsize(t *testing.T) {
	width := func(s []rune) fixed.Int26_6 { return fixed.I(len(s)) }
	for _, tc := range []struct {
		in    string
		limit int
		want  string
	}{
		{"Ann", 3, "Ann"},
		{"Annabel", 5, "Anna…"},
		{"Ann Lee", 5, "Ann…"}, // no space before the ellipsis
		{"Annabel", 1, "…"},
		{"Annabel", 0, "…"},
	} {
		if got := string(ellipsize([]rune(tc.in), fixed.I(tc.limit), width)); got != tc.want {
			t.Errorf("ellipsize(%q, %d) = %q, want %q", tc.in, tc.limit, got, tc.want)
		}
	}
}

func TestContrast(t *testing.T) {
	white, black := color.RGBA{255, 255, 255, 255}, color.RGBA{17, 17, 17, 255}
	for _, tc := range []struct{ bg, want color.RGBA }{
		{BrandColour, white},
		{color.RGBA{0, 0, 0, 255}, white},
		{color.RGBA{0x1d, 0x4e, 0xd8, 255}, white}, // deep blue
		{color.RGBA{0xfa, 0xcc, 0x15, 255}, black}, // yellow
		{color.RGBA{255, 255, 255, 255}, black},
		{color.RGBA{0x22, 0xc5, 0x5e, 255}, black}, // light green
	} {
		if got := Contrast(tc.bg); got != tc.want {
			t.Errorf("Contrast(%v) = %v, want %v", tc.bg, got, tc.want)
		}
	}
}

func TestTween(t *testing.T) {
	a, b := image.Rect(0, 0, 100, 100), image.Rect(200, 100, 400, 300)
	t0 := time.Unix(0, 0)
	for _, tc := range []struct {
		at   time.Duration
		want float64
	}{{-time.Second, 0}, {0, 0}, {TransitionTime / 2, 0.5}, {TransitionTime, 1}, {time.Hour, 1}} {
		if p := Progress(t0, t0.Add(tc.at)); p != tc.want {
			t.Errorf("Progress at %v = %v, want %v", tc.at, p, tc.want)
		}
	}
	// Eased: slow at both ends.
	if p := Progress(t0, t0.Add(TransitionTime/10)); p > 0.05 {
		t.Errorf("Progress at 10%% = %.3f: not easing in", p)
	}
	if got := Tween(a, b, 0.5); got != image.Rect(100, 50, 250, 200) {
		t.Errorf("Tween midpoint %v", got)
	}
	if got := Tween(a, b, 1); got != b {
		t.Errorf("Tween end %v", got)
	}
	// Appearing grows from the middle; leaving shrinks to it.
	if got := Tween(image.Rectangle{}, b, 0); got != image.Rect(300, 200, 300, 200) {
		t.Errorf("appearing starts at %v", got)
	}
	if got := Tween(a, image.Rectangle{}, 1); !got.Empty() {
		t.Errorf("leaving ends at %v", got)
	}
}
