package ui

import (
	"slices"
	"testing"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"greenroom/studio"
	"greenroom/studio/settings"
)

func onStage(f *fakeShow) {
	f.change(studio.EventStaged, func(st *studio.State) { st.Participants[1].Place = studio.PlaceStage })
}

// TestBanners: banners are queued, shown one at a time, hidden, removed —
// through Show.ShowBanner — and the queue is saved.
func TestBanners(t *testing.T) {
	f := newFake()
	s, st := open(t, f, nil)
	b := &s.ban
	for _, text := range []string{"Ann Lee — Greenroom", "  Q&A\tin ten  minutes "} {
		test.Type(b.entry, text)
		test.Tap(b.add)
	}
	s.settle()
	if got := st.Get().Banners; !slices.Equal(got, []string{"Ann Lee — Greenroom", "Q&A in ten minutes"}) {
		t.Fatalf("saved banners %q", got)
	}
	test.Tap(b.rows[0].show)
	s.settle()
	if b.rows[0].show.Text != "Hide" || b.rows[1].show.Text != "Show" {
		t.Errorf("after Show: buttons %q, %q", b.rows[0].show.Text, b.rows[1].show.Text)
	}
	test.Tap(b.rows[1].show) // replaces the first
	s.settle()
	if b.rows[0].show.Text != "Show" || b.rows[1].show.Text != "Hide" {
		t.Errorf("after the second Show: buttons %q, %q", b.rows[0].show.Text, b.rows[1].show.Text)
	}
	test.Tap(b.rows[1].show)
	s.settle()
	want := []string{"banner Ann Lee — Greenroom", "banner Q&A in ten minutes", "banner "}
	if got := f.ops(); !slices.Equal(got, want) {
		t.Errorf("calls %q, want %q", got, want)
	}
	test.Tap(b.rows[0].show)
	test.Tap(b.rows[0].remove) // the one on screen: it goes down too
	s.settle()
	if got := st.Get().Banners; !slices.Equal(got, []string{"Q&A in ten minutes"}) {
		t.Errorf("after remove: %q", got)
	}
	if got := f.ops(); got[len(got)-1] != "banner " {
		t.Errorf("removing the banner on screen left it there: %q", got)
	}

	// Restored at start.
	s2, _ := open(t, newFake(), func(set *settings.Settings) { set.Banners = []string{"a", "b"}; set.Ticker = "news" })
	if len(s2.ban.rows) != 2 || s2.ban.ticker.Text != "news" || s2.ban.tickerOn.Checked {
		t.Errorf("restored %d rows, ticker %q on %v", len(s2.ban.rows), s2.ban.ticker.Text, s2.ban.tickerOn.Checked)
	}
}

func TestTicker(t *testing.T) {
	f := newFake()
	s, st := open(t, f, nil)
	b := &s.ban
	test.Tap(b.tickerOn) // no text yet
	s.settle()
	if b.tickerOn.Checked || bannerText(s) == "" || len(f.ops()) != 0 {
		t.Errorf("empty ticker ran: checked %v, banner %q, calls %q", b.tickerOn.Checked, bannerText(s), f.ops())
	}
	test.Type(b.ticker, "Subscribe!")
	test.Tap(b.tickerOn)
	s.settle()
	test.Tap(b.tickerOn)
	s.settle()
	if got, want := f.ops(), []string{"ticker Subscribe!", "ticker "}; !slices.Equal(got, want) {
		t.Errorf("calls %q, want %q", got, want)
	}
	// While it runs, the host types the next text: another scene change
	// (a banner) does not put the running text back.
	test.Tap(b.tickerOn)
	s.settle()
	b.ticker.SetText("Next: the Q&A")
	f.setScene(studio.Scene{Layout: "grid", Ticker: "Subscribe!", Banner: "x"})
	eventually(t, s, "the banner", func() bool { return s.scene.Banner == "x" })
	if b.ticker.Text != "Next: the Q&A" {
		t.Errorf("the ticker entry was reset to %q", b.ticker.Text)
	}
	if got, want := f.ops(), []string{"ticker Subscribe!", "ticker ", "ticker Subscribe!"}; !slices.Equal(got, want) {
		t.Errorf("calls %q, want %q", got, want)
	}
	if st.Get().Ticker != "Next: the Q&A" { // as typed, saved
		t.Errorf("ticker text saved as %q", st.Get().Ticker)
	}
}

// TestSpotlightAndFit: an on-stage card spotlights and letterboxes its
// participant; a card backstage offers neither.
func TestSpotlightAndFit(t *testing.T) {
	f := newFake()
	s, _ := open(t, f, nil)
	g := s.cards["g1"]
	if g.onStage.Visible() {
		t.Error("a guest backstage has spotlight and fit")
	}
	if !s.cards[studio.HostID].onStage.Visible() || s.cards[studio.HostID].spot.Importance != widget.HighImportance {
		t.Error("the host, alone on stage, is not shown as in the spotlight")
	}
	onStage(f)
	eventually(t, s, "the guest on stage", func() bool { return g.onStage.Visible() })
	test.Tap(g.spot)
	test.Tap(g.fit)
	s.settle()
	if got, want := f.ops(), []string{"spotlight g1", "fit g1 true"}; !slices.Equal(got, want) {
		t.Errorf("calls %q, want %q", got, want)
	}
	if g.spot.Importance != widget.HighImportance || s.cards[studio.HostID].spot.Importance == widget.HighImportance {
		t.Error("the spotlight is not marked on the guest's card")
	}
	test.Tap(g.fit)
	s.settle()
	if got := f.ops(); got[len(got)-1] != "fit g1 false" {
		t.Errorf("calls %q", got)
	}
}

// TestFollowsSceneFromElsewhere: a scene changed through the control API
// shows in the window: layout button, spotlight, fit, banner, ticker.
func TestFollowsSceneFromElsewhere(t *testing.T) {
	f := newFake()
	s, _ := open(t, f, func(set *settings.Settings) { set.Banners = []string{"Hello"} })
	onStage(f)
	f.setScene(studio.Scene{Layout: "spotlight", Main: "g1", Fit: []string{"g1"}, Banner: "Hello", Ticker: "Breaking"})
	eventually(t, s, "the scene", func() bool { return s.layout == "spotlight" })
	if s.layoutBtns["spotlight"].Importance != widget.HighImportance || s.layoutBtns["grid"].Importance == widget.HighImportance {
		t.Error("layout buttons do not show the layout")
	}
	g := s.cards["g1"]
	if g.spot.Importance != widget.HighImportance || !g.fit.Checked {
		t.Errorf("guest's card: spotlight %v, fit %v", g.spot.Importance, g.fit.Checked)
	}
	if s.ban.rows[0].show.Text != "Hide" || !s.ban.tickerOn.Checked || s.ban.ticker.Text != "Breaking" {
		t.Errorf("banners tab: %q, ticker %v %q", s.ban.rows[0].show.Text, s.ban.tickerOn.Checked, s.ban.ticker.Text)
	}
	if len(f.ops()) != 0 {
		t.Errorf("following the scene sent commands: %q", f.ops())
	}
}
