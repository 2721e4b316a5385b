// Package testpattern is the built-in source: a moving pattern with a
// running clock, and a 1 kHz beep once a second that starts on the same
// media instant as a white flash frame — so the program can be checked by
// eye, and A/V sync by machine (flash frame time vs beep onset).
//
// It is the host's picture when there is no camera and the source of every
// pipeline test.
package testpattern

import (
	"fmt"
	"image"
	"math"
	"time"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gomonobold"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"

	"greenroom/encode/compositor"
)

// Beep is the tone's shape: it starts on every whole second.
const (
	BeepHz       = 1000
	BeepDuration = 100 * time.Millisecond
	BeepLevel    = 0.5 // linear, about -6 dBFS
)

// Pattern draws frames and samples as pure functions of their index, so
// the same media time always looks and sounds the same. It is used by one
// goroutine.
type Pattern struct {
	W, H, FPS int
	pool      compositor.Pool
	stripes   []byte // luma of one diagonal stripe period, doubled for wrap-free copies
	period    int
	cbRow     []byte // one chroma row of the colour bars
	crRow     []byte
	glyphs    map[rune]*image.Alpha
	glyphW    int
	glyphH    int
}

// New returns a w×h pattern at fps frames per second.
func New(w, h, fps int) (*Pattern, error) {
	if w < 64 || h < 64 || w%2 != 0 || h%2 != 0 || fps <= 0 {
		return nil, fmt.Errorf("testpattern: bad size %dx%d@%d", w, h, fps)
	}
	p := &Pattern{W: w, H: h, FPS: fps, period: 2 * (h / 9 &^ 1)}
	p.stripes = make([]byte, w+2*p.period)
	for i := range p.stripes {
		// A soft triangle wave: readable motion, cheap to encode.
		phase := float64(i%p.period) / float64(p.period)
		p.stripes[i] = byte(60 + 120*math.Abs(2*phase-1))
	}
	bars := [4][2]byte{{90, 240}, {54, 34}, {240, 110}, {160, 70}} // Cb, Cr: red, green, blue, cyan
	p.cbRow, p.crRow = make([]byte, w/2), make([]byte, w/2)
	for x := range p.cbRow {
		b := bars[x*4/(w/2)]
		p.cbRow[x], p.crRow[x] = b[0], b[1]
	}
	if err := p.loadGlyphs(h / 12); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *Pattern) loadGlyphs(px int) error {
	ft, err := opentype.Parse(gomonobold.TTF)
	if err != nil {
		return fmt.Errorf("testpattern: font: %w", err)
	}
	face, err := opentype.NewFace(ft, &opentype.FaceOptions{Size: float64(px), DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		return fmt.Errorf("testpattern: font face: %w", err)
	}
	defer face.Close()
	m := face.Metrics()
	adv, _ := face.GlyphAdvance('0')
	p.glyphW, p.glyphH = adv.Ceil(), (m.Ascent + m.Descent).Ceil()
	p.glyphs = map[rune]*image.Alpha{}
	for _, r := range "0123456789:. #" {
		a := image.NewAlpha(image.Rect(0, 0, p.glyphW, p.glyphH))
		d := font.Drawer{Dst: a, Src: image.Opaque, Face: face, Dot: fixed.Point26_6{Y: m.Ascent}}
		d.DrawString(string(r))
		p.glyphs[r] = a
	}
	return nil
}

// IsFlash reports whether frame n is a flash frame: the first frame of
// every second.
func (p *Pattern) IsFlash(n int64) bool { return n%int64(p.FPS) == 0 }

// Frame draws frame n into a frame from the pattern's pool; the caller owns
// the returned reference.
func (p *Pattern) Frame(n int64) *compositor.Frame {
	f := p.pool.Get(p.W, p.H)
	img := &f.YCbCr
	if p.IsFlash(n) {
		compositor.Fill(img, img.Rect, compositor.YCbCr{Y: 235, Cb: 128, Cr: 128})
	} else {
		p.drawStripes(img, n)
	}
	p.drawClock(img, n)
	return f
}

// drawStripes moves diagonal luma stripes two pixels a frame over four
// vertical colour bars: every frame differs from the last, and by how much
// tells the frame rate.
func (p *Pattern) drawStripes(img *image.YCbCr, n int64) {
	shift := int(n*4) % p.period
	for y := 0; y < p.H; y++ {
		o := (shift + y) % p.period
		copy(img.Y[y*img.YStride:y*img.YStride+p.W], p.stripes[o:o+p.W])
	}
	cw := p.W / 2
	for y := 0; y < p.H/2; y++ {
		copy(img.Cb[y*img.CStride:y*img.CStride+cw], p.cbRow)
		copy(img.Cr[y*img.CStride:y*img.CStride+cw], p.crRow)
	}
}

// drawClock writes "HH:MM:SS.mmm #frame" in white on a dark box, bottom left.
func (p *Pattern) drawClock(img *image.YCbCr, n int64) {
	t := time.Duration(n) * time.Second / time.Duration(p.FPS)
	text := fmt.Sprintf("%02d:%02d:%02d.%03d #%d", int(t.Hours()), int(t.Minutes())%60, int(t.Seconds())%60, t.Milliseconds()%1000, n)
	pad := p.glyphH / 4
	box := image.Rect(0, 0, len(text)*p.glyphW+2*pad, p.glyphH+2*pad).Add(image.Pt(p.W/24, p.H-p.H/24-p.glyphH-2*pad))
	box.Min.X, box.Min.Y = box.Min.X&^1, box.Min.Y&^1
	compositor.Fill(img, box, compositor.YCbCr{Y: 16, Cb: 128, Cr: 128})
	y := box.Min.Y + pad
	for i, r := range text {
		g := p.glyphs[r]
		if g == nil {
			continue
		}
		x := box.Min.X + pad + i*p.glyphW
		for gy := 0; gy < p.glyphH; gy++ {
			row := img.Y[(y+gy)*img.YStride+x:]
			mask := g.Pix[gy*g.Stride : gy*g.Stride+p.glyphW]
			for gx, a := range mask {
				if a != 0 {
					row[gx] = byte(16 + (int(a)*219)/255)
				}
			}
		}
	}
}

// Audio fills interleaved stereo dst with the pattern's sound starting at
// sample index from (on a 48 kHz clock when rate is 48000).
func (p *Pattern) Audio(dst []float32, from int64, rate int) {
	beepLen := int64(BeepDuration) * int64(rate) / int64(time.Second)
	for i := 0; i < len(dst)/2; i++ {
		s := from + int64(i)
		var v float32
		if s%int64(rate) < beepLen {
			v = BeepLevel * float32(math.Sin(2*math.Pi*BeepHz*float64(s%int64(rate))/float64(rate)))
		}
		dst[2*i], dst[2*i+1] = v, v
	}
}
