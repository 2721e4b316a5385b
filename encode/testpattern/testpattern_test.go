package testpattern

import (
	"math"
	"testing"
)

func meanLuma(y []byte) float64 {
	var s int
	for _, v := range y {
		s += int(v)
	}
	return float64(s) / float64(len(y))
}

func TestFramesMoveAndFlash(t *testing.T) {
	p, err := New(640, 360, 30)
	if err != nil {
		t.Fatal(err)
	}
	flash := p.Frame(30)
	a, b := p.Frame(31), p.Frame(32)
	defer flash.Release()
	defer a.Release()
	defer b.Release()
	if m := meanLuma(flash.Y); m < 200 {
		t.Errorf("flash frame mean luma %.0f, want white", m)
	}
	if m := meanLuma(a.Y); m > 180 || m < 60 {
		t.Errorf("pattern frame mean luma %.0f, want mid-grey stripes", m)
	}
	diff := 0
	for i := range a.Y {
		if a.Y[i] != b.Y[i] {
			diff++
		}
	}
	if diff < len(a.Y)/4 {
		t.Errorf("consecutive frames differ in %d of %d pixels: not moving", diff, len(a.Y))
	}
	if _, err := New(63, 360, 30); err == nil {
		t.Error("odd size accepted")
	}
}

func TestBeepOnTheSecond(t *testing.T) {
	p, _ := New(640, 360, 30)
	buf := make([]float32, 2*48000)
	p.Audio(buf, 48000*5, 48000) // second 5
	rms := func(from, to int) float64 {
		var s float64
		for i := from; i < to; i++ {
			s += float64(buf[2*i]) * float64(buf[2*i])
		}
		return math.Sqrt(s / float64(to-from))
	}
	if r := rms(0, 4800); r < 0.3 {
		t.Errorf("beep RMS %.2f in the first 100 ms, want ~0.35", r)
	}
	if r := rms(4800, 48000); r != 0 {
		t.Errorf("RMS %.3f after the beep, want silence", r)
	}
	if buf[100] != buf[101] {
		t.Error("channels differ")
	}
}
