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
	a, b := mediatest.Frame(t, rec, 3*time.Second), mediatest.Frame(t, rec, 3500*time.Millisecond)
	mean, changed := regionStats(a, b, centre(cells[0]))
	// Half a second apart, one of the two frames is without the red box.
	mean2, _ := regionStats(b, a, centre(cells[0]))
	mean = max(mean, mean2)
	t.Logf("main area %v: mean luma %.0f, %.0f%% changed", cells[0], mean, changed*100)
	if mean < 200 {
		t.Errorf("the main area's mean luma is %.0f: not the light slide Ann shares", mean)
	}
	if changed == 0 {
		t.Errorf("the main area did not change in 0.5 s: the screen is frozen")
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
	var id string
	eventually(t, "the browser guest to join", func() bool { return page.Eval(`window.greenroom.id || ""`, &id) == nil && id != "" })
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
