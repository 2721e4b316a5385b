package encode_test

import (
	"context"
	"image"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"greenroom/encode"
	"greenroom/encode/mediatest"
	"greenroom/encode/record"
	"greenroom/encode/rtmpout"
	"greenroom/encode/scene"
	"greenroom/encode/stream"
)

// startProgram runs a 720p30 test-pattern program.
func startProgram(t *testing.T) *encode.Pipeline {
	t.Helper()
	return startProgramWith(t, encode.Config{Width: 1280, Height: 720, FPS: 30})
}

// startProgramWith runs a program of cfg's format with the test pattern,
// at that size, as its one input.
func startProgramWith(t *testing.T, cfg encode.Config) *encode.Pipeline {
	t.Helper()
	p, err := encode.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	if _, err := p.AddTestPattern("host", cfg.Width, cfg.Height); err != nil {
		t.Fatal(err)
	}
	return p
}

func addRecorder(t *testing.T, p *encode.Pipeline, path string) *record.Recorder {
	t.Helper()
	rec, err := record.New(record.Config{Path: path, Info: p.Info()})
	if err != nil {
		t.Fatal(err)
	}
	p.AddOutput(rec)
	return rec
}

func addRTMP(t *testing.T, p *encode.Pipeline, url string) *rtmpout.Output {
	t.Helper()
	o, err := rtmpout.New(rtmpout.Config{Name: "nginx", URL: url, Info: p.Info()})
	if err != nil {
		t.Fatal(err)
	}
	p.AddOutput(o)
	return o
}

func differs(a, b image.Image) float64 {
	bb := a.Bounds()
	var diff, n float64
	for y := bb.Min.Y; y < bb.Max.Y; y += 4 {
		for x := bb.Min.X; x < bb.Max.X; x += 4 {
			r1, _, _, _ := a.At(x, y).RGBA()
			r2, _, _, _ := b.At(x, y).RGBA()
			if math.Abs(float64(r1)-float64(r2)) > 20*257 {
				diff++
			}
			n++
		}
	}
	return diff / n
}

// checkProgram judges a recording of the 720p30 test-pattern program that
// ran for about want, with ffprobe and ffmpeg; under -race only its
// format, so a test calling it ends with mediatest.JudgedWithoutRace.
func checkProgram(t *testing.T, path string, want time.Duration) {
	t.Helper()
	pr := mediatest.ProbeFile(t, path)
	if pr.Video == nil || pr.Audio == nil {
		t.Fatalf("%s: want video and audio, probe found %+v", path, pr)
	}
	v, a := pr.Video, pr.Audio
	if v.Codec != "h264" || v.Profile != "High" || v.Width != 1280 || v.Height != 720 || v.PixFmt != "yuv420p" {
		t.Errorf("%s: video %+v, want h264 High 1280x720 yuv420p", path, *v)
	}
	if a.Codec != "aac" || a.SampleRate != 48000 || a.Channels != 2 {
		t.Errorf("%s: audio %+v, want aac 48000 Hz stereo", path, *a)
	}
	if mediatest.Race {
		return // the rest is timing; see mediatest.Race
	}
	if v.FPS < 29 || v.FPS > 31 {
		t.Errorf("%s: %.2f fps, want 30±1", path, v.FPS)
	}
	if d := pr.Duration; math.Abs(d-want.Seconds()) > 0.1*want.Seconds() {
		t.Errorf("%s: duration %.2f s, want %.1f s ±10%%", path, d, want.Seconds())
	}
	frames := mediatest.FrameCount(t, path)
	if wantFrames := pr.Duration * 30; math.Abs(float64(frames)-wantFrames) > 0.05*wantFrames {
		t.Errorf("%s: %d frames in %.2f s, want 30 fps (%.0f)", path, frames, pr.Duration, wantFrames)
	}
	keys := mediatest.KeyframeTimes(t, path)
	if len(keys) < 2 {
		t.Fatalf("%s: keyframes at %v, want one every 2 s", path, keys)
	}
	for i := 1; i < len(keys); i++ {
		if gap := keys[i] - keys[i-1]; math.Abs(gap-2) > 0.1 {
			t.Errorf("%s: keyframes at %v: gap %.2f s, want 2 s", path, keys, gap)
			break
		}
	}
	// Picture: moving, with a white flash on every whole second.
	f1, f2 := mediatest.Frame(t, path, 2200*time.Millisecond), mediatest.Frame(t, path, 2500*time.Millisecond)
	if d := differs(f1, f2); d < 0.2 {
		t.Errorf("%s: frames at 2.2 s and 2.5 s differ in %.0f%% of pixels: picture not moving", path, d*100)
	}
	if l := mediatest.MeanLuma(mediatest.Frame(t, path, 3*time.Second)); l < 200 {
		t.Errorf("%s: frame at 3.0 s has mean luma %.0f, want the white flash", path, l)
	}
	if l := mediatest.MeanLuma(f2); l > 180 {
		t.Errorf("%s: frame at 2.5 s has mean luma %.0f, want the pattern", path, l)
	}
	// A/V sync: every flash frame comes with a beep onset, within a frame.
	flashes := mediatest.FlashTimes(t, path, 200)
	onsets := mediatest.ToneOnsets(t, path, 500*time.Millisecond)
	if len(flashes) < 3 || len(onsets) < 3 {
		t.Errorf("%s: flashes at %v, beeps at %v: want one each per second", path, flashes, onsets)
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, f := range flashes {
		nearest := math.Inf(1)
		for _, o := range onsets {
			if math.Abs(o-f) < math.Abs(nearest) {
				nearest = o - f
			}
		}
		lo, hi = min(lo, nearest), max(hi, nearest)
		if math.Abs(nearest) > 1.0/30 {
			t.Errorf("%s: flash at %.3f s, nearest beep %+.0f ms off: audio and video out of sync", path, f, nearest*1000)
		}
	}
	// Logged, pass or fail: a drift towards the limit shows before it fails.
	t.Logf("%s: beep − flash %+.1f … %+.1f ms over %d flashes", filepath.Base(path), lo*1000, hi*1000, len(flashes))
	// Sound: the beep in the first 100 ms of a second, silence after.
	beep := mediatest.AudioLevel(t, path, 2000*time.Millisecond, 2090*time.Millisecond)
	quiet := mediatest.AudioLevel(t, path, 2300*time.Millisecond, 2900*time.Millisecond)
	if beep < -15 || quiet > -60 {
		t.Errorf("%s: %.0f dBFS during the beep, %.0f dBFS after, want loud then silent", path, beep, quiet)
	}
}

func waitState(t *testing.T, out stream.Output, want stream.State, within time.Duration) stream.Stats {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		s := out.Stats()
		if s.State == want {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: state %s (%v) after %v, want %s", out.Name(), s.State, s.Err, within, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestLiveToNginxAndRecording is the foundation's promise: the program
// reaches a real RTMP server, which a viewer can play while it runs, and a
// local recording, both judged by ffprobe.
func TestLiveToNginxAndRecording(t *testing.T) {
	n := mediatest.StartNginx(t, mediatest.NginxOptions{})
	file := filepath.Join(t.TempDir(), "show.mp4")
	start := time.Now()
	p := startProgram(t)
	rec := addRecorder(t, p, file)
	live := addRTMP(t, p, n.URL("show"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := live.WaitLive(ctx); err != nil {
		t.Fatalf("publish: %v\n%s", err, n.LogTail(20))
	}
	t.Logf("live %v after start", time.Since(start).Round(time.Millisecond))

	// A viewer joining mid-show gets the full program.
	pr := mediatest.ProbeURL(t, n.URL("show"), 8*time.Second)
	if pr.Video == nil || pr.Video.Width != 1280 || pr.Video.Height != 720 || pr.Audio == nil || pr.Audio.SampleRate != 48000 {
		t.Errorf("live stream probes as %+v, want 1280x720 video and 48 kHz audio", pr)
	}
	time.Sleep(10*time.Second - time.Since(start))
	for _, s := range p.Outputs() {
		if s.State != stream.Live || s.Dropped != 0 || s.FPS < 25 {
			t.Errorf("output %s: %+v, want live at ~30 fps with nothing dropped", s.Name, s)
		}
	}
	ran := time.Since(start)
	if err := p.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if s := rec.Stats(); s.State != stream.Closed {
		t.Errorf("recorder after close: %s %v", s.State, s.Err)
	}
	if st := p.Stats(); !mediatest.Race && (st.Dropped > 3 || st.Latency <= 0 || st.Latency > time.Second) {
		t.Errorf("pipeline: %d frames dropped on an idle machine, latency %v", st.Dropped, st.Latency)
	}
	checkProgram(t, file, ran)
	n.WaitUnpublished(t, "show", 10*time.Second)
	checkProgram(t, n.Recording("show"), ran)
	mediatest.JudgedWithoutRace(t)
}

// TestDeadOutputDoesNotStopRecording: an RTMP server that is not there
// fails its output only; the recording goes on whole.
func TestDeadOutputDoesNotStopRecording(t *testing.T) {
	file := filepath.Join(t.TempDir(), "kept.mkv")
	start := time.Now()
	p := startProgram(t)
	addRecorder(t, p, file)
	dead := addRTMP(t, p, "rtmp://127.0.0.1:"+strconv.Itoa(mediatest.FreeTCPPort(t))+"/live/secret-key")
	s := waitState(t, dead, stream.Failed, 6*time.Second)
	if s.Err == nil || strings.Contains(s.Err.Error(), "secret-key") {
		t.Errorf("failure %v: want a reason without the key", s.Err)
	}
	time.Sleep(5*time.Second - time.Since(start))
	ran := time.Since(start)
	if err := p.Close(); err != nil {
		t.Logf("close: %v", err)
	}
	checkProgram(t, file, ran)
	mediatest.JudgedWithoutRace(t)
}

func TestRecordToMissingFolderFailsAtOnce(t *testing.T) {
	p := startProgram(t)
	_, err := record.New(record.Config{Path: filepath.Join(t.TempDir(), "nope", "x.mp4"), Info: p.Info()})
	if err == nil {
		t.Fatal("recording into a missing folder was accepted")
	}
}

// patternProgram returns a w×h program at 30 fps whose one input is the
// test pattern, "host"; the caller closes it.
func patternProgram(t *testing.T, w, h int) (*encode.Pipeline, *encode.Input) {
	t.Helper()
	p, err := encode.New(encode.Config{Width: w, Height: h, FPS: 30})
	if err != nil {
		t.Fatal(err)
	}
	in, err := p.AddTestPattern("host", w, h)
	if err != nil {
		p.Close()
		t.Fatal(err)
	}
	return p, in
}

// TestCloseLeavesNoGoroutines starts and stops whole programs repeatedly,
// music playing.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	dir := t.TempDir()
	song := filepath.Join(dir, "song.wav")
	mediatest.WriteTone(t, song, 440, time.Second)
	for i := range 3 {
		p, in := patternProgram(t, 320, 180)
		rec, err := record.New(record.Config{Path: filepath.Join(dir, strconv.Itoa(i)+".mp4"), Info: p.Info()})
		if err != nil {
			t.Fatal(err)
		}
		p.AddOutput(rec)
		p.AddInput("left open")
		p.AddInput("left open too") // Close closes what the caller did not
		if err := p.Music().Play(song); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond)
		in.Close()
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
		if err := p.Close(); err != nil {
			t.Fatal("second Close:", err)
		}
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines before, %d after:\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
}

func TestMain(m *testing.M) {
	// FFmpeg's warnings and worse, through slog, instead of x264's
	// statistics on stderr.
	encode.RouteFFmpegLog(slog.Default())
	os.Exit(m.Run())
}

// TestPreview: the GUI gets a small live copy of the program, and a stuck
// consumer does not slow the program down.
func TestPreview(t *testing.T) {
	p, _ := patternProgram(t, 640, 360)
	defer p.Close()
	got := make(chan float64, 100)
	block := make(chan struct{})
	p.SetPreview(320, 180, 15, func(img *image.RGBA) {
		if img.Rect.Dx() != 320 || img.Rect.Dy() != 180 {
			t.Errorf("preview %v, want 320x180", img.Rect)
		}
		got <- mediatest.MeanLuma(img)
		if len(got) >= 10 {
			<-block // a consumer that stops consuming
		}
	})
	time.Sleep(2 * time.Second)
	close(block)
	if n := len(got); n < 10 || n > 12 {
		t.Errorf("%d previews, want 10 then none while the consumer was stuck", n)
	}
	if l := <-got; l < 30 {
		t.Errorf("preview mean luma %.0f: black", l)
	}
	if st := p.Stats(); st.Frames < 50 || st.Dropped > 2 {
		t.Errorf("program %d frames, %d dropped while the preview was stuck", st.Frames, st.Dropped)
	}
}

// The vertical program's preview (issue #13) shows it while it is made,
// at the size asked for, and nothing while it rests: before a vertical
// output and after the last is removed.
func TestVerticalPreview(t *testing.T) {
	p, _ := patternProgram(t, 320, 180)
	defer p.Close()
	var n atomic.Int64
	p.SetVerticalPreview(90, 160, 15, func(img *image.RGBA) {
		if img.Rect.Dx() != 90 || img.Rect.Dy() != 160 || mediatest.MeanLuma(img) < 30 {
			t.Errorf("vertical preview %v, mean luma %.0f: want 90x160, not black", img.Rect, mediatest.MeanLuma(img))
		}
		n.Add(1)
	})
	time.Sleep(500 * time.Millisecond)
	if got := n.Load(); got != 0 {
		t.Errorf("%d vertical previews before the vertical program had an output", got)
	}
	info, err := p.Vertical()
	if err != nil {
		t.Fatal(err)
	}
	rec, err := record.New(record.Config{Path: filepath.Join(t.TempDir(), "tall.mp4"), Info: info})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AddVerticalOutput(rec); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	if got := n.Load(); got < 8 {
		t.Errorf("%d vertical previews in a second, want about 15", got)
	}
	if err := p.RemoveOutput(rec); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // one in flight may land
	rested := n.Load()
	time.Sleep(500 * time.Millisecond)
	if got := n.Load(); got != rested {
		t.Errorf("%d vertical previews after its last output went", got-rested)
	}
}

func TestLayouts(t *testing.T) {
	p, err := encode.New(encode.Config{Width: 320, Height: 180, FPS: 30})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.AddTestPattern("host", 320, 180)
	p.AddInput("silent guest") // a placeholder tile in the grid
	lumas := make(chan float64, 1)
	p.SetPreview(320, 180, 30, func(img *image.RGBA) {
		select {
		case lumas <- mediatest.MeanLuma(img):
		default:
		}
	})
	// The grid has two tiles side by side with background above and
	// below; solo is the host's pattern edge to edge.
	mean := func() float64 {
		time.Sleep(scene.TransitionTime + 200*time.Millisecond) // tiles move there first
		<-lumas
		return <-lumas
	}
	grid := mean()
	if err := p.SetLayout("solo"); err != nil {
		t.Fatal(err)
	}
	solo := mean()
	if solo-grid < 20 {
		t.Errorf("mean luma grid %.0f, solo %.0f: solo should fill the frame with the pattern", grid, solo)
	}
	if err := p.SetLayout("spiral"); err == nil {
		t.Error("unknown layout accepted")
	}
}

// stuckOutput never sends anything: its queue fills and drops.
type stuckOutput struct{ q *stream.Queue }

func (o *stuckOutput) Name() string           { return "stuck" }
func (o *stuckOutput) Write(p *stream.Packet) { o.q.Push(p) }
func (o *stuckOutput) Close() error           { o.q.Close(); return nil }
func (o *stuckOutput) Stats() stream.Stats {
	return stream.Stats{Name: "stuck", State: stream.Live, Dropped: o.q.Dropped(), Queue: o.q.Len()}
}

// The fan-out: an output that stops consuming drops (and counts) on its
// own; the encoder and the other outputs do not notice.
func TestFanOutIsolatesAStuckOutput(t *testing.T) {
	p, err := encode.New(encode.Config{Width: 320, Height: 180, FPS: 30})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	stuck := &stuckOutput{q: stream.NewQueue(16)}
	p.AddOutput(stuck)
	rec := addRecorder(t, p, filepath.Join(t.TempDir(), "ok.mkv"))
	p.AddTestPattern("host", 320, 180)
	time.Sleep(3500 * time.Millisecond)
	if s := stuck.Stats(); s.Dropped == 0 || s.Queue > 16 {
		t.Errorf("stuck output: %+v, want drops counted and the queue bounded", s)
	}
	// Frame rates are not asserted: on a loaded machine the encoder may
	// drop for want of CPU, which is not what this test is about.
	if s := rec.Stats(); s.Dropped != 0 || s.Written < 100 {
		t.Errorf("healthy output: %+v, want every packet (3.5 s of them)", s)
	}
}
