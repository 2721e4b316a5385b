package ui

import (
	"context"
	"image"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"go.uber.org/goleak"

	"greenroom/studio"
	"greenroom/studio/settings"
	"greenroom/studio/studiotest"
)

// realShow is the real studio with the methods it does not have yet stubbed,
// as main.go can wire it until they exist.
type realShow struct {
	*studio.Studio
}

func (realShow) SetLayout(string) error                  { return nil }
func (realShow) Preview(func(image.Image)) (stop func()) { return func() {} }
func (realShow) LiveStats() []DestinationStats           { return nil }
func (realShow) Scene() studio.Scene                     { return studio.Scene{Layout: "grid"} }
func (realShow) Spotlight(string) error                  { return nil }
func (realShow) SetFit(string, bool) error               { return nil }
func (realShow) ShowBanner(string) error                 { return nil }
func (realShow) SetTicker(string) error                  { return nil }
func (realShow) SetBrand(studio.BrandKit) error          { return nil }

var _ Show = realShow{}

// loopbackConfig is a real studio for the window's tests: on loopback,
// plain HTTP, quiet.
func loopbackConfig(t *testing.T) studio.Config {
	return studio.Config{
		Listen:       "127.0.0.1:0",
		PlainHTTP:    true,
		ICEUDPListen: "127.0.0.1:0",
		ConfigDir:    t.TempDir(),
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

// TestWithRealStudio drives the window against the real studio and a pion
// guest joining through the real guest link: the guest's card appears from
// the studio's events, "Add to stage" stages them in the studio, Go Live
// reaches Config.GoLive, kicking throws the guest out — and nothing leaks.
func TestWithRealStudio(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())

	var mu sync.Mutex
	var goLive []bool
	cfg := loopbackConfig(t)
	cfg.GoLive = func(on bool) error {
		mu.Lock()
		defer mu.Unlock()
		goLive = append(goLive, on)
		return nil
	}
	sd, err := studio.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer sd.Close()

	a := test.NewTempApp(t)
	st, err := settings.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Update(func(set *settings.Settings) { set.Destinations = []settings.Destination{validTwitch()} }); err != nil {
		t.Fatal(err)
	}
	q := &uiQueue{}
	s := &testStudio{newStudio(a, realShow{sd}, st, q.post), q}
	defer s.Close()
	s.w.Resize(fyne.NewSize(1280, 800))

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := studiotest.Join(ctx, s.guest.link.Text, "Ann", studiotest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	eventually(t, s, "Ann's card", func() bool { return s.cards[c.ID] != nil })
	if got := s.cards[c.ID].name.Text; got != "Ann" {
		t.Errorf("card name %q", got)
	}
	test.Tap(s.cards[c.ID].stage)
	eventually(t, s, "Ann on stage", func() bool { return s.cards[c.ID].stage.Text == "Remove" })
	if p := sd.State().Participants; len(p) != 2 || p[1].Place != studio.PlaceStage {
		t.Errorf("studio state: %+v", p)
	}

	test.Tap(s.goLive)
	eventually(t, s, "on air", func() bool { return s.onAir.Visible() })
	mu.Lock()
	if len(goLive) != 1 || !goLive[0] {
		t.Errorf("GoLive calls %v", goLive)
	}
	mu.Unlock()

	test.Tap(s.cards[c.ID].kick)
	tapDialogButton(t, s, "Remove")
	eventually(t, s, "Ann's card to go", func() bool { return s.cards[c.ID] == nil })
	eventually(t, s, "the guest to be told they were removed", func() bool { return c.Bye() != "" })
}
