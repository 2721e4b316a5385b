package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
	// mediadevices' test camera ("VideoTest", colour bars) and microphone
	// ("AudioTest"), for the host's device pickers; the binary has neither.
	_ "github.com/pion/mediadevices/pkg/driver/audiotest"
	_ "github.com/pion/mediadevices/pkg/driver/videotest"

	"greenroom/encode"
	"greenroom/encode/mediatest"
	"greenroom/encode/scene"
	"greenroom/studio"
	"greenroom/studio/settings"
	"greenroom/studio/studiotest"
	"greenroom/ui"
)

// guiStudio is the window on Fyne's test driver over a real session, as
// runGUI builds it, with the user's settings in a temporary folder.
type guiStudio struct {
	w    *ui.Studio
	show *show
	st   *settings.Store
	rec  string // the settings' recording folder

	// The window's updates wait here until the test goroutine runs them
	// (pump), so that it alone touches widgets, as the UI thread does in
	// the app: Fyne's test driver would run them at once on whatever
	// goroutine asked, next to the test's own reads.
	mu      sync.Mutex
	pending []func()
}

func (g *guiStudio) post(f func()) {
	g.mu.Lock()
	g.pending = append(g.pending, f)
	g.mu.Unlock()
}

// pump runs the window's pending updates.
func (g *guiStudio) pump() {
	for {
		g.mu.Lock()
		fns := g.pending
		g.pending = nil
		g.mu.Unlock()
		if len(fns) == 0 {
			return
		}
		for _, f := range fns {
			f()
		}
	}
}

// waitFor runs the window until cond holds, or fails the test after timeout.
func (g *guiStudio) waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for g.pump(); !cond(); g.pump() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: still waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// run runs the window until d has passed since start.
func (g *guiStudio) run(start time.Time, d time.Duration) {
	for g.pump(); time.Since(start) < d; g.pump() {
		time.Sleep(20 * time.Millisecond)
	}
}

// openGUI starts a session (plain HTTP on loopback, config and home in
// temporary folders) and the window over it, as runGUI does, with one Custom
// RTMP destination publishing to server with key, and setup's settings.
func openGUI(t *testing.T, server, key string, setup ...func(*settings.Settings)) *guiStudio {
	t.Helper()
	return openGUIOn(t, "127.0.0.1:0", server, key, setup...)
}

// openGUIOn is openGUI with the studio asked to listen on listen, and
// moved to any free port if it can't, as runGUI's is.
func openGUIOn(t *testing.T, listen, server, key string, setup ...func(*settings.Settings)) *guiStudio {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	st, err := settings.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rec := filepath.Join(home, "Videos", "Greenroom")
	if err := st.Update(func(s *settings.Settings) {
		s.RecordingDir = rec
		s.Output.VideoKbps = 2000
		s.Destinations = []settings.Destination{{
			ID: "d1", Service: settings.Custom, Name: "My server", URL: server,
			Key: settings.NewStreamKey(key), Enabled: true,
		}}
		for _, f := range setup {
			f(s)
		}
	}); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	set := st.Get()
	out := set.Output
	sess, err := startSession(
		encode.Config{Width: out.Width, Height: out.Height, FPS: out.FPS, VideoBitRate: out.VideoKbps * 1000, Logger: log},
		studio.Config{Listen: listen, PlainHTTP: true, ConfigDir: filepath.Join(home, ".config", "greenroom")},
		studio.ProgramConfig{RecordDir: set.RecordingDir, Logger: log}, true, log)
	if err != nil {
		t.Fatal(err)
	}
	g := &guiStudio{st: st, rec: rec}
	g.w, g.show = openWindow(test.NewTempApp(t), sess, st, nil, g.post)
	g.w.Window().Resize(fyne.NewSize(1280, 800))
	g.pump()
	t.Cleanup(func() {
		g.w.Close()
		if err := sess.Close(); err != nil {
			t.Errorf("closing the session: %v", err)
		}
	})
	return g
}

// objects is everything in the window a person sees: the visible objects
// inside visible parents (of the tabs, the selected one).
func (g *guiStudio) objects() []fyne.CanvasObject {
	var all []fyne.CanvasObject
	var walk func(fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		if o == nil || !o.Visible() {
			return
		}
		all = append(all, o)
		switch x := o.(type) {
		case *fyne.Container:
			for _, c := range x.Objects {
				walk(c)
			}
		case fyne.Widget:
			for _, c := range test.WidgetRenderer(x).Objects() {
				walk(c)
			}
		}
	}
	walk(g.w.Window().Content())
	return all
}

// texts is every visible piece of text in the window.
func (g *guiStudio) texts() []string {
	var out []string
	for _, o := range g.objects() {
		switch x := o.(type) {
		case *canvas.Text:
			out = append(out, x.Text)
		case *widget.Label:
			out = append(out, x.Text)
		}
	}
	return out
}

// openTab selects the tab called name, as a click on it does.
func (g *guiStudio) openTab(t *testing.T, name string) {
	t.Helper()
	for _, o := range g.objects() {
		if tabs, ok := o.(*container.AppTabs); ok {
			for _, it := range tabs.Items {
				if it.Text == name {
					tabs.Select(it)
					return
				}
			}
		}
	}
	t.Fatalf("no %q tab", name)
}

// text returns the first visible text that contains s, or "".
func (g *guiStudio) text(s string) string {
	for _, x := range g.texts() {
		if strings.Contains(x, s) {
			return x
		}
	}
	return ""
}

// button finds the window's button labelled label.
func (g *guiStudio) button(t *testing.T, label string) *widget.Button {
	t.Helper()
	for _, o := range g.objects() {
		if b, ok := o.(*widget.Button); ok && b.Text == label {
			return b
		}
	}
	t.Fatalf("no %q button in the window", label)
	return nil
}

// tapDialog taps the button labelled label in the dialog on top.
func (g *guiStudio) tapDialog(t *testing.T, label string) {
	t.Helper()
	top := g.w.Window().Canvas().Overlays().Top()
	if top == nil {
		t.Fatalf("no dialog open to tap %q", label)
	}
	for _, o := range test.LaidOutObjects(top) {
		if b, ok := o.(*widget.Button); ok && b.Text == label {
			test.Tap(b)
			return
		}
	}
	t.Fatalf("the dialog has no %q button", label)
}

// Going live from the window, as a creator does it: tap Go Live, see the
// on-air timer and the destination's health, end the stream (after the
// question), and find the show in nginx's recording and in the recording
// folder.
func TestGuiGoLiveToNginx(t *testing.T) {
	n := mediatest.StartNginx(t, mediatest.NginxOptions{})
	const key = "gui-live-7f3a"
	g := openGUI(t, strings.TrimSuffix(n.URL(key), "/"+key), key)

	goLive := g.button(t, "Go Live")
	test.Tap(goLive)
	g.waitFor(t, 15*time.Second, "the on-air timer", func() bool { return g.text("● LIVE 00:") != "" })
	start := time.Now() // the show starts after Go Live's preflight, about a second
	n.WaitPublishing(t, key, 5*time.Second)
	g.waitFor(t, 10*time.Second, "the destination's health to say live", func() bool {
		return strings.HasPrefix(g.text("● Live ·"), "● Live ·")
	})
	live := 0
	for _, s := range g.show.LiveStats() {
		if s.State != ui.StateLive {
			t.Errorf("output %q is %s (%s)", s.Name, s.State, s.Err)
		} else {
			live++
		}
	}
	if live != 2 {
		t.Errorf("%d outputs live, want the destination and the recording: %+v", live, g.show.LiveStats())
	}
	if goLive.Text != "End Stream" {
		t.Errorf("live, the button says %q", goLive.Text)
	}
	if msg := g.text("Couldn't"); msg != "" {
		t.Errorf("an error while live: %q", msg)
	}
	t.Logf("live: %q, %q", g.text("● LIVE"), g.text("● Live ·"))

	// The camera, picked while live, goes out in the stream without a
	// break.
	g.run(start, 2*time.Second)
	g.openTab(t, "Settings")
	camera, _ := g.pickers(t)
	camera.SetSelected("VideoTest")
	switched := time.Since(start).Seconds()

	// The Recordings tab in view follows the live show: its program's
	// size grows with no Refresh.
	g.openTab(t, "Recordings")
	program := func() string {
		for _, o := range g.objects() {
			if a, ok := o.(*widget.Accordion); ok && len(a.Items) > 0 && !a.Items[0].Open {
				a.Open(0)
			}
		}
		return g.text("program.mp4 · ")
	}
	var first string
	g.waitFor(t, 5*time.Second, "the live show in the Recordings tab", func() bool {
		first = program()
		return first != "" && strings.HasSuffix(g.text("Show · "), " · recording")
	})
	g.waitFor(t, 5*time.Second, "the live show's program growing in the Recordings tab", func() bool {
		return program() != first
	})
	t.Logf("the Recordings tab while live: %q, then %q", first, program())

	g.run(start, 5*time.Second)
	test.Tap(goLive)
	g.tapDialog(t, "End Stream")
	ran := time.Since(start).Seconds()
	g.waitFor(t, 15*time.Second, "the window to be off air", func() bool {
		return goLive.Text == "Go Live" && g.text("● LIVE") == ""
	})
	n.WaitUnpublished(t, key, 10*time.Second)
	if st := g.show.State(); st.Live {
		t.Errorf("the studio still says live")
	}

	files, _ := filepath.Glob(filepath.Join(g.rec, "*", "program.mp4"))
	if len(files) != 1 {
		t.Fatalf("recording folder %s holds %v, want one show's program.mp4", g.rec, files)
	}
	// The Recordings tab lists the show that just ended, its program's
	// size as on disk.
	g.openTab(t, "Recordings")
	g.waitFor(t, 5*time.Second, "the ended show in the Recordings tab", func() bool {
		line := g.text("Show · ")
		return line != "" && !strings.HasSuffix(line, " · recording")
	})
	info, err := os.Stat(files[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range g.objects() {
		if a, ok := o.(*widget.Accordion); ok {
			a.Open(0)
		}
	}
	g.pump()
	line, size := g.text("Show · "), g.text("program.mp4 · ")
	var mb float64
	_, _ = fmt.Sscanf(size, "Program: program.mp4 · %f MB", &mb)
	if strings.Contains(line, "cut short") || strings.HasSuffix(line, " · recording") || math.Abs(mb*1e6-float64(info.Size())) > 0.05e6 {
		t.Errorf("the Recordings tab says %q (%q); program.mp4 is %d bytes", line, size, info.Size())
	} else {
		t.Logf("the Recordings tab: %q, %q", line, size)
	}
	for _, f := range []string{n.Recording(key), files[0]} {
		p := mediatest.ProbeFile(t, f)
		if p.Video == nil || p.Video.Codec != "h264" || p.Audio == nil || p.Audio.Codec != "aac" {
			t.Errorf("%s: %+v, want H.264 and AAC", f, p)
			continue
		}
		if math.Abs(p.Duration-ran) > 1.5 {
			t.Errorf("%s: %.1f s, but the show ran %.1f s", f, p.Duration, ran)
		}
		t.Logf("%s: %s %dx%d + %s, %.1f s (ran %.1f s)", filepath.Base(f), p.Video.Codec, p.Video.Width, p.Video.Height, p.Audio.Codec, p.Duration, ran)
		before, after := time.Duration(switched-1)*time.Second, time.Duration((p.Duration-0.5)*float64(time.Second))
		if showsColourBars(mediatest.Frame(t, f, before)) || !showsColourBars(mediatest.Frame(t, f, after)) {
			t.Errorf("%s: want the test pattern at %v and the camera picked at %.1f s at %v", f, before, switched, after)
		}
	}
}

// A stream key the server refuses: the window says so in a creator's words,
// without the key, and nothing goes live — not even the recording alone.
func TestGuiWrongStreamKey(t *testing.T) {
	const key = "wrong-key-5e1d"
	n := mediatest.StartNginx(t, mediatest.NginxOptions{RejectKeys: []string{key}})
	g := openGUI(t, strings.TrimSuffix(n.URL(key), "/"+key), key)

	goLive := g.button(t, "Go Live")
	test.Tap(goLive)
	var msg string
	g.waitFor(t, 15*time.Second, "an error in the window", func() bool {
		msg = g.text("Couldn't go live")
		return msg != "" && goLive.Text == "Go Live"
	})
	t.Logf("the window says: %q", msg)
	if !strings.Contains(msg, "refused the stream key") {
		t.Errorf("banner %q: want it to say the server refused the stream key", msg)
	}
	if strings.Contains(strings.Join(g.texts(), "\n"), key) {
		t.Errorf("the window shows the stream key")
	}
	if g.text("● LIVE") != "" || g.show.State().Live {
		t.Errorf("live after a refused key")
	}
	if outs := g.show.LiveStats(); len(outs) != 0 {
		t.Errorf("outputs after a refused key: %+v", outs)
	}
	files, _ := filepath.Glob(filepath.Join(g.rec, "*"))
	if len(files) != 0 {
		t.Errorf("recording folder holds %v after a refused key", files)
	}
}

// pickers returns the Settings tab's camera and microphone pickers.
func (g *guiStudio) pickers(t *testing.T) (camera, mic *widget.Select) {
	t.Helper()
	var sels []*widget.Select
	for _, o := range g.objects() {
		if s, ok := o.(*widget.Select); ok && len(s.Options) > 0 && s.Options[0] == "Test pattern" {
			sels = append(sels, s)
		}
	}
	if len(sels) != 2 {
		t.Fatalf("%d device pickers in the window, want a camera's and a microphone's", len(sels))
	}
	return sels[0], sels[1]
}

// preview is the picture in the window's program preview.
func (g *guiStudio) preview() image.Image {
	for _, o := range g.objects() {
		if c, ok := o.(*canvas.Image); ok && c.Image != nil && c.Image.Bounds().Dx() == 640 {
			return c.Image
		}
	}
	return nil
}

// showsColourBars reports whether the preview shows mediadevices' test
// camera filling the frame: its white bar at the left, its blue bar at the
// right.
func showsColourBars(img image.Image) bool {
	if img == nil {
		return false
	}
	b := img.Bounds()
	y := b.Min.Y + b.Dy()*3/10
	r, g, bl, _ := img.At(b.Min.X+b.Dx()/14, y).RGBA()
	white := r>>8 > 150 && g>>8 > 150 && bl>>8 > 150 && max(r, g, bl)-min(r, g, bl) < 30<<8
	r, g, bl, _ = img.At(b.Min.X+b.Dx()*13/14, y).RGBA()
	blue := bl>>8 > 150 && r>>8 < 100 && g>>8 < 100
	return white && blue
}

// The host's camera and microphone, picked in the Settings tab: the choice
// is saved, and the program shows the camera at once, without a restart —
// then the test pattern again when it is picked again. A device that is
// gone is replaced by the test pattern, and the error says so.
func TestGuiHostDevices(t *testing.T) {
	g := openGUI(t, "rtmp://127.0.0.1:1/live", "unused-key")
	g.openTab(t, "Settings")
	camera, mic := g.pickers(t)
	if camera.Selected != "Test pattern" || mic.Selected != "Test pattern" {
		t.Errorf("a new user's pickers show %q and %q", camera.Selected, mic.Selected)
	}
	if !slices.Contains(camera.Options, "VideoTest") || !slices.Contains(mic.Options, "AudioTest") {
		t.Fatalf("pickers offer %q and %q", camera.Options, mic.Options)
	}
	g.waitFor(t, 5*time.Second, "the preview", func() bool { return g.preview() != nil })
	if showsColourBars(g.preview()) {
		t.Fatal("colour bars in the preview before the camera was picked")
	}

	camera.SetSelected("VideoTest")
	mic.SetSelected("AudioTest")
	g.waitFor(t, 5*time.Second, "the choice to be saved", func() bool {
		return g.st.Get().Host == settings.Host{Camera: "VideoTest", Mic: "AudioTest"}
	})
	g.waitFor(t, 5*time.Second, "the camera in the preview", func() bool { return showsColourBars(g.preview()) })
	// The test microphone's mono tone peaks at 0.25; resampled to stereo
	// (-3 dB in each channel) it peaks at 0.18.
	g.waitFor(t, 5*time.Second, "the test microphone's level on the host's card", func() bool {
		for _, o := range g.objects() {
			if b, ok := o.(*widget.ProgressBar); ok && b.Value > 0.15 && b.Value < 0.26 {
				return true
			}
		}
		return false
	})
	if reopened, err := settings.Open(filepath.Dir(g.st.Path())); err != nil || reopened.Get().Host != g.st.Get().Host {
		t.Errorf("the choice did not reach the settings file (%v)", err)
	}

	camera.SetSelected("Test pattern")
	g.waitFor(t, 5*time.Second, "the test pattern in the preview again", func() bool { return !showsColourBars(g.preview()) })
	if h := g.st.Get().Host; h != (settings.Host{Mic: "AudioTest"}) {
		t.Errorf("saved %+v", h)
	}
	if msg := g.text("the test pattern stands in"); msg != "" {
		t.Errorf("an error in the window: %q", msg)
	}

	err := g.show.SetHostDevices("Camera Unplugged Since", "")
	if err == nil || !strings.Contains(err.Error(), "“Camera Unplugged Since” is not connected; the test pattern stands in") {
		t.Errorf("a missing camera: %v", err)
	}
	g.waitFor(t, 5*time.Second, "the test pattern in the preview", func() bool { return !showsColourBars(g.preview()) })
}

// A camera chosen last time and gone now: the window says so in words, the
// picker still shows the choice, and the test pattern stands in.
func TestGuiHostDeviceGone(t *testing.T) {
	g := openGUI(t, "rtmp://127.0.0.1:1/live", "unused-key", func(s *settings.Settings) {
		s.Host = settings.Host{Camera: "Camera Unplugged Since"}
	})
	if msg := g.text("is not connected"); !strings.Contains(msg, "your camera “Camera Unplugged Since” is not connected; the test pattern stands in") {
		t.Errorf("the window says %q", msg)
	}
	g.openTab(t, "Settings")
	if camera, _ := g.pickers(t); camera.Selected != "Camera Unplugged Since (not found)" {
		t.Errorf("the camera picker shows %q", camera.Selected)
	}
	g.waitFor(t, 5*time.Second, "the test pattern in the preview", func() bool {
		img := g.preview()
		return img != nil && !showsColourBars(img)
	})
}

// A banner typed and shown in the Banners tab appears in the program
// preview — the compositor's output — as a plate of the brand colour in
// the lower third; hiding it takes it away.
func TestGuiBannerInProgram(t *testing.T) {
	g := openGUI(t, "rtmp://127.0.0.1:1/live", "unused-key")
	g.openTab(t, "Banners")
	var entry *widget.Entry
	for _, o := range g.objects() {
		if e, ok := o.(*widget.Entry); ok && strings.HasPrefix(e.PlaceHolder, "Ann Lee") {
			entry = e
		}
	}
	if entry == nil {
		t.Fatal("no banner entry in the Banners tab")
	}
	g.waitFor(t, 5*time.Second, "the preview", func() bool { return g.preview() != nil })
	before := brandPlate(g.preview())
	test.Type(entry, "Live from the Greenroom")
	test.Tap(g.button(t, "Add"))
	g.pump()
	test.Tap(g.button(t, "Show"))
	g.waitFor(t, 5*time.Second, "the banner in the program", func() bool { return brandPlate(g.preview()) > before+2000 })
	if sc := g.show.Scene(); sc.Banner != "Live from the Greenroom" {
		t.Errorf("program's banner %q", sc.Banner)
	}
	test.Tap(g.button(t, "Hide"))
	g.waitFor(t, 5*time.Second, "the banner to go", func() bool { return brandPlate(g.preview()) < before+500 })

	// A scene changed through the control API shows in the window.
	postAPI(t, g.show.Studio, "/api/scene", `{"layout": "solo"}`)
	g.waitFor(t, 5*time.Second, "the Solo button marked", func() bool {
		return g.button(t, "Solo").Importance == widget.HighImportance && g.button(t, "Grid").Importance != widget.HighImportance
	})
	// The music's levels set through it are kept in the settings, as the
	// Music tab's own are (the studio's musicPlayer event).
	postAPI(t, g.show.Studio, "/api/music", `{"volume": -9, "loop": true}`)
	g.waitFor(t, 5*time.Second, "the music's levels kept", func() bool {
		m := g.st.Get().Music
		return m.Volume == -9 && m.Loop
	})
}

// postAPI sends body to the studio's control API at path, and fails the
// test unless it is answered 200.
func postAPI(t *testing.T, st *studio.Studio, path, body string) {
	t.Helper()
	req, _ := http.NewRequest("POST", "http://"+st.Addr().String()+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+st.ControlToken().Reveal())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("POST %s: %s", path, resp.Status)
	}
}

// brandPlate counts the pixels of the brand colour in the lower third's
// left half, where a banner goes.
func brandPlate(img image.Image) int {
	if img == nil {
		return 0
	}
	b := img.Bounds()
	c := scene.BrandColour
	n := 0
	for y := b.Min.Y + b.Dy()*6/10; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Min.X+b.Dx()/2; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if absDiff(r>>8, c.R) < 24 && absDiff(g>>8, c.G) < 24 && absDiff(bl>>8, c.B) < 24 {
				n++
			}
		}
	}
	return n
}

func absDiff(a uint32, b uint8) uint32 {
	if a > uint32(b) {
		return a - uint32(b)
	}
	return uint32(b) - a
}

// A colour typed in the Brand tab dresses the real program and is saved
// as the chosen kit.
func TestGuiBrandKit(t *testing.T) {
	g := openGUI(t, "rtmp://127.0.0.1:1/live", "unused-key")
	g.openTab(t, "Brand")
	var colour *widget.Entry
	for _, o := range g.objects() {
		if e, ok := o.(*widget.Entry); ok && e.PlaceHolder == "#15803d" {
			colour = e
			break
		}
	}
	if colour == nil {
		t.Fatal("no brand colour entry in the Brand tab")
	}
	test.Type(colour, "#ff2200")
	g.waitFor(t, 5*time.Second, "the program's brand", func() bool { return g.show.prog.Brand().Colour == "#ff2200" })
	g.waitFor(t, 5*time.Second, "the saved kit", func() bool {
		k, ok := g.st.Get().BrandKit()
		return ok && k.Colour == "#ff2200"
	})
}

// The backstage strip is live for everyone, as in StreamYard: a guest who
// is only backstage shows on their card with their camera's picture and
// their sound on a meter, while the program leaves them out; the host
// mutes them from the window and their card says so.
func TestGuiBackstageCards(t *testing.T) {
	g := openGUI(t, "rtmp://127.0.0.1:1/live", "unused-key")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ann, err := studiotest.Join(ctx, g.show.GuestURL(), "Ann", studiotest.Options{
		VideoIVF: "studio/testdata/video.ivf", AudioOgg: "studio/testdata/audio.ogg"})
	if err != nil {
		t.Fatal(err)
	}
	defer ann.Close()
	thumbs := func() (n int) {
		for _, o := range g.objects() {
			if c, ok := o.(*canvas.Image); ok && c.Image != nil && c.Image.Bounds().Dx() == 160 {
				n++
			}
		}
		return n
	}
	g.waitFor(t, 10*time.Second, "the host's and Ann's live pictures on their cards", func() bool { return thumbs() == 2 })
	g.waitFor(t, 5*time.Second, "Ann's sound on a meter", func() bool { return g.show.Levels()[ann.ID] > 0.05 })
	if slices.Contains(g.show.prog.Inputs(), ann.ID) {
		t.Errorf("backstage Ann is in the program: %v", g.show.prog.Inputs())
	}
	if m := g.text("Muted"); m != "" {
		t.Errorf("%q in the window before anyone was muted", m)
	}
	if err := g.show.SetMuted(ann.ID, true); err != nil {
		t.Fatal(err)
	}
	g.waitFor(t, 5*time.Second, "Ann's card to say Muted", func() bool { return g.text("Muted") != "" })
}

// selectOffering finds the window's picker that offers option.
func (g *guiStudio) selectOffering(t *testing.T, option string) *widget.Select {
	t.Helper()
	for _, o := range g.objects() {
		if s, ok := o.(*widget.Select); ok && slices.Contains(s.Options, option) {
			return s
		}
	}
	t.Fatalf("no picker offers %q", option)
	return nil
}

// The output size picked in the Settings tab applies at once, without a
// restart: the program is that size when the show goes live, in nginx's
// recording. A change asked for while live is made when the stream ends.
func TestGuiOutputSizeThenLive(t *testing.T) {
	n := mediatest.StartNginx(t, mediatest.NginxOptions{})
	const key = "gui-size-41c9"
	g := openGUI(t, strings.TrimSuffix(n.URL(key), "/"+key), key)
	goLive := g.button(t, "Go Live")
	g.openTab(t, "Settings")
	g.waitFor(t, 5*time.Second, "the preview", func() bool { return g.preview() != nil })

	const fullHD = "1920 × 1080 (1080p)"
	g.selectOffering(t, fullHD).SetSelected(fullHD)
	g.waitFor(t, 10*time.Second, "the new size applied", func() bool { return g.text("Applied: "+fullHD) != "" })
	if c := g.show.pipe.Config(); c.Width != 1920 || c.Height != 1080 || c.FPS != 30 || c.VideoBitRate != 2000_000 {
		t.Errorf("program %dx%d@%d %d b/s after picking 1080p, want 1920x1080@30 2000000", c.Width, c.Height, c.FPS, c.VideoBitRate)
	}
	before := g.preview()
	g.waitFor(t, 5*time.Second, "the preview to go on", func() bool { return g.preview() != before })

	test.Tap(goLive)
	g.waitFor(t, 15*time.Second, "the on-air timer", func() bool { return g.text("● LIVE 00:") != "" })
	n.WaitPublishing(t, key, 5*time.Second)
	start := time.Now()
	if err := g.show.SetOutput(1280, 720, 25, 2000); !errors.Is(err, ui.ErrOutputWhenLive) {
		t.Errorf("SetOutput while live: %v, want ui.ErrOutputWhenLive", err)
	}
	if c := g.show.pipe.Config(); c.Width != 1920 {
		t.Errorf("the program changed to %dx%d while live", c.Width, c.Height)
	}
	g.run(start, 3*time.Second)
	test.Tap(goLive)
	g.tapDialog(t, "End Stream")
	g.waitFor(t, 15*time.Second, "the window to be off air", func() bool {
		return goLive.Text == "Go Live" && g.text("● LIVE") == ""
	})
	n.WaitUnpublished(t, key, 10*time.Second)
	if c := g.show.pipe.Config(); c.Width != 1280 || c.Height != 720 || c.FPS != 25 {
		t.Errorf("after the stream, the program is %dx%d@%d, want the change asked for while live, 1280x720@25", c.Width, c.Height, c.FPS)
	}

	p := mediatest.ProbeFile(t, n.Recording(key))
	if v := p.Video; v == nil || v.Width != 1920 || v.Height != 1080 || p.Audio == nil {
		t.Fatalf("nginx's recording: %+v, want 1920x1080 video and audio", p)
	}
	t.Logf("nginx's recording: %dx%d at %.1f fps, %.1f s", p.Video.Width, p.Video.Height, p.Video.FPS, p.Duration)
}

// A vertical destination from the window (issue #13): a TikTok one,
// vertical as its preset starts, beside the landscape one. Going live
// sends nginx 1280x720 and 720x1280, and the window previews the vertical
// program (180x320) beside the landscape one while live, not after.
func TestGuiVertical(t *testing.T) {
	n := mediatest.StartNginx(t, mediatest.NginxOptions{})
	const wide, tall = "gui-wide-2b8e", "gui-tall-5c1d"
	g := openGUI(t, strings.TrimSuffix(n.URL(wide), "/"+wide), wide, func(s *settings.Settings) {
		d := settings.NewDestination(settings.TikTok)
		d.ID, d.URL, d.Key = "d2", strings.TrimSuffix(n.URL(tall), "/"+tall), settings.NewStreamKey(tall)
		s.Destinations = append(s.Destinations, d)
	})
	vertical := func() image.Image {
		for _, o := range g.objects() {
			if c, ok := o.(*canvas.Image); ok && c.Image != nil && c.Image.Bounds().Dx() == 180 && c.Image.Bounds().Dy() == 320 {
				return c.Image
			}
		}
		return nil
	}
	if vertical() != nil || g.text("VERTICAL") != "" {
		t.Fatal("a vertical preview before going live")
	}
	goLive := g.button(t, "Go Live")
	test.Tap(goLive)
	g.waitFor(t, 15*time.Second, "the on-air timer", func() bool { return g.text("● LIVE 00:") != "" })
	n.WaitPublishing(t, wide, 5*time.Second)
	n.WaitPublishing(t, tall, 5*time.Second)
	start := time.Now()
	g.waitFor(t, 5*time.Second, "the vertical preview", func() bool { return vertical() != nil && g.text("VERTICAL") != "" })
	g.run(start, 2*time.Second)
	// The show folder records both programs: each recording has an ID
	// of its own in the window's stats, and the tab words both.
	var ids []string
	for _, o := range g.show.LiveStats() {
		ids = append(ids, o.ID)
	}
	slices.Sort(ids)
	if want := []string{"", "d1", "d2", ui.VerticalRecordingID}; !slices.Equal(ids, want) {
		t.Errorf("outputs %q, want %q", ids, want)
	}
	g.openTab(t, "Destinations")
	if g.text("· vertical: ● Live") == "" {
		t.Errorf("the Destinations tab does not show the vertical recording: %q", g.texts())
	}
	test.Tap(goLive)
	g.tapDialog(t, "End Stream")
	g.waitFor(t, 15*time.Second, "the window to be off air", func() bool {
		return goLive.Text == "Go Live" && g.text("● LIVE") == ""
	})
	if vertical() != nil || g.text("VERTICAL") != "" {
		t.Error("the vertical preview is still shown after the show")
	}
	n.WaitUnpublished(t, wide, 10*time.Second)
	n.WaitUnpublished(t, tall, 10*time.Second)
	mediatest.ProbeProgram(t, n.Recording(wide), 1280, 720)
	mediatest.ProbeProgram(t, n.Recording(tall), 720, 1280)
	shows, err := filepath.Glob(filepath.Join(g.rec, "*", "show.json"))
	if err != nil || len(shows) != 1 {
		t.Fatalf("show folders %q (%v), want one", shows, err)
	}
	raw, err := os.ReadFile(shows[0])
	if err != nil {
		t.Fatal(err)
	}
	var meta struct {
		Program         string `json:"program"`
		ProgramVertical string `json:"program_vertical"`
	}
	if err := json.Unmarshal(raw, &meta); err != nil {
		t.Fatal(err)
	}
	if meta.Program != "program.mp4" || meta.ProgramVertical != studio.VerticalProgramFile {
		t.Errorf("show.json lists program %q and vertical %q", meta.Program, meta.ProgramVertical)
	}
	folder := filepath.Dir(shows[0])
	mediatest.ProbeProgram(t, filepath.Join(folder, "program.mp4"), 1280, 720)
	mediatest.ProbeProgram(t, filepath.Join(folder, studio.VerticalProgramFile), 720, 1280)
}

// Go Live's preflight, as a host meets it: of two destinations one refuses
// the key. The window asks, naming it; Cancel leaves the show off air and
// the row saying what failed; the second time the host goes live on the
// other, which nginx then receives.
func TestGuiPreflight(t *testing.T) {
	const good, bad = "preflight-good-41c2", "preflight-bad-8d0e"
	n := mediatest.StartNginx(t, mediatest.NginxOptions{RejectKeys: []string{bad}})
	server := strings.TrimSuffix(n.URL(good), "/"+good)
	g := openGUI(t, server, good, func(s *settings.Settings) {
		s.Destinations = append(s.Destinations, settings.Destination{
			ID: "d2", Service: settings.Twitch, Name: "Twitch", URL: server, Key: settings.NewStreamKey(bad), Enabled: true,
		})
	})
	goLive := g.button(t, "Go Live")
	ask := func() string {
		t.Helper()
		test.Tap(goLive)
		if goLive.Text != "Checking…" || !goLive.Disabled() {
			t.Errorf("while checking, the button says %q (disabled %v)", goLive.Text, goLive.Disabled())
		}
		start := time.Now()
		g.waitFor(t, 8*time.Second, "the preflight's dialog", func() bool { return g.w.Window().Canvas().Overlays().Top() != nil })
		var texts []string
		for _, o := range test.LaidOutObjects(g.w.Window().Canvas().Overlays().Top()) {
			if l, ok := o.(*widget.Label); ok {
				texts = append(texts, l.Text)
			}
		}
		t.Logf("after %v the dialog says: %q", time.Since(start).Round(time.Millisecond), texts)
		return strings.Join(texts, "\n")
	}
	said := ask()
	if !strings.Contains(said, "✓ My server is ready") || !strings.Contains(said, "✕ Twitch refused the stream key") {
		t.Errorf("the dialog says %q: want My server ready and Twitch's refused key", said)
	}
	if strings.Contains(said, good) || strings.Contains(said, bad) {
		t.Errorf("the dialog shows a stream key: %q", said)
	}
	g.tapDialog(t, "Cancel")
	g.pump()
	if g.show.State().Live || goLive.Text != "Go Live" {
		t.Fatalf("live after Cancel (button %q)", goLive.Text)
	}
	g.openTab(t, "Destinations")
	if msg := g.text("✕ Twitch refused"); msg == "" {
		t.Errorf("the Destinations tab does not say what failed: %q", g.texts())
	}

	ask()
	g.tapDialog(t, "Go live on the others")
	g.waitFor(t, 15*time.Second, "the on-air timer", func() bool { return g.text("● LIVE 00:") != "" })
	n.WaitPublishing(t, good, 5*time.Second)
	var dests []string
	for _, o := range g.show.LiveStats() {
		dests = append(dests, o.ID)
	}
	if !slices.Equal(dests, []string{"d1", ""}) && !slices.Equal(dests, []string{"", "d1"}) {
		t.Errorf("outputs %q: want My server's and the recording only", dests)
	}
	test.Tap(goLive)
	g.tapDialog(t, "End Stream")
	g.waitFor(t, 15*time.Second, "the window to be off air", func() bool { return goLive.Text == "Go Live" })
}

// TestGuiPortInUse: another program has the studio's port. The studio
// starts on another one, and the window says so in a dialog, with the new
// port and what to do (issue #15: from a menu, stderr is read by no one).
func TestGuiPortInUse(t *testing.T) {
	other, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	_, taken, _ := net.SplitHostPort(other.Addr().String())
	g := openGUIOn(t, other.Addr().String(), "rtmp://127.0.0.1:1/live", "key")
	guest, _ := url.Parse(g.show.GuestURL())
	if guest.Port() == taken || guest.Port() == "" {
		t.Fatalf("guest link %s: not moved off the taken port %s", guest, taken)
	}
	top := g.w.Window().Canvas().Overlays().Top()
	if top == nil {
		t.Fatal("no dialog over the window")
	}
	var said []string
	for _, o := range test.LaidOutObjects(top) {
		if l, ok := o.(*widget.Label); ok {
			said = append(said, l.Text)
		}
	}
	text := strings.Join(said, "\n")
	t.Logf("the dialog:\n%s", text)
	for _, want := range []string{"Port " + taken + " is in use", "on port " + guest.Port(), "new guest link", "close the other program"} {
		if !strings.Contains(text, want) {
			t.Errorf("the dialog does not say %q", want)
		}
	}
}

// A recordings folder that can't take the show is said at the start, not
// at Go Live; one that can is made if missing, and left without trace.
func TestCheckRecordingDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "Videos", "Greenroom")
	if err := checkRecordingDir(dir); err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("left in the folder: %v", left)
	}
	file := filepath.Join(t.TempDir(), "a file")
	os.WriteFile(file, nil, 0o600)
	err := checkRecordingDir(filepath.Join(file, "Greenroom"))
	if err == nil || !strings.Contains(err.Error(), "choose another recording folder in Settings") {
		t.Errorf("a folder under a file: %v", err)
	}
}
