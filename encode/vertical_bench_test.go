package encode_test

import (
	"cmp"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"greenroom/encode"
	"greenroom/encode/codec"
	"greenroom/encode/compositor"
	"greenroom/encode/mediatest"
	"greenroom/encode/record"
	"greenroom/encode/shim"
	"greenroom/encode/stream"
	"greenroom/encode/testpattern"
)

// BenchmarkVertical1080p30 is the vertical program's budget (issue #13):
// the CPU of a 1080p30 program recorded (test pattern, x264 6 Mb/s
// zerolatency + AAC, fragmented MP4) alone, then with the vertical program
// at 1080x1920 recorded beside it, each in real time for
// GREENROOM_BENCH_SECONDS (default 10); and, to judge the difference by,
// x264 alone encoding 1080x1920 pictures of the test pattern (drawn
// beforehand) with the same settings, paced at 30 fps. Target: the
// vertical program costs at most its x264 encode plus 10 %
// (vertical/x264 ≤ 1.10): its compositing, its share of the sound and its
// muxing are the 10 %.
//
// All three start at GREENROOM_BENCH_PRESET (default veryfast); on a box
// too loaded for it the governors step down and frames are dropped, so
// the costs are per frame made: the landscape program's per frame (the
// first run), the vertical program's the second run's CPU beyond its
// landscape frames' share, per vertical frame, and x264's per frame. Each
// round logs the presets the governors ended on and the load average. The
// three run interleaved, b.N rounds: run with -benchtime 1x or 3x.
func BenchmarkVertical1080p30(b *testing.B) {
	secs := 10
	if s, err := strconv.Atoi(os.Getenv("GREENROOM_BENCH_SECONDS")); err == nil && s > 0 {
		secs = s
	}
	preset := cmp.Or(os.Getenv("GREENROOM_BENCH_PRESET"), "veryfast")
	d := time.Duration(secs) * time.Second
	var landscape, vertical, x264 time.Duration // CPU per frame, summed over rounds
	for i := range b.N {
		wide := runProgram(b, d, preset, false)
		both := runProgram(b, d, preset, true)
		x, n := portraitX264CPU(b, d, preset)
		perL := wide.cpu / time.Duration(wide.frames)
		perV := (both.cpu - perL*time.Duration(both.frames)) / time.Duration(max(1, both.vertical))
		perX := x / time.Duration(n)
		load, _ := os.ReadFile("/proc/loadavg")
		b.Logf("round %d: %s landscape %.2f cores (%d frames), with vertical %.2f (%d + %d frames), x264 1080x1920 alone %.2f cores at 30 fps: "+
			"per frame landscape %.1f ms, vertical %.1f ms, x264 %.1f ms, vertical/x264 %.2f; load %s",
			i+1, preset, wide.cpu.Seconds()/d.Seconds(), wide.frames, both.cpu.Seconds()/d.Seconds(), both.frames, both.vertical,
			30*perX.Seconds(), ms(perL), ms(perV), ms(perX), float64(perV)/float64(perX), strings.TrimSpace(string(load)))
		landscape, vertical, x264 = landscape+perL, vertical+perV, x264+perX
	}
	b.ReportMetric(30*landscape.Seconds()/float64(b.N), "landscape-cores@30")
	b.ReportMetric(30*vertical.Seconds()/float64(b.N), "vertical-cores@30")
	b.ReportMetric(30*x264.Seconds()/float64(b.N), "x264-vertical-cores@30")
	b.ReportMetric(float64(vertical)/float64(x264), "vertical/x264")
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// programRun is what a run of runProgram used and made.
type programRun struct {
	cpu              time.Duration
	frames, vertical int64 // encoded, landscape and vertical
}

// runProgram runs a 1080p30 program of the test pattern at preset,
// recorded, for d in real time, with the vertical program recorded too
// if vertical: the CPU it used from the first output on, and the frames
// it encoded.
func runProgram(b *testing.B, d time.Duration, preset string, vertical bool) programRun {
	p, err := encode.New(encode.Config{Width: 1920, Height: 1080, FPS: 30, Preset: preset})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	if _, err := p.AddTestPattern("host", 1920, 1080); err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	rec, err := record.New(record.Config{Path: filepath.Join(dir, "wide.mp4"), Info: p.Info()})
	if err != nil {
		b.Fatal(err)
	}
	if vertical {
		info, err := p.Vertical()
		if err != nil {
			b.Fatal(err)
		}
		tall, err := record.New(record.Config{Path: filepath.Join(dir, "tall.mp4"), Info: info})
		if err != nil {
			b.Fatal(err)
		}
		if err := p.AddVerticalOutput(tall); err != nil {
			b.Fatal(err)
		}
	}
	time.Sleep(500 * time.Millisecond) // the test pattern's first pictures
	before := p.Stats().Frames
	vBefore, _ := p.VerticalStats()
	start := mediatest.CPUTime()
	p.AddOutput(rec)
	time.Sleep(d)
	cpu := mediatest.CPUTime() - start
	st := p.Stats()
	vFrames, vDropped := p.VerticalStats()
	b.Logf("  vertical %v: presets %s / %q, %d frames dropped, vertical %d", vertical, st.Preset, st.VerticalPreset, st.Dropped, vDropped)
	return programRun{cpu: cpu, frames: st.Frames - before, vertical: vFrames - vBefore}
}

// portraitX264CPU encodes 1080x1920 test-pattern pictures with the
// program's x264 settings at preset, at 30 fps for d, and returns the CPU
// it used and the frames it encoded.
func portraitX264CPU(b *testing.B, d time.Duration, preset string) (time.Duration, int64) {
	const w, h, fps = 1080, 1920, 30
	e, err := codec.NewVideoEncoder(codec.VideoConfig{Width: w, Height: h, FPS: fps, BitRate: 6_000_000, Preset: preset})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	pat, err := testpattern.New(w, h, fps)
	if err != nil {
		b.Fatal(err)
	}
	// Made before the clock starts: the pattern repeats every 2 s, and
	// drawing it is not x264's cost.
	pics := make([]*compositor.Frame, 2*fps)
	for i := range pics {
		pics[i] = pat.Frame(int64(i))
		defer pics[i].Release()
	}
	f, err := codec.NewVideoFrame(w, h)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Free()
	start, startCPU := time.Now(), mediatest.CPUTime()
	n := int64(0)
	for ; n < int64(d/time.Second)*fps; n++ {
		time.Sleep(time.Until(start.Add(time.Duration(n) * time.Second / fps)))
		shim.CopyImage(f, &pics[n%int64(len(pics))].YCbCr)
		f.SetPts(n)
		if err := e.Encode(f, func(*stream.Packet) {}); err != nil {
			b.Fatal(err)
		}
	}
	return mediatest.CPUTime() - startCPU, n
}
