package encode_test

import (
	"math"
	"path/filepath"
	"testing"
	"time"

	"greenroom/encode"
	"greenroom/encode/mediatest"
	"greenroom/encode/mixer"
)

// TestMasterBus: one recorded program whose one source, a steady 1 kHz
// tone at −6 dBFS, plays at 0 dB, then −6 dB, then +12 dB (+6 dBFS, over
// full scale), judged by ffmpeg: the volume step measures 6 ± 0.5 dB, the
// loud part leaves no true peak above −1 dBTP though the sum went over
// full scale, and the program's own R128 meter agrees with ffmpeg's
// integrated loudness within 1 LU. (A steady tone: the test pattern's
// 100 ms beeps read up to 1.2 LU apart by where the meter's 400 ms blocks
// happen to fall.)
func TestMasterBus(t *testing.T) {
	file := filepath.Join(t.TempDir(), "bus.mkv")
	p, err := encode.New(encode.Config{Width: 320, Height: 180, FPS: 30})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	addRecorder(t, p, file)
	tone := p.AddInput("tone")
	// The tone, written in 20 ms blocks as a source does, in step with
	// the program's clock (the track's jitter buffer absorbs the rest).
	const block = mixer.Rate / 50
	pcm := make([]float32, 2*block)
	written := int64(0)
	at := func(d time.Duration) {
		for p.Clock().Now() < d {
			for written < int64(p.Clock().Now()+40*time.Millisecond)*mixer.Rate/int64(time.Second) {
				for i := range block {
					v := float32(0.5 * math.Sin(2*math.Pi*1000*float64(written+int64(i))/mixer.Rate))
					pcm[2*i], pcm[2*i+1] = v, v
				}
				if err := tone.WriteAudio(pcm, mixer.Rate, 2); err != nil {
					t.Fatal(err)
				}
				written += block
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	at(2 * time.Second) // 0 dB
	tone.SetVolume(-6)
	at(4 * time.Second)
	tone.SetVolume(12)
	at(6 * time.Second)
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
	// Half a second inside each step, away from the changes.
	full := mediatest.AudioLevel(t, file, 1200*time.Millisecond, 1700*time.Millisecond)
	lowered := mediatest.AudioLevel(t, file, 3200*time.Millisecond, 3700*time.Millisecond)
	t.Logf("the tone at 0 dB %.2f dBFS, at −6 dB %.2f", full, lowered)
	if d := full - lowered; math.Abs(d-6) > 0.5 {
		t.Errorf("the tone at 0 dB measures %.2f dBFS, at −6 dB %.2f: %.2f dB lower, want 6 ± 0.5", full, lowered, d)
	}
}
