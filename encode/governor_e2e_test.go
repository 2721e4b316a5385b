package encode

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"greenroom/encode/mediatest"
	"greenroom/encode/record"
)

// A machine too slow for the preset: the pipeline steps to a faster one,
// says so in Stats, and the stream stays whole and decodable across the
// switch.
func TestPresetStepsDownWhenBehind(t *testing.T) {
	p, err := New(Config{Width: 640, Height: 360, FPS: 30})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.AddTestPattern("host", 640, 360); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "switch.mkv")
	rec, err := record.New(record.Config{Path: file, Info: p.Info()})
	if err != nil {
		t.Fatal(err)
	}
	p.AddOutput(rec)
	time.Sleep(time.Second)
	if st := p.Stats(); st.Preset != "veryfast" || st.Behind {
		t.Fatalf("idle: %+v", st)
	}
	p.slowdown.Store(int64(31 * time.Millisecond)) // 31 of 33 ms per frame
	deadline := time.Now().Add(5 * time.Second)
	sawBehind := false
	for p.Stats().Preset == "veryfast" && time.Now().Before(deadline) {
		sawBehind = sawBehind || p.Stats().Behind
		time.Sleep(20 * time.Millisecond)
	}
	st := p.Stats()
	if st.Preset != "superfast" || !sawBehind {
		t.Fatalf("overloaded: %+v (saw behind: %v), want a step to superfast", st, sawBehind)
	}
	switchedAt := st.Uptime.Seconds()
	p.slowdown.Store(0)
	time.Sleep(2 * time.Second)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	// The judge: every frame decodes, before and after the switch.
	out, err := exec.Command("ffmpeg", "-v", "error", "-i", file, "-f", "null", "-").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "" {
		t.Fatalf("decoding across the switch: %v\n%s", err, out)
	}
	// Frames were dropped while the encoder was too slow, by design; what
	// matters is that the picture goes on after the switch.
	times := mediatest.VideoFrameTimes(t, file)
	after := 0
	for _, ts := range times {
		if ts > switchedAt+0.5 {
			after++
		}
	}
	if after < 30 {
		t.Fatalf("%d frames decoded after the switch at %.1f s (of %d in all), want the program to go on", after, switchedAt, len(times))
	}
}
