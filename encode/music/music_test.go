package music

import (
	"errors"
	"fmt"
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

// The file reader gives the whole file, converted: 2 s of 44.1 kHz MP3
// are 2 s of 48 kHz stereo (to the encoder's padding), and a file that
// is not media is ErrBadFile.
func TestFileReadsAnyFormat(t *testing.T) {
	f, err := openFile(writeSong(t, 2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer f.close()
	buf := make([]float32, 4800*mixer.Channels)
	total := 0
	for {
		n, err := f.read(buf)
		if err != nil {
			t.Fatal(err)
		}
		total += n / mixer.Channels
		if n < len(buf) {
			break
		}
	}
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
