// Package compositor draws the program picture: at each tick it takes the
// newest frame of every source (Slot), scales it through FFmpeg's swscale
// into its tile on a 4:2:0 canvas, rounds the tile's corners, lays its name
// tag (and, while they speak, a ring) over it, paints the gaps, and adds
// the brand's overlay and logo, the banner and the ticker. It never waits
// on a source: a stalled source keeps its last frame for StallAfter (or
// until its feed stops, Slot.FeedAliveUntil), then shows a placeholder with
// the person's initials.
//
// Where tiles go, how they move and what the tags look like is package
// scene's maths, computed once per change of the scene or of the set of
// sources; per frame the compositor only scales, blends and copies, into
// buffers it already has.
package compositor

import (
	"image"
	"image/color"
	"slices"
	"time"

	"greenroom/encode/scene"
	"greenroom/encode/shim"
)

// YCbCr is one colour in video range BT.601, as the canvas stores it.
type YCbCr struct{ Y, Cb, Cr uint8 }

var (
	// Background is the canvas behind the tiles: a near-black blue-grey.
	Background = YCbCr{Y: 28, Cb: 134, Cr: 126}
	// Placeholder fills the tile of a source with no picture.
	Placeholder = YCbCr{Y: 48, Cb: 140, Cr: 124}
	// tickerBand is the ticker's band: a very dark blue.
	tickerBand = YCbCr{Y: 24, Cb: 136, Cr: 126}
)

// Compositor owns the canvas, one scaler per source and each source's tile
// (its place, its move, its name tag). It is used by one goroutine, the
// pipeline's video stage.
type Compositor struct {
	canvas     *image.YCbCr
	bounds     image.Rectangle
	stage      image.Rectangle // bounds, less the ticker's band
	scalers    map[*Slot]*shim.Scaler
	tiles      map[*Slot]*tile
	order      []*tile // drawing order: tiles leaving, the main source, the others
	arranged   []*Slot // the sources the tiles were arranged for
	scene      scene.Scene
	sceneDirty bool
	bg         YCbCr    // the brand's background
	logo       *overlay // the brand's logo, at logoAt
	logoAt     image.Point
	frame      *overlay // the brand's full-frame overlay
	// The lower-third banner on screen and the one leaving, each with when
	// it started to move; the ticker's text, when it started, and the
	// band it runs in.
	banner, oldBanner *overlay
	bannerAt, oldAt   time.Time
	bannerText        string
	bannerColour      color.RGBA
	ticker            *overlay
	tickerText        string
	tickerAt          time.Time
	band              image.Rectangle
	// Rounded corners of radius r: the coverage of a tile's corner and of
	// the speaking ring's (thick wide, in ringColour), and room to keep
	// what lies under a tile's corners while the tile is drawn (blending
	// needs it afterwards).
	r, thick         int
	corner, ringEdge *cornerMask
	ringColour       YCbCr
	under            []uint8
	StallAfter       time.Duration
}

// cornerMask is the coverage of the top-left n×n corner of a shape, at
// luma and (n/2 square) at chroma resolution; mirrored for the others.
type cornerMask struct {
	n            int
	luma, chroma []uint8
}

// newCornerMask takes the top-left n×n of a.
func newCornerMask(a *image.Alpha, n int) *cornerMask {
	m := &cornerMask{n: n}
	for y := range n {
		m.luma = append(m.luma, a.Pix[y*a.Stride:y*a.Stride+n]...)
	}
	cn := n / 2
	m.chroma = make([]uint8, cn*cn)
	for y := range cn {
		for x := range cn {
			s := int(m.luma[2*y*n+2*x]) + int(m.luma[2*y*n+2*x+1]) + int(m.luma[(2*y+1)*n+2*x]) + int(m.luma[(2*y+1)*n+2*x+1])
			m.chroma[y*cn+x] = uint8((s + 2) / 4)
		}
	}
	return m
}

// tile is one source's place on the canvas.
type tile struct {
	slot       *Slot
	from, to   image.Rectangle // the move under way; to is the layout's place
	start      time.Time       // when the move started
	drawn      image.Rectangle // where it was drawn last frame
	fit        bool
	leaving    bool            // its source left: it shrinks away, then goes
	last       *Frame          // the picture drawn last (a reference of the tile's own), for leaving with
	area       image.Rectangle // where the picture went last frame, in cell areaIn
	areaIn     image.Rectangle
	name       string
	tag        *overlay    // the name tag, nil without a name
	avatar     *overlay    // initials, shown while there is no picture
	tagFor     image.Point // the tile size tag and avatar were rendered for
	tagOpacity uint8
	// A source slower than the program (a webcam at 15 or 24 fps, a
	// screen share, a picture held while its sender stalls) gives the
	// same picture at several ticks: repeat says this tick's is last
	// tick's, repeats is how often that happened lately (a decaying
	// average, of 256), and scaled holds the picture as scaled into the
	// tile from scaledSrc of scaledOf, to copy rather than scale again.
	repeat    bool
	repeats   int
	scaled    *image.YCbCr
	scaledOf  *Frame // compared, never dereferenced: t.last holds it while it is set
	scaledSrc image.Rectangle
}

// New returns a compositor for a w×h program (both even), in the grid
// layout.
func New(w, h int) *Compositor {
	bounds := image.Rect(0, 0, w, h)
	c := &Compositor{
		canvas:     shim.NewCanvas(w, h),
		bounds:     bounds,
		stage:      bounds,
		scalers:    map[*Slot]*shim.Scaler{},
		tiles:      map[*Slot]*tile{},
		scene:      scene.Scene{Layout: scene.Grid},
		sceneDirty: true,
		bg:         Background,
		StallAfter: 2 * time.Second,
	}
	// The top-left quarter of a rounded square is the corner mask, and of
	// a ring around a square, the ring's.
	c.r, c.thick = scene.Radius(bounds), even(max(4, h/180))
	c.corner = newCornerMask(scene.RoundedRect(2*c.r, 2*c.r, c.r), c.r)
	if ring := scene.Ring(2*c.r, 2*c.r, c.r, c.thick); ring != nil {
		c.ringEdge = newCornerMask(ring, c.r) // none on a tiny program
	}
	c.ringColour = RGB(scene.BrandColour)
	c.under = make([]uint8, 0, 4*(c.r*c.r+2*(c.r/2)*(c.r/2)))
	Fill(c.canvas, bounds, c.bg)
	return c
}

// SetScene changes the layout, the main source, the name tags and which
// sources are letterboxed; tiles move to their new places from the next
// Render on. The scene's maps must not change afterwards.
func (c *Compositor) SetScene(s scene.Scene) error {
	if err := s.Valid(); err != nil {
		return err
	}
	old := c.scene.Brand
	c.scene = s
	c.sceneDirty = true
	if !s.Brand.Equal(old) {
		c.brand(old)
	}
	if !s.Brand.Equal(old) || s.Ticker != c.tickerText {
		c.tickerText = s.Ticker
		c.ticker, c.band = nil, image.Rectangle{}
		if img := scene.TickerText(s.Ticker, c.bounds); img != nil {
			c.ticker = newOverlay(img)
			c.band = c.bounds
			c.band.Min.Y = c.bounds.Max.Y - scene.TickerHeight(c.bounds)
		}
	}
	return nil
}

// banners starts the banner's moves when it changed: the old one slides
// out, the new one in once the old is gone.
func (c *Compositor) banners(now time.Time) {
	text, colour := c.scene.Banner, c.scene.Brand.TagColour()
	if text == c.bannerText && (c.banner == nil || c.bannerColour == colour) {
		return
	}
	c.bannerText, c.bannerColour = text, colour
	if c.banner != nil {
		c.oldBanner, c.oldAt = c.banner, now
	}
	c.banner = nil
	if img := scene.Banner(text, c.bounds, colour); img != nil {
		c.banner, c.bannerAt = newOverlay(img), now
		if c.oldBanner != nil {
			c.bannerAt = now.Add(scene.TransitionTime)
		}
	}
}

// drawBanners lays the banners on the canvas at their place at now.
func (c *Compositor) drawBanners(now time.Time) {
	ticker := c.ticker != nil
	if o := c.oldBanner; o != nil {
		p := scene.Progress(c.oldAt, now)
		if p >= 1 {
			c.oldBanner = nil
		} else {
			o.blend(c.canvas, scene.BannerAt(image.Pt(o.w, o.h), c.bounds, ticker, 1-p), 255)
		}
	}
	if b := c.banner; b != nil {
		b.blend(c.canvas, scene.BannerAt(image.Pt(b.w, b.h), c.bounds, ticker, scene.Progress(c.bannerAt, now)), 255)
	}
}

// drawTicker paints the ticker's band and its text, moved on for now.
func (c *Compositor) drawTicker(now time.Time) {
	if c.ticker == nil {
		return
	}
	Fill(c.canvas, c.band, tickerBand)
	edge := c.band
	edge.Max.Y = edge.Min.Y + max(2, c.band.Dy()/15)&^1
	Fill(c.canvas, edge, RGB(c.scene.Brand.TagColour()))
	period := c.ticker.w
	moved := int(now.Sub(c.tickerAt).Seconds() * scene.TickerSpeed(c.bounds))
	x := c.band.Max.X - moved%period
	for x > c.band.Min.X {
		x -= period
	}
	for ; x < c.band.Max.X; x += period {
		c.ticker.blend(c.canvas, image.Pt(x, c.band.Min.Y), 255)
	}
}

// brand renders what changed in the brand, once: the background colour,
// the logo and overlay scaled to the program, and (on a new colour) every
// name tag and avatar again.
func (c *Compositor) brand(old scene.Brand) {
	b := c.scene.Brand
	c.bg = Background
	if b.Background.A != 0 {
		b.Background.A = 255
		c.bg = RGB(b.Background)
	}
	if !b.SameLogo(old) {
		c.logo = nil
		if r := b.LogoRect(c.bounds); !r.Empty() {
			c.logo, c.logoAt = newOverlay(scene.Scaled(b.Logo, r.Size())), r.Min
		}
	}
	if !b.SameOverlay(old) {
		c.frame = nil
		if b.Overlay != nil {
			c.frame = newOverlay(scene.Scaled(b.Overlay, c.bounds.Size()))
		}
	}
	c.ringColour = RGB(b.TagColour())
	if b.TagColour() != old.TagColour() {
		for _, t := range c.tiles {
			t.tagFor = image.Point{} // renders again at the next arrange
		}
	}
}

// Render draws the slots (sources by Slot.Name, in the order the layout
// places them) as they are at wall time now and returns the canvas, which
// stays valid until the next Render. Each slot shows its newest picture
// due by now (Slot.PutAt): a program frame's now is the middle of its
// time on screen, not when the machine got round to drawing it, so that
// a picture lands in the frame nearest its time.
func (c *Compositor) Render(slots []*Slot, now time.Time) (*image.YCbCr, error) {
	if c.sceneDirty || !sameSlots(c.arranged, slots) {
		c.arrange(slots, now)
	}
	// Tiles move while a transition runs; only then does the background
	// need painting again (in steady state every tile repaints its own
	// rectangle, and nothing else changes).
	moved := false
	for _, t := range c.order {
		p := scene.Progress(t.start, now)
		cur := scene.Tween(t.from, t.to, p)
		if cur != t.drawn {
			moved = true
		}
		t.drawn = cur
		t.tagOpacity = uint8(255 * p)
		if t.leaving {
			t.tagOpacity = 255 - t.tagOpacity
		}
	}
	c.dropLeft()
	if moved || c.frame != nil || c.banner != nil || c.oldBanner != nil {
		Fill(c.canvas, c.bounds, c.bg)
	} else if c.logo != nil {
		// Overlays are blended every frame: what lies under them must be
		// painted afresh first, or their soft edges would pile up over
		// the background, which tiles do not repaint.
		Fill(c.canvas, image.Rect(c.logoAt.X, c.logoAt.Y, c.logoAt.X+c.logo.w, c.logoAt.Y+c.logo.h), c.bg)
	}
	var firstErr error
	for _, t := range c.order {
		if err := c.drawTile(t, now); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	c.drawTicker(now)
	c.drawBanners(now)
	if c.frame != nil {
		c.frame.blend(c.canvas, c.bounds.Min, 255)
	}
	if c.logo != nil {
		c.logo.blend(c.canvas, c.logoAt, 255)
	}
	return c.canvas, firstErr
}

// dropLeft lets go of the tiles that have finished leaving.
func (c *Compositor) dropLeft() {
	kept := c.order[:0]
	for _, t := range c.order {
		if t.leaving && t.drawn.Empty() {
			t.keep(nil)
			if sc := c.scalers[t.slot]; sc != nil && c.tiles[t.slot] == nil {
				sc.Close()
				delete(c.scalers, t.slot)
			}
			continue
		}
		kept = append(kept, t)
	}
	clear(c.order[len(kept):])
	c.order = kept
}

// keep makes f the tile's last picture (f may be nil), releasing the one
// before.
func (t *tile) keep(f *Frame) {
	if t.last != nil {
		t.last.Release()
	}
	t.last = f
}

func sameSlots(a, b []*Slot) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// arrange lays the slots out for the scene: each tile's move starts from
// where it is now to its new place. Tiles of sources that left shrink away
// with their last picture (dropLeft lets them go). A first arrangement
// places tiles without moving them.
func (c *Compositor) arrange(slots []*Slot, now time.Time) {
	c.sceneDirty = false
	c.arranged = append(c.arranged[:0], slots...)
	main := 0
	for i, s := range slots {
		if s.Name == c.scene.Main {
			main = i
		}
	}
	c.banners(now)
	if c.ticker != nil && c.tickerAt.IsZero() {
		c.tickerAt = now
	} else if c.ticker == nil {
		c.tickerAt = time.Time{}
	}
	c.stage = scene.Stage(c.bounds, c.ticker != nil)
	rects, err := scene.Arrange(c.scene.Layout, len(slots), main, c.stage)
	if err != nil { // SetScene checked the layout
		rects, _ = scene.Arrange(scene.Grid, len(slots), main, c.stage)
	}
	first := len(c.tiles) == 0
	live := make(map[*Slot]bool, len(slots))
	for _, s := range slots {
		live[s] = true
	}
	var leaving []*tile
	for _, t := range c.order {
		if t.leaving && !live[t.slot] {
			leaving = append(leaving, t)
		} else if t.leaving {
			t.keep(nil) // back before it had gone: the new tile takes over
		}
	}
	for s, t := range c.tiles {
		if !live[s] {
			t.leaving = true
			s.setTile(image.Point{})
			t.from, t.to, t.start = t.drawn, image.Rectangle{}, now
			leaving = append(leaving, t)
			delete(c.tiles, s)
		}
	}
	c.order = append(c.order[:0], leaving...)
	for i, s := range slots {
		t := c.tiles[s]
		if t == nil {
			t = &tile{slot: s}
			c.tiles[s] = t
		}
		if first {
			t.from, t.to, t.start = rects[i], rects[i], time.Time{}
		} else if t.to != rects[i] {
			t.from, t.to, t.start = t.drawn, rects[i], now
		}
		s.setTile(rects[i].Size())
		t.fit = c.scene.Fit[s.Name] || (i == main && c.scene.Layout == scene.Screen)
		c.tagTile(t, c.scene.Names[s.Name])
		if i == main {
			c.order = slices.Insert(c.order, len(leaving), t)
		} else {
			c.order = append(c.order, t)
		}
	}
	// A source that left leaves a hole: paint it over.
	Fill(c.canvas, c.bounds, c.bg)
}

// tagTile renders t's name tag and avatar again if its name or its size
// changed.
func (c *Compositor) tagTile(t *tile, name string) {
	size := t.to.Size()
	if name == t.name && size == t.tagFor {
		return
	}
	t.name, t.tagFor, t.tag, t.avatar = name, size, nil, nil
	colour := c.scene.Brand.TagColour()
	if img := scene.Tag(name, size, colour); img != nil {
		t.tag = newOverlay(img)
	}
	if img := scene.Avatar(name, size, colour); img != nil {
		t.avatar = newOverlay(img)
	}

}

func (c *Compositor) drawTile(t *tile, now time.Time) error {
	cell := t.drawn
	if cell.Dx() < 2 || cell.Dy() < 2 {
		return nil
	}
	f := c.picture(t, now)
	// A letterboxed picture is a tile of its own shape inside its cell: the
	// bars are left to what lies under them (the background, or the main
	// tile under picture-in-picture), and the picture's corners are the
	// ones rounded.
	area := cell
	if f != nil && t.fit {
		area = scene.Fit(f.Rect.Size(), cell)
	}
	if area != t.area && cell == t.areaIn && !t.area.Empty() {
		Fill(c.canvas, t.area, c.bg) // the picture changed shape in place
	}
	t.area, t.areaIn = area, cell
	round := area != c.bounds && area != c.stage // a full-frame tile keeps square corners
	if round {
		c.keepUnder(area)
	}
	var err error
	if f == nil {
		c.placeholder(t, area)
	} else {
		err = c.scale(t, f, area)
	}
	if round {
		c.roundCorners(area)
		// Whoever speaks is ringed, in a layout of several tiles, once
		// their tile is in place.
		if !t.leaving && cell.Size() == t.tagFor && t.slot.Speaking() {
			c.drawRing(area)
		}
	}
	if t.tag != nil {
		m := scene.TagMargin(t.tagFor)
		if t.tag.w+2*m <= area.Dx() && t.tag.h+2*m <= area.Dy() {
			t.tag.blend(c.canvas, image.Pt(area.Min.X+m, area.Max.Y-m-t.tag.h), t.tagOpacity)
		}
	}
	return err
}

// picture is the frame to draw t from, nil for none: the source's newest
// (kept by the tile until the next, so that if the source leaves, the tile
// leaves with it), or a leaving tile's last.
func (c *Compositor) picture(t *tile, now time.Time) *Frame {
	if t.leaving {
		return t.last
	}
	f, at := t.slot.take(now)
	if f != nil && (now.Sub(at) > c.StallAfter || t.slot.feedStopped(now)) {
		f.Release()
		f = nil
	}
	// The same Frame as last tick is the same picture: the tile held a
	// reference, so its pool could not hand it out again meanwhile.
	// Anything else makes what scale kept a picture of the past (and its
	// Frame free to come back from the pool as another picture).
	t.repeat = f != nil && f == t.last
	t.repeats -= t.repeats / 8
	if t.repeat {
		t.repeats += 32
	} else {
		t.scaledOf = nil
	}
	t.keep(f)
	return f
}

// scale draws f into dst: the whole of it for a letterboxed tile (dst has
// its shape), else the part that covers dst.
func (c *Compositor) scale(t *tile, f *Frame, dst image.Rectangle) error {
	src := f.Rect
	if !t.fit {
		src = scene.Crop(src.Size(), dst).Add(f.Rect.Min)
	}
	if src == f.Rect && dst.Size() == src.Size() {
		copyInto(c.canvas, &f.YCbCr, dst.Min)
		return nil
	}
	if s := t.scaled; s != nil && t.scaledOf == f && t.scaledSrc == src && s.Rect.Size() == dst.Size() && c.copyable(dst) {
		copyInto(c.canvas, s, dst.Min) // a memcpy where swscale took 5-7 times as long
		return nil
	}
	sc := c.scalers[t.slot]
	if sc == nil {
		sc = &shim.Scaler{}
		c.scalers[t.slot] = sc
	}
	if !c.keepScaled(t, dst) {
		// The buffer stays with the tile: a source near the threshold
		// (25 fps) would otherwise have one made again every few ticks.
		t.scaledOf = nil
		return sc.ScaleRect(&f.YCbCr, src, c.canvas, dst)
	}
	if t.scaled == nil || t.scaled.Rect.Size() != dst.Size() {
		t.scaled = shim.NewCanvas(dst.Dx(), dst.Dy())
	}
	t.scaledOf, t.scaledSrc = nil, src
	if err := sc.ScaleRect(&f.YCbCr, src, t.scaled, t.scaled.Rect); err != nil {
		return err
	}
	t.scaledOf = f
	copyInto(c.canvas, t.scaled, dst.Min)
	return nil
}

// keepScaled is whether t's picture, about to be scaled into dst, is worth
// keeping scaled for the ticks that show it again: it costs a copy more
// than scaling into the canvas, and saves a scale at each repeat. So only
// for a tile in place (a moving tile's size changes every tick) whose
// source has lately repeated at more than about one tick in six (a 15 or
// 24 fps source in a 30 fps program, or one stalled: not a 30 fps one that
// jitters once in a while), and where a copy can go (copyable).
func (c *Compositor) keepScaled(t *tile, dst image.Rectangle) bool {
	return t.repeats > 40 && t.drawn == t.to && c.copyable(dst)
}

// copyable is whether copyInto can draw a picture of dst's size at dst
// just where swscale would: within the canvas, with even corners and size.
func (c *Compositor) copyable(dst image.Rectangle) bool {
	return dst.In(c.bounds) && dst.Min.X%2 == 0 && dst.Min.Y%2 == 0 && dst.Dx()%2 == 0 && dst.Dy()%2 == 0
}

// placeholder fills the tile of a source with no picture, and shows who
// it is: their initials, in the middle, once the tile is big enough.
func (c *Compositor) placeholder(t *tile, cell image.Rectangle) {
	Fill(c.canvas, cell, Placeholder)
	if a := t.avatar; a != nil && a.w <= cell.Dx() && a.h <= cell.Dy() {
		a.blend(c.canvas, image.Pt(cell.Min.X+(cell.Dx()-a.w)/2, cell.Min.Y+(cell.Dy()-a.h)/2), t.tagOpacity)
	}
}

// eachCornerRow calls fn for every row of the four corner squares of
// cell, in every plane (0 luma, 1 Cb, 2 Cr), always in the same order (so
// keepUnder and roundCorners walk the same pixels): the row of the plane,
// the row of m that belongs to it, and whether the mask runs right to left
// (the right-hand corners). Cells too small for the radius (tiles growing
// in or shrinking away) are left square.
func (c *Compositor) eachCornerRow(cell image.Rectangle, m *cornerMask, fn func(row, mask []uint8, flip bool, plane int)) {
	n, cn := m.n, m.n/2
	if cell.Dx() < 2*n || cell.Dy() < 2*n {
		return
	}
	img := c.canvas
	for k := range 4 {
		right, bottom := k&1 != 0, k&2 != 0
		x, y := cell.Min.X, cell.Min.Y
		if right {
			x = cell.Max.X - n
		}
		if bottom {
			y = cell.Max.Y - n
		}
		for j := range n {
			mj := j
			if bottom {
				mj = n - 1 - j
			}
			o := img.YOffset(x, y+j)
			fn(img.Y[o:o+n], m.luma[mj*n:(mj+1)*n], right, 0)
		}
		for p, plane := range [2][]uint8{img.Cb, img.Cr} {
			for j := range cn {
				mj := j
				if bottom {
					mj = cn - 1 - j
				}
				o := img.COffset(x, y+2*j)
				fn(plane[o:o+cn], m.chroma[mj*cn:(mj+1)*cn], right, p+1)
			}
		}
	}
}

// keepUnder saves what lies under cell's corners (the background, or the
// main tile under a picture-in-picture tile), for roundCorners.
func (c *Compositor) keepUnder(cell image.Rectangle) {
	c.under = c.under[:0]
	c.eachCornerRow(cell, c.corner, func(row, _ []uint8, _ bool, _ int) { c.under = append(c.under, row...) })
}

// roundCorners blends the corners of the tile just drawn in cell into what
// keepUnder saved, through the precomputed coverage mask: the per-frame
// cost is 4·r² pixels per tile, and nothing is allocated.
func (c *Compositor) roundCorners(cell image.Rectangle) {
	i := 0
	c.eachCornerRow(cell, c.corner, func(row, mask []uint8, flip bool, _ int) {
		under := c.under[i : i+len(row)]
		i += len(row)
		mix(row, under, mask, flip)
	})
}

// drawRing outlines cell in the ring colour: its straight edges are
// filled, its corners blended through the ring's corner mask.
func (c *Compositor) drawRing(cell image.Rectangle) {
	if c.ringEdge == nil || cell.Dx() < 2*c.r || cell.Dy() < 2*c.r {
		return
	}
	r, th, col := c.r, c.thick, c.ringColour
	x0, y0, x1, y1 := cell.Min.X, cell.Min.Y, cell.Max.X, cell.Max.Y
	Fill(c.canvas, image.Rect(x0+r, y0, x1-r, y0+th), col)
	Fill(c.canvas, image.Rect(x0+r, y1-th, x1-r, y1), col)
	Fill(c.canvas, image.Rect(x0, y0+r, x0+th, y1-r), col)
	Fill(c.canvas, image.Rect(x1-th, y0+r, x1, y1-r), col)
	c.eachCornerRow(cell, c.ringEdge, func(row, mask []uint8, flip bool, plane int) {
		v := [3]uint8{col.Y, col.Cb, col.Cr}[plane]
		n := len(row)
		for x := range row {
			a := mask[x]
			if flip {
				a = mask[n-1-x]
			}
			if a != 0 {
				row[x] = uint8(int(row[x]) + (int(v)-int(row[x]))*int(a)/255)
			}
		}
	})
}

// mix blends row towards under where mask (flipped: read right to left)
// is below full: row = under + (row − under)·mask.
func mix(row, under, mask []uint8, flip bool) {
	n := len(row)
	for x := range row {
		a := mask[x]
		if flip {
			a = mask[n-1-x]
		}
		if a == 255 {
			continue
		}
		u, t := int(under[x]), int(row[x])
		row[x] = uint8(u + (t-u)*int(a)/255)
	}
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

// Close frees the scalers and lets go of the pictures. Safe to call twice.
func (c *Compositor) Close() {
	for s, sc := range c.scalers {
		sc.Close()
		delete(c.scalers, s)
	}
	for _, t := range c.order {
		t.keep(nil)
	}
	for _, t := range c.tiles {
		t.keep(nil)
	}
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
