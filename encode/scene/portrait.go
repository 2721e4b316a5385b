package scene

import "image"

// Portrait programs (9:16, for Shorts, TikTok and Reels; issue #13) are
// arranged for a phone held upright: people stacked rather than side by
// side, a shared screen whole across the top, and sizes — gaps, corners,
// tags, banners, the ticker — from the short side, as a landscape
// program's are from its height, so a 720x1280 program's name tag is a
// 1280x720 one's. Phone apps lay their own buttons and captions over the
// lower part of a vertical video; PortraitSafe says how much to keep
// banners clear of.

// Portrait is whether bounds is taller than wide.
func Portrait(bounds image.Rectangle) bool { return bounds.Dy() > bounds.Dx() }

// short is the short side of bounds: what sizes scale with.
func short(bounds image.Rectangle) int { return min(bounds.Dx(), bounds.Dy()) }

// PortraitSafe is the band at the bottom of a portrait program that phone
// apps cover (a fifth of its height); banners sit above it.
func PortraitSafe(bounds image.Rectangle) int { return even(bounds.Dy() / 5) }

// arrangePortrait is Arrange for portrait bounds.
func arrangePortrait(layout string, n, main int, others []int, bounds image.Rectangle, gap int) []image.Rectangle {
	rects := make([]image.Rectangle, n)
	switch layout {
	case Solo:
		rects[main] = bounds
	case PiP:
		rects[main] = bounds
		for k, r := range corner(len(others), bounds, gap) {
			rects[others[k]] = r
		}
	case Grid, SideBySide:
		// One column up to three people (each about 16:9 across the
		// width), then two.
		cols := 1
		if n > 3 {
			cols = 2
		}
		copy(rects, stack(n, cols, bounds.Inset(gap), gap))
	case Spotlight, Screen:
		if n == 1 {
			rects[main] = bounds
			break
		}
		// The main source across the top: a screen at its own 16:9,
		// whole; a person taller, half the height. The others below it,
		// stacked in one, two or three columns.
		area := bounds.Inset(gap)
		top := area
		if layout == Screen {
			top.Max.Y = top.Min.Y + even(area.Dx()*9/16)
		} else {
			top.Max.Y = top.Min.Y + even(area.Dy()/2)
		}
		rects[main] = top
		rest := area
		rest.Min.Y = top.Max.Y + gap
		cols := 1
		switch {
		case len(others) > 6:
			cols = 3
		case len(others) > 2:
			cols = 2
		}
		for k, r := range stack(len(others), cols, rest, gap) {
			rects[others[k]] = r
		}
	}
	return rects
}

// stack fills area with n cells in cols columns of equal rows, each cell
// at most 9:16 upright (a phone's own shape; taller would be a pillar)
// and at most 16:9 across, the whole centred; a last row with fewer cells is centred too.
func stack(n, cols int, area image.Rectangle, gap int) []image.Rectangle {
	cols = min(cols, n)
	rows := (n + cols - 1) / cols
	cw := (area.Dx() - gap*(cols-1)) / cols
	ch := (area.Dy() - gap*(rows-1)) / rows
	ch = min(ch, cw*16/9)
	cw = min(cw, ch*16/9) // and no wider than 16:9
	cw, ch = even(cw), even(ch)
	top := area.Min.Y + (area.Dy()-rows*ch-(rows-1)*gap)/2
	cells := make([]image.Rectangle, 0, n)
	for r := range rows {
		inRow := min(cols, n-r*cols)
		left := area.Min.X + (area.Dx()-inRow*cw-(inRow-1)*gap)/2
		cells = append(cells, line(inRow, image.Pt(left, top+r*(ch+gap)), image.Pt(cw, ch), image.Pt(cw+gap, 0))...)
	}
	return cells
}
