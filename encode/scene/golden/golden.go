// Package golden compares rendered pictures with golden images kept as
// PNG files, for the tests of whatever draws (name tags and text in
// encode/scene; the compositor could use it too). A picture may differ a
// little from its golden image (anti-aliasing, code paths that differ by
// CPU) but not a lot; on a mismatch the picture got and an amplified
// difference are written to failed/ beside the golden images, for a person
// to look at.
package golden

import (
	"image"
	"image/draw"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

// Tolerance is how far a picture may be from its golden image: the mean
// absolute difference of its channels (0 to 1), and the share of pixels
// with a channel more than 32 levels off.
type Tolerance struct {
	Mean, Far float64
}

// Check compares got with dir/name.png, or writes it there when update
// is set (look at it before committing it).
func Check(t testing.TB, dir, name string, got *image.RGBA, update bool, tol Tolerance) {
	t.Helper()
	path := filepath.Join(dir, name+".png")
	if update {
		Write(t, path, got)
		return
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	defer f.Close()
	ref, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	want := image.NewRGBA(ref.Bounds())
	draw.Draw(want, want.Rect, ref, ref.Bounds().Min, draw.Src)
	failed := filepath.Join(dir, "failed", name)
	if want.Rect != got.Rect {
		Write(t, failed+".png", got)
		t.Errorf("%s is %v, its golden image %v (got in %s/failed/)", name, got.Rect, want.Rect, dir)
		return
	}
	diff := image.NewRGBA(got.Rect)
	if mean, far := Compare(got, want, diff); mean > tol.Mean || far > tol.Far {
		Write(t, failed+".png", got)
		Write(t, failed+"-diff.png", diff)
		t.Errorf("%s differs from its golden image: mean %.2f%%, %.2f%% of pixels far off (got and diff in %s/failed/)", name, mean*100, far*100, dir)
	}
}

// Compare returns the mean absolute difference of two pictures of the same
// size (0 to 1) and the share of pixels with a channel more than 32
// levels off; diff, if not nil, gets the difference amplified ×4. Pictures
// of different sizes are as different as can be: 1, 1.
func Compare(a, b, diff *image.RGBA) (mean, far float64) {
	if a.Rect != b.Rect {
		return 1, 1
	}
	var sum, n int
	off := false
	for i := range a.Pix {
		d := int(a.Pix[i]) - int(b.Pix[i])
		if d < 0 {
			d = -d
		}
		sum += d
		off = off || d > 32
		if diff != nil {
			diff.Pix[i] = uint8(min(255, 4*d))
		}
		if i%4 == 3 {
			if off {
				n++
			}
			off = false
			if diff != nil {
				diff.Pix[i] = 255
			}
		}
	}
	return float64(sum) / float64(len(a.Pix)) / 255, float64(n) / float64(len(a.Pix)/4)
}

// Write writes img to path as a PNG, making its folder.
func Write(t testing.TB, path string, img image.Image) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}
