// Package shim holds the project's only hand-written cgo: the few FFmpeg
// calls that go-astiav v0.16.0 does not wrap. Keeping them in one package
// keeps the unsafe surface small and easy to audit.
//
//   - Scaler: swscale from a Go image (or a cropped part of it) straight
//     into a rectangle of a larger image (astiav's ScaleFrame only scales
//     whole frames, which would cost the compositor one extra copy per tile).
//   - CopyImage / CopyPlanarFloat: write pixels or samples into an
//     astiav.Frame (astiav's FrameData only reads).
//   - Resampler: libswresample, which astiav v0.16.0 lacks entirely.
//   - FrameMetadata: what a filter (ebur128) attached to a frame.
//   - MmapThreshold: glibc's malloc tuned at start for the C libraries'
//     big buffers (malloc.go).
//
// Everything here takes Go memory that holds no Go pointers, as cgo's
// pointer-passing rules require, and keeps no reference to it after return.
package shim

/*
#cgo pkg-config: libavutil libswscale libswresample
#include <string.h>
#include <libavutil/frame.h>
#include <libavutil/imgutils.h>
#include <libavutil/channel_layout.h>
#include <libswscale/swscale.h>
#include <libswresample/swresample.h>

#define SHIM_OVERRUN 32

// shim_guard copies (save=1) or restores (save=0) the bytes after each of
// rows rows of w bytes: SHIM_OVERRUN of them, but no further than where
// the next row of the rectangle starts (stride - w on), which swscale
// writes itself, after.
static void shim_guard(uint8_t *p, int stride, int w, int rows, uint8_t *keep, int save) {
	for (int r = 0; r < rows; r++) {
		uint8_t *edge = p + (size_t)r * stride + w;
		int n = SHIM_OVERRUN;
		if (r < rows - 1 && stride - w < n) n = stride - w;
		if (save) memcpy(keep, edge, n); else memcpy(edge, keep, n);
		keep += SHIM_OVERRUN;
	}
}

// shim_scale scales into a dw×dh rectangle. swscale's vector code writes
// whole vectors, so it may write past the end of each output row (we saw 6
// luma and 7 chroma bytes; SHIM_OVERRUN is a safe bound): those bytes are
// the next tile or the background, so they are kept in keep beforehand and
// put back after.
static int shim_scale(struct SwsContext *c,
	const uint8_t *sy, const uint8_t *su, const uint8_t *sv, int sys, int scs, int sh,
	uint8_t *dy, uint8_t *du, uint8_t *dv, int dys, int dcs, int dw, int dh, uint8_t *keep) {
	const uint8_t *src[4] = {sy, su, sv, NULL};
	int srcStride[4] = {sys, scs, scs, 0};
	uint8_t *dst[4] = {dy, du, dv, NULL};
	int dstStride[4] = {dys, dcs, dcs, 0};
	int cw = (dw + 1) / 2, ch = (dh + 1) / 2;
	uint8_t *ku = keep + (size_t)dh * SHIM_OVERRUN, *kv = ku + (size_t)ch * SHIM_OVERRUN;
	shim_guard(dy, dys, dw, dh, keep, 1);
	shim_guard(du, dcs, cw, ch, ku, 1);
	shim_guard(dv, dcs, cw, ch, kv, 1);
	int ret = sws_scale(c, src, srcStride, 0, sh, dst, dstStride);
	shim_guard(dy, dys, dw, dh, keep, 0);
	shim_guard(du, dcs, cw, ch, ku, 0);
	shim_guard(dv, dcs, cw, ch, kv, 0);
	return ret;
}

static int shim_scale_rgba(struct SwsContext *c,
	const uint8_t *sy, const uint8_t *su, const uint8_t *sv, int sys, int scs, int sh,
	uint8_t *d, int ds) {
	const uint8_t *src[4] = {sy, su, sv, NULL};
	int srcStride[4] = {sys, scs, scs, 0};
	uint8_t *dst[4] = {d, NULL, NULL, NULL};
	int dstStride[4] = {ds, 0, 0, 0};
	return sws_scale(c, src, srcStride, 0, sh, dst, dstStride);
}

static int shim_copy_image(AVFrame *f,
	const uint8_t *y, const uint8_t *u, const uint8_t *v, int ys, int cs, int w, int h, int cw, int ch) {
	int ret = av_frame_make_writable(f);
	if (ret < 0) return ret;
	av_image_copy_plane(f->data[0], f->linesize[0], y, ys, w, h);
	av_image_copy_plane(f->data[1], f->linesize[1], u, cs, cw, ch);
	av_image_copy_plane(f->data[2], f->linesize[2], v, cs, cw, ch);
	return 0;
}

static void shim_frame_to_image(const AVFrame *f,
	uint8_t *y, uint8_t *u, uint8_t *v, int ys, int cs, int w, int h, int cw, int ch) {
	av_image_copy_plane(y, ys, f->data[0], f->linesize[0], w, h);
	av_image_copy_plane(u, cs, f->data[1], f->linesize[1], cw, ch);
	av_image_copy_plane(v, cs, f->data[2], f->linesize[2], cw, ch);
}

// shim_interleave writes n samples of every channel of f, as interleaved
// floats, to dst. It handles the formats audio decoders give: planar or
// packed float, planar or packed signed 16-bit.
static int shim_interleave(const AVFrame *f, int channels, float *dst) {
	int n = f->nb_samples;
	switch (f->format) {
	case AV_SAMPLE_FMT_FLTP:
		for (int c = 0; c < channels; c++) {
			const float *src = (const float *)f->extended_data[c];
			for (int i = 0; i < n; i++) dst[i*channels+c] = src[i];
		}
		return n;
	case AV_SAMPLE_FMT_FLT:
		memcpy(dst, f->extended_data[0], (size_t)n * channels * sizeof(float));
		return n;
	case AV_SAMPLE_FMT_S16P:
		for (int c = 0; c < channels; c++) {
			const int16_t *src = (const int16_t *)f->extended_data[c];
			for (int i = 0; i < n; i++) dst[i*channels+c] = src[i] / 32768.0f;
		}
		return n;
	case AV_SAMPLE_FMT_S16: {
		const int16_t *src = (const int16_t *)f->extended_data[0];
		for (int i = 0; i < n*channels; i++) dst[i] = src[i] / 32768.0f;
		return n;
	}
	}
	return -1;
}

static int shim_copy_plane_float(AVFrame *f, int plane, const float *src, int n) {
	if (plane == 0) {
		int ret = av_frame_make_writable(f);
		if (ret < 0) return ret;
	}
	memcpy(f->extended_data[plane], src, (size_t)n * sizeof(float));
	return 0;
}

static struct SwrContext *shim_swr_new(int inRate, int inChannels, int outRate, int outChannels, int *err) {
	AVChannelLayout in, out;
	av_channel_layout_default(&in, inChannels);
	av_channel_layout_default(&out, outChannels);
	struct SwrContext *s = NULL;
	*err = swr_alloc_set_opts2(&s, &out, AV_SAMPLE_FMT_FLT, outRate, &in, AV_SAMPLE_FMT_FLT, inRate, 0, NULL);
	if (*err < 0) return NULL;
	*err = swr_init(s);
	if (*err < 0) { swr_free(&s); return NULL; }
	return s;
}

static int shim_swr_convert(struct SwrContext *s, float *out, int outCount, const float *in, int inCount) {
	uint8_t *o[1] = {(uint8_t *)out};
	const uint8_t *i[1] = {(const uint8_t *)in};
	return swr_convert(s, o, outCount, inCount > 0 ? i : NULL, inCount);
}

static void shim_swr_free(struct SwrContext *s) { swr_free(&s); }
*/
import "C"

import (
	"fmt"
	"image"
	"slices"
	"unsafe"

	"github.com/asticode/go-astiav"
)

func averr(op string, ret C.int) error {
	return fmt.Errorf("shim: %s: %w", op, astiav.Error(ret))
}

func pixFmt(r image.YCbCrSubsampleRatio) (C.enum_AVPixelFormat, bool) {
	switch r {
	case image.YCbCrSubsampleRatio420:
		return C.AV_PIX_FMT_YUV420P, true
	case image.YCbCrSubsampleRatio422:
		return C.AV_PIX_FMT_YUV422P, true
	case image.YCbCrSubsampleRatio444:
		return C.AV_PIX_FMT_YUV444P, true
	}
	return 0, false
}

// Scaler scales planar YCbCr images into a rectangle of a 4:2:0 image. It
// caches its swscale context across calls with the same geometry. A Scaler
// is used by one goroutine at a time.
type Scaler struct {
	c    *C.struct_SwsContext
	keep []byte // the bytes after each output row, while swscale runs
}

// Overrun is how many bytes past the end of an output row swscale may
// write. Scale and ScaleRect put them back, but the destination's planes
// must have that much capacity beyond the last row's end (NewCanvas).
const Overrun = C.SHIM_OVERRUN

// NewCanvas returns a w×h 4:2:0 image with room for swscale's overrun
// after its last rows, for Scale and ScaleRect to draw into.
func NewCanvas(w, h int) *image.YCbCr {
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	pad := func(p []byte) []byte { return make([]byte, len(p), len(p)+Overrun) }
	img.Y, img.Cb, img.Cr = pad(img.Y), pad(img.Cb), pad(img.Cr)
	return img
}

// Scale scales the whole of src into r of dst, which must be 4:2:0 with r
// inside dst.Rect and r's corners and size even (chroma is half size).
func (s *Scaler) Scale(src *image.YCbCr, dst *image.YCbCr, r image.Rectangle) error {
	return s.ScaleRect(src, src.Rect, dst, r)
}

// ScaleRect scales the part sr of src into r of dst, as Scale does: a tile
// that crops its source to cover its cell scales from the crop directly,
// with no copy. sr is in src's coordinates; its corners are rounded down to
// even so chroma lines up.
func (s *Scaler) ScaleRect(src *image.YCbCr, sr image.Rectangle, dst *image.YCbCr, r image.Rectangle) error {
	sf, ok := pixFmt(src.SubsampleRatio)
	if !ok {
		return fmt.Errorf("shim: scale: unsupported source subsampling %v", src.SubsampleRatio)
	}
	if dst.SubsampleRatio != image.YCbCrSubsampleRatio420 {
		return fmt.Errorf("shim: scale: destination must be 4:2:0")
	}
	r = r.Intersect(dst.Rect)
	sr = sr.Intersect(src.Rect)
	sr.Min.X, sr.Min.Y = src.Rect.Min.X+(sr.Min.X-src.Rect.Min.X)&^1, src.Rect.Min.Y+(sr.Min.Y-src.Rect.Min.Y)&^1
	sw, sh := sr.Dx(), sr.Dy()
	dw, dh := r.Dx()&^1, r.Dy()&^1
	if sw < 2 || sh < 2 || dw < 2 || dh < 2 {
		return nil
	}
	x, y := (r.Min.X-dst.Rect.Min.X)&^1, (r.Min.Y-dst.Rect.Min.Y)&^1
	s.c = C.sws_getCachedContext(s.c, C.int(sw), C.int(sh), sf, C.int(dw), C.int(dh), C.AV_PIX_FMT_YUV420P,
		C.SWS_BILINEAR, nil, nil, nil)
	if s.c == nil {
		return fmt.Errorf("shim: scale: no swscale context for %dx%d -> %dx%d", sw, sh, dw, dh)
	}
	so := src.YOffset(sr.Min.X, sr.Min.Y)
	co := src.COffset(sr.Min.X, sr.Min.Y)
	dy := y*dst.YStride + x
	dc := (y/2)*dst.CStride + x/2
	ch := (dh + 1) / 2
	if dy+(dh-1)*dst.YStride+dw+Overrun > cap(dst.Y) || dc+(ch-1)*dst.CStride+(dw+1)/2+Overrun > min(cap(dst.Cb), cap(dst.Cr)) {
		return fmt.Errorf("shim: scale: destination has no room for swscale's overrun (make it with NewCanvas)")
	}
	if need := (dh + 2*ch) * Overrun; len(s.keep) < need {
		s.keep = make([]byte, need)
	}
	ret := C.shim_scale(s.c,
		(*C.uint8_t)(unsafe.Pointer(&src.Y[so])), (*C.uint8_t)(unsafe.Pointer(&src.Cb[co])), (*C.uint8_t)(unsafe.Pointer(&src.Cr[co])),
		C.int(src.YStride), C.int(src.CStride), C.int(sh),
		(*C.uint8_t)(unsafe.Pointer(&dst.Y[dy])), (*C.uint8_t)(unsafe.Pointer(&dst.Cb[dc])), (*C.uint8_t)(unsafe.Pointer(&dst.Cr[dc])),
		C.int(dst.YStride), C.int(dst.CStride), C.int(dw), C.int(dh), (*C.uint8_t)(unsafe.Pointer(&s.keep[0])))
	if ret < 0 {
		return averr("sws_scale", ret)
	}
	return nil
}

// NewRGBA returns a w×h RGBA image with room for swscale's overrun after
// its last row, for ScaleRGBA.
func NewRGBA(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	img.Pix = append(make([]byte, 0, len(img.Pix)+Overrun), img.Pix...)
	return img
}

// ScaleRGBA scales and converts the whole of src into the whole of dst
// (for previews: the GUI draws RGBA). dst fills its rows, so only its last
// row's overrun matters: make it with NewRGBA.
func (s *Scaler) ScaleRGBA(src *image.YCbCr, dst *image.RGBA) error {
	sf, ok := pixFmt(src.SubsampleRatio)
	if !ok {
		return fmt.Errorf("shim: scale: unsupported source subsampling %v", src.SubsampleRatio)
	}
	sw, sh := src.Rect.Dx(), src.Rect.Dy()
	dw, dh := dst.Rect.Dx(), dst.Rect.Dy()
	if sw < 2 || sh < 2 || dw < 1 || dh < 1 {
		return nil
	}
	if dst.PixOffset(dst.Rect.Min.X, dst.Rect.Max.Y-1)+4*dw+Overrun > cap(dst.Pix) {
		return fmt.Errorf("shim: scale: RGBA destination has no room for swscale's overrun (make it with NewRGBA)")
	}
	s.c = C.sws_getCachedContext(s.c, C.int(sw), C.int(sh), sf, C.int(dw), C.int(dh), C.AV_PIX_FMT_RGBA,
		C.SWS_BILINEAR, nil, nil, nil)
	if s.c == nil {
		return fmt.Errorf("shim: scale: no swscale context for %dx%d -> %dx%d RGBA", sw, sh, dw, dh)
	}
	so := src.YOffset(src.Rect.Min.X, src.Rect.Min.Y)
	co := src.COffset(src.Rect.Min.X, src.Rect.Min.Y)
	ret := C.shim_scale_rgba(s.c,
		(*C.uint8_t)(unsafe.Pointer(&src.Y[so])), (*C.uint8_t)(unsafe.Pointer(&src.Cb[co])), (*C.uint8_t)(unsafe.Pointer(&src.Cr[co])),
		C.int(src.YStride), C.int(src.CStride), C.int(sh),
		(*C.uint8_t)(unsafe.Pointer(&dst.Pix[dst.PixOffset(dst.Rect.Min.X, dst.Rect.Min.Y)])), C.int(dst.Stride))
	if ret < 0 {
		return averr("sws_scale", ret)
	}
	return nil
}

// Close frees the swscale context. Safe to call twice.
func (s *Scaler) Close() {
	if s.c != nil {
		C.sws_freeContext(s.c)
		s.c = nil
	}
}

func frameC(f *astiav.Frame) *C.AVFrame { return (*C.AVFrame)(f.UnsafePointer()) }

// CopyImage copies a 4:2:0 image into f, whose buffers must already be
// allocated with the same size and AV_PIX_FMT_YUV420P. It makes f writable
// first, so a frame still referenced by an encoder is never overwritten.
func CopyImage(f *astiav.Frame, img *image.YCbCr) error {
	if img.SubsampleRatio != image.YCbCrSubsampleRatio420 {
		return fmt.Errorf("shim: copy image: want 4:2:0, have %v", img.SubsampleRatio)
	}
	w, h := img.Rect.Dx(), img.Rect.Dy()
	if w != f.Width() || h != f.Height() {
		return fmt.Errorf("shim: copy image: %dx%d into a %dx%d frame", w, h, f.Width(), f.Height())
	}
	so := img.YOffset(img.Rect.Min.X, img.Rect.Min.Y)
	co := img.COffset(img.Rect.Min.X, img.Rect.Min.Y)
	ret := C.shim_copy_image(frameC(f),
		(*C.uint8_t)(unsafe.Pointer(&img.Y[so])), (*C.uint8_t)(unsafe.Pointer(&img.Cb[co])), (*C.uint8_t)(unsafe.Pointer(&img.Cr[co])),
		C.int(img.YStride), C.int(img.CStride), C.int(w), C.int(h), C.int((w+1)/2), C.int((h+1)/2))
	if ret < 0 {
		return averr("av_frame_make_writable", ret)
	}
	return nil
}

// CopyFromFrame copies a decoded YUV420P (or full-range YUVJ420P) frame
// into img, which must be 4:2:0 of the frame's size.
func CopyFromFrame(img *image.YCbCr, f *astiav.Frame) error {
	if pf := f.PixelFormat(); pf != astiav.PixelFormatYuv420P && pf != astiav.PixelFormatYuvj420P {
		return fmt.Errorf("shim: copy frame: pixel format %s is not 4:2:0 planar", pf)
	}
	w, h := f.Width(), f.Height()
	if img.SubsampleRatio != image.YCbCrSubsampleRatio420 || img.Rect.Dx() != w || img.Rect.Dy() != h {
		return fmt.Errorf("shim: copy frame: %dx%d frame into a %v image", w, h, img.Rect.Size())
	}
	so := img.YOffset(img.Rect.Min.X, img.Rect.Min.Y)
	co := img.COffset(img.Rect.Min.X, img.Rect.Min.Y)
	C.shim_frame_to_image(frameC(f),
		(*C.uint8_t)(unsafe.Pointer(&img.Y[so])), (*C.uint8_t)(unsafe.Pointer(&img.Cb[co])), (*C.uint8_t)(unsafe.Pointer(&img.Cr[co])),
		C.int(img.YStride), C.int(img.CStride), C.int(w), C.int(h), C.int((w+1)/2), C.int((h+1)/2))
	return nil
}

// Interleave appends a decoded audio frame's samples to dst as interleaved
// float32 (planar/packed float or 16-bit in), and returns dst.
func Interleave(dst []float32, f *astiav.Frame, channels int) ([]float32, error) {
	n := f.NbSamples()
	if n <= 0 || channels <= 0 {
		return dst, nil
	}
	start := len(dst)
	dst = slices.Grow(dst, n*channels)[:start+n*channels]
	if C.shim_interleave(frameC(f), C.int(channels), (*C.float)(unsafe.Pointer(&dst[start]))) < 0 {
		return dst[:start], fmt.Errorf("shim: interleave: unsupported sample format %s", f.SampleFormat())
	}
	return dst, nil
}

// CopyPlanarFloat copies one slice per channel into an allocated
// AV_SAMPLE_FMT_FLTP frame of f.NbSamples() samples.
func CopyPlanarFloat(f *astiav.Frame, planes [][]float32) error {
	n := f.NbSamples()
	for i, p := range planes {
		if len(p) < n {
			return fmt.Errorf("shim: copy samples: plane %d has %d samples, frame wants %d", i, len(p), n)
		}
		if ret := C.shim_copy_plane_float(frameC(f), C.int(i), (*C.float)(unsafe.Pointer(&p[0])), C.int(n)); ret < 0 {
			return averr("av_frame_make_writable", ret)
		}
	}
	return nil
}

// Resampler converts interleaved float32 audio of any rate and channel
// count to interleaved float32 at another rate and channel count, through
// libswresample. It is used by one goroutine at a time.
type Resampler struct {
	s                 *C.struct_SwrContext
	inRate, outRate   int
	inChans, outChans int
	out               []float32
}

// NewResampler returns a resampler from inRate/inChans to outRate/outChans.
func NewResampler(inRate, inChans, outRate, outChans int) (*Resampler, error) {
	if inRate <= 0 || outRate <= 0 || inChans <= 0 || outChans <= 0 || inChans > 16 {
		return nil, fmt.Errorf("shim: resampler: bad format %d Hz %d ch -> %d Hz %d ch", inRate, inChans, outRate, outChans)
	}
	var e C.int
	s := C.shim_swr_new(C.int(inRate), C.int(inChans), C.int(outRate), C.int(outChans), &e)
	if s == nil {
		return nil, averr("swr_init", e)
	}
	return &Resampler{s: s, inRate: inRate, outRate: outRate, inChans: inChans, outChans: outChans}, nil
}

// Convert resamples in (interleaved, len a multiple of the input channel
// count) and returns the converted samples, interleaved. The returned slice
// is reused by the next call. Pass nil to drain the resampler's delay.
func (r *Resampler) Convert(in []float32) ([]float32, error) {
	inCount := len(in) / r.inChans
	outCap := int(C.swr_get_out_samples(r.s, C.int(inCount))) + 16
	if need := outCap * r.outChans; cap(r.out) < need {
		r.out = make([]float32, need)
	}
	r.out = r.out[:outCap*r.outChans]
	var ip *C.float
	if inCount > 0 {
		ip = (*C.float)(unsafe.Pointer(&in[0]))
	}
	n := C.shim_swr_convert(r.s, (*C.float)(unsafe.Pointer(&r.out[0])), C.int(outCap), ip, C.int(inCount))
	if n < 0 {
		return nil, averr("swr_convert", n)
	}
	return r.out[:int(n)*r.outChans], nil
}

// Close frees the resampler. Safe to call twice.
func (r *Resampler) Close() {
	if r.s != nil {
		C.shim_swr_free(r.s)
		r.s = nil
	}
}
