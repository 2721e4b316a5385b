package music

import (
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"greenroom/encode/mixer"
)

// writeSong makes a d long stereo MP3 at 44.1 kHz with ffmpeg: music as
// a host has it, which must be decoded and resampled.
func writeSong(tb testing.TB, d time.Duration) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "song.mp3")
	out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i",
		fmt.Sprintf("sine=frequency=440:sample_rate=44100:duration=%g", d.Seconds()),
		"-ac", "2", "-c:a", "libmp3lame", "-b:a", "192k", "-y", path).CombinedOutput()
	if err != nil {
		tb.Skipf("ffmpeg cannot make an MP3: %v %s", err, out)
	}
	return path
}

// readAll reads path to its end and returns the file (closed when the
// test ends) and how many frames it gave.
func readAll(t *testing.T, path string) (*file, int) {
	t.Helper()
	f, err := openFile(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.close)
	buf := make([]float32, 4800*mixer.Channels)
	total := 0
	for {
		n, err := f.read(buf)
		if err != nil {
			t.Fatalf("%s: after %d frames: %v", path, total, err)
		}
		total += n / mixer.Channels
		if n < len(buf) {
			return f, total
		}
	}
}

// The file reader gives the whole file, converted: 2 s of 44.1 kHz MP3
// are 2 s of 48 kHz stereo (to the encoder's padding), and a file that
// is not media is ErrBadFile.
func TestFileReadsAnyFormat(t *testing.T) {
	f, total := readAll(t, writeSong(t, 2*time.Second))
	if got := time.Duration(total) * time.Second / mixer.Rate; got < 2*time.Second || got > 2100*time.Millisecond {
		t.Errorf("read %v of a 2 s file", got)
	}
	if f.length < 2*mixer.Rate || f.length > 21*mixer.Rate/10 {
		t.Errorf("its length says %d frames", f.length)
	}
	if _, err := openFile("music_test.go"); !errors.Is(err, ErrBadFile) {
		t.Errorf("a Go file: %v, want ErrBadFile", err)
	}
}

// BenchmarkMusic is the player's CPU per second of music: an MP3 read,
// decoded, resampled from 44.1 kHz, its gains applied while the ducking
// moves (someone speaks every other half second), and written to a
// track. One op is a second of music.
func BenchmarkMusic(b *testing.B) {
	f, err := openFile(writeSong(b, 10*time.Second))
	if err != nil {
		b.Fatal(err)
	}
	var l loop
	defer l.closeAll()
	l.play(f, 0)
	set := DefaultSettings
	set.Loop = true
	track := mixer.NewTrack("sounds", mixer.TrackConfig{MaxQueue: 2 * time.Second})
	defer track.Close()
	fail := func(msg string, args ...any) { b.Fatal(append([]any{msg}, args...)...) }
	now := time.Duration(0)
	b.ResetTimer()
	for range b.N {
		for k := range mixer.Rate / chunk {
			l.moveDuck(set.Duck, k%100 < 50, now, chunk)
			if err := track.Write(l.fill(chunk, set, fail), mixer.Rate, mixer.Channels); err != nil {
				b.Fatal(err)
			}
			now += 10 * time.Millisecond
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e7, "%core")
}

// The gains, chunk by chunk, on the player's own loop (no clock): while
// someone speaks the music is down by the set 12 dB and a jingle over it
// is not; a file not looped fades out over FadeOut before its end, and
// both end and are closed when their files do.
func TestJingleOverDuckedMusicAndTheEndsFade(t *testing.T) {
	song := writeSong(t, time.Second)
	var l loop
	defer l.closeAll()
	open := func() *file {
		f, err := openFile(song)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	l.play(open(), 0)
	l.jingle(open())
	set := Settings{FadeOut: 300 * time.Millisecond, Duck: Duck{DB: 12}} // at once
	fail := func(msg string, args ...any) { t.Fatal(append([]any{msg}, args...)...) }
	music, jingle := l.music, l.jingles[0]
	var musicGains []float32
	for k := 0; l.active(); k++ {
		if k > 200 {
			t.Fatal("still playing after 2 s of a 1 s file")
		}
		l.moveDuck(set.Duck, true, time.Duration(k)*10*time.Millisecond, chunk)
		l.fill(chunk, set, fail)
		musicGains = append(musicGains, music.gain)
		if k == 10 {
			if want := mixer.Gain(-12); math.Abs(float64(music.gain-want)) > 0.01 || jingle.gain != 1 {
				t.Errorf("while speaking: music at %.3f (want %.3f), jingle at %.3f (want 1)", music.gain, want, jingle.gain)
			}
		}
	}
	n := len(musicGains)
	t.Logf("the music played %d chunks; its gain 400, 200 ms and at the end: %.3f %.3f %.3f", n, musicGains[n-40], musicGains[n-20], musicGains[n-1])
	// Ducked to 0.251, faded from 300 ms before the end the container
	// says: an MP3 says a little more than it decodes (its encoder's
	// padding, 40-50 ms), so the fade ends near −16 dB, not at nothing.
	if musicGains[n-40] < 0.24 || musicGains[n-20] > 0.2 || musicGains[n-1] > 0.06 {
		t.Error("no fade out before the end of the file")
	}
	if music.f.fc != nil || jingle.f.fc != nil {
		t.Error("a voice that ended left its file open")
	}
}

// A file damaged in the middle plays through, its damaged packets
// skipped, as a player does: no error, and most of its length.
func TestDamagedFilePlaysOn(t *testing.T) {
	path := writeSong(t, 2*time.Second)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := len(data) / 3; i < len(data)/2; i += 7 {
		data[i] ^= 0x5a
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	_, total := readAll(t, path)
	t.Logf("read %v of a 2 s file damaged in its middle sixth", time.Duration(total)*time.Second/mixer.Rate)
	if total < mixer.Rate*3/2 {
		t.Errorf("read %d frames of a 2 s file damaged in its middle sixth", total)
	}
}
