package encode_test

import (
	"math"
	"path/filepath"
	"testing"
	"time"

	"greenroom/encode"
	"greenroom/encode/mediatest"
)

// TestMasterBus: one recorded program whose test pattern's beep (−6 dBFS)
// plays at 0 dB, then −6 dB, then +12 dB (+6 dBFS, over full scale),
// judged by ffmpeg: the volume step measures 6 ± 0.5 dB, the loud part
// leaves no true peak above −1 dBTP though the sum went over full scale,
// and the program's own R128 meter agrees with ffmpeg's.
func TestMasterBus(t *testing.T) {
	file := filepath.Join(t.TempDir(), "bus.mkv")
	p := startProgramWith(t, encode.Config{Width: 320, Height: 180, FPS: 30})
	addRecorder(t, p, file)
	host := p.Input("host")
	at := func(d time.Duration) {
		for p.Clock().Now() < d {
			time.Sleep(10 * time.Millisecond)
		}
	}
	at(2500 * time.Millisecond) // beeps at 1 and 2 s at 0 dB
	host.SetVolume(-6)          // 3 and 4 s
	at(4500 * time.Millisecond)
	host.SetVolume(12) // 5 and 6 s
	at(6500 * time.Millisecond)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	meter := p.Loudness() // the last, flushed block measured too
	got := mediatest.Loudness(t, file)
	t.Logf("ffmpeg: true peak %.2f dBTP, integrated %.2f LUFS; program's meter: mix peak %+.1f dBFS, true peak %.2f, M %.1f S %.1f I %.2f",
		got.TruePeak, got.Integrated, meter.MixPeak, meter.TruePeak, meter.Momentary, meter.ShortTerm, meter.Integrated)
	if got.TruePeak > -1.0 {
		t.Errorf("true peak %.2f dBTP in the recording, want ≤ −1.0", got.TruePeak)
	}
	if meter.MixPeak < 5.5 {
		t.Errorf("the mix peaked at %+.1f dBFS before the limiter, want ≈ +6: the test did not drive it over full scale", meter.MixPeak)
	}
	if d := math.Abs(meter.Integrated - got.Integrated); d > 1 {
		t.Errorf("the program's meter says %.2f LUFS integrated, ffmpeg %.2f: %.2f LU apart, want ≤ 1", meter.Integrated, got.Integrated, d)
	}
	onsets := mediatest.ToneOnsets(t, file, 500*time.Millisecond)
	level := func(second float64) float64 {
		for _, o := range onsets {
			if math.Abs(o-second) < 0.3 {
				return mediatest.AudioLevel(t, file, time.Duration((o+0.01)*float64(time.Second)), time.Duration((o+0.09)*float64(time.Second)))
			}
		}
		t.Fatalf("no beep near %.0f s in %v", second, onsets)
		return 0
	}
	t.Logf("beeps at %v", onsets)
	full, lowered := level(2), level(4)
	t.Logf("the beep at 0 dB %.2f dBFS, at −6 dB %.2f", full, lowered)
	if d := full - lowered; math.Abs(d-6) > 0.5 {
		t.Errorf("the beep at 0 dB measures %.2f dBFS, at −6 dB %.2f: %.2f dB lower, want 6 ± 0.5", full, lowered, d)
	}
}
