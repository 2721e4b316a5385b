//go:build unix

package studio_test

import (
	"context"
	"net/url"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"greenroom/encode"
	"greenroom/encode/mediatest"
	"greenroom/studio"
	"greenroom/studio/studiotest"
)

// TestChromiumGuestLipSync: a Chromium guest whose camera shows a white
// flash on the same instant its microphone beeps, once a second, is in the
// program alone; in the recording, the beeps start within a broadcast's
// lip-sync tolerance of their flashes, counted from what the browser
// itself sent. Chromium's fake devices play the two files from when the
// page opens each, and its camera falls behind under load, so the
// guest's own sender reports put its beeps anywhere from 64 ms before
// its flashes to 96 ms after (sentSync, which decodes what the guest
// sent beside the program); the program is held to what it adds to
// that.
func TestChromiumGuestLipSync(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "show.mp4")
	s, _, _, sent := flashingGuestSolo(t, rec)
	time.Sleep(3 * time.Second) // past the browser's first seconds of ramp-up
	live := time.Now()
	got := liveSync(t, s, rec, "lipsync.mp4", 10*time.Second)
	sentAV, delays := sent.offsets(live, live.Add(10*time.Second))
	t.Logf("sent by the guest: flashes %.3f s from go-live\naudio − video %.3f\nthe program's playout delay for the guest (from go-live): %s", sentAV.at, sentAV.d, delays)
	added := got.added(sentAV)
	if len(added) < 6 {
		t.Fatalf("%d flashes of the recording paired with their beeps and with the same flash as the guest sent it, want ≥ 6", len(added))
	}
	med := median(added)
	// EBU R37's tolerance for a broadcast: sound at most 40 ms early or
	// 60 ms late, here of what the program adds to the guest's own.
	t.Logf("the program adds, per flash, %.3f: median %+.0f ms", added, med*1000)
	if med < -0.040 || med > 0.060 {
		t.Errorf("the program adds %+.0f ms (median, audio − video) to what the guest sent, want within −40…+60 ms", med*1000)
	}
}

// liveSync goes live for d with s, whose program records to rec (kept as
// keep, see keepRecording), and returns the recording's flashes and how
// long after each the nearest beep starts (fakeAV's).
func liveSync(t *testing.T, s *studio.Studio, rec, keep string, d time.Duration) avSync {
	t.Helper()
	if err := s.SetLive(true); err != nil {
		t.Fatal(err)
	}
	time.Sleep(d)
	if err := s.SetLive(false); err != nil {
		t.Fatal(err)
	}
	keepRecording(rec, keep)
	return fileSync(t, rec)
}

// fileSync is the flashes of the file at path and how long after each
// its nearest beep starts, on the file's own timeline.
func fileSync(t *testing.T, path string) avSync {
	t.Helper()
	flashes := flashStarts(t, path)
	beeps := mediatest.ToneOnsets(t, path, 500*time.Millisecond)
	av := pairs(flashes, beeps)
	t.Logf("%s: flashes %.3f\nbeeps %.3f\naudio − video %.3f", filepath.Base(path), flashes, beeps, av.d)
	return av
}

// flashingGuestSolo starts a 720p program recording to rec, its studio
// and a Chromium guest called Ann whose camera flashes as her mic beeps
// (fakeAV), alone in the program's solo layout; see
// chromiumGuestInProgram.
func flashingGuestSolo(t *testing.T, rec string) (s *studio.Studio, page *studiotest.Page, id string, sent *sentSync) {
	t.Helper()
	flags := fakeAVFlags(t)
	sent = newSentSync(t)
	s, prog, _, page, id := chromiumGuestTapped(t, encode.Config{Width: 1280, Height: 720, FPS: 30},
		studio.ProgramConfig{RecordFile: rec}, "Ann", flags, sent)
	if err := prog.SetLayout("solo"); err != nil {
		t.Fatal(err)
	}
	if err := prog.Spotlight(id); err != nil {
		t.Fatal(err)
	}
	return s, page, id, sent
}

// chromiumGuestInProgram starts a program of format cfg, a studio whose
// Sink and GoLive it is, and a headless Chromium guest called name with
// Chromium's flags (fakeAVFlags for a camera that flashes as the
// microphone beeps; nil for Chromium's own fake devices); it puts the
// guest on stage and returns when they are in the program, with their ID.
// It skips the test without a browser; everything closes at its end.
func chromiumGuestInProgram(t *testing.T, cfg encode.Config, pcfg studio.ProgramConfig, name string, flags []string) (
	s *studio.Studio, prog *studio.Program, pipe *encode.Pipeline, page *studiotest.Page, id string) {
	t.Helper()
	return chromiumGuestTapped(t, cfg, pcfg, name, flags, nil)
}

// chromiumGuestTapped is chromiumGuestInProgram with tap, if not nil,
// given every packet the program is (teeSink).
func chromiumGuestTapped(t *testing.T, cfg encode.Config, pcfg studio.ProgramConfig, name string, flags []string, tap *sentSync) (
	s *studio.Studio, prog *studio.Program, pipe *encode.Pipeline, page *studiotest.Page, id string) {
	t.Helper()
	needChromium(t)
	pipe, err := encode.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pipe.Close() })
	prog, err = studio.NewProgram(pipe, pcfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { prog.Close() })
	s = newStudio(t, func(c *studio.Config) {
		c.Sink, c.GoLive = prog, prog.SetLive
		if tap != nil {
			c.Sink = teeSink{prog, tap}
		}
	})
	if tap != nil {
		tap.studio.Store(s)
	}
	prog.Attach(s)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, pages, err := studiotest.StartChromiumWith(ctx, flags, s.GuestURL()+"?name="+url.QueryEscape(name)+"&join=1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	page = pages[0]
	t.Cleanup(page.Close)

	eventually(t, "the guest in the green room", func() bool {
		for _, p := range s.State().Participants {
			if p.Role == studio.RoleGuest {
				id = p.ID
			}
		}
		return id != ""
	})
	if err := s.Stage(id, true); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the guest in the program", func() bool { return slices.Contains(prog.Inputs(), id) })
	return s, prog, pipe, page, id
}

// flashStarts is when fakeAV's flashes start in the file at path, on its
// own timeline, in seconds. A flash is a white frame and then a grey one
// (see fakeAV): a guest's 30 fps on the program's 30 fps ticks now and
// then loses a frame to jitter, and a flash of one frame would go with
// it. Where the white frame was lost, the grey one tells when it was, a
// frame before.
func flashStarts(t *testing.T, path string) []float64 {
	t.Helper()
	white := mediatest.FlashTimes(t, path, 200)
	bright := mediatest.FlashTimes(t, path, 110) // white and grey
	var starts []float64
	for i, f := range bright {
		if i > 0 && f-bright[i-1] < 0.5 {
			continue // the same flash
		}
		if !slices.Contains(white, f) {
			f -= 1.0 / 30 // the grey frame: the white one was lost
		}
		starts = append(starts, f)
	}
	return starts
}

// avSync is a clip's flashes that have a beep within half a second (at,
// in seconds on some timeline) and how long after each its nearest beep
// starts (d).
type avSync struct{ at, d []float64 }

// pairs pairs each of times with the nearest of others within half a
// second (fakeAV's events are a second apart): other − time of each pair.
func pairs(times, others []float64) avSync {
	var p avSync
	for _, f := range times {
		best := 1.0
		for _, a := range others {
			if x := a - f; abs(x) < abs(best) {
				best = x
			}
		}
		if abs(best) < 0.5 {
			p.at, p.d = append(p.at, f), append(p.d, best)
		}
	}
	return p
}

// nearest is pairs' other − time of each pair.
func nearest(times, others []float64) []float64 { return pairs(times, others).d }

// added pairs each flash of v (a file's) with the same flash in sent
// (what the guest sent, on another timeline: one shift apart, the time
// from capture to the file, give or take the playout delay's changes)
// and returns what v adds to the guest's offset, flash by flash. The
// same flash, not the medians of the two: a browser whose devices drift
// apart under load sends offsets that change from flash to flash.
func (v avSync) added(sent avSync) []float64 {
	const within = 0.3 // s: the playout delay's range, under fakeAV's second
	match := func(shift float64) (d []float64, shifts []float64) {
		for i, a := range v.at {
			for j, b := range sent.at {
				if abs(a-b-shift) < within {
					d, shifts = append(d, v.d[i]-sent.d[j]), append(shifts, a-b)
					break
				}
			}
		}
		return d, shifts
	}
	// The shift that pairs the most flashes, then the median of its pairs'.
	var best []float64
	for _, a := range v.at {
		for _, b := range sent.at {
			if _, shifts := match(a - b); len(shifts) > len(best) {
				best = shifts
			}
		}
	}
	if len(best) == 0 {
		return nil
	}
	d, _ := match(median(best))
	return d
}

// median is the middle of x (sorted in place), 0 for none.
func median(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	slices.Sort(x)
	return x[len(x)/2]
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// fakeAVFlags are Chromium's flags for fakeAV's camera and microphone. It
// skips the test first without a browser (and with -short): its callers
// make it before they start one, and the files take ffmpeg some 3 s
// under -race, for nothing.
func fakeAVFlags(t *testing.T) []string {
	needChromium(t)
	video, audio := fakeAV(t)
	return []string{"--use-file-for-fake-video-capture=" + video, "--use-file-for-fake-audio-capture=" + audio}
}

// fakeAV writes a camera (320x180 at 30 fps, black with a white frame on
// every whole second and a grey one after it) and a microphone (a 100 ms 1 kHz beep on every whole
// second) for Chromium's fake capture devices. They are 30 s long because
// Chromium loops a video file a frame late, which would drift the flashes
// from the beeps by 33 ms a loop: the test is over before the first loop.
func fakeAV(t *testing.T) (video, audio string) {
	dir := t.TempDir()
	video, audio = filepath.Join(dir, "flash.y4m"), filepath.Join(dir, "beep.wav")
	for _, args := range [][]string{
		{"-f", "lavfi", "-i", "color=black:s=320x180:r=30:d=30,format=yuv420p,geq=lum='if(eq(mod(N\\,30)\\,0)\\,235\\,if(eq(mod(N\\,30)\\,1)\\,150\\,16))':cb=128:cr=128",
			"-pix_fmt", "yuv420p", video},
		{"-f", "lavfi", "-i", "aevalsrc='if(lt(mod(t\\,1)\\,0.1)\\,0.8*sin(2*PI*1000*t)\\,0)':s=48000:d=30",
			"-ac", "1", "-c:a", "pcm_s16le", audio},
	} {
		cmd := exec.Command("ffmpeg", append([]string{"-v", "error", "-y"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg %v: %v\n%s", args, err, out)
		}
	}
	return video, audio
}
