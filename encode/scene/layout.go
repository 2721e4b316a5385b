// Package scene is the program's look as pure maths and pre-rendered
// pictures: where each on-stage source goes for a layout (Arrange, Fit,
// Crop), how a tile moves to its new place (Progress, Tween), and the
// pictures laid over the sources — name tags (Tag), initials for someone
// without video (Avatar), the speaking ring (Ring), lower-third banners
// (Banner) and the ticker (TickerText) — in the colours of a Brand. It
// draws nothing into the program: the compositor does that, once per
// frame, from what this package computed once per change. It knows nothing
// of guests: sources are names, and the studio says whose. Text is shaped
// (any script, right to left too) and drawn in embedded and system fonts
// (text.go).
package scene

import (
	"fmt"
	"image"
	"strings"
)

// Layout names, as Scene.Layout and the GUI's buttons spell them.
const (
	Solo       = "solo"         // the main source alone, full frame
	SideBySide = "side-by-side" // everyone in one row, as tall as fits
	Grid       = "grid"         // balanced rows of 16:9 tiles, the last row centred
	Spotlight  = "spotlight"    // the main source large, the others in a strip beside it
	PiP        = "pip"          // the main source full frame, the others small in a corner over it
	// Screen is for a shared screen: the main source (the screen) as large
	// as it fits, whole (letterboxed, never cropped), the speakers in a
	// narrow strip beside it.
	Screen = "screen"
)

// Layouts lists every layout, in the order a picker offers them.
var Layouts = []string{Solo, SideBySide, Grid, Spotlight, PiP, Screen}

// Scene is how the program arranges its sources. Sources are named (the
// studio names them by participant ID); a source not named in Names has no
// name tag. A Scene is a value: whoever hands one over must not change its
// maps afterwards.
type Scene struct {
	Layout string
	Main   string            // the source shown large (solo, spotlight, pip); "" is the first
	Names  map[string]string // name tag text per source
	Fit    map[string]bool   // letterbox these sources instead of cropping them to fill
	Brand  Brand
	// Banner is the lower-third text on screen ("": none); a new one
	// slides in as the one before slides out.
	Banner string
	// Ticker is text running along the bottom ("": none); the tiles make
	// room for its band.
	Ticker string
}

// Valid reports an unknown layout.
func (s Scene) Valid() error {
	for _, l := range Layouts {
		if s.Layout == l {
			return nil
		}
	}
	return fmt.Errorf("scene: unknown layout %q (have %s)", s.Layout, strings.Join(Layouts, ", "))
}

// Gap is the space between tiles and around them for a program of bounds'
// size: 12 px at 1080p, 8 px at 720p.
func Gap(bounds image.Rectangle) int { return even(short(bounds) / 90) }

// Radius is the tiles' corner radius: 16 px at 1080p, 10 px at 720p.
func Radius(bounds image.Rectangle) int { return even(short(bounds) * 3 / 200) }

// Arrange returns where each of n sources goes in bounds for layout, main
// being the index of the main source. rects[i] is source i's tile; an empty
// rectangle means source i is not shown. Every corner and size is even, as
// 4:2:0 needs. The compositor draws the main source first, so the small
// tiles of picture-in-picture lie over it.
func Arrange(layout string, n, main int, bounds image.Rectangle) ([]image.Rectangle, error) {
	if n <= 0 {
		return nil, nil
	}
	if main < 0 || main >= n {
		main = 0
	}
	gap := Gap(bounds)
	rects := make([]image.Rectangle, n)
	others := make([]int, 0, n-1)
	for i := range n {
		if i != main {
			others = append(others, i)
		}
	}
	if Portrait(bounds) {
		if err := (Scene{Layout: layout}).Valid(); err != nil {
			return nil, err
		}
		return arrangePortrait(layout, n, main, others, bounds, gap), nil
	}
	switch layout {
	case Solo:
		rects[main] = bounds
	case Grid:
		copy(rects, grid(n, bounds, gap))
	case SideBySide:
		copy(rects, row(n, bounds.Inset(gap), gap, 9.0/16))
	case Spotlight, Screen:
		if n == 1 {
			rects[main] = bounds
			break
		}
		frac := 5
		if layout == Screen {
			frac = 7 // text on a screen wants every pixel it can get
		}
		strip := column(len(others), bounds, gap, frac)
		left := bounds.Inset(gap)
		left.Max.X = even(strip[0].Min.X - gap)
		rects[main] = left
		for k, i := range others {
			rects[i] = strip[k]
		}
	case PiP:
		rects[main] = bounds
		for k, r := range corner(len(others), bounds, gap) {
			rects[others[k]] = r
		}
	default:
		return nil, Scene{Layout: layout}.Valid()
	}
	return rects, nil
}

// grid is balanced rows of 16:9 cells (the row count the smallest that
// fits), the last row centred; one source is the whole program.
func grid(n int, bounds image.Rectangle, gap int) []image.Rectangle {
	if n == 1 {
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
	for r := range rows {
		inRow := min(cols, n-r*cols)
		left := bounds.Min.X + (W-inRow*cw-(inRow-1)*gap)/2
		cells = append(cells, line(inRow, image.Pt(left, top+r*(ch+gap)), image.Pt(cw, ch), image.Pt(cw+gap, 0))...)
	}
	return cells
}

// row puts n equal cells side by side across area, each as tall as area
// but never narrower than minAspect (width/height): more people make
// narrower, then shorter, cells, centred.
func row(n int, area image.Rectangle, gap int, minAspect float64) []image.Rectangle {
	cw := (area.Dx() - gap*(n-1)) / n
	ch := area.Dy()
	if float64(cw) < minAspect*float64(ch) {
		ch = int(float64(cw) / minAspect)
	}
	if cw*9 > ch*16 { // and no wider than 16:9: one person is not a banner
		cw = ch * 16 / 9
	}
	cw, ch = even(cw), even(ch)
	left := area.Min.X + (area.Dx()-n*cw-(n-1)*gap)/2
	top := area.Min.Y + (area.Dy()-ch)/2
	return line(n, image.Pt(left, top), image.Pt(cw, ch), image.Pt(cw+gap, 0))
}

// line is n cells of size sz in a line, the first at p and each the next
// step further, with even corners.
func line(n int, p, sz, step image.Point) []image.Rectangle {
	cells := make([]image.Rectangle, n)
	for k := range cells {
		q := p.Add(step.Mul(k))
		q = image.Pt(even(q.X), even(q.Y))
		cells[k] = image.Rectangle{Min: q, Max: q.Add(sz)}
	}
	return cells
}

// column is the spotlight's strip: n 16:9 cells stacked at the right edge
// of bounds, 1/frac of the width at most, centred vertically.
func column(n int, bounds image.Rectangle, gap, frac int) []image.Rectangle {
	ch := min(bounds.Dx()/frac*9/16, (bounds.Dy()-gap*(n+1))/n)
	ch = even(ch)
	cw := even(ch * 16 / 9)
	top := bounds.Min.Y + (bounds.Dy()-n*ch-(n-1)*gap)/2
	return line(n, image.Pt(bounds.Max.X-gap-cw, top), image.Pt(cw, ch), image.Pt(0, ch+gap))
}

// corner is picture-in-picture's small tiles: 16:9, a fifth of the width
// for up to three (an eighth for more), in rows from the bottom-right
// corner leftwards and then upwards, each row at most 70 % of the width so
// the main source's name tag at the bottom left stays clear. They are inset
// by twice the gap, so they read as laid on top.
func corner(n int, bounds image.Rectangle, gap int) []image.Rectangle {
	if n == 0 {
		return nil
	}
	m := 2 * gap
	frac := 5
	if n > 3 {
		frac = 8
	}
	ch := even(bounds.Dx() / frac * 9 / 16)
	cw := even(ch * 16 / 9)
	perRow := max(1, (bounds.Dx()*7/10-m)/(cw+m))
	cells := make([]image.Rectangle, n)
	for k := range cells {
		x := even(bounds.Max.X - (k%perRow+1)*(cw+m))
		y := even(bounds.Max.Y - (k/perRow+1)*(ch+m))
		cells[k] = image.Rect(x, y, x+cw, y+ch)
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

// Crop returns the part of a src picture (at the origin) with cell's
// aspect ratio that fills cell without bars: centred across, and a third
// of the way down rather than half, since faces sit high in a camera
// picture. Corners and size are even.
func Crop(src image.Point, cell image.Rectangle) image.Rectangle {
	if src.X <= 0 || src.Y <= 0 || cell.Dx() <= 0 || cell.Dy() <= 0 {
		return image.Rectangle{}
	}
	w, h := src.X, src.Y
	if w*cell.Dy() > h*cell.Dx() {
		w = h * cell.Dx() / cell.Dy()
	} else {
		h = w * cell.Dy() / cell.Dx()
	}
	w, h = max(even(w), 2), max(even(h), 2)
	x := even((src.X - w) / 2)
	y := even((src.Y - h) / 3)
	return image.Rect(x, y, x+w, y+h)
}

func even(v int) int { return v &^ 1 }
