package main

import (
	"context"
	"image"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"greenroom/encode"
	"greenroom/encode/mediatest"
	"greenroom/encode/scene"
	"greenroom/studio"
	"greenroom/studio/studiotest"
)

// TestHostSharesScreen shares the host's screen (a white virtual X
// display) next to the test-pattern host: it is a program input of its
// own and a stream of its own to the guests; shown large in the screen
// layout it fills the main area of the recording; stopping takes it out
// (of both) and the scene falls back.
func TestHostSharesScreen(t *testing.T) {
	t.Setenv("DISPLAY", mediatest.StartXvfb(t, "1280x720"))
	rec := filepath.Join(t.TempDir(), "show.mp4")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	sess, err := startSession(encode.Config{Width: 640, Height: 360, FPS: 30, Logger: log},
		studio.Config{Listen: "127.0.0.1:0", PlainHTTP: true, ConfigDir: t.TempDir()},
		studio.ProgramConfig{RecordFile: rec, Logger: log}, false, log)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	screen := studio.ScreenInput(studio.HostID)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ann, err := studiotest.Join(ctx, sess.studio.GuestURL(), "Ann", studiotest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ann.Close()
	if err := sess.ShareScreen(true); err != nil {
		t.Fatal(err)
	}
	if err := sess.ShareScreen(true); err != nil || !sess.Sharing() {
		t.Fatalf("sharing twice: %v", err)
	}
	if !slices.Contains(sess.prog.Inputs(), screen) {
		t.Fatalf("program inputs %v, want %s", sess.prog.Inputs(), screen)
	}
	before := sess.prog.Scene().Layout
	if err := sess.prog.ShowScreen(studio.HostID); err != nil {
		t.Fatal(err)
	}
	if got := sess.pipe.Scene().Names[screen]; got != "Host's screen" {
		t.Errorf("the screen's name tag is %q", got)
	}
	if err := sess.prog.SetLive(true); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	if err := sess.prog.SetLive(false); err != nil {
		t.Fatal(err)
	}
	if n := ann.Packets(screen, "video"); n < 10 {
		t.Errorf("the guest got %d packets of the host's screen", n)
	}
	if err := sess.ShareScreen(false); err != nil || sess.Sharing() {
		t.Fatalf("stop sharing: %v", err)
	}
	if slices.Contains(sess.prog.Inputs(), screen) {
		t.Errorf("the screen is still in the program: %v", sess.prog.Inputs())
	}
	if sc := sess.prog.Scene(); sc.Layout != before || sc.Main != "" {
		t.Errorf("after the screen left the scene is %+v, want %s", sc, before)
	}
	// A packet sent just before the stop may still be on its way (one
	// arrived after it under -race in a CI run): count from when those
	// have landed.
	time.Sleep(200 * time.Millisecond)
	n := ann.Packets(screen, "video")
	time.Sleep(500 * time.Millisecond)
	if m := ann.Packets(screen, "video"); m != n {
		t.Errorf("the guest got %d packets of the host's screen after it stopped", m-n)
	}

	// Two sources, the screen main: the large area on the left is the
	// white screen (letterboxed, so its middle).
	cells, _ := scene.Arrange(scene.Screen, 2, 0, image.Rect(0, 0, 640, 360))
	r := cells[0]
	mid := image.Rect(r.Min.X+r.Dx()/4, r.Min.Y+r.Dy()/4, r.Max.X-r.Dx()/4, r.Max.Y-r.Dy()/4)
	img := mediatest.Frame(t, rec, 2*time.Second)
	sub := img.(interface {
		SubImage(image.Rectangle) image.Image
	}).SubImage(mid)
	if mean := mediatest.MeanLuma(sub); mean < 200 {
		t.Errorf("the main area %v has mean luma %.0f: not the white screen", mid, mean)
	}
}

// The window's Share screen button (show.ShareScreen) shares the host's
// screen into the program; stopping takes it out. With no X11 display it
// says so in words.
func TestShowSharesScreen(t *testing.T) {
	t.Setenv("DISPLAY", "")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	sess, err := startSession(encode.Config{Width: 640, Height: 360, FPS: 30, Logger: log},
		studio.Config{Listen: "127.0.0.1:0", PlainHTTP: true, ConfigDir: t.TempDir()},
		studio.ProgramConfig{Logger: log}, false, log)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	sh := &show{Studio: sess.studio, sess: sess, prog: sess.prog}
	if err := sh.ShareScreen(true); err == nil || sh.Sharing() {
		t.Fatalf("sharing without a display: %v, sharing %v", err, sh.Sharing())
	} else if want := "needs an X11 desktop"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}

	t.Setenv("DISPLAY", mediatest.StartXvfb(t, "640x360"))
	screen := studio.ScreenInput(studio.HostID)
	if err := sh.ShareScreen(true); err != nil || !sh.Sharing() || !slices.Contains(sess.prog.Inputs(), screen) {
		t.Fatalf("share: %v; inputs %v", err, sess.prog.Inputs())
	}
	if err := sh.ShareScreen(false); err != nil || sh.Sharing() || slices.Contains(sess.prog.Inputs(), screen) {
		t.Fatalf("stop: %v; inputs %v", err, sess.prog.Inputs())
	}
}
