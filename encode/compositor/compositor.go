// Package compositor draws the program picture: at each tick it takes the
// newest frame of every source (Slot), scales it through FFmpeg's swscale
// into its place on a 4:2:0 canvas, and fills the gaps. It never waits on a
// source: a stalled source keeps its last frame for StallAfter, then shows
// a placeholder.
//
// The layout here is a plain balanced grid; scene layouts (spotlight,
// picture-in-picture, …) will hand the compositor their rectangles.
package compositor

import (
	"image"
	"time"

	"greenroom/encode/shim"
)

// YCbCr is one colour in video range BT.601, as the canvas stores it.
type YCbCr struct{ Y, Cb, Cr uint8 }

var (
	// Background is the canvas behind the tiles: a near-black blue-grey.
	Background = YCbCr{Y: 28, Cb: 134, Cr: 126}
	// Placeholder fills the tile of a source with no picture.
	Placeholder = YCbCr{Y: 48, Cb: 140, Cr: 124}
)

// Compositor owns the canvas and one scaler per source. It is used by one
// goroutine, the pipeline's video stage.
type Compositor struct {
	canvas     *image.YCbCr
	scalers    map[*Slot]*shim.Scaler
	gap        int
	cells      []image.Rectangle // Grid for len(cells) sources, kept between frames
	StallAfter time.Duration
}

// New returns a compositor for a w×h program (both even).
func New(w, h int) *Compositor {
	return &Compositor{
		canvas:     image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420),
		scalers:    map[*Slot]*shim.Scaler{},
		gap:        even(h / 90),
		StallAfter: 2 * time.Second,
	}
}

// Render draws the slots in a grid at wall time now and returns the canvas,
// which stays valid until the next Render.
func (c *Compositor) Render(slots []*Slot, now time.Time) (*image.YCbCr, error) {
	// The canvas persists between frames and tiles repaint their whole
	// cell, so the background between cells is painted only when the
	// layout changes.
	if len(c.cells) != len(slots) {
		c.cells = Grid(len(slots), c.canvas.Rect, c.gap)
		Fill(c.canvas, c.canvas.Rect, Background)
	}
	var firstErr error
	for i, s := range slots {
		if err := c.drawTile(s, c.cells[i], now); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	c.forgetGone(slots)
	return c.canvas, firstErr
}

func (c *Compositor) drawTile(s *Slot, cell image.Rectangle, now time.Time) error {
	f, at := s.take()
	if f == nil {
		Fill(c.canvas, cell, Placeholder)
		return nil
	}
	defer f.Release()
	if now.Sub(at) > c.StallAfter {
		Fill(c.canvas, cell, Placeholder)
		return nil
	}
	dst := Fit(f.Rect.Size(), cell)
	if dst != cell {
		Fill(c.canvas, cell, Background) // letterbox bars
	}
	if dst.Size() == f.Rect.Size() {
		copyInto(c.canvas, &f.YCbCr, dst.Min)
		return nil
	}
	sc := c.scalers[s]
	if sc == nil {
		sc = &shim.Scaler{}
		c.scalers[s] = sc
	}
	return sc.Scale(&f.YCbCr, c.canvas, dst)
}

// copyInto copies a 4:2:0 src of the same size as its destination
// rectangle, at even at, without swscale: a source already at the tile's
// size (the solo host camera at program size) costs a memcpy.
func copyInto(dst, src *image.YCbCr, at image.Point) {
	w, h := src.Rect.Dx(), src.Rect.Dy()
	for y := 0; y < h; y++ {
		d := (at.Y+y)*dst.YStride + at.X
		s := src.YOffset(src.Rect.Min.X, src.Rect.Min.Y+y)
		copy(dst.Y[d:d+w], src.Y[s:s+w])
	}
	cw := (w + 1) / 2
	for y := 0; y < (h+1)/2; y++ {
		d := (at.Y/2+y)*dst.CStride + at.X/2
		s := src.COffset(src.Rect.Min.X, src.Rect.Min.Y+2*y)
		copy(dst.Cb[d:d+cw], src.Cb[s:s+cw])
		copy(dst.Cr[d:d+cw], src.Cr[s:s+cw])
	}
}

func (c *Compositor) forgetGone(slots []*Slot) {
	if len(c.scalers) <= len(slots) {
		return
	}
	live := make(map[*Slot]bool, len(slots))
	for _, s := range slots {
		live[s] = true
	}
	for s, sc := range c.scalers {
		if !live[s] {
			sc.Close()
			delete(c.scalers, s)
		}
	}
}

// Close frees the scalers. Safe to call twice.
func (c *Compositor) Close() {
	for s, sc := range c.scalers {
		sc.Close()
		delete(c.scalers, s)
	}
}

// Grid splits bounds into n cells of the bounds' aspect ratio: balanced rows
// (the row count is the smallest that fits), the last row centred, gap pixels
// between and around cells. Corners and sizes are even, as 4:2:0 needs.
func Grid(n int, bounds image.Rectangle, gap int) []image.Rectangle {
	if n <= 0 {
		return nil
	}
	if n == 1 {
		// One source is the whole program, edge to edge.
		return []image.Rectangle{bounds}
	}
	cols := 1
	for cols*cols < n {
		cols++
	}
	rows := (n + cols - 1) / cols
	if n == 2 {
		cols, rows = 2, 1
	}
	W, H := bounds.Dx(), bounds.Dy()
	cw := (W - gap*(cols+1)) / cols
	ch := (H - gap*(rows+1)) / rows
	// Keep the program's aspect in every cell: shrink whichever side is long.
	if cw*H > ch*W {
		cw = ch * W / H
	} else {
		ch = cw * H / W
	}
	cw, ch = even(cw), even(ch)
	top := bounds.Min.Y + (H-rows*ch-(rows-1)*gap)/2
	cells := make([]image.Rectangle, 0, n)
	for r := 0; r < rows; r++ {
		inRow := min(cols, n-r*cols)
		left := bounds.Min.X + (W-inRow*cw-(inRow-1)*gap)/2
		y := even(top + r*(ch+gap))
		for k := 0; k < inRow; k++ {
			x := even(left + k*(cw+gap))
			cells = append(cells, image.Rect(x, y, x+cw, y+ch))
		}
	}
	return cells
}

// Fit returns the largest rectangle of src's aspect ratio centred in cell
// (letterbox or pillarbox), with even corners and size.
func Fit(src image.Point, cell image.Rectangle) image.Rectangle {
	if src.X <= 0 || src.Y <= 0 {
		return image.Rectangle{}
	}
	w, h := cell.Dx(), cell.Dy()
	if src.X*h > src.Y*w {
		h = w * src.Y / src.X
	} else {
		w = h * src.X / src.Y
	}
	w, h = even(w), even(h)
	x := even(cell.Min.X + (cell.Dx()-w)/2)
	y := even(cell.Min.Y + (cell.Dy()-h)/2)
	return image.Rect(x, y, x+w, y+h)
}

// Fill paints r of a 4:2:0 image with one colour.
func Fill(img *image.YCbCr, r image.Rectangle, c YCbCr) {
	r = r.Intersect(img.Rect)
	if r.Empty() {
		return
	}
	fillPlane(img.Y, img.YStride, r.Min.X, r.Min.Y, r.Dx(), r.Dy(), c.Y)
	cr := image.Rect(r.Min.X/2, r.Min.Y/2, (r.Max.X+1)/2, (r.Max.Y+1)/2)
	fillPlane(img.Cb, img.CStride, cr.Min.X, cr.Min.Y, cr.Dx(), cr.Dy(), c.Cb)
	fillPlane(img.Cr, img.CStride, cr.Min.X, cr.Min.Y, cr.Dx(), cr.Dy(), c.Cr)
}

func fillPlane(p []byte, stride, x, y, w, h int, v byte) {
	first := p[y*stride+x : y*stride+x+w]
	for i := range first {
		first[i] = v
	}
	for row := 1; row < h; row++ {
		o := (y+row)*stride + x
		copy(p[o:o+w], first)
	}
}

func even(v int) int { return v &^ 1 }
