package scene

import (
	"image"
	"image/color"
	"reflect"

	"golang.org/x/image/draw"
)

// Brand is the show's look beyond the layout: its colours, a logo in a
// corner and a full-frame overlay. The zero Brand is Greenroom's own look.
// Its pictures are shared, not copied: they must not change once handed
// over.
type Brand struct {
	Colour     color.RGBA  // name tags and avatars; zero: BrandColour
	Background color.RGBA  // behind the tiles; zero: the compositor's dark blue-grey
	Logo       image.Image // drawn in LogoCorner with its alpha; nil: no logo
	LogoCorner Corner
	LogoHeight float64     // share of the program's height; 0: a tenth
	Overlay    image.Image // a picture with alpha over the whole program (a frame, a strap), scaled to it
}

// Corner is where in the program the logo sits.
type Corner int

const (
	TopRight Corner = iota
	TopLeft
	BottomRight
	BottomLeft
)

// Equal reports whether two brands look the same (pictures by identity).
func (b Brand) Equal(o Brand) bool {
	return b.Colour == o.Colour && b.Background == o.Background && b.SameLogo(o) && b.SameOverlay(o)
}

// SameLogo reports whether the logo and its place are unchanged.
func (b Brand) SameLogo(o Brand) bool {
	return sameImage(b.Logo, o.Logo) && b.LogoCorner == o.LogoCorner && b.LogoHeight == o.LogoHeight
}

// SameOverlay reports whether the overlay is unchanged.
func (b Brand) SameOverlay(o Brand) bool { return sameImage(b.Overlay, o.Overlay) }

// sameImage compares pictures by identity; a picture whose type cannot be
// compared (== would panic) counts as changed.
func sameImage(a, b image.Image) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	ta, tb := reflect.TypeOf(a), reflect.TypeOf(b)
	return ta == tb && ta.Comparable() && a == b
}

// TagColour is the colour of name tags and avatars.
func (b Brand) TagColour() color.RGBA {
	if b.Colour.A == 0 {
		return BrandColour
	}
	b.Colour.A = 255
	return b.Colour
}

// LogoRect is where the logo goes in bounds: LogoHeight of the program's
// height, the logo's own aspect, inset by twice the gap from its corner.
// Empty without a logo.
func (b Brand) LogoRect(bounds image.Rectangle) image.Rectangle {
	if b.Logo == nil || b.Logo.Bounds().Empty() {
		return image.Rectangle{}
	}
	share := b.LogoHeight
	if share <= 0 || share > 1 {
		share = 0.1
	}
	lb := b.Logo.Bounds()
	h := even(int(float64(bounds.Dy()) * share))
	w := even(min(bounds.Dx()/3, h*lb.Dx()/lb.Dy()))
	h = even(min(h, w*lb.Dy()/max(lb.Dx(), 1)))
	m := 2 * Gap(bounds)
	x, y := bounds.Max.X-m-w, bounds.Min.Y+m
	if b.LogoCorner == TopLeft || b.LogoCorner == BottomLeft {
		x = bounds.Min.X + m
	}
	if b.LogoCorner == BottomRight || b.LogoCorner == BottomLeft {
		y = bounds.Max.Y - m - h
	}
	return image.Rect(even(x), even(y), even(x)+w, even(y)+h)
}

// Scaled returns img scaled to size as premultiplied RGBA (Catmull-Rom,
// once per change: logos and overlays are drawn from it every frame).
func Scaled(img image.Image, size image.Point) *image.RGBA {
	out := image.NewRGBA(image.Rectangle{Max: size})
	draw.CatmullRom.Scale(out, out.Rect, img, img.Bounds(), draw.Src, nil)
	return out
}
