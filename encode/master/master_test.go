package master

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/asticode/go-astiav"

	"greenroom/encode/mediatest"
	"greenroom/encode/mixer"
	"greenroom/encode/shim"
)

// TestMain keeps FFmpeg's own log to warnings, as the program does
// (encode/log.go): ebur128 prints its summary at info when freed.
func TestMain(m *testing.M) {
	astiav.SetLogLevel(astiav.LogLevelWarning)
	os.Exit(m.Run())
}

// newBus is a bus with the program's settings, closed with the test.
func newBus(t testing.TB) *Bus {
	t.Helper()
	b, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// run pushes seconds of a tone (amplitude amp, hz; a square wave if
// square) through a bus in 1024-sample blocks, and returns what came out,
// interleaved.
func run(t testing.TB, b *Bus, seconds float64, hz, amp float64, square bool) (out []float32) {
	t.Helper()
	const n = 1024
	left, right := make([]float32, n), make([]float32, n)
	emit := func(f *astiav.Frame) error {
		var err error
		out, err = shim.Interleave(out, f, 2)
		return err
	}
	total := int64(seconds * mixer.Rate)
	for at := int64(0); at < total; at += n {
		for i := range left {
			v := math.Sin(2 * math.Pi * hz * float64(at+int64(i)) / mixer.Rate)
			if square {
				v = math.Copysign(1, v)
			}
			left[i], right[i] = float32(amp*v), float32(amp*v)
		}
		if err := b.Process(left, right, at, emit); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Flush(emit); err != nil {
		t.Fatal(err)
	}
	return out
}

// writeWAV writes 48 kHz stereo float samples as a WAV file for ffmpeg.
func writeWAV(t testing.TB, pcm []float32) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bus.wav")
	data := make([]byte, 4*len(pcm))
	for i, v := range pcm {
		binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(v))
	}
	h := make([]byte, 44)
	copy(h, "RIFF")
	binary.LittleEndian.PutUint32(h[4:], uint32(36+len(data)))
	copy(h[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(h[16:], 16)
	binary.LittleEndian.PutUint16(h[20:], 3) // IEEE float
	binary.LittleEndian.PutUint16(h[22:], 2)
	binary.LittleEndian.PutUint32(h[24:], mixer.Rate)
	binary.LittleEndian.PutUint32(h[28:], mixer.Rate*8)
	binary.LittleEndian.PutUint16(h[32:], 8)
	binary.LittleEndian.PutUint16(h[34:], 32)
	copy(h[36:], "data")
	binary.LittleEndian.PutUint32(h[40:], uint32(len(data)))
	if err := os.WriteFile(path, append(h, data...), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// A mix driven 6 dB over full scale (a sine and, worse for peaks between
// samples, a square wave) leaves the bus below the ceiling as ffmpeg's own
// true-peak meter measures it, and the bus's meter saw the overload.
func TestLimiterHoldsTheCeiling(t *testing.T) {
	for _, tc := range []struct {
		name   string
		hz     float64
		square bool
	}{{"sine", 997, false}, {"square", 440, true}} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBus(t)
			out := run(t, b, 3, tc.hz, 2, tc.square) // 2 = +6 dBFS
			wav := writeWAV(t, out)
			got := mediatest.Loudness(t, wav)
			// The same through FFmpeg's aac at the program's 128 kb/s:
			// the codec's overshoot stays inside the headroom.
			m4a := filepath.Join(t.TempDir(), "bus.m4a")
			if out, err := exec.Command("ffmpeg", "-v", "error", "-i", wav, "-c:a", "aac", "-b:a", "128k", m4a).CombinedOutput(); err != nil {
				t.Fatalf("ffmpeg aac: %v\n%s", err, out)
			}
			aac := mediatest.Loudness(t, m4a)
			l := b.Loudness()
			t.Logf("ffmpeg: true peak %.1f dBTP (%.1f through AAC), %.1f LUFS; bus: mix peak %+.1f dBFS, true peak %.1f, I %.1f", got.TruePeak, aac.TruePeak, got.Integrated, l.MixPeak, l.TruePeak, l.Integrated)
			want := -1 - 3.0 // the ceiling less the codec's headroom
			if got.TruePeak > want+0.2 {
				t.Errorf("true peak %.2f dBTP after the limiter, want ≤ %.1f (its limit, within 0.2 dB)", got.TruePeak, want)
			}
			if aac.TruePeak > -1 {
				t.Errorf("true peak %.2f dBTP through AAC, want ≤ −1.0", aac.TruePeak)
			}
			if l.MixPeak < 5.9 {
				t.Errorf("the bus saw a mix peak of %.1f dBFS, want +6: it was driven over full scale", l.MixPeak)
			}
			if math.Abs(l.TruePeak-got.TruePeak) > 0.3 || math.Abs(l.Integrated-got.Integrated) > 0.5 {
				t.Errorf("the bus's meter (TP %.1f, I %.1f) disagrees with ffmpeg's (TP %.1f, I %.1f)", l.TruePeak, l.Integrated, got.TruePeak, got.Integrated)
			}
		})
	}
}

// The limiter's look-ahead does not move the sound on the program's
// clock: a tone that starts at a sample leaves the bus stamped at that
// sample, so the video need not wait for it. Quiet sound passes unchanged.
func TestLimiterKeepsTime(t *testing.T) {
	b := newBus(t)
	const n, start = 1024, 5000
	left, right := make([]float32, n), make([]float32, n)
	var out []float32
	first, started := int64(0), false
	held := int64(0)
	emit := func(f *astiav.Frame) error {
		if !started {
			first, started = f.Pts(), true
		}
		// Every frame stamped with its first sample's place, in 1/48000 s.
		if want := first + int64(len(out)/2); f.Pts() != want {
			t.Errorf("a frame stamped %d, want %d: the bus's timestamps drift from its samples", f.Pts(), want)
		}
		var err error
		out, err = shim.Interleave(out, f, 2)
		return err
	}
	for at := int64(0); at < 4*mixer.Rate/10; at += n {
		for i := range left {
			s, v := at+int64(i), 0.0
			if s >= start {
				v = 0.25 * math.Sin(2*math.Pi*1000*float64(s-start)/mixer.Rate)
			}
			left[i], right[i] = float32(v), float32(v)
		}
		if err := b.Process(left, right, at, emit); err != nil {
			t.Fatal(err)
		}
		held = max(held, b.Held())
	}
	// The first frame starts with the limiter's pre-roll of silence.
	if first != -latency {
		t.Fatalf("first frame out stamped %d, want %d", first, -latency)
	}
	onset := int64(-1)
	for i := 0; i < len(out)/2; i++ {
		if math.Abs(float64(out[2*i])) > 0.01 {
			onset = first + int64(i)
			break
		}
	}
	// The tone's first sample above 0.01 is its second (sin of 1/48 turn).
	if onset < start || onset > start+2 {
		t.Errorf("the tone starts at sample %d of the bus's output, want %d: the bus moved it %d samples", onset, start, onset-start)
	}
	peak := float32(0)
	for _, v := range out[2*(start+1000-first):] {
		peak = max(peak, v)
	}
	if math.Abs(float64(peak)-0.25) > 0.01 {
		t.Errorf("a −12 dBFS tone left at peak %.3f, want it unchanged (0.25)", peak)
	}
	// In real time the bus adds its latency (the look-ahead and the
	// resamplers') and no more: each block completes a frame.
	t.Logf("held at most %d samples (%.1f ms) in real time", held, float64(held)*1000/mixer.Rate)
	if held > latency {
		t.Errorf("the bus held %d samples after a block, want at most its latency (%d): the sound leaves later than it must", held, latency)
	}
}

// A jump in the program's clock (the audio stage skipping ahead after a
// stall) keeps the sound on its time: what the limiter held goes out
// whole, and the first frame after the jump is stamped where it was
// pushed, every frame a whole encoder frame (FFmpeg's aac takes a short
// one only as the last).
func TestLimiterAfterAJump(t *testing.T) {
	b := newBus(t)
	const n = 1024
	left, right := make([]float32, n), make([]float32, n)
	var stamps []int64
	emit := func(f *astiav.Frame) error {
		if f.NbSamples() != n {
			t.Errorf("a frame of %d samples at %d, want %d", f.NbSamples(), f.Pts(), n)
		}
		stamps = append(stamps, f.Pts())
		return nil
	}
	for _, k := range []int64{0, 1, 2, 3, 30, 31, 32} {
		if err := b.Process(left, right, k*n, emit); err != nil {
			t.Fatal(err)
		}
	}
	// Each limiter starts its latency early (its pre-roll), and what the
	// old one held leaves in a padded frame of its own.
	var want []int64
	for _, k := range []int64{0, 1, 2, 3, 4, 30, 31, 32} {
		want = append(want, k*n-latency)
	}
	if fmt.Sprint(stamps) != fmt.Sprint(want) {
		t.Errorf("frames stamped %v, want %v", stamps, want)
	}
}

// BenchmarkBus is the master bus's CPU per second of audio (the limiter
// at 4× and the R128 meter), and BenchmarkMix10 the whole audio stage's
// for ten sources (their tracks, the sum, the bus; not the AAC encoder):
// b.N seconds of a speech-loud tone each.
func BenchmarkBus(b *testing.B) { benchMix(b, 0) }

func BenchmarkMix10(b *testing.B) { benchMix(b, 10) }

func benchMix(b *testing.B, sources int) {
	bus := newBus(b)
	const n = 1024
	left, right := make([]float32, n), make([]float32, n)
	tone := make([]float32, 2*n)
	for i := range n {
		v := float32(0.8 / float64(max(sources, 1)) * math.Sin(2*math.Pi*440*float64(i)/mixer.Rate))
		left[i], right[i], tone[2*i], tone[2*i+1] = v, v, v, v
	}
	tracks := make([]*mixer.Track, sources)
	for i := range tracks {
		tracks[i] = mixer.NewTrack(fmt.Sprint("source ", i), mixer.TrackConfig{})
		defer tracks[i].Close()
	}
	var mix mixer.Mixer
	emit := func(*astiav.Frame) error { return nil }
	b.ResetTimer()
	at := int64(0)
	for range b.N {
		for range mixer.Rate / n {
			if sources > 0 {
				for _, t := range tracks {
					if err := t.WriteAt(tone, mixer.Rate, 2, at); err != nil {
						b.Fatal(err)
					}
				}
				mix.SumAt(tracks, left, right, at)
			}
			if err := bus.Process(left, right, at, emit); err != nil {
				b.Fatal(err)
			}
			at += n
		}
	}
	// One op is a second of audio: ns per op / 1e7 is the share of a
	// core in percent.
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e7, "%core")
}
