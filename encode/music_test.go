package encode_test

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"greenroom/encode"
	"greenroom/encode/mediatest"
	"greenroom/encode/mixer"
	"greenroom/encode/music"
)

// TestMusicInTheProgram: a test-made WAV (a 440 Hz tone, 1 s, mono at
// 44.1 kHz) played looped into a recorded program, judged by ffmpeg in
// the band of its tone: it fades in, plays on across its loops without a
// gap, is ducked by the set 12 dB (±1) while a source speaks (a 3 kHz tone
// at −20 dBFS, out of the band) and comes back after, and fades out on
// Stop to nothing. A file FFmpeg cannot read is an error, and the music
// plays on.
func TestMusicInTheProgram(t *testing.T) {
	dir := t.TempDir()
	song := filepath.Join(dir, "song.wav")
	mediatest.WriteTone(t, song, 440, time.Second)
	file := filepath.Join(dir, "program.mkv")
	p, err := encode.New(encode.Config{Width: 320, Height: 180, FPS: 15})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	addRecorder(t, p, file)
	voice := p.AddInput("voice")
	// The host's monitor: the loudest it heard before the voice spoke.
	var heard atomic.Uint32
	var listening atomic.Bool
	listening.Store(true)
	p.SetMonitor(func(stereo []float32) {
		for _, v := range stereo {
			if listening.Load() && math.Float32bits(abs32(v)) > heard.Load() {
				heard.Store(math.Float32bits(abs32(v)))
			}
		}
	})
	m := p.Music()
	set := music.Settings{Loop: true, FadeIn: time.Second, FadeOut: time.Second,
		Duck: music.Duck{DB: 12, Attack: 100 * time.Millisecond, Release: 300 * time.Millisecond}}
	if err := m.Set(set); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(bad, []byte("not music"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{bad, filepath.Join(dir, "missing.mp3")} {
		if err := m.Play(f); err == nil {
			t.Errorf("Play(%s): no error", filepath.Base(f))
		} else {
			t.Logf("Play(%s): %v", filepath.Base(f), err)
		}
	}
	start := p.Clock().Now()
	if err := m.Play(song); err != nil {
		t.Fatal(err)
	}
	// The voice speaks from 3 to 5 s after the music started: a 3 kHz
	// tone written a little ahead of the clock, as a source does. The
	// music comes back some 1.5 s after it: the speaking flag's 0.8 s,
	// the ducker's hold and release.
	const block = mixer.Rate / 50
	pcm := make([]float32, 2*block)
	var written int64
	speak := func(until time.Duration, amp float64) {
		for p.Clock().Now() < start+until {
			for written < int64(p.Clock().Now()+40*time.Millisecond)*mixer.Rate/int64(time.Second) {
				for i := range block {
					v := float32(amp * math.Sin(2*math.Pi*3000*float64(written+int64(i))/mixer.Rate))
					pcm[2*i], pcm[2*i+1] = v, v
				}
				if err := voice.WriteAudio(pcm, mixer.Rate, 2); err != nil {
					t.Fatal(err)
				}
				written += block
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	speak(3*time.Second, 0) // silence
	listening.Store(false)
	if err := m.Play(bad); err == nil {
		t.Error("Play of a text file while music plays: no error")
	}
	speak(5*time.Second, 0.1)
	st := m.State()
	speak(7500*time.Millisecond, 0)
	if err := m.Stop(); err != nil {
		t.Fatal(err)
	}
	speak(9*time.Second, 0)
	if after := m.State(); after.File != "" {
		t.Errorf("after Stop the state still plays %q", after.File)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("while the voice spoke: %+v", st)
	if st.File != song || st.Ducked > -11 {
		t.Errorf("state while the voice spoke: file %q ducked %.1f dB, want %s at −12", st.File, st.Ducked, song)
	}
	s := func(d time.Duration) time.Duration { return start + d }
	level := func(from, to time.Duration) float64 { return mediatest.BandLevel(t, file, 440, s(from), s(to)) }
	fadingIn := level(0, 300*time.Millisecond)
	full := level(1500*time.Millisecond, 2900*time.Millisecond)
	ducked := level(3600*time.Millisecond, 5000*time.Millisecond)
	back := level(7100*time.Millisecond, 7500*time.Millisecond)
	fadingOut := level(8000*time.Millisecond, 8500*time.Millisecond)
	gone := level(8800*time.Millisecond, 9000*time.Millisecond)
	t.Logf("440 Hz band: fading in %.1f dBFS, full %.1f, ducked %.1f (%.2f dB down), back %.1f, fading out %.1f, after %.1f",
		fadingIn, full, ducked, full-ducked, back, fadingOut, gone)
	// The file's peak is 0.125, mono: 0.088 in each channel (swresample
	// spreads mono to stereo at −3 dB, as the mixer does a guest's mono).
	if h := math.Float32frombits(heard.Load()); h < 0.08 {
		t.Errorf("the host's monitor heard at most %.3f of the music, want 0.088", h)
	}
	if full < -30 {
		t.Fatalf("the music measures %.1f dBFS in the program: not playing", full)
	}
	if fadingIn > full-6 {
		t.Errorf("the first 300 ms measure %.1f dBFS, full %.1f: no fade in", fadingIn, full)
	}
	if d := full - ducked; math.Abs(d-12) > 1 {
		t.Errorf("ducked by %.2f dB while the voice spoke, want 12 ± 1", d)
	}
	if math.Abs(back-full) > 1 {
		t.Errorf("after the voice the music measures %.1f dBFS, before it %.1f: not back", back, full)
	}
	if fadingOut > full-3 || fadingOut < full-30 {
		t.Errorf("half a second into the fade out the music measures %.1f dBFS (full %.1f): not fading", fadingOut, full)
	}
	if gone > -70 {
		t.Errorf("after the fade out the band measures %.1f dBFS: not stopped", gone)
	}
	// Looped: the file's end comes two or three times between 1 and
	// 3.6 s, and a continuous sine has no silent run longer than a sample
	// or two. A hole at every seam is a loop that does not join; one
	// alone is a box so loaded that the player's goroutine was late by
	// more than its lead (150 ms), which the tracks could not cover.
	gaps := mediatest.Silences(t, file, s(time.Second), s(3600*time.Millisecond), 5*time.Millisecond)
	if len(gaps) > 1 {
		t.Errorf("silences in the looped music: %s", mediatest.Durations(gaps))
	} else if len(gaps) == 1 {
		t.Logf("one silence in the looped music (a starved box?): %s", mediatest.Durations(gaps))
	}
	if _, err := m.Play(song), m.Stop(); !errors.Is(err, music.ErrClosed) {
		t.Errorf("Stop after Close: %v, want ErrClosed", err)
	}
}

func abs32(v float32) float32 { return float32(math.Abs(float64(v))) }
