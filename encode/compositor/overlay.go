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
	// runs are each row's stretches of pixels that are not transparent,
	// luma then chroma rows: a full-frame overlay (a frame, a strap) costs
	// what it covers, not the whole picture.
	runs, cruns [][]span
}

type span struct{ x0, x1 int }

// runsOf finds the non-transparent stretches of each row of alpha.
func runsOf(alpha []uint8, w, h int) [][]span {
	rows := make([][]span, h)
	for j := range rows {
		row := alpha[j*w : (j+1)*w]
		for x := 0; x < w; {
			for x < w && row[x] == 0 {
				x++
			}
			x0 := x
			for x < w && row[x] != 0 {
				x++
			}
			if x > x0 {
				rows[j] = append(rows[j], span{x0, x})
			}
		}
	}
	return rows
}

// newOverlay converts a premultiplied RGBA picture of even size.
func newOverlay(img *image.RGBA) *overlay {
	w, h := img.Rect.Dx()&^1, img.Rect.Dy()&^1
	o := &overlay{w: w, h: h, a: make([]uint8, w*h), y: make([]uint8, w*h),
		ca: make([]uint8, w*h/4), cb: make([]uint8, w*h/4), cr: make([]uint8, w*h/4)}
	// Full-resolution chroma first; then each 2×2 block's average, values
	// and alpha alike, which premultiplication makes correct to average.
	cb, cr := make([]uint8, w*h), make([]uint8, w*h)
	for j := range h {
		for i := range w {
			p := img.Pix[img.PixOffset(img.Rect.Min.X+i, img.Rect.Min.Y+j):]
			c := toVideo(p[0], p[1], p[2], p[3])
			k := j*w + i
			o.a[k], o.y[k], cb[k], cr[k] = p[3], c.Y, c.Cb, c.Cr
		}
	}
	for j := range h / 2 {
		for i := range w / 2 {
			var a, b, r int
			for _, k := range [4]int{2*j*w + 2*i, 2*j*w + 2*i + 1, (2*j+1)*w + 2*i, (2*j+1)*w + 2*i + 1} {
				a, b, r = a+int(o.a[k]), b+int(cb[k]), r+int(cr[k])
			}
			k := j*(w/2) + i
			o.ca[k], o.cb[k], o.cr[k] = uint8((a+2)/4), uint8((b+2)/4), uint8((r+2)/4)
		}
	}
	o.runs, o.cruns = runsOf(o.a, w, h), runsOf(o.ca, w/2, h/2)
	return o
}

// toVideo converts one premultiplied RGBA pixel to premultiplied video-range
// BT.601 Y'CbCr, the canvas's colour space. Because the conversion is
// linear, converting the premultiplied values and adding the offsets
// scaled by alpha is the same as un-premultiplying, converting and
// premultiplying again.
func toVideo(r, g, b, a uint8) YCbCr {
	if a == 0 {
		return YCbCr{}
	}
	R, G, B := int(r), int(g), int(b)
	A := int(a) << 16 / 255 // alpha ×2^16, scaling the offsets
	// The BT.601 video-range matrix (Y = 16 + 65.481 R' + 128.553 G' +
	// 24.966 B', R' = R/255, …), coefficients ×2^16.
	y := (16*A + 16829*R + 33039*G + 6416*B + 1<<15) >> 16
	cb := (128*A - 9714*R - 19070*G + 28784*B + 1<<15) >> 16
	cr := (128*A + 28784*R - 24103*G - 4681*B + 1<<15) >> 16
	return YCbCr{Y: clamp8(y), Cb: clamp8(cb), Cr: clamp8(cr)}
}

func clamp8(v int) uint8 { return uint8(max(0, min(255, v))) }

// RGB converts an opaque sRGB colour to the canvas's video-range BT.601.
func RGB(c color.RGBA) YCbCr { return toVideo(c.R, c.G, c.B, 255) }

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
	// Clip each run to r, in the overlay's coordinates.
	lo, hi := r.Min.X-at.X, r.Max.X-at.X
	for y := r.Min.Y; y < r.Max.Y; y++ {
		row := (y - at.Y) * o.w
		do := dst.YOffset(at.X, y)
		for _, s := range o.runs[y-at.Y] {
			x0, x1 := max(s.x0, lo), min(s.x1, hi)
			if x0 < x1 {
				over(dst.Y[do+x0:do+x1], o.y[row+x0:row+x1], o.a[row+x0:row+x1], k)
			}
		}
	}
	cw := o.w / 2
	clo, chi := lo/2, (hi+1)/2
	for y := r.Min.Y / 2; y < (r.Max.Y+1)/2; y++ {
		row := (y - at.Y/2) * cw
		do := dst.COffset(at.X, 2*y)
		for _, s := range o.cruns[y-at.Y/2] {
			x0, x1 := max(s.x0, clo), min(s.x1, chi)
			if x0 < x1 {
				over(dst.Cb[do+x0:do+x1], o.cb[row+x0:row+x1], o.ca[row+x0:row+x1], k)
				over(dst.Cr[do+x0:do+x1], o.cr[row+x0:row+x1], o.ca[row+x0:row+x1], k)
			}
		}
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
