package master

import (
	"math"
	"testing"

	"github.com/asticode/go-astiav"

	"greenroom/encode/mediatest"
	"greenroom/encode/mixer"
	"greenroom/encode/shim"
)

// speech is mediatest.Speech at the program's rate.
func speech(i int64, amp float64) float32 { return mediatest.Speech(i, mixer.Rate, amp) }

// Thirty seconds of speech, too quiet or too loud, land at the target as
// ffmpeg's ebur128 measures the whole: the gain needs no look-ahead, so
// it adds no latency (loudnorm's live mode held 3 s).
func TestLoudnessTarget(t *testing.T) {
	for _, tc := range []struct {
		name        string
		amp, target float64
	}{{"quiet to −14", 0.2, -14}, {"loud to −23", 0.9, -23}, {"quiet to −16", 0.2, -16}} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBus(t)
			if err := b.SetTarget(tc.target); err != nil {
				t.Fatal(err)
			}
			const n = 1024
			left, right := make([]float32, n), make([]float32, n)
			var out []float32
			emit := func(f *astiav.Frame) error {
				var err error
				out, err = shim.Interleave(out, f, 2)
				return err
			}
			for at := int64(0); at < 30*mixer.Rate; at += n {
				for i := range left {
					left[i] = speech(at+int64(i), tc.amp)
					right[i] = left[i]
				}
				if err := b.Process(left, right, at, emit); err != nil {
					t.Fatal(err)
				}
			}
			l := b.Loudness()
			got := mediatest.Loudness(t, writeWAV(t, out))
			t.Logf("ffmpeg: %.1f LUFS, %.1f dBTP; the bus: gain %+.1f dB, I %.1f, S %.1f", got.Integrated, got.TruePeak, l.Gain, l.Integrated, l.ShortTerm)
			if math.Abs(got.Integrated-tc.target) > 1 {
				t.Errorf("30 s of speech at %.1f LUFS, want the target %.0f ± 1 LU", got.Integrated, tc.target)
			}
			if got.TruePeak > -3.8 {
				t.Errorf("true peak %.1f dBTP: the gain pushed past the limiter", got.TruePeak)
			}
		})
	}
}

// Without a target the bus leaves the level alone; a show going live
// (Reset: its meter starts afresh, its first short-term figures too low)
// does not raise the gain; taking the target away brings it back to 0 dB.
func TestNoLoudnessTarget(t *testing.T) {
	b := newBus(t)
	const n = 1024
	left, right := make([]float32, n), make([]float32, n)
	at := int64(0)
	push := func(seconds int64) {
		for end := at + seconds*mixer.Rate; at < end; at += n {
			for i := range left {
				left[i] = speech(at+int64(i), 0.2)
				right[i] = left[i]
			}
			if err := b.Process(left, right, at, func(*astiav.Frame) error { return nil }); err != nil {
				t.Fatal(err)
			}
		}
	}
	push(5)
	if g := b.Loudness().Gain; g != 0 {
		t.Errorf("gain %+.1f dB with no target, want 0", g)
	}
	if err := b.SetTarget(-14); err != nil {
		t.Fatal(err)
	}
	push(5)
	g := b.Loudness().Gain
	if g < 6 {
		t.Errorf("gain %+.1f dB after 5 s towards −14 LUFS from about −28, want it rising", g)
	}
	b.Reset()
	push(2)
	if after := b.Loudness().Gain; after != g {
		t.Errorf("gain %+.1f dB 2 s after the meter's reset, want it held at %+.1f", after, g)
	}
	if err := b.SetTarget(0); err != nil {
		t.Fatal(err)
	}
	push(10)
	if g := b.Loudness().Gain; g != 0 {
		t.Errorf("gain %+.1f dB 10 s after the target was taken away, want 0", g)
	}
	for _, bad := range []float64{-3, -60, math.NaN()} {
		if b.SetTarget(bad) == nil {
			t.Errorf("target %v LUFS accepted", bad)
		}
	}
}
