package codec_test

import (
	"bytes"
	"os"
	"runtime"
	"strconv"
	"testing"

	"greenroom/encode/codec"
	"greenroom/encode/stream"
)

// TestEncoderSwapsKeepRSS: the governor replaces the program's x264
// encoder with one at another preset whenever the machine falls behind or
// catches up, and the pipeline's encoder goroutine runs on whatever OS
// thread the Go runtime gives it. Sixteen such swaps at 720p, each encoder
// opened and closed on a thread of its own, leave the process's RSS where
// the second left it, within about one encoder. With glibc's dynamic mmap
// threshold (before shim.MmapThreshold) each closed encoder's buffers
// stayed in its thread's malloc arena: +24–42 MB here, and +15–25 MB a
// minute in the soak.
func TestEncoderSwapsKeepRSS(t *testing.T) {
	f, err := codec.NewVideoFrame(1280, 720)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Free()
	e, err := codec.NewVideoEncoder(codec.VideoConfig{Width: 1280, Height: 720, FPS: 30, BitRate: 4_500_000})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { e.Close() }()
	presets := []string{"veryfast", "superfast"}
	var pts int64
	var base, most int64
	for i := range 16 {
		done := make(chan struct{})
		go func() {
			defer close(done)
			// A new OS thread (the goroutine's exit ends it), as a
			// goroutine moving between threads gets over a show.
			runtime.LockOSThread()
			for range 3 {
				f.SetPts(pts)
				pts++
				if err := e.Encode(f, func(*stream.Packet) {}); err != nil {
					t.Error(err)
					return
				}
			}
			next, err := e.WithPreset(presets[i%2])
			if err != nil {
				t.Error(err)
				return
			}
			if err := e.Encode(nil, func(*stream.Packet) {}); err != nil {
				t.Error(err)
			}
			e.Close()
			e = next
		}()
		<-done
		if t.Failed() {
			return
		}
		rss := rssKB(t)
		if i == 1 {
			base = rss
		}
		most = max(most, rss)
	}
	t.Logf("RSS %d MB after two encoder swaps, at most %d MB over fourteen more", base>>10, most>>10)
	if grew := (most - base) >> 10; grew > 16 {
		t.Errorf("RSS grew %d MB over fourteen x264 encoder swaps (%d → %d MB), want at most 16 MB (one encoder)", grew, base>>10, most>>10)
	}
}

// rssKB is the process's resident set, from /proc/self/status, in kB.
func rssKB(tb testing.TB) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		tb.Fatal(err)
	}
	for line := range bytes.Lines(b) {
		if rest, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			v, err := strconv.ParseInt(string(bytes.TrimSuffix(bytes.TrimSpace(rest), []byte(" kB"))), 10, 64)
			if err != nil {
				tb.Fatal(err)
			}
			return v
		}
	}
	tb.Fatal("no VmRSS in /proc/self/status")
	return 0
}
