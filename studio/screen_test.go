package studio_test

import (
	"context"
	"image"
	"slices"
	"testing"
	"time"

	"greenroom/encode/mediatest"
	"greenroom/encode/scene"
	"greenroom/studio"
	"greenroom/studio/studiotest"
)

// screenIVF is a slide: light grey, a blue title bar, a red box in the
// middle for the first half second of each (ffmpeg color + drawbox,
// 640x360 15 fps, VP8, 1 s, looped).
const screenIVF = "testdata/screen.ivf"

// screenStep is how far apart TestGuestSharesScreen takes the frames it
// judges the shared slide by: shorter than either of the slide's phases
// (TestScreenSlidePhases), so that its frames over one loop see both.
const screenStep = 250 * time.Millisecond

// TestScreenSlidePhases holds TestGuestSharesScreen's premise: each phase
// of the slide (the red box on, then off) lasts longer than screenStep and
// a program frame's jitter, so frames screenStep apart over a loop catch
// the slide both with the box and without. The box is on for 8 of the 15
// frames and off for 7: 467 ms, less than the half second the test once
// took its two frames apart, so that both had the box in about one run
// in ten and the screen looked frozen.
func TestScreenSlidePhases(t *testing.T) {
	const fps, jitter = 15, time.Second / 30
	frames := mediatest.FrameCount(t, screenIVF)
	plain := len(mediatest.FlashTimes(t, screenIVF, 200)) // 207 without the box, 191 with it
	for _, phase := range []struct {
		name   string
		frames int
	}{{"without the box", plain}, {"with the box", frames - plain}} {
		d := time.Duration(phase.frames) * time.Second / fps
		t.Logf("the slide %s: %d frames, %v", phase.name, phase.frames, d)
		if d < screenStep+jitter {
			t.Errorf("the slide %s lasts %v: frames %v apart can miss it", phase.name, d, screenStep)
		}
	}
}

// TestGuestSharesScreen is the screen share with pion guests: Ann shares a
// screen besides her camera; it becomes a program input of its own, Bob
// receives it as a track of its own, the host shows it large in the screen
// layout and nginx's recording has it there; when Ann stops sharing, the
// input leaves and the scene goes back to the layout it had.
func TestGuestSharesScreen(t *testing.T) {
	n := mediatest.StartNginx(t, mediatest.NginxOptions{})
	s, prog, _ := startShow(t, studio.ProgramConfig{Destinations: []studio.Destination{{Name: "nginx", URL: n.URL("show")}}})
	ann := join(t, s, "Ann", studiotest.Options{VideoIVF: videoIVF, AudioOgg: audioOgg, ScreenIVF: screenIVF})
	bob := join(t, s, "Bob", studiotest.Options{VideoIVF: videoIVF})
	for _, g := range []*studiotest.Client{ann, bob} {
		if code, body := api(t, s, "POST", "/api/stage", "", `{"id":"`+g.ID+`","on":true}`); code != 200 {
			t.Fatalf("stage %s: %d %v", g.ID, code, body)
		}
	}
	screen := studio.ScreenInput(ann.ID)
	eventually(t, "Ann's camera, Ann's screen and Bob in the program", func() bool {
		in := prog.Inputs()
		return len(in) == 3 && slices.Contains(in, screen) && slices.Contains(in, ann.ID)
	})
	eventually(t, "Bob to receive Ann's screen and camera", func() bool {
		return bob.Packets(screen, "video") > 10 && bob.Packets(ann.ID, "video") > 10
	})
	before := prog.Scene().Layout
	if err := prog.ShowScreen(ann.ID); err != nil {
		t.Fatal(err)
	}
	if sc := prog.Scene(); sc.Layout != scene.Screen || sc.Main != screen {
		t.Fatalf("after ShowScreen the scene is %+v", sc)
	}
	setLive(t, s, n, true)
	time.Sleep(5 * time.Second)
	setLive(t, s, n, false)
	rec := n.Recording("show")
	keepRecording(rec, "screen-share.flv")
	// Four sources (the host, Ann, her screen, Bob); the screen, main, has
	// the large area on the left, letterboxed: its middle is the slide.
	cells, _ := scene.Arrange(scene.Screen, 4, 0, image.Rect(0, 0, 1280, 720))
	// The slide loops every second: the red box is on for 8 of its 15
	// frames (533 ms), off for 7 (467 ms). Two frames half a second apart
	// were both of the box whenever the first fell in the box's last
	// 33 ms or so (about a run in ten, and then the screen looked
	// frozen); frames screenStep apart over the loop catch both
	// (TestScreenSlidePhases).
	var mean, changed float64
	var frames []image.Image
	for at := 3000 * time.Millisecond; at < 4*time.Second; at += screenStep {
		frames = append(frames, mediatest.Frame(t, rec, at))
	}
	for i, f := range frames {
		m, c := regionStats(f, frames[(i+1)%len(frames)], centre(cells[0]))
		mean, changed = max(mean, m), max(changed, c)
	}
	t.Logf("main area %v over 1 s: brightest mean luma %.0f, at most %.0f%% changed", cells[0], mean, changed*100)
	if mean < 200 {
		t.Errorf("the main area's mean luma is at most %.0f: not the light slide Ann shares", mean)
	}
	if changed == 0 {
		t.Errorf("the main area did not change in 1 s: the screen is frozen")
	}

	if err := ann.StopScreen(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "Ann's screen to leave the program", func() bool {
		return !slices.Contains(prog.Inputs(), screen) && len(prog.Inputs()) == 2
	})
	if sc := prog.Scene(); sc.Layout != before || sc.Main != "" {
		t.Errorf("after the screen left the scene is %+v, want layout %s and no main", sc, before)
	}
	eventually(t, "Bob to stop receiving Ann's screen", func() bool {
		n := bob.Packets(screen, "video")
		time.Sleep(500 * time.Millisecond)
		return bob.Packets(screen, "video") == n
	})
	if errs := ann.Errors(); len(errs) > 0 {
		t.Errorf("Ann got errors: %v", errs)
	}
}

// TestChromiumGuestSharesScreen is the guest page's Share screen button in
// headless Chromium (whose fake devices share a fake screen without
// asking): the screen comes into the program as an input of its own (and
// not before the click: Chromium's bandwidth probes reach the empty
// screen sender first); the browser's "Stop sharing" (the track's ended
// event) takes it out again, and sharing again brings it back. A pion
// guest receives the browser's camera and screen.
func TestChromiumGuestSharesScreen(t *testing.T) {
	if testing.Short() {
		t.Skip("real browsers: skipped with -short")
	}
	s, prog, _ := startShowAt(t, smallShow, studio.ProgramConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	browser, pages, err := studiotest.StartChromium(ctx, s.GuestURL()+"?name=Ann&join=1")
	if err != nil {
		t.Fatal(err)
	}
	defer browser.Close()
	page := pages[0]
	id := joined(t, page, "the browser guest")
	bob := join(t, s, "Bob", studiotest.Options{VideoIVF: videoIVF})
	if code, body := api(t, s, "POST", "/api/stage", "", `{"id":"`+id+`","on":true}`); code != 200 {
		t.Fatalf("stage %s: %d %v", id, code, body)
	}
	eventually(t, "the browser's camera in the program", func() bool { return slices.Contains(prog.Inputs(), id) })
	eventually(t, "the Share screen button to be ready", func() bool {
		var ready bool
		return page.Eval(`!document.getElementById("share").disabled && !document.getElementById("share").hidden`, &ready) == nil && ready
	})
	time.Sleep(time.Second)
	if slices.Contains(prog.Inputs(), studio.ScreenInput(id)) {
		t.Fatal("a screen is in the program before Share screen was clicked")
	}
	if err := page.EvalAsUser(`document.getElementById("share").click()`, nil); err != nil {
		t.Fatal(err)
	}
	screen := studio.ScreenInput(id)
	eventually(t, "the browser's screen in the program", func() bool { return slices.Contains(prog.Inputs(), screen) })
	eventually(t, "Bob to receive the browser's camera and screen", func() bool {
		return bob.Packets(id, "video") > 10 && bob.Packets(screen, "video") > 10
	})
	if err := prog.ShowScreen(id); err != nil {
		t.Fatal(err)
	}
	// What Chromium does when its "Stop sharing" bar is clicked.
	if err := page.Eval(`window.greenroom.screen.dispatchEvent(new Event("ended"))`, nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the browser's screen to leave the program", func() bool {
		return !slices.Contains(prog.Inputs(), screen) && slices.Contains(prog.Inputs(), id)
	})
	if sc := prog.Scene(); sc.Layout == "screen" || sc.Main != "" {
		t.Errorf("after the screen left the scene is %+v", sc)
	}
	var label string
	if err := page.Eval(`document.getElementById("share").textContent`, &label); err != nil || label != "Share screen" {
		t.Errorf("the button says %q (%v) after sharing stopped", label, err)
	}
	// Sharing again: the same sender, a new track, the input back.
	if err := page.EvalAsUser(`document.getElementById("share").click()`, nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the browser's screen back in the program", func() bool { return slices.Contains(prog.Inputs(), screen) })
	var errs []string
	if err := page.Eval(`window.greenroom.errors`, &errs); err != nil || len(errs) > 0 {
		t.Errorf("the page got errors from the studio: %v %v", errs, err)
	}
}
