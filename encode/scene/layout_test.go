package scene

import (
	"image"
	"testing"
)

func aspect(r image.Rectangle) float64 { return float64(r.Dx()) / float64(r.Dy()) }

// TestArrangeInvariants checks what every layout owes every count of
// people at every program size, landscape and portrait: tiles inside the program, even for 4:2:0,
// not overlapping (but for the small tiles laid over picture-in-picture's
// main one), and the main source always shown and the largest.
func TestArrangeInvariants(t *testing.T) {
	for _, bounds := range []image.Rectangle{image.Rect(0, 0, 1280, 720), image.Rect(0, 0, 1920, 1080), image.Rect(0, 0, 720, 1280), image.Rect(0, 0, 1080, 1920)} {
		for _, layout := range Layouts {
			for n := 1; n <= 10; n++ {
				for _, main := range []int{0, n - 1} {
					rects, err := Arrange(layout, n, main, bounds)
					if err != nil {
						t.Fatal(err)
					}
					name := func() string { return layout + " " + bounds.Size().String() }
					if len(rects) != n {
						t.Fatalf("%s n=%d: %d rects", name(), n, len(rects))
					}
					if rects[main].Empty() {
						t.Errorf("%s n=%d: main %d not shown", name(), n, main)
					}
					for i, r := range rects {
						if r.Empty() {
							if layout != Solo {
								t.Errorf("%s n=%d: source %d not shown", name(), n, i)
							}
							continue
						}
						if !r.In(bounds) {
							t.Errorf("%s n=%d: %d %v outside", name(), n, i, r)
						}
						if r.Min.X%2 != 0 || r.Min.Y%2 != 0 || r.Dx()%2 != 0 || r.Dy()%2 != 0 {
							t.Errorf("%s n=%d: %d %v not even", name(), n, i, r)
						}
						// (A portrait screen keeps its 16:9 across the
						// top; the speakers below may be taller.)
						if (r.Dx() > rects[main].Dx() || r.Dy() > rects[main].Dy()) && !(layout == Screen && Portrait(bounds)) {
							t.Errorf("%s n=%d: %d %v larger than main %v", name(), n, i, r, rects[main])
						}
						if a := aspect(r); a < 0.55 || a > 1.79 {
							t.Errorf("%s n=%d: %d %v aspect %.2f", name(), n, i, r, a)
						}
						for j := range i {
							if layout == PiP && (i == main || j == main) {
								continue
							}
							if r.Overlaps(rects[j]) {
								t.Errorf("%s n=%d: %d %v overlaps %d %v", name(), n, i, r, j, rects[j])
							}
						}
					}
				}
			}
		}
	}
}

func TestArrangeShapes(t *testing.T) {
	hd := image.Rect(0, 0, 1920, 1080)
	for _, tc := range []struct {
		layout  string
		n, main int
		want    []image.Rectangle
	}{
		// One person: the whole program, edge to edge, in every layout
		// that has a main; a row of one keeps its margins and 16:9.
		{Solo, 1, 0, []image.Rectangle{hd}},
		{Grid, 1, 0, []image.Rectangle{hd}},
		{Spotlight, 1, 0, []image.Rectangle{hd}},
		{PiP, 1, 0, []image.Rectangle{hd}},
		{SideBySide, 1, 0, []image.Rectangle{image.Rect(22, 12, 1898, 1068)}},
		// Solo shows the main one only.
		{Solo, 3, 1, []image.Rectangle{{}, hd, {}}},
		// Two side by side: halves, full height.
		{SideBySide, 2, 0, []image.Rectangle{image.Rect(12, 12, 954, 1068), image.Rect(966, 12, 1908, 1068)}},
		// Grid of two: 16:9 halves centred vertically.
		{Grid, 2, 0, []image.Rectangle{image.Rect(12, 276, 954, 804), image.Rect(966, 276, 1908, 804)}},
		// Spotlight: the main large on the left, a 384x216 strip on the right.
		{Spotlight, 2, 1, []image.Rectangle{image.Rect(1524, 432, 1908, 648), image.Rect(12, 12, 1512, 1068)}},
		// Picture-in-picture: the main full frame, a fifth-wide tile in
		// the bottom-right corner.
		{PiP, 2, 0, []image.Rectangle{hd, image.Rect(1512, 840, 1896, 1056)}},
	} {
		got, err := Arrange(tc.layout, tc.n, tc.main, hd)
		if err != nil {
			t.Fatal(err)
		}
		for i := range tc.want {
			if got[i] != tc.want[i] {
				t.Errorf("%s n=%d main=%d: rect %d = %v, want %v", tc.layout, tc.n, tc.main, i, got[i], tc.want[i])
			}
		}
	}
}

func TestGridRows(t *testing.T) {
	hd := image.Rect(0, 0, 1920, 1080)
	for _, tc := range []struct{ n, rows int }{{2, 1}, {3, 2}, {4, 2}, {5, 2}, {6, 2}, {7, 3}, {9, 3}, {10, 3}} {
		rects, _ := Arrange(Grid, tc.n, 0, hd)
		ys := map[int]bool{}
		for _, r := range rects {
			ys[r.Min.Y] = true
			if a := aspect(r); a < 1.74 || a > 1.81 {
				t.Errorf("n=%d: %v aspect %.3f, want 16:9", tc.n, r, a)
			}
		}
		if len(ys) != tc.rows {
			t.Errorf("n=%d: %d rows, want %d", tc.n, len(ys), tc.rows)
		}
		// The last row is centred.
		last := rects[len(rects)-1]
		var minX int = last.Min.X
		for _, r := range rects {
			if r.Min.Y == last.Min.Y {
				minX = min(minX, r.Min.X)
			}
		}
		if mid := (minX + last.Max.X) / 2; mid < 950 || mid > 970 {
			t.Errorf("n=%d: last row centred at %d", tc.n, mid)
		}
		// The whole grid is centred vertically.
		if mid := (rects[0].Min.Y + last.Max.Y) / 2; mid < 530 || mid > 550 {
			t.Errorf("n=%d: grid centred at y=%d", tc.n, mid)
		}
	}
}

func TestArrangeUnknown(t *testing.T) {
	if _, err := Arrange("mosaic", 2, 0, image.Rect(0, 0, 1280, 720)); err == nil {
		t.Error("an unknown layout was accepted")
	}
	if (Scene{Layout: "pip"}).Valid() != nil || (Scene{Layout: ""}).Valid() == nil {
		t.Error("Valid")
	}
	// A main index out of range means the first.
	r, _ := Arrange(Solo, 2, 5, image.Rect(0, 0, 1280, 720))
	if r[0].Empty() || !r[1].Empty() {
		t.Errorf("main out of range: %v", r)
	}
}

func TestFitAndCrop(t *testing.T) {
	for _, tc := range []struct {
		src       image.Point
		cell      image.Rectangle
		fit, crop image.Rectangle
	}{
		{image.Pt(1280, 720), image.Rect(0, 0, 1920, 1080), image.Rect(0, 0, 1920, 1080), image.Rect(0, 0, 1280, 720)},
		{image.Pt(640, 480), image.Rect(0, 0, 1920, 1080), image.Rect(240, 0, 1680, 1080), image.Rect(0, 40, 640, 400)},
		{image.Pt(1080, 1920), image.Rect(100, 100, 740, 460), image.Rect(318, 100, 520, 460), image.Rect(0, 438, 1080, 1044)},
		{image.Pt(1280, 720), image.Rect(0, 0, 942, 1056), image.Rect(0, 264, 942, 792), image.Rect(318, 0, 960, 720)},
		{image.Pt(0, 0), image.Rect(0, 0, 10, 10), image.Rectangle{}, image.Rectangle{}},
	} {
		if got := Fit(tc.src, tc.cell); got != tc.fit {
			t.Errorf("Fit(%v, %v) = %v, want %v", tc.src, tc.cell, got, tc.fit)
		}
		if got := Crop(tc.src, tc.cell); got != tc.crop {
			t.Errorf("Crop(%v, %v) = %v, want %v", tc.src, tc.cell, got, tc.crop)
		}
	}
}
