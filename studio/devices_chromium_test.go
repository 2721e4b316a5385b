//go:build unix

package studio_test

import (
	"image"
	"image/color"
	"strconv"
	"sync"
	"testing"
	"time"

	"greenroom/encode"
	"greenroom/encode/scene"
	"greenroom/studio"
	"greenroom/studio/studiotest"
)

// TestChromiumGuestTurnsCameraAndMicOff: a Chromium guest on stage, whose
// camera is black with a flash a second and whose mic beeps a second
// (mediatest.FlashBeep), clicks Camera: the studio's state says CameraOff and the
// program shows their initials on the placeholder instead of the black
// picture; clicked again, the picture is back. Ctrl+D turns the mic off:
// their level in the program falls to nothing while the mic beeps on, and
// comes back. Under the host's mute the Mic button says so and can't
// unmute.
func TestChromiumGuestTurnsCameraAndMicOff(t *testing.T) {
	s, prog, pipe, page, id := chromiumGuestInProgram(t, encode.Config{Width: 640, Height: 360, FPS: 15},
		studio.ProgramConfig{}, "Ann Lee", fakeAVFlags(t))
	var mu sync.Mutex
	var frame *image.RGBA
	pipe.SetPreview(320, 180, 10, func(img *image.RGBA) {
		mu.Lock()
		defer mu.Unlock()
		if frame == nil {
			frame = image.NewRGBA(img.Rect)
		}
		copy(frame.Pix, img.Pix)
	})

	// Alone on stage the guest fills the program: the left edge of their
	// tile is their picture (black, or the flash) or the placeholder
	// around their initials; the middle, the initials' disc.
	placeholder := color.RGBA{31, 36, 61, 255} // compositor.Placeholder, BT.601 video range
	near := func(c, want color.RGBA, tol int) bool {
		d := func(a, b uint8) int { return max(int(a)-int(b), int(b)-int(a)) }
		return d(c.R, want.R) <= tol && d(c.G, want.G) <= tol && d(c.B, want.B) <= tol
	}
	look := func() (edge color.RGBA, disc int) {
		mu.Lock()
		defer mu.Unlock()
		if frame == nil {
			return color.RGBA{}, 0
		}
		r := frame.Rect
		edge = frame.RGBAAt(r.Dx()/10, r.Dy()/2)
		for y := r.Dy() / 3; y < 2*r.Dy()/3; y++ {
			for x := r.Dx() / 3; x < 2*r.Dx()/3; x++ {
				if near(frame.RGBAAt(x, y), scene.BrandColour, 30) {
					disc++
				}
			}
		}
		return edge, disc
	}
	showsPicture := func() bool {
		edge, _ := look()
		return pipe.Input(id).Video.Take() != nil && !near(edge, placeholder, 12)
	}
	eventually(t, "the guest's picture in the program", showsPicture)

	button := func(id string) (b struct{ Text, Pressed string }) {
		t.Helper()
		if err := page.Eval(`(() => { const b = document.getElementById("`+id+`");
			return {text: b.textContent, pressed: b.getAttribute("aria-pressed")}; })()`, &b); err != nil {
			t.Fatal(err)
		}
		return b
	}
	click := func(id string) {
		t.Helper()
		if err := page.EvalAsUser(`document.getElementById("`+id+`").click()`, nil); err != nil {
			t.Fatal(err)
		}
	}

	click("camera-toggle")
	eventually(t, "the studio to say the camera is off", func() bool { return find(s, id).CameraOff })
	if b := button("camera-toggle"); b.Text != "Camera off" || b.Pressed != "false" {
		t.Errorf("camera button %+v, want Camera off, not pressed", b)
	}
	eventually(t, "the initials instead of the black picture", func() bool {
		edge, disc := look()
		return pipe.Input(id).Video.Take() == nil && near(edge, placeholder, 12) && disc > 500
	})
	time.Sleep(1500 * time.Millisecond) // the black frames the browser goes on sending stay out
	screenshot(t, page, "guest-camera-off.png")
	if edge, disc := look(); !near(edge, placeholder, 12) || disc < 500 {
		t.Errorf("camera off for 1.5 s: edge %v, %d pixels of the initials' disc", edge, disc)
	}
	click("camera-toggle")
	eventually(t, "the studio to say the camera is on", func() bool { return !find(s, id).CameraOff })
	eventually(t, "the guest's picture back in the program", showsPicture)

	// loudest is the guest's loudest level over a second and a half: a
	// beep or more.
	loudest := func() float32 {
		var top float32
		for end := time.Now().Add(1500 * time.Millisecond); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
			top = max(top, prog.Levels()[id])
		}
		return top
	}
	if l := loudest(); l < 0.2 {
		t.Fatalf("the guest's beeps at level %.3f with the mic on", l)
	}
	ctrlD := `document.dispatchEvent(new KeyboardEvent("keydown", {key: "d", ctrlKey: true, bubbles: true}))`
	if err := page.EvalAsUser(ctrlD, nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the studio to say the mic is off", func() bool { return find(s, id).MicOff })
	if b := button("mic-toggle"); b.Text != "Mic off" || b.Pressed != "false" {
		t.Errorf("mic button %+v, want Mic off, not pressed", b)
	}
	time.Sleep(500 * time.Millisecond) // what was on its way
	if l := loudest(); l > 0.01 {
		t.Errorf("the guest's level %.3f with the mic off", l)
	}

	// The host mutes them: turning their own mic on leaves it muted.
	if err := s.SetMuted(id, true); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the page to hear of the host's mute", func() bool {
		var held bool
		return page.Eval(`window.greenroom.hostMuted`, &held) == nil && held
	})
	click("mic-toggle")
	var enabled bool
	if err := page.Eval(`window.greenroom.stream.getAudioTracks()[0].enabled`, &enabled); err != nil || enabled {
		t.Errorf("mic track enabled %v (%v) under the host's mute", enabled, err)
	}
	if b := button("mic-toggle"); b.Text != "Muted by host" || b.Pressed != "false" {
		t.Errorf("mic button %+v under the host's mute, want Muted by host", b)
	}
	if err := s.SetMuted(id, false); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the mic back on", func() bool {
		return page.Eval(`window.greenroom.stream.getAudioTracks()[0].enabled`, &enabled) == nil && enabled
	})
	if b := button("mic-toggle"); b.Text != "Mic on" || b.Pressed != "true" {
		t.Errorf("mic button %+v, want Mic on, pressed", b)
	}
	if l := loudest(); l < 0.2 {
		t.Errorf("the guest's beeps at level %.3f with the mic back on", l)
	}
	var errs []string
	if err := page.Eval(`window.greenroom.errors`, &errs); err != nil || len(errs) > 0 {
		t.Errorf("page errors %q (%v)", errs, err)
	}
}

// TestChromiumGuestJoinsWithCameraOff: on the setup screen, before Join, a
// Chromium guest clicks Camera on the preview: the preview says "Camera
// off" and the track is disabled; after Join the studio's state says
// CameraOff (the page's "devices" on welcome) and the show's own Camera
// button is off too — one state for both.
func TestChromiumGuestJoinsWithCameraOff(t *testing.T) {
	checkLeaks(t)
	s := newStudio(t, nil)
	page := chromiumPages(t, s.GuestURL()+"?name=Ann")[0]

	eventually(t, "the setup screen to have the camera", func() bool {
		var ready bool
		return page.Eval(`!document.getElementById("join").disabled &&
			window.greenroom.stream.getVideoTracks().length > 0`, &ready) == nil && ready
	})
	if err := page.EvalAsUser(`document.getElementById("setup-camera-toggle").click()`, nil); err != nil {
		t.Fatal(err)
	}
	type look struct {
		Setup, Show         string
		Pressed             string
		PreviewOff, Enabled bool
	}
	read := func() (l look) {
		t.Helper()
		if err := page.Eval(`(() => { const $ = (id) => document.getElementById(id);
			return {setup: $("setup-camera-toggle").textContent, show: $("camera-toggle").textContent,
				pressed: $("setup-camera-toggle").getAttribute("aria-pressed"),
				previewOff: !$("preview-off").hidden,
				enabled: window.greenroom.stream.getVideoTracks()[0].enabled}; })()`, &l); err != nil {
			t.Fatal(err)
		}
		return l
	}
	if l := read(); l != (look{Setup: "Camera off", Show: "Camera off", Pressed: "false", PreviewOff: true}) {
		t.Errorf("before Join, after clicking Camera: %+v", l)
	}
	screenshot(t, page, "guest-setup-camera-off.png")
	for _, p := range s.State().Participants {
		if p.Role == studio.RoleGuest {
			t.Fatalf("a guest in the studio before Join: %+v", p)
		}
	}

	if err := page.EvalAsUser(`document.getElementById("join").click()`, nil); err != nil {
		t.Fatal(err)
	}
	var id string
	eventually(t, "the guest to join", func() bool {
		return page.Eval(`window.greenroom.id`, &id) == nil && id != "" && find(s, id).ID == id
	})
	eventually(t, "the studio to say the camera is off", func() bool { return find(s, id).CameraOff })
	if p := find(s, id); p.MicOff {
		t.Errorf("mic off in the studio's state, only the camera was turned off: %+v", p)
	}
	if l := read(); l.Show != "Camera off" || l.Enabled {
		t.Errorf("in the show: %+v, want the Camera button off and the track disabled", l)
	}
	var errs []string
	if err := page.Eval(`window.greenroom.errors`, &errs); err != nil || len(errs) > 0 {
		t.Errorf("page errors %q (%v)", errs, err)
	}
}

// TestChromiumGuestSeesWhoseMicIsOff: on Ann's page (Chromium), Bob's tile
// gets a struck-through mic when he turns his mic off ("Mic off") and when
// the host mutes him ("Muted by the host", which wins), and loses it when
// he is heard again.
func TestChromiumGuestSeesWhoseMicIsOff(t *testing.T) {
	checkLeaks(t)
	s := newStudio(t, nil)
	ann := chromiumPages(t, s.GuestURL()+"?name=Ann&join=1")[0]
	bob := join(t, s, "Bob", studiotest.Options{VideoIVF: videoIVF, AudioOgg: audioOgg})
	if err := s.Stage(bob.ID, true); err != nil {
		t.Fatal(err)
	}

	type mark struct {
		Tile  bool
		Shown bool
		Title string
	}
	markOn := func() (m mark) {
		_ = ann.Eval(`(() => { const t = greenroom.tiles.get(`+strconv.Quote(bob.ID)+`);
			return t ? {tile: true, shown: !t.micOff.hidden && t.micOff.getBoundingClientRect().width > 0,
				title: t.micOff.title} : {} })()`, &m)
		return m
	}
	eventually(t, "Bob's tile on Ann's page", func() bool { return markOn().Tile })
	if m := markOn(); m.Shown {
		t.Fatalf("Bob's mic is on, but his tile says %+v", m)
	}
	devices := func(mic bool) {
		t.Helper()
		if err := bob.WriteRaw([]byte(`{"type":"devices","mic":` + strconv.FormatBool(mic) + `,"camera":true}`)); err != nil {
			t.Fatal(err)
		}
	}
	devices(false)
	eventually(t, "Bob's tile to say Mic off", func() bool { return markOn() == mark{true, true, "Mic off"} })
	if err := s.SetMuted(bob.ID, true); err != nil {
		t.Fatal(err)
	}
	eventually(t, "Bob's tile to say Muted by the host", func() bool { return markOn() == mark{true, true, "Muted by the host"} })
	screenshot(t, ann, "guest-sees-mic-off.png")
	devices(true)
	time.Sleep(300 * time.Millisecond)
	if m := markOn(); m != (mark{true, true, "Muted by the host"}) {
		t.Errorf("Bob turned his mic on under the host's mute: his tile says %+v", m)
	}
	if err := s.SetMuted(bob.ID, false); err != nil {
		t.Fatal(err)
	}
	eventually(t, "Bob's tile without the mark", func() bool { m := markOn(); return m.Tile && !m.Shown })
	var errs []string
	if err := ann.Eval(`window.greenroom.errors`, &errs); err != nil || len(errs) > 0 {
		t.Errorf("page errors %q (%v)", errs, err)
	}
}
