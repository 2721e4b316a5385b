package compositor

import (
	"image"
	"image/color"
)

// overlay is a picture with alpha (a name tag), converted once from RGBA
// to the canvas's 4:2:0 with premultiplied values, so that laying it on a
// frame is a multiply-add per pixel and allocates nothing.
type overlay struct {
	w, h       int
	a, y       []uint8 // w×h: alpha and premultiplied luma
	ca, cb, cr []uint8 // (w/2)×(h/2): alpha and premultiplied chroma
}

// newOverlay converts a premultiplied RGBA picture of even size.
func newOverlay(img *image.RGBA) *overlay {
	w, h := img.Rect.Dx()&^1, img.Rect.Dy()&^1
	o := &overlay{w: w, h: h, a: make([]uint8, w*h), y: make([]uint8, w*h),
		ca: make([]uint8, w*h/4), cb: make([]uint8, w*h/4), cr: make([]uint8, w*h/4)}
	for j := range h {
		for i := range w {
			p := img.Pix[img.PixOffset(img.Rect.Min.X+i, img.Rect.Min.Y+j):]
			o.a[j*w+i] = p[3]
			o.y[j*w+i] = toVideo(p[0], p[1], p[2], p[3]).Y
		}
	}
	// Chroma: the average of each 2×2 block, premultiplied values and alpha
	// alike, which is what premultiplication makes correct to average.
	for j := range h / 2 {
		for i := range w / 2 {
			var a, cb, cr int
			for _, d := range [4][2]int{{0, 0}, {1, 0}, {0, 1}, {1, 1}} {
				p := img.Pix[img.PixOffset(img.Rect.Min.X+2*i+d[0], img.Rect.Min.Y+2*j+d[1]):]
				c := toVideo(p[0], p[1], p[2], p[3])
				a += int(p[3])
				cb += int(c.Cb)
				cr += int(c.Cr)
			}
			k := j*(w/2) + i
			o.ca[k], o.cb[k], o.cr[k] = uint8((a+2)/4), uint8((cb+2)/4), uint8((cr+2)/4)
		}
	}
	return o
}

// toVideo converts one premultiplied RGBA pixel to premultiplied video-range
// BT.601 Y'CbCr, the canvas's colour space.
func toVideo(r, g, b, a uint8) YCbCr {
	if a == 0 {
		return YCbCr{}
	}
	// Un-premultiply, convert, premultiply again.
	R, G, B := float64(r)*255/float64(a), float64(g)*255/float64(a), float64(b)*255/float64(a)
	c := RGB(color.RGBA{R: uint8(min(R+0.5, 255)), G: uint8(min(G+0.5, 255)), B: uint8(min(B+0.5, 255)), A: 255})
	k := float64(a) / 255
	return YCbCr{Y: uint8(float64(c.Y)*k + 0.5), Cb: uint8(float64(c.Cb)*k + 0.5), Cr: uint8(float64(c.Cr)*k + 0.5)}
}

// RGB converts an opaque sRGB colour to the canvas's video-range BT.601.
func RGB(c color.RGBA) YCbCr {
	R, G, B := float64(c.R), float64(c.G), float64(c.B)
	y := 16 + (65.481*R+128.553*G+24.966*B)/255
	cb := 128 + (-37.797*R-74.203*G+112.0*B)/255
	cr := 128 + (112.0*R-93.786*G-18.214*B)/255
	return YCbCr{Y: uint8(y + 0.5), Cb: uint8(cb + 0.5), Cr: uint8(cr + 0.5)}
}

// blend lays o onto dst with its top-left corner at the even point at,
// faded to opacity k (255: as rendered). Parts outside dst are skipped.
func (o *overlay) blend(dst *image.YCbCr, at image.Point, k uint8) {
	if k == 0 {
		return
	}
	at.X, at.Y = at.X&^1, at.Y&^1
	r := image.Rect(at.X, at.Y, at.X+o.w, at.Y+o.h).Intersect(dst.Rect)
	if r.Empty() {
		return
	}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		so := (y-at.Y)*o.w + (r.Min.X - at.X)
		do := dst.YOffset(r.Min.X, y)
		over(dst.Y[do:do+r.Dx()], o.y[so:so+r.Dx()], o.a[so:so+r.Dx()], k)
	}
	cw := o.w / 2
	for y := r.Min.Y / 2; y < (r.Max.Y+1)/2; y++ {
		so := (y-at.Y/2)*cw + (r.Min.X-at.X)/2
		n := (r.Dx() + 1) / 2
		do := dst.COffset(r.Min.X, 2*y)
		over(dst.Cb[do:do+n], o.cb[so:so+n], o.ca[so:so+n], k)
		over(dst.Cr[do:do+n], o.cr[so:so+n], o.ca[so:so+n], k)
	}
}

// over is Porter-Duff "source over" on one row of one plane: dst = src·k +
// dst·(1 − a·k), with src premultiplied.
func over(dst, src, alpha []uint8, k uint8) {
	src, alpha = src[:len(dst)], alpha[:len(dst)]
	if k == 255 {
		for i, a := range alpha {
			if a == 0 {
				continue
			}
			dst[i] = uint8(int(src[i]) + div255(int(dst[i])*(255-int(a))))
		}
		return
	}
	kk := int(k)
	for i, a := range alpha {
		if a == 0 {
			continue
		}
		ak := div255(int(a) * kk)
		dst[i] = uint8(div255(int(src[i])*kk) + div255(int(dst[i])*(255-ak)))
	}
}

// div255 is v/255 rounded, for v in [0, 255·255].
func div255(v int) int { return (v + 128 + (v+128)>>8) >> 8 }
