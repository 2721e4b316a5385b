package studio_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"greenroom/encode/mediatest"
	"greenroom/studio"
)

// TestTakesJoinedAgainAfterRestart: a reloaded guest's two takes are
// complete, and a restart cut their join short (the studio gone before
// the joined file was made: no file, nothing in show.json, what it wrote
// aside left behind). The next start joins them again: every picture of
// both takes, the second where it began on the show's timeline, listed
// in show.json with its two takes, and nothing left aside. The start
// after that leaves the joined file alone.
func TestTakesJoinedAgainAfterRestart(t *testing.T) {
	conf, dir := t.TempDir(), t.TempDir()
	// A second of VP8 and Opus as a live WebM (a segment of unknown
	// size), as MediaRecorder writes one: the page's take, uploaded twice.
	take := filepath.Join(t.TempDir(), "take.webm")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10",
		"-f", "lavfi", "-i", "sine=440:sample_rate=48000", "-t", "1", "-c:v", "libvpx", "-deadline", "realtime",
		"-c:a", "libopus", "-live", "1", "-f", "webm", take).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	data, err := os.ReadFile(take)
	if err != nil {
		t.Fatal(err)
	}
	takeFrames := mediatest.VideoFrameTimes(t, take)
	pictures := len(takeFrames)

	var logMu sync.Mutex
	var log bytes.Buffer
	start := func() *studio.Studio {
		logMu.Lock()
		log.Reset()
		logMu.Unlock()
		return newStudio(t, func(c *studio.Config) {
			c.ConfigDir = conf
			c.Logger = slog.New(slog.NewTextHandler(io.MultiWriter(lockedWriter{&logMu, &log}, testWriter{t}), nil))
		})
	}
	logged := func(s string) bool {
		logMu.Lock()
		defer logMu.Unlock()
		return strings.Contains(log.String(), s)
	}
	joined := filepath.Join(dir, "Ann local joined.webm")

	// The show 5 s in: the first take began at 1 s (4 s of recorder time
	// before its chunk 0), the second at 5 s.
	s := start()
	ids, keys, end := s.TestTakes(dir, "g1", "Ann", 5*time.Second, 2)
	half := len(data) / 2
	for i, since := range []string{"4000", "0"} {
		if code, _ := postChunk(t, s.Handler(), ids[i], keys[i], 0, "of=2&since="+since, data[:half]); code != http.StatusOK {
			t.Fatalf("take %d, chunk 0: %d", i+1, code)
		}
		if code, _ := postChunk(t, s.Handler(), ids[i], keys[i], 1, "of=2&final=1", data[half:]); code != http.StatusOK {
			t.Fatalf("take %d, the last chunk: %d", i+1, code)
		}
	}
	eventually(t, "the takes joined", func() bool { return logged("a guest's takes joined") })
	end()
	s.Close()

	// The restart's cut: the joined file never made, show.json without
	// it, the join's file aside left.
	if err := os.Remove(joined); err != nil {
		t.Fatal(err)
	}
	var show map[string]any
	b, err := os.ReadFile(filepath.Join(dir, "show.json"))
	if err != nil || json.Unmarshal(b, &show) != nil {
		t.Fatalf("show.json (%v):\n%s", err, b)
	}
	var files []any
	var starts []float64 // the takes' starts on the show's timeline, ms
	for _, f := range show["files"].([]any) {
		f := f.(map[string]any)
		if f["role"] != "joined" {
			files = append(files, f)
		}
		if f["role"] == "local" {
			ms, _ := f["start_ms"].(float64)
			starts = append(starts, ms)
		}
	}
	if len(starts) != 2 {
		t.Fatalf("show.json lists %d local takes, want 2:\n%s", len(starts), b)
	}
	show["files"] = files
	b, _ = json.Marshal(show)
	if err := os.WriteFile(filepath.Join(dir, "show.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	aside := filepath.Join(dir, ".joining-1234.webm")
	if err := os.WriteFile(aside, data[:half], 0o644); err != nil {
		t.Fatal(err)
	}

	s = start()
	eventually(t, "the takes joined again at the next start", func() bool { return logged("a guest's takes joined") })
	s.Close()
	frames := mediatest.PlaysThrough(t, joined)
	t.Logf("joined again: %d pictures, %.2f to %.2f s", len(frames), frames[0], frames[len(frames)-1])
	// The second take's pictures where it began after the first, about
	// 4 s (5 s − 1 s): each take's start is when its chunk 0 came, less
	// its recorder time before it, and under -race the test's own posts
	// took 0.13 s to reach the second take's chunk 0 once.
	want := (starts[1]-starts[0])/1000 + takeFrames[len(takeFrames)-1]
	if last := frames[len(frames)-1]; len(frames) != 2*pictures || last < want-0.1 || last > want+0.1 || starts[1]-starts[0] < 3900 || starts[1]-starts[0] > 4500 {
		t.Errorf("the joined file has %d pictures up to %.2f s; want both takes' %d, the last at %.2f s (the takes began at %v ms)", len(frames), last, 2*pictures, want, starts)
	}
	meta, b := readShow(t, dir)
	var listed []showFile
	for _, f := range meta.Files {
		if f.Role == "joined" {
			listed = append(listed, f)
		}
	}
	if len(listed) != 1 || listed[0].File != filepath.Base(joined) || listed[0].Participant != "g1" || listed[0].StartMS < 900 || listed[0].StartMS > 1100 ||
		!bytes.Contains(b, []byte(`"takes": 2`)) {
		t.Errorf("show.json lists %+v as joined, want Ann local joined.webm of 2 takes from 1 s", listed)
	}
	if _, err := os.Stat(aside); !os.IsNotExist(err) {
		t.Errorf("what the cut join left aside is still there (%v)", err)
	}

	// Joined whole: the next start does not join them again.
	st, _ := os.Stat(joined)
	s = start()
	time.Sleep(500 * time.Millisecond) // a join of these takes: a few ms
	s.Close()
	if logged("a guest's takes joined") || logged("not joined") {
		t.Errorf("the start after the join joined the takes again")
	}
	if now, _ := os.Stat(joined); !os.SameFile(st, now) || !now.ModTime().Equal(st.ModTime()) {
		t.Errorf("the joined file was made again")
	}
}
