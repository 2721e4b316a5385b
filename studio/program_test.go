package studio_test

import (
	"context"
	"fmt"
	"image"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"greenroom/encode"
	"greenroom/encode/compositor"
	"greenroom/encode/feed"
	"greenroom/encode/mediatest"
	"greenroom/encode/scene"
	"greenroom/studio"
	"greenroom/studio/studiotest"
)

// startShow runs the whole studio as `greenroom serve` does: a 720p program
// with the test-pattern host, the Program as sink and go-live, and the
// studio, going live to dests.
func startShow(t testing.TB, cfg studio.ProgramConfig, mods ...func(*studio.Config)) (*studio.Studio, *studio.Program, *encode.Pipeline) {
	t.Helper()
	return startShowAt(t, encode.Config{Width: 1280, Height: 720, FPS: 30}, cfg, mods...)
}

// smallShow is the program of tests that judge the show's sound, state
// or files and not its picture: a quarter of 720p's pixels, composed and
// encoded (and the host's test pattern drawn) in some of the CPU, which
// under the race detector is the test's time.
var smallShow = encode.Config{Width: 640, Height: 360, FPS: 30}

// startShowAt is startShow with a program of format pcfg, the host's test
// pattern at its size.
func startShowAt(t testing.TB, pcfg encode.Config, cfg studio.ProgramConfig, mods ...func(*studio.Config)) (*studio.Studio, *studio.Program, *encode.Pipeline) {
	t.Helper()
	pipe, err := encode.New(pcfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pipe.Close() })
	prog, err := studio.NewProgram(pipe, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { prog.Close() })
	s := newStudio(t, func(c *studio.Config) {
		c.Sink = prog
		c.GoLive = prog.SetLive
		c.CheckLive = prog.Check
		for _, mod := range mods {
			mod(c)
		}
	})
	prog.Attach(s)
	testPatternHost(t, s, pipe, pcfg.Width, pcfg.Height)
	return s, prog, pipe
}

// testPatternHost makes the host of s the test pattern, w×h: into the
// program of pipe and, as VP8 and Opus, to the guests (and the host's own
// file of a recorded show). It stops at the test's end.
func testPatternHost(t testing.TB, s *studio.Studio, pipe *encode.Pipeline, w, h int) {
	t.Helper()
	f, stop, err := s.StartHostFeed(feed.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	if _, err := pipe.AddTestPatternWith(studio.HostID, w, h, f); err != nil {
		t.Fatal(err)
	}
}

// setLive goes live (or ends the show) through the control API.
func setLive(t *testing.T, s *studio.Studio, n *mediatest.Nginx, on bool) {
	t.Helper()
	if code, body := api(t, s, "POST", "/api/live", "", fmt.Sprintf(`{"on":%v}`, on)); code != 200 {
		t.Fatalf("live %v: %d %v\n%s", on, code, body, n.LogTail(20))
	}
	if !on {
		// The studio has ended its publish; nginx finishes its recording
		// when it notices.
		n.WaitUnpublished(t, "show", 10*time.Second)
	}
}

// keepRecording copies a recording into $GREENROOM_KEEP, if set, to look at.
func keepRecording(rec, name string) {
	if dir := os.Getenv("GREENROOM_KEEP"); dir != "" {
		exec.Command("cp", rec, filepath.Join(dir, name)).Run()
	}
}

// centre returns the middle half of r.
func centre(r image.Rectangle) image.Rectangle {
	return image.Rect(r.Min.X+r.Dx()/4, r.Min.Y+r.Dy()/4, r.Max.X-r.Dx()/4, r.Max.Y-r.Dy()/4)
}

// regionStats returns the mean luma of r in a and the share of its pixels
// that changed between a and b.
func regionStats(a, b image.Image, r image.Rectangle) (mean, changed float64) {
	var n float64
	for y := r.Min.Y; y < r.Max.Y; y += 3 {
		for x := r.Min.X; x < r.Max.X; x += 3 {
			r1, g1, b1, _ := a.At(x, y).RGBA()
			r2, g2, b2, _ := b.At(x, y).RGBA()
			l1 := (0.299*float64(r1) + 0.587*float64(g1) + 0.114*float64(b1)) / 257
			l2 := (0.299*float64(r2) + 0.587*float64(g2) + 0.114*float64(b2)) / 257
			mean += l1
			if math.Abs(l1-l2) > 12 {
				changed++
			}
			n++
		}
	}
	return mean / n, changed / n
}

// TestGuestsInTheLiveProgram is the guests issue's promise, with pion
// guests: two guests join by the link, the host puts them on stage through
// the control API and goes live, and their moving pictures are in the
// stream nginx received, next to the host.
func TestGuestsInTheLiveProgram(t *testing.T) {
	n := mediatest.StartNginx(t, mediatest.NginxOptions{})
	s, prog, _ := startShow(t, studio.ProgramConfig{
		Destinations: []studio.Destination{{Name: "nginx", URL: n.URL("show")}},
		RecordFile:   filepath.Join(t.TempDir(), "show.mp4"),
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var guests []*studiotest.Client
	for _, name := range []string{"Ann", "Bob"} {
		c, err := studiotest.Join(ctx, s.GuestURL(), name, studiotest.Options{VideoIVF: videoIVF, AudioOgg: audioOgg})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		guests = append(guests, c)
	}
	for _, g := range guests {
		if code, body := api(t, s, "POST", "/api/stage", "", `{"id":"`+g.ID+`","on":true}`); code != 200 {
			t.Fatalf("stage %s: %d %v", g.ID, code, body)
		}
	}
	eventually(t, "both guests in the program", func() bool { return len(prog.Inputs()) == 2 })
	for _, g := range guests {
		eventually(t, "the guests to see and hear the host", func() bool {
			return g.Packets(studio.HostID, "video") > 30 && g.Packets(studio.HostID, "audio") > 30
		})
	}
	setLive(t, s, n, true)
	time.Sleep(6 * time.Second)
	for _, o := range prog.Outputs() {
		if o.State.String() != "live" {
			t.Errorf("output %s: %s %v", o.Name, o.State, o.Err)
		}
	}
	setLive(t, s, n, false)

	rec := n.Recording("show")
	keepRecording(rec, "show.flv")
	p := mediatest.ProbeFile(t, rec)
	if p.Video == nil || p.Video.Width != 1280 || p.Audio == nil || p.Duration < 5 {
		t.Fatalf("nginx got %+v", p)
	}
	// Three tiles: the host top left, the guests top right and below.
	cells, _ := scene.Arrange(scene.Grid, 3, 0, image.Rect(0, 0, 1280, 720))
	a, b := mediatest.Frame(t, rec, 3*time.Second), mediatest.Frame(t, rec, 3500*time.Millisecond)
	for i, cell := range cells[1:] {
		mean, changed := regionStats(a, b, centre(cell))
		t.Logf("guest tile %d %v: mean luma %.0f, %.0f%% changed", i+1, cell, mean, changed*100)
		if math.Abs(mean-float64(compositor.Placeholder.Y)) < 3 && changed == 0 {
			t.Errorf("guest tile %d shows the placeholder, not the guest", i+1)
		}
		if changed < 0.05 {
			t.Errorf("guest tile %d: only %.1f%% of pixels changed in 0.5 s: not moving", i+1, changed*100)
		}
	}
	// The guests' 440 Hz tones are mixed in with the host's beeps: there is
	// sound between the beeps too.
	if l := mediatest.AudioLevel(t, rec, 2300*time.Millisecond, 2900*time.Millisecond); l < -40 {
		t.Errorf("audio between the host's beeps at %.0f dBFS: the guests are not heard", l)
	}
}

// TestChromiumGuestsLive is the guests issue's "done when", with real
// browsers: two headless Chromium guests open the link, are put on stage
// and taken live through the control API, and both of their cameras (the
// fake device: a moving pattern) are in the stream nginx received.
func TestChromiumGuestsLive(t *testing.T) {
	if testing.Short() {
		t.Skip("real browsers: skipped with -short")
	}
	n := mediatest.StartNginx(t, mediatest.NginxOptions{})
	s, prog, _ := startShow(t, studio.ProgramConfig{Destinations: []studio.Destination{{Name: "nginx", URL: n.URL("show")}}})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	browser, pages, err := studiotest.StartChromium(ctx, s.GuestURL()+"?name=Ann&join=1", s.GuestURL()+"?name=Bob&join=1")
	if err != nil {
		t.Fatal(err)
	}
	defer browser.Close()
	var ids []string
	for _, p := range pages {
		id := joined(t, p, "a browser guest")
		ids = append(ids, id)
	}
	for _, id := range ids {
		if code, body := api(t, s, "POST", "/api/stage", "", `{"id":"`+id+`","on":true}`); code != 200 {
			t.Fatalf("stage %s: %d %v", id, code, body)
		}
	}
	eventually(t, "both browsers in the program", func() bool { return len(prog.Inputs()) == 2 })
	time.Sleep(2 * time.Second) // their video starts flowing into the program
	setLive(t, s, n, true)
	time.Sleep(6 * time.Second)
	setLive(t, s, n, false)
	rec := n.Recording("show")
	keepRecording(rec, "chromium-show.flv")
	cells, _ := scene.Arrange(scene.Grid, 3, 0, image.Rect(0, 0, 1280, 720))
	a, b := mediatest.Frame(t, rec, 3*time.Second), mediatest.Frame(t, rec, 4*time.Second)
	for i, cell := range cells[1:] {
		mean, changed := regionStats(a, b, cell.Inset(8))
		t.Logf("browser tile %d %v: mean luma %.0f, %.1f%% changed in 1 s", i+1, cell, mean, changed*100)
		if math.Abs(mean-float64(compositor.Placeholder.Y)) < 3 {
			t.Errorf("browser tile %d shows the placeholder, not the guest", i+1)
		}
		if changed < 0.002 {
			t.Errorf("browser tile %d: the picture did not move in 1 s", i+1)
		}
	}
}

// Off the stage is out of the program: a guest taken back to the green room
// leaves the picture and the mix (not a frozen tile), and comes back when
// staged again.
func TestUnstagedGuestLeavesTheProgram(t *testing.T) {
	s, prog, _ := startShow(t, studio.ProgramConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	g, err := studiotest.Join(ctx, s.GuestURL(), "Ann", studiotest.Options{VideoIVF: videoIVF, AudioOgg: audioOgg})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	has := func() bool {
		for _, id := range prog.Inputs() {
			if id == g.ID {
				return true
			}
		}
		return false
	}
	for _, on := range []bool{true, false, true} {
		if err := s.Stage(g.ID, on); err != nil {
			t.Fatal(err)
		}
		eventually(t, fmt.Sprintf("the guest in the program: %v", on), func() bool { return has() == on })
	}
}
