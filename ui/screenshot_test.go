package ui

import (
	"context"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"greenroom/studio"
	"greenroom/studio/settings"
)

// TestScreenshot draws the window as a creator sees it mid-show — live to two
// destinations, two guests on stage, one waiting — with Fyne's software
// renderer, and writes it to testdata/out/ at the repository root (ignored by
// git, kept by CI) for people to look at. It checks only that the picture is
// not blank; the behaviour is tested elsewhere.
func TestScreenshot(t *testing.T) {
	f := newFake()
	now := time.Now()
	f.state.Participants = append(f.state.Participants,
		studio.Participant{ID: "g2", Name: "Bo Chen", Role: studio.RoleGuest, Place: studio.PlaceStage, Quality: "fair", Connected: true, Media: studio.MediaConnected, Joined: now},
		studio.Participant{ID: "g3", Name: "Carla Díaz", Role: studio.RoleGuest, Place: studio.PlaceGreenRoom, Quality: "good", Connected: true, Media: studio.MediaConnected, Joined: now},
	)
	f.state.Participants[1].Place = studio.PlaceStage
	f.state.Participants[2].Muted = true
	// Bo's uplink is weak: his card says so over his picture, with the
	// layer of his camera the program and each other guest gets.
	bo := &f.state.Participants[2]
	bo.Health = &studio.Health{Level: studio.LevelAmber, Reason: "weak uplink: 6 % loss",
		Up:   studio.Uplink{Kbps: 1180, Loss: 0.06, JitterMs: 14, RTTMs: 42},
		Down: studio.Downlink{Kbps: 900, Loss: 0.01, EstimateKbps: 1500}}
	bo.Layers = []studio.Layer{{RID: "h", Height: 720}, {RID: "m", Height: 360}, {RID: "l", Height: 180}}
	bo.ProgramLayer = "h"
	f.state.Participants[1].Forwarded = map[string]string{"g2": "m"}
	f.state.Participants[3].Forwarded = map[string]string{"g2": "l"}
	// The router forwards the ports (the Guests tab says so); the
	// certificate is the studio's own.
	f.state.Reach = upnpReach
	f.state.Certificate = selfSigned
	f.guestURL = "https://198.18.0.11:8443/join/k7Qx2mP9vT4wLs8a"
	f.stats = []DestinationStats{
		{ID: "d1", Name: "YouTube", State: StateLive, BitRate: 4.52e6, FPS: 30},
		{ID: "d2", Name: "Twitch", State: StateReconnecting, Reconnects: 1, Err: "connection lost"},
		{Name: "Recording", State: StateLive, BitRate: 4.61e6, FPS: 30},
	}
	s, _ := openShow(t, listedShow{f, pastShows()}, func(set *settings.Settings) {
		set.Destinations = []settings.Destination{
			{ID: "d1", Service: settings.YouTube, Name: "YouTube", URL: "rtmp://a.rtmp.youtube.com/live2", Key: settings.NewStreamKey("abcd-efgh-ijkl"), Enabled: true},
			{ID: "d2", Service: settings.Twitch, Name: "Twitch", URL: "rtmp://live.twitch.tv/app", Key: settings.NewStreamKey("live_123_xyz"), Enabled: true},
			{ID: "d3", Service: settings.Custom, Name: "Studio backup", URL: "rtmps://backup.example.com/live", Key: settings.NewStreamKey("k-9999"), Enabled: false},
		}
		set.RecordingDir = "/home/you/Videos/Greenroom"
	})
	s.layout = "grid"
	s.markLayout()
	f.mu.Lock()
	frame := f.frame
	f.mu.Unlock()
	frame(programFrame([]string{"Ann Lee", "Bo Chen"}))
	// Cameras for everyone but Carla, who has none (her initials stay).
	pics := map[string]color.RGBA{"g1": tileColors[0], "g2": tileColors[1], studio.HostID: tileColors[2]}
	for id, c := range pics {
		f.sendThumb(id, cameraThumb(c))
	}
	f.setLevels(map[string]float32{studio.HostID: 0.35, "g1": 0.8, "g2": 0.15})
	eventually(t, s, "the cards' pictures and meters", func() bool {
		return s.cards["g2"].thumb.Visible() && s.cards["g1"].thumb.Visible() && s.cards[studio.HostID].thumb.Visible() &&
			s.cards["g1"].level.Value > 0.5
	})
	s.settle()

	if err := f.SetLive(true); err != nil {
		t.Fatal(err)
	}
	s.applyState(f.State())
	s.liveSince = time.Now().Add(-(12*time.Minute + 34*time.Second))
	s.updateTimer()
	s.applyStats(f.LiveStats())
	s.hideError()

	s.w.Resize(fyne.NewSize(1280, 800))
	img := s.w.Canvas().Capture()
	writePNG(t, "ui-studio-live.png", img)
	strip := fyne.CurrentApp().Driver().AbsolutePositionForObject(s.stripRow)
	if sub, ok := img.(interface {
		SubImage(image.Rectangle) image.Image
	}); ok {
		writePNG(t, "ui-strip.png", sub.SubImage(image.Rect(0, int(strip.Y)-40, 960, img.Bounds().Max.Y)))
	}
	// Bo's card has his health over his picture, the layers line whole.
	if c, want := s.cards["g2"], "→ 720p: Program · 360p: Ann · 180p: Carla"; !c.health.box.Visible() || c.health.sends.Text != want {
		t.Errorf("Bo's card: health shown %v, layers %q, want %q", c.health.box.Visible(), c.health.sends.Text, want)
	}
	// Each camera is drawn on its card: the face is where the thumbnail
	// has it (but on Bo's, under his health).
	for id := range pics {
		c := s.cards[id]
		if id == "g2" {
			continue
		}
		pos, size := fyne.CurrentApp().Driver().AbsolutePositionForObject(c.thumb), c.thumb.Size()
		face := img.At(int(pos.X+size.Width/2), int(pos.Y+size.Height*0.4))
		if !near(face, color.RGBA{0xd8, 0xb0, 0x90, 0xff}) {
			t.Errorf("%s's card: %v where their face should be", id, face)
		}
	}

	// The same window off air, on the Guests tab, with an error showing.
	f.setStats(nil)
	if err := f.SetLive(false); err != nil {
		t.Fatal(err)
	}
	s.applyState(f.State())
	s.tabs.SelectIndex(1)
	s.showError("Couldn't go live: the server refused the stream key. Copy the key again from the service's live dashboard and paste it under Destinations.")
	writePNG(t, "ui-studio-guests.png", s.w.Canvas().Capture())

	s.hideError()
	s.tabs.SelectIndex(0)
	s.dest.openForm(settings.Destination{Service: settings.Twitch, Name: "Twitch", URL: "rtmp://live.twitch.tv/app", Key: settings.NewStreamKey("live_123_xyz"), Enabled: true})
	writePNG(t, "ui-studio-destination-form.png", s.w.Canvas().Capture())
	s.dest.closeForm()
	// Go Live's preflight found Twitch refusing the key (golive.go).
	s.afterCheck(nil, []studio.DestinationCheck{
		{ID: "d1", Name: "YouTube rtmp://a.rtmp.youtube.com:1935/live2/****", OK: true},
		{ID: "d2", Name: "Twitch rtmp://live.twitch.tv:1935/app/****", Summary: "Twitch refused the stream key",
			Problem: "Twitch rtmp://live.twitch.tv:1935/app/****: the server refused the stream key: it closed the connection after publish"},
	})
	writePNG(t, "ui-studio-preflight.png", s.w.Canvas().Capture())
	tapDialogButton(t, s, "Cancel")
	selectTab(s, "Settings")
	writePNG(t, "ui-studio-settings.png", s.w.Canvas().Capture())

	// Banners: two queued, one on screen, and the ticker running.
	for _, text := range []string{"Ann Lee — Host of Greenroom Live", "Q&A in ten minutes: send your questions"} {
		s.ban.entry.SetText(text)
		s.ban.addBanner()
	}
	s.ban.ticker.SetText("New episode every Thursday · greenroom.example")
	f.setScene(studio.Scene{Layout: "grid", Main: "g1", Fit: []string{"g2"}, Banner: "Ann Lee — Host of Greenroom Live", Ticker: "New episode every Thursday · greenroom.example"})
	s.applyScene(f.Scene())
	selectTab(s, "Banners")
	s.settle()
	writePNG(t, "ui-studio-banners.png", s.w.Canvas().Capture())

	s.brand.edit(func(k *studio.BrandKit) {
		*k = studio.BrandKit{Name: "Morning show", Colour: "#e0457b", Background: "#101828", Logo: "/home/you/Pictures/channel-logo.png", LogoCorner: "top-left", LogoSize: 0.12}
	})
	selectTab(s, "Brand")
	s.settle()
	writePNG(t, "ui-studio-brand.png", s.w.Canvas().Capture())

	// Recordings: three past shows, the oldest cut short and open onto
	// its files.
	selectTab(s, "Recordings")
	s.settle()
	s.recs.shows.Open(2)
	writePNG(t, "ui-studio-recordings.png", s.w.Canvas().Capture())

	if b := img.Bounds(); b.Dx() < 1000 || distinctColors(img) < 16 {
		t.Errorf("the screenshot looks blank: %v, %d colours", b, distinctColors(img))
	}
}

func selectTab(s *testStudio, name string) {
	for _, it := range s.tabs.Items {
		if it.Text == name {
			s.tabs.Select(it)
		}
	}
}

func writePNG(t *testing.T, name string, img image.Image) {
	t.Helper()
	dir := filepath.Join("..", "testdata", "out")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", f.Name())
}

// near reports whether a and b differ by little in each channel.
func near(a, b color.Color) bool {
	r1, g1, b1, _ := a.RGBA()
	r2, g2, b2, _ := b.RGBA()
	d := func(x, y uint32) bool { return max(x, y)-min(x, y) < 0x1800 }
	return d(r1, r2) && d(g1, g2) && d(b1, b2)
}

func distinctColors(img image.Image) int {
	seen := map[color.Color]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 7 {
		for x := b.Min.X; x < b.Max.X; x += 7 {
			seen[img.At(x, y)] = true
		}
	}
	return len(seen)
}

// programFrame stands in for the compositor's output in the screenshot: a
// grid of tiles with a name each, as the program looks with people on stage.
func programFrame(names []string) image.Image {
	const w, h = 640, 360
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), &image.Uniform{color.RGBA{0x10, 0x12, 0x18, 0xff}}, image.Point{}, draw.Src)
	gap := 8
	tw := (w - gap*(len(names)+1)) / len(names)
	th := tw * 9 / 16
	y0 := (h - th) / 2
	for i, name := range names {
		x0 := gap + i*(tw+gap)
		drawPerson(img, image.Rect(x0, y0, x0+tw, y0+th), tileColors[i%len(tileColors)])
		// The name tag.
		draw.Draw(img, image.Rect(x0+8, y0+th-26, x0+16+7*len(name), y0+th-8), &image.Uniform{color.RGBA{0, 0, 0, 0xb0}}, image.Point{}, draw.Over)
		d := font.Drawer{Dst: img, Src: image.White, Face: basicfont.Face7x13, Dot: fixed.P(x0+12, y0+th-13)}
		d.DrawString(name)
	}
	return img
}

var tileColors = []color.RGBA{{0x2c, 0x4a, 0x7a, 0xff}, {0x6a, 0x3a, 0x6e, 0xff}, {0x2a, 0x6a, 0x5a, 0xff}}

// cameraThumb stands in for a participant's thumbnail (Monitor): their
// camera, 160x90, without a name tag.
func cameraThumb(c color.RGBA) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, 160, 90))
	drawPerson(img, img.Bounds(), c)
	return img
}

// drawPerson draws a head and shoulders on a backdrop of colour c in r.
func drawPerson(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	x0, y0, tw, th := r.Min.X, r.Min.Y, r.Dx(), r.Dy()
	for y := 0; y < th; y++ {
		for x := 0; x < tw; x++ {
			k := float64(y) / float64(th)
			img.Set(x0+x, y0+y, color.RGBA{uint8(float64(c.R) * (1.2 - k*0.5)), uint8(float64(c.G) * (1.2 - k*0.5)), uint8(float64(c.B) * (1.2 - k*0.5)), 0xff})
		}
	}
	cx, cy, rad := x0+tw/2, y0+th*2/5, th/6
	skin := color.RGBA{0xd8, 0xb0, 0x90, 0xff}
	for y := -rad; y <= rad; y++ {
		for x := -rad; x <= rad; x++ {
			if x*x+y*y <= rad*rad {
				img.Set(cx+x, cy+y, skin)
			}
		}
	}
	sw := rad * 3
	for y := cy + rad + 4; y < y0+th; y++ {
		for x := cx - sw/2; x < cx+sw/2; x++ {
			img.Set(x, y, color.RGBA{0x20, 0x24, 0x30, 0xff})
		}
	}
}

// TestScreenshotFirstRun is what a newcomer sees: nobody but the host, no
// destination yet, no program frame yet.
func TestScreenshotFirstRun(t *testing.T) {
	f := newFake()
	f.state.Participants = f.state.Participants[:1]
	s, _ := open(t, f, nil)
	s.settle()
	writePNG(t, "ui-studio-first-run.png", s.w.Canvas().Capture())
}

// listedShow is the fake show with a fixed list of past shows.
type listedShow struct {
	*fakeShow
	l studio.Recordings
}

func (l listedShow) Recordings(context.Context) studio.Recordings { return l.l }

// pastShows is a recordings folder as a creator's looks after a few weeks.
func pastShows() studio.Recordings {
	const dir = "/home/you/Videos/Greenroom"
	file := func(name, role, file string, bytes int64) studio.RecordedFile {
		return studio.RecordedFile{Name: name, Role: role, File: file, Bytes: bytes}
	}
	show := func(folder, title, start string, ms, bytes int64, cut bool, files ...studio.RecordedFile) studio.RecordedShow {
		return studio.RecordedShow{Folder: folder, Path: dir + "/" + folder, Title: title, Start: start, DurationMS: ms, Bytes: bytes,
			CutShort: cut, Program: &studio.RecordedFile{File: "program.mp4", Bytes: bytes * 6 / 10}, Files: files}
	}
	return studio.Recordings{Dir: dir, Shows: []studio.RecordedShow{
		show("2026-12-03 19.00 Ask me anything", "Ask me anything", "2026-12-03T19:00:07Z", 3605120, 3_420_000_000, false,
			file("Host", "host", "Host.webm", 512_000_000), file("Ann Lee", "guest", "Ann Lee.webm", 498_000_000),
			file("Bo Chen", "guest", "Bo Chen.webm", 301_000_000), file("Bo Chen's screen", "screen", "Bo Chen screen.webm", 57_000_000)),
		show("2026-11-26 19.00 Weekly Q&A", "Weekly Q&A", "2026-11-26T19:00:02Z", 2710400, 2_150_000_000, false,
			file("Host", "host", "Host.webm", 390_000_000), file("Carla Díaz", "guest", "Carla Díaz.webm", 470_000_000)),
		show("2026-11-19 19.00 Weekly Q&A", "Weekly Q&A", "2026-11-19T19:00:04Z", 1250300, 830_000_000, true,
			file("Host", "host", "Host.webm", 180_000_000)),
	}}
}
