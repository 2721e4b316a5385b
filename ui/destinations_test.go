package ui

import (
	"context"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"greenroom/studio"
	"greenroom/studio/settings"
)

// addButton is the Destinations tab's button that adds a destination of
// the platform named name.
func addButton(t *testing.T, s *testStudio, name string) *widget.Button {
	t.Helper()
	for _, o := range test.LaidOutObjects(s.dest.add) {
		if b, ok := o.(*widget.Button); ok && b.Text == name {
			return b
		}
	}
	t.Fatalf("no button to add %s", name)
	return nil
}

// Picking a platform fills in its server; one with several offers them by
// name; the form and the list warn about output the platform would refuse,
// and the settings file keeps the platform.
func TestDestinationPresets(t *testing.T) {
	s, st := open(t, newFake(), func(set *settings.Settings) {
		set.Output = settings.Output{Width: 1920, Height: 1080, FPS: 30, VideoKbps: 8000}
	})
	form := &s.dest.form
	test.Tap(addButton(t, s, "Twitch"))
	if form.url.Text != "rtmp://live.twitch.tv/app" || form.ingest.Selected != "Auto (nearest)" || !form.ingest.Visible() {
		t.Errorf("Twitch: URL %q, server %q", form.url.Text, form.ingest.Selected)
	}
	form.ingest.SetSelected("Global")
	if form.url.Text != "rtmp://ingest.global-contribute.live-video.net/app" {
		t.Errorf("picked Global: URL %q", form.url.Text)
	}
	form.url.SetText("rtmp://my-relay.example.com/app")
	if form.ingest.Selected != "" {
		t.Errorf("a URL typed by hand: the picker still says %q", form.ingest.Selected)
	}
	form.url.SetText("rtmp://ingest.global-contribute.live-video.net/app")
	if form.ingest.Selected != "Global" {
		t.Errorf("Global's URL pasted: the picker says %q", form.ingest.Selected)
	}
	if !form.warn.Visible() || !strings.Contains(form.warn.Text, "Twitch takes at most 6000 kb/s") {
		t.Errorf("8000 kb/s to Twitch: warning %q (visible %v)", form.warn.Text, form.warn.Visible())
	}
	test.Type(form.key, testKey)
	test.Tap(form.save)
	s.settle()
	ds := st.Get().Destinations
	if len(ds) != 1 || ds[0].Service != settings.Twitch || ds[0].URL != "rtmp://ingest.global-contribute.live-video.net/app" {
		t.Fatalf("saved %+v", ds)
	}
	if h := s.dest.rows[ds[0].ID].health.Text; h != "Ready · ⚠ a warning: Edit shows it" {
		t.Errorf("row says %q", h)
	}

	// A platform whose URL is per account leaves it to the creator.
	test.Tap(addButton(t, s, "TikTok LIVE"))
	if form.url.Text != "" || form.ingest.Visible() || !strings.Contains(form.keyHelp.Text, "LIVE Producer") {
		t.Errorf("TikTok: URL %q, server picker shown %v, help %q", form.url.Text, form.ingest.Visible(), form.keyHelp.Text)
	}
}

// Each destination is landscape or vertical (issue #13): a vertical
// platform's starts vertical, the form warns when it is set to the
// landscape program, and the settings keep the choice, which the row
// shows; a landscape platform's starts landscape.
func TestDestinationVertical(t *testing.T) {
	s, st := open(t, newFake(), nil)
	form := &s.dest.form
	test.Tap(addButton(t, s, "TikTok LIVE"))
	if form.picture.Selected != pictureVertical || form.warn.Visible() {
		t.Errorf("TikTok: picture %q, warning %q: want vertical, no warning", form.picture.Selected, form.warn.Text)
	}
	form.picture.SetSelected(pictureLandscape)
	if !form.warn.Visible() || !strings.Contains(form.warn.Text, "TikTok LIVE expects a vertical (9:16) picture") {
		t.Errorf("TikTok set to landscape: warning %q", form.warn.Text)
	}
	form.picture.SetSelected(pictureVertical)
	test.Type(form.url, "rtmp://push.example.com/live")
	test.Type(form.key, testKey)
	test.Tap(form.save)
	s.settle()
	ds := st.Get().Destinations
	if len(ds) != 1 || !ds[0].Vertical || ds[0].Service != settings.TikTok {
		t.Fatalf("saved %+v, want a vertical TikTok", ds)
	}
	r := s.dest.rows[ds[0].ID]
	if r.health.Text != "Ready" || !strings.Contains(r.where.Text, "Vertical (9:16)") {
		t.Errorf("row: %q, %q: want ready and vertical", r.where.Text, r.health.Text)
	}
	test.Tap(addButton(t, s, "YouTube"))
	if form.picture.Selected != pictureLandscape {
		t.Errorf("YouTube: picture %q, want landscape", form.picture.Selected)
	}
}

// A custom SRT destination (issue #13): the streamid in the key field, the
// passphrase in its own masked field, both kept as secrets apart from the
// URL.
func TestDestinationSRT(t *testing.T) {
	s, st := open(t, newFake(), nil)
	form := &s.dest.form
	test.Tap(addButton(t, s, "Custom RTMP(S) or SRT"))
	test.Type(form.url, "srt://ingest.example.com:9000?latency=2000000")
	test.Type(form.key, "live/"+testKey)
	test.Type(form.pass, "srt-passphrase-77")
	if !form.pass.Password {
		t.Error("the passphrase is shown")
	}
	test.Tap(form.save)
	s.settle()
	ds := st.Get().Destinations
	if len(ds) != 1 || ds[0].URL != "srt://ingest.example.com:9000?latency=2000000" || ds[0].Passphrase.Reveal() != "srt-passphrase-77" {
		t.Fatalf("saved %+v (passphrase %q)", ds, ds[0].Passphrase.Reveal())
	}
	if want := "srt://ingest.example.com:9000?latency=2000000&streamid=live%2F" + testKey + "&passphrase=srt-passphrase-77"; ds[0].PublishURL() != want {
		t.Errorf("publish URL %q, want %q", ds[0].PublishURL(), want)
	}
}

// checkingShow is the fake with a preflight that answers checks.
type checkingShow struct {
	*fakeShow
	checks []studio.DestinationCheck
	hang   bool       // CheckLive waits for its context to end
	to     [][]string // GoLiveTo calls
}

func (c *checkingShow) CheckLive(ctx context.Context) []studio.DestinationCheck {
	if c.hang {
		<-ctx.Done() // a server that never answers, until the window gives up
	}
	return c.checks
}

func (c *checkingShow) GoLiveTo(ids []string) error {
	c.mu.Lock()
	c.to = append(c.to, ids)
	c.mu.Unlock()
	return c.SetLive(true)
}

// All destinations pass and the output suits them: Go Live goes live at
// once, without asking. Output Facebook would refuse: the host is asked,
// and Cancel leaves the show off air.
func TestGoLivePreflight(t *testing.T) {
	fb := settings.Destination{ID: "d2", Service: settings.Facebook, Name: "Facebook", URL: "rtmps://live-api-s.facebook.com:443/rtmp", Key: settings.NewStreamKey(testKey + "2"), Enabled: true}
	f := &checkingShow{fakeShow: newFake(), checks: []studio.DestinationCheck{{ID: "d1", Name: "Twitch", OK: true}, {ID: "d2", Name: "Facebook", OK: true}}}
	s, st := openShow(t, f, func(set *settings.Settings) { set.Destinations = []settings.Destination{validTwitch(), fb} })
	test.Tap(s.goLive)
	s.settle()
	if len(f.to) != 1 || len(f.to[0]) != 2 || !s.live {
		t.Fatalf("all ready: GoLiveTo %q, live %v", f.to, s.live)
	}
	f.mu.Lock()
	f.state.Live = false
	f.mu.Unlock()
	s.applyLive(false) // off air again, as the show would say

	if err := st.Update(func(set *settings.Settings) {
		set.Output = settings.Output{Width: 1920, Height: 1080, FPS: 30, VideoKbps: 8000}
	}); err != nil {
		t.Fatal(err)
	}
	test.Tap(s.goLive)
	s.settle()
	top := s.w.Canvas().Overlays().Top()
	if top == nil {
		t.Fatal("8000 kb/s to Twitch and Facebook: no question asked")
	}
	var said []string
	for _, o := range test.LaidOutObjects(top) {
		if l, ok := o.(*widget.Label); ok {
			said = append(said, l.Text)
		}
	}
	if text := strings.Join(said, "\n"); !strings.Contains(text, "⚠ Facebook takes at most 6000 kb/s") || !strings.Contains(text, "Check your output settings") {
		t.Errorf("the dialog says %q", said)
	}
	tapDialogButton(t, s, "Cancel")
	s.settle()
	if len(f.to) != 1 || s.live {
		t.Errorf("after Cancel: GoLiveTo %q, live %v", f.to, s.live)
	}
}

// While the preflight runs the button and the rows say so; closing the
// window then does not ask "You're live", ends the check and goes live
// nowhere.
func TestCloseWhileChecking(t *testing.T) {
	f := &checkingShow{fakeShow: newFake(), hang: true, checks: []studio.DestinationCheck{{ID: "d1", OK: true}}}
	s, _ := openShow(t, f, func(set *settings.Settings) { set.Destinations = []settings.Destination{validTwitch()} })
	test.Tap(s.goLive)
	if s.goLive.Text != "Checking…" || !s.goLive.Disabled() || s.dest.rows["d1"].health.Text != "Checking…" {
		t.Errorf("while checking: button %q (disabled %v), row %q", s.goLive.Text, s.goLive.Disabled(), s.dest.rows["d1"].health.Text)
	}
	s.requestClose()
	if top := s.w.Canvas().Overlays().Top(); top != nil {
		t.Fatal("closing while checking asks a question")
	}
	s.Close() // what Run does when the window has closed: ends the check
	s.q.pump()
	if len(f.to) != 0 || s.live {
		t.Errorf("after closing while checking: GoLiveTo %q, live %v", f.to, s.live)
	}
}
