//go:build linux

package studio_test

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"greenroom/encode"
	"greenroom/encode/mediatest"
	"greenroom/studio"
	"greenroom/studio/studiotest"
)

// TestSoak is issue #14's soak: a show with three guests on stage (two
// pion guests sending real VP8 and Opus, one headless Chromium guest) live
// to nginx-rtmp and recorded, for GREENROOM_SOAK (a Go duration; the test
// is skipped without it; scripts/soak runs it). The pion guests take turns
// leaving and joining again as newcomers, once a sample period. Every
// period it logs RSS, goroutines, open fds, dropped frames, the encode
// time per frame and the recording's length against wall time; after the
// first period (warm-up) it holds the process to the targets
// where they are met (goroutines and fds stay flat, the recording is as
// long as the show within a second) and logs RSS growth and dropped frames
// against theirs (see the bounds above).
// The soak's bounds. The targets (RSS growth under 10 % after
// warm-up, no frame dropped after the first second) are logged; the test
// fails past soakMaxRSS and soakMaxDropShare of the frames, where a
// busy machine no longer explains it.
const (
	soakTargetRSS = 0.10
	// 0.50 until the growth outside Go was found (glibc's moving mmap
	// threshold stranding each replaced x264 encoder in a malloc arena,
	// +16 to +23 % in 3 minutes; shim.MmapThreshold); two 3-minute runs
	// since, at load 10 to 16: -2.1 % and -0.9 %. 0.15 fails that leak
	// again and leaves a busy machine room.
	soakMaxRSS       = 0.15
	soakMaxDropShare = 0.01
	soakFPS          = 30 // startShow's program
)

func TestSoak(t *testing.T) {
	v := os.Getenv("GREENROOM_SOAK")
	if v == "" {
		t.Skip("set GREENROOM_SOAK=<duration> (or run scripts/soak) to soak")
	}
	total, err := time.ParseDuration(v)
	if err != nil || total < 30*time.Second {
		t.Fatalf("GREENROOM_SOAK=%q: want a duration of at least 30s", v)
	}
	// One sample (and one guest leaving and coming back) per minute, or
	// three in a shorter soak, so a short CI run still churns.
	period := min(time.Minute, total/3)

	n := mediatest.StartNginx(t, mediatest.NginxOptions{})
	rec := filepath.Join(t.TempDir(), "soak.mp4")
	s, prog, pipe := startShow(t, studio.ProgramConfig{
		Destinations: []studio.Destination{{Name: "nginx", URL: n.URL("show")}},
		RecordFile:   rec,
	})
	stage := func(id string) {
		t.Helper()
		if err := s.Stage(id, true); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	av := studiotest.Options{VideoIVF: videoIVF, AudioOgg: audioOgg}
	joinPion := func(name string) *studiotest.Client {
		t.Helper()
		jctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		c, err := studiotest.Join(jctx, s.GuestURL(), name, av)
		if err != nil {
			t.Fatal(err)
		}
		stage(c.ID)
		return c
	}
	pion := []*studiotest.Client{joinPion("Ann"), joinPion("Bob")}
	defer func() {
		for _, c := range pion {
			c.Close()
		}
	}()
	page := chromiumPages(t, s.GuestURL()+"?name=Cam&join=1")[0]
	camID := joined(t, page, "the browser guest")
	stage(camID)
	onStage := func() {
		t.Helper()
		eventually(t, "three guests in the program", func() bool { return len(prog.Inputs()) == 3 })
	}
	onStage()

	// The recording starts as the show goes live, before the call returns
	// (which waits for nginx): wall time counts from the call.
	liveAt := time.Now()
	setLive(t, s, n, true)
	t.Logf("going live took %v", time.Since(liveAt).Round(time.Millisecond))
	time.Sleep(time.Second)
	droppedAt1s := dropped(pipe, prog)
	drops := watchDrops(pipe, prog, liveAt)
	defer drops.stop()

	t.Logf("soak: %v live, sampled every %v; a pion guest leaves %v into each period and a newcomer joins %v later",
		total, period, period/2, period/6)
	var first, last, low soakSample // low: the fewest goroutines and fds of any sample
	churns := 0
	for at := period; at <= total; at += period {
		// Half way through the period one pion guest leaves; a little
		// later a newcomer takes their place (a new participant, not a
		// resume), so the sample at the period's end sees all three.
		time.Sleep(time.Until(liveAt.Add(at - period/2)))
		i := churns % len(pion)
		pion[i].Leave()
		time.Sleep(period / 6)
		pion[i] = joinPion(fmt.Sprintf("Guest-%d", churns+1))
		churns++
		onStage()

		time.Sleep(time.Until(liveAt.Add(at)))
		smp := sample(t, pipe, prog, rec, time.Since(liveAt))
		if first.at == 0 {
			first, low = smp, smp
		}
		last = smp
		low.goroutines, low.fds = min(low.goroutines, smp.goroutines), min(low.fds, smp.fds)
		t.Logf("soak %v: %s", at, smp.report(first))
		if worst := drops.worst(at-period, at, 5); worst != "" {
			t.Logf("soak %v: frames dropped in the seconds (since live) %s", at, worst)
		}
	}
	droppedLive := dropped(pipe, prog) - droppedAt1s
	wall := time.Since(liveAt) // the show ends now; nginx lets go later
	setLive(t, s, n, false)
	keepRecording(rec, "soak.mp4")
	p := mediatest.ProbeFile(t, rec)
	t.Logf("soak done: %v live, %d guests left and came back; recording %.1f s of %.1f s; %s",
		wall.Round(time.Second), churns, p.Duration, wall.Seconds(), last.report(first))

	// The targets are RSS growth under 10 % and no frame
	// dropped. The RSS one holds since shim.MmapThreshold (README,
	// Reliability); a loaded box still drops frames at x264's slowest.
	// The test logs both against the targets and fails where the growth
	// or the drops mean a leak or a stalled pipeline rather than a busy
	// machine.
	grow := float64(last.rss)/float64(first.rss) - 1
	if grow >= soakTargetRSS {
		t.Logf("soak: RSS grew %.1f %% after warm-up (%d → %d MB): over the issue's target of %.0f %%",
			grow*100, first.rss>>20, last.rss>>20, soakTargetRSS*100)
	}
	if grow >= soakMaxRSS {
		t.Errorf("RSS grew %.1f %% after warm-up (%d → %d MB), want < %.0f %%", grow*100, first.rss>>20, last.rss>>20, soakMaxRSS*100)
	}
	// Flat. The settled counts (see settled) of the first sample keep a
	// few of the warm-up's (5 goroutines and 4 fds more than the rest in
	// a 5-minute run, which were level after it): the last is held to the
	// lowest, with room for one or two that outlive a second of looking.
	// The files on disk are a file per person on and the program's, the
	// same number at every sample: not one more. A file and its writer
	// kept per departed guest (the 20-minute run's leak) adds one of each
	// a churn, two files over a 3-minute soak.
	if last.goroutines > low.goroutines+2 {
		t.Errorf("goroutines grew from %d after warm-up (fewest) to %d", low.goroutines, last.goroutines)
	}
	if last.fds > low.fds+2 {
		t.Errorf("open fds grew from %d after warm-up (fewest) to %d", low.fds, last.fds)
	}
	if last.files > first.files {
		t.Errorf("open files grew from %d after warm-up to %d: a departed guest's file left open?", first.files, last.files)
	}
	frames := int64(wall.Seconds() * float64(soakFPS))
	if droppedLive > 0 {
		t.Logf("soak: %d frames or packets dropped after the first second live, of about %d: over the issue's target of none",
			droppedLive, frames)
	}
	if float64(droppedLive) > soakMaxDropShare*float64(frames) {
		t.Errorf("%d frames or packets dropped after the first second live, of about %d: more than %.0f %%",
			droppedLive, frames, soakMaxDropShare*100)
	}
	if math.Abs(p.Duration-wall.Seconds()) > 1 {
		t.Errorf("the recording is %.1f s long after %.1f s live", p.Duration, wall.Seconds())
	}
	for _, o := range prog.Outputs() {
		if o.Reconnects > 0 {
			t.Errorf("output %s reconnected %d times", o.Name, o.Reconnects)
		}
	}
}

// soakSample is the process and the show at one moment of the soak.
type soakSample struct {
	at         time.Duration // since going live
	rss        int64         // bytes
	heap       uint64        // bytes of Go heap in use
	goHeld     uint64        // bytes the Go runtime holds from the OS: RSS growth beyond it is C's (FFmpeg, x264)
	threads    int
	goroutines int
	fds        int
	files      int    // of fds, files on disk: the recordings
	load       string // the machine's load average (1 min): drops follow it
	stats      encode.Stats
	outDropped int64
	recorded   float64 // seconds, the recording's last video packet
}

func sample(t *testing.T, pipe *encode.Pipeline, prog *studio.Program, rec string, at time.Duration) soakSample {
	t.Helper()
	smp := soakSample{at: at, stats: pipe.Stats()}
	smp.goroutines, smp.fds, smp.files = settled(t)
	smp.rss, smp.threads = procStatus(t)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	smp.heap, smp.goHeld = ms.HeapInuse, ms.Sys-ms.HeapReleased
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		smp.load, _, _ = strings.Cut(string(b), " ")
	}
	for _, o := range prog.Outputs() {
		smp.outDropped += o.Dropped
	}
	smp.recorded = mediatest.LastPacketTime(t, rec)
	return smp
}

func (s soakSample) report(first soakSample) string {
	grow := 0.0
	if first.rss > 0 {
		grow = (float64(s.rss)/float64(first.rss) - 1) * 100
	}
	return fmt.Sprintf("RSS %d MB (%+.1f %%; Go holds %d MB, heap in use %d MB; %d threads), %d goroutines, %d fds (%d files), %d frames dropped (%d packets by outputs), encode %.1f ms/frame (%s), recording %.1f s at %.1f s wall, load %s",
		s.rss>>20, grow, s.goHeld>>20, s.heap>>20, s.threads, s.goroutines, s.fds, s.files, s.stats.Dropped, s.outDropped,
		float64(s.stats.EncodeTime.Microseconds())/1000, s.stats.Preset, s.recorded, s.at.Seconds(), s.load)
}

// dropWatch counts, second by second, the frames dropped during the soak,
// to tell drops at a guest's coming and going from drops spread over the
// show (a machine too busy).
type dropWatch struct {
	done chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex
	per  map[time.Duration]int64 // whole seconds since live → frames dropped in it
}

func watchDrops(pipe *encode.Pipeline, prog *studio.Program, liveAt time.Time) *dropWatch {
	w := &dropWatch{done: make(chan struct{}), per: map[time.Duration]int64{}}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		before := dropped(pipe, prog)
		for {
			select {
			case <-w.done:
				return
			case now := <-tick.C:
				n := dropped(pipe, prog)
				if n > before {
					w.mu.Lock()
					w.per[now.Sub(liveAt).Truncate(time.Second)] += n - before
					w.mu.Unlock()
				}
				before = n
			}
		}
	}()
	return w
}

func (w *dropWatch) stop() {
	close(w.done)
	w.wg.Wait()
}

// worst says how many seconds in [from, to) had drops, and the n worst.
func (w *dropWatch) worst(from, to time.Duration, n int) string {
	w.mu.Lock()
	var secs []time.Duration
	for s := range w.per {
		if s >= from && s < to {
			secs = append(secs, s)
		}
	}
	slices.SortFunc(secs, func(a, b time.Duration) int { return cmp.Compare(w.per[b], w.per[a]) })
	var parts []string
	for _, s := range secs[:min(n, len(secs))] {
		parts = append(parts, fmt.Sprintf("%v: %d", s, w.per[s]))
	}
	w.mu.Unlock()
	if len(secs) == 0 {
		return ""
	}
	return fmt.Sprintf("%d seconds with drops, most at %s", len(secs), strings.Join(parts, ", "))
}

// dropped is every frame the pipeline and packet the outputs dropped.
func dropped(pipe *encode.Pipeline, prog *studio.Program) int64 {
	n := pipe.Stats().Dropped
	for _, o := range prog.Outputs() {
		n += o.Dropped
	}
	return n
}

// procStatus reads the process's resident set (bytes) and its OS threads
// from /proc/self/status. Threads matter to RSS: glibc gives threads that
// malloc at once arenas of their own, and cgo calls (FFmpeg, x264) that
// block make the Go runtime start more threads.
func procStatus(t *testing.T) (rss int64, threads int) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	field := func(name string) int64 {
		for line := range bytes.Lines(b) {
			if rest, ok := bytes.CutPrefix(line, []byte(name+":")); ok {
				v, err := strconv.ParseInt(string(bytes.TrimSuffix(bytes.TrimSpace(rest), []byte(" kB"))), 10, 64)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				return v
			}
		}
		t.Fatalf("no %s in /proc/self/status", name)
		return 0
	}
	return field("VmRSS") << 10, int(field("Threads"))
}

// settled is the fewest goroutines, open fds and files on disk among
// them the process had over a second (ten looks): what it holds, without
// what comes and goes at the moment of one look (a timer's goroutine, a
// request's socket, a child's pipes), which made single looks 3–4 apart
// from minute to minute.
func settled(t *testing.T) (goroutines, fds, files int) {
	goroutines, fds, files = math.MaxInt, math.MaxInt, math.MaxInt
	for i := range 10 {
		if i > 0 {
			time.Sleep(100 * time.Millisecond)
		}
		n, f := openFDs(t)
		goroutines, fds, files = min(goroutines, runtime.NumGoroutine()), min(fds, n), min(files, f)
	}
	return goroutines, fds, files
}

// openFDs counts the process's open file descriptors, and of them those
// on files on disk (not sockets, pipes, /dev or anonymous inodes).
func openFDs(t *testing.T) (fds, files int) {
	dir, err := os.Open("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	names, err := dir.Readdirnames(-1)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		target, err := os.Readlink("/proc/self/fd/" + n)
		if err != nil {
			continue // closed since, or the listing's own
		}
		fds++
		if strings.HasPrefix(target, "/") && !strings.HasPrefix(target, "/dev/") && !strings.HasPrefix(target, "/proc/") {
			files++
		}
	}
	return fds - 1, files // less the listing's own
}
