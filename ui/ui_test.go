package ui

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"greenroom/studio"
	"greenroom/studio/settings"
)

// fakeShow is a Show the tests script: it records the commands it gets and
// reports what the test puts in it.
type fakeShow struct {
	mu       sync.Mutex
	state    studio.State
	events   chan studio.Event
	seq      uint64
	staged   []string // "id on" / "id off"
	kicked   []string
	live     []bool
	liveErr  error
	layouts  []string
	guestURL string
	rotated  int
	stats    []DestinationStats
	frame    func(image.Image)
	scene    studio.Scene
	sceneOps []string // "spotlight id", "fit id true", "banner text", "ticker text"
	brands   []studio.BrandKit
	brandErr error

	// Monitor and ScreenSharer (monitor_test.go).
	thumb    func(string, image.Image)
	levels   map[string]float32
	mutes    []string // "id on"
	solos    []string // "id on"
	muteErr  error
	stageErr error // what Stage returns
	sharing  bool
	shares   []bool
	shareErr error
	musics   []string // SetMusicMode calls, "id on"
	musicErr error
	soloErr  error
}

func newFake() *fakeShow {
	now := time.Now()
	return &fakeShow{
		events:   make(chan studio.Event, 16),
		guestURL: "https://192.168.1.20:8443/join/tok1",
		state: studio.State{Participants: []studio.Participant{
			{ID: studio.HostID, Name: "Host", Role: studio.RoleHost, Place: studio.PlaceStage, Quality: studio.QualityUnknown,
				Connected: true, Media: studio.MediaConnected, Joined: now},
			{ID: "g1", Name: "Ann Lee", Role: studio.RoleGuest, Place: studio.PlaceGreenRoom, Quality: "good",
				Connected: true, Media: studio.MediaConnected, Joined: now},
		}},
	}
}

func (f *fakeShow) State() studio.State {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := f.state
	st.Participants = append([]studio.Participant(nil), st.Participants...)
	return st
}

func (f *fakeShow) Subscribe() (<-chan studio.Event, func()) {
	var once sync.Once
	return f.events, func() { once.Do(func() {}) }
}

// change edits the state and sends an event, as the studio does.
func (f *fakeShow) change(kind studio.EventKind, edit func(*studio.State)) {
	f.changeWith(kind, studio.Participant{}, edit)
}

func (f *fakeShow) changeWith(kind studio.EventKind, p studio.Participant, edit func(*studio.State)) {
	f.mu.Lock()
	edit(&f.state)
	f.seq++
	ev := studio.Event{Seq: f.seq, Kind: kind, Participant: p, Live: f.state.Live}
	f.mu.Unlock()
	f.events <- ev
}

func (f *fakeShow) Stage(id string, on bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.staged = append(f.staged, fmt.Sprintf("%s %v", id, on))
	return f.stageErr
}

func (f *fakeShow) Kick(id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.kicked = append(f.kicked, id)
	return nil
}

func (f *fakeShow) GuestURL() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.guestURL
}

func (f *fakeShow) RotateGuestToken() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rotated++
	f.guestURL = fmt.Sprintf("https://192.168.1.20:8443/join/tok%d", f.rotated+1)
	return f.guestURL
}

func (f *fakeShow) SetLive(on bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.live = append(f.live, on)
	if f.liveErr != nil {
		return f.liveErr
	}
	f.state.Live = on
	return nil
}

func (f *fakeShow) SetLayout(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.layouts = append(f.layouts, name)
	f.scene.Layout = name
	return nil
}

func (f *fakeShow) Preview(frame func(image.Image)) func() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.frame = frame
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.frame = nil
	}
}

func (f *fakeShow) Scene() studio.Scene {
	f.mu.Lock()
	defer f.mu.Unlock()
	sc := f.scene
	sc.Fit = append([]string(nil), sc.Fit...)
	if sc.Layout == "" {
		sc.Layout = "grid"
	}
	return sc
}

// setScene changes the scene as the control API would.
func (f *fakeShow) setScene(sc studio.Scene) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.scene = sc
}

func (f *fakeShow) op(format string, a ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sceneOps = append(f.sceneOps, fmt.Sprintf(format, a...))
}

func (f *fakeShow) ops() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.sceneOps...)
}

func (f *fakeShow) Spotlight(id string) error {
	f.op("spotlight %s", id)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.scene.Main = id
	return nil
}

func (f *fakeShow) SetFit(id string, on bool) error {
	f.op("fit %s %v", id, on)
	return nil
}

func (f *fakeShow) ShowBanner(text string) error {
	f.op("banner %s", text)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.scene.Banner = text
	return nil
}

func (f *fakeShow) SetTicker(text string) error {
	f.op("ticker %s", text)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.scene.Ticker = text
	return nil
}

func (f *fakeShow) SetBrand(kit studio.BrandKit) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.brands = append(f.brands, kit)
	return f.brandErr
}

func (f *fakeShow) brandCalls() []studio.BrandKit {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]studio.BrandKit(nil), f.brands...)
}

func (f *fakeShow) LiveStats() []DestinationStats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]DestinationStats(nil), f.stats...)
}

func (f *fakeShow) setStats(stats []DestinationStats) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stats = stats
}

func (f *fakeShow) calls() (staged, kicked []string, live []bool, layouts []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append(staged, f.staged...), append(kicked, f.kicked...), append(live, f.live...), append(layouts, f.layouts...)
}

const testKey = "live_987_abcdefSECRET"

func validTwitch() settings.Destination {
	return settings.Destination{ID: "d1", Service: settings.Twitch, Name: "Twitch", URL: "rtmp://live.twitch.tv/app", Key: settings.NewStreamKey(testKey), Enabled: true}
}

// open builds the window on Fyne's test driver with the fake and settings
// prepared by setup.
func open(t *testing.T, f *fakeShow, setup func(*settings.Settings)) (*testStudio, *settings.Store) {
	t.Helper()
	return openShow(t, f, setup)
}

// openShow is open for any Show.
func openShow(t *testing.T, show Show, setup func(*settings.Settings)) (*testStudio, *settings.Store) {
	t.Helper()
	a := test.NewTempApp(t)
	st, err := settings.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if setup != nil {
		if err := st.Update(setup); err != nil {
			t.Fatal(err)
		}
	}
	q := &uiQueue{}
	s := &testStudio{newStudio(a, show, st, q.post), q}
	s.w.Resize(fyne.NewSize(1280, 800))
	t.Cleanup(func() {
		s.tasks.Wait()
		s.Close()
	})
	return s, st
}

// uiQueue stands in for the UI thread's queue: Studio.do posts here, and the
// test goroutine runs what was posted when it calls pump — so everything that
// touches widgets runs on the test goroutine, as on the real UI thread.
type uiQueue struct {
	mu  sync.Mutex
	fns []func()
}

func (q *uiQueue) post(f func()) {
	q.mu.Lock()
	q.fns = append(q.fns, f)
	q.mu.Unlock()
}

// pump runs what was posted, and reports whether there was anything.
func (q *uiQueue) pump() bool {
	ran := false
	for {
		q.mu.Lock()
		fns := q.fns
		q.fns = nil
		q.mu.Unlock()
		if len(fns) == 0 {
			return ran
		}
		for _, f := range fns {
			f()
		}
		ran = true
	}
}

// testStudio is the window with its UI queue.
type testStudio struct {
	*Studio
	q *uiQueue
}

// settle waits for the window's calls into the show to finish, then runs
// their updates of the window, until nothing more comes.
func (s *testStudio) settle() {
	for {
		s.tasks.Wait()
		if !s.q.pump() {
			return
		}
	}
}

func eventually(t *testing.T, s *testStudio, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for s.settle(); !cond(); s.settle() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// tapDialogButton taps the button labelled label in the top dialog.
func tapDialogButton(t *testing.T, s *testStudio, label string) {
	t.Helper()
	top := s.w.Canvas().Overlays().Top()
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

func bannerText(s *testStudio) string {
	if !s.banner.Visible() {
		return ""
	}
	return s.bannerText.Text
}

func TestWindowBuilds(t *testing.T) {
	f := newFake()
	s, _ := open(t, f, nil)
	if len(s.cards) != 2 || s.cards["g1"] == nil || s.cards[studio.HostID] == nil {
		t.Fatalf("cards: %v", s.cards)
	}
	if got := s.cards["g1"].stage.Text; got != "Add to stage" {
		t.Errorf("guest's stage button says %q", got)
	}
	if got := s.cards[studio.HostID].stage.Text; got != "Remove" {
		t.Errorf("host on stage: button says %q", got)
	}
	if s.cards[studio.HostID].kick.Visible() {
		t.Error("the host can kick themselves")
	}
	if s.guest.link.Text != f.guestURL {
		t.Errorf("guest link %q", s.guest.link.Text)
	}
	if s.goLive.Text != "Go Live" || s.onAir.Visible() || !s.offAir.Visible() {
		t.Errorf("not live, but button %q, on air %v", s.goLive.Text, s.onAir.Visible())
	}
	if s.w.Title() != "Greenroom" {
		t.Errorf("title %q", s.w.Title())
	}
}

func TestAddToStage(t *testing.T) {
	f := newFake()
	s, _ := open(t, f, nil)
	test.Tap(s.cards["g1"].stage)
	s.settle()
	if staged, _, _, _ := f.calls(); len(staged) != 1 || staged[0] != "g1 true" {
		t.Fatalf("Stage calls: %v", staged)
	}
	// The card changes when the show says so.
	f.change(studio.EventStaged, func(st *studio.State) { st.Participants[1].Place = studio.PlaceStage })
	eventually(t, s, "the card to say Remove", func() bool { return s.cards["g1"].stage.Text == "Remove" })
	test.Tap(s.cards["g1"].stage)
	s.settle()
	if staged, _, _, _ := f.calls(); len(staged) != 2 || staged[1] != "g1 false" {
		t.Fatalf("Stage calls: %v", staged)
	}
}

// A guest put on a full stage (Config.Limits) stays where they are, and
// the window says why and what to do.
func TestStageFull(t *testing.T) {
	f := newFake()
	s, _ := open(t, f, nil)
	f.mu.Lock()
	f.stageErr = fmt.Errorf("put Ann on stage: %w (10 of 10); take someone off first", studio.ErrStageFull)
	f.mu.Unlock()
	test.Tap(s.cards["g1"].stage)
	s.settle()
	if got := bannerText(s); !strings.Contains(got, "Couldn't bring") || !strings.Contains(got, "the stage is full. Take someone off the stage first") {
		t.Errorf("banner %q", got)
	}
}

func TestStageShortcut(t *testing.T) {
	f := newFake()
	s, _ := open(t, f, nil)
	s.w.Canvas().(fyne.Shortcutable).TypedShortcut(&desktop.CustomShortcut{KeyName: fyne.Key2, Modifier: fyne.KeyModifierShortcutDefault})
	s.settle()
	if staged, _, _, _ := f.calls(); len(staged) != 1 || staged[0] != "g1 true" {
		t.Fatalf("Ctrl+2: Stage calls %v", staged)
	}
}

func TestKickAsksFirst(t *testing.T) {
	f := newFake()
	s, _ := open(t, f, nil)
	test.Tap(s.cards["g1"].kick)
	tapDialogButton(t, s, "Cancel")
	s.settle()
	if _, kicked, _, _ := f.calls(); len(kicked) != 0 {
		t.Fatalf("kicked after Cancel: %v", kicked)
	}
	test.Tap(s.cards["g1"].kick)
	tapDialogButton(t, s, "Remove")
	s.settle()
	if _, kicked, _, _ := f.calls(); len(kicked) != 1 || kicked[0] != "g1" {
		t.Fatalf("kicked: %v", kicked)
	}
}

func TestEventsUpdateStrip(t *testing.T) {
	f := newFake()
	s, _ := open(t, f, nil)
	bo := studio.Participant{ID: "g2", Name: "Bo", Role: studio.RoleGuest, Place: studio.PlaceGreenRoom}
	f.changeWith(studio.EventJoined, bo, func(st *studio.State) { st.Participants = append(st.Participants, bo) })
	eventually(t, s, "a card for the new guest", func() bool { return s.cards["g2"] != nil })
	if s.cards["g2"].name.Text != "Bo" || len(s.strip.Objects) != 3 {
		t.Errorf("card %q, strip of %d", s.cards["g2"].name.Text, len(s.strip.Objects))
	}
	if !s.notice.Visible() || s.notice.Text != "Bo joined — waiting backstage" {
		t.Errorf("notice %q (visible %v)", s.notice.Text, s.notice.Visible())
	}
	if s.guest.count.Text != "2 guests in the studio." {
		t.Errorf("guest count %q", s.guest.count.Text)
	}
	f.change(studio.EventLeft, func(st *studio.State) { st.Participants = st.Participants[:1] })
	eventually(t, s, "the guests' cards to go", func() bool { return len(s.strip.Objects) == 1 })
	if s.cards["g1"] != nil || !s.stripEmpty.Visible() {
		t.Error("a guest who left still has a card, or the empty hint is hidden")
	}
}

// A guest's card says on their picture when their media doesn't flow —
// joined and connecting, can't connect and why, connection lost,
// reconnecting — and
// hides their last quality rating meanwhile (issue #16: a guest whose
// media never connected looked fine, and the host staged a black tile).
func TestCardSaysWhenMediaDoesNotFlow(t *testing.T) {
	f := newFake()
	s, _ := open(t, f, nil)
	c := s.cards["g1"]
	if c.media.Visible() || !strings.Contains(c.conn.Text, "good") {
		t.Fatalf("connected guest: note shown %v %q, quality %q", c.media.Visible(), c.mediaText.Text, c.conn.Text)
	}
	const problem = "port 8443/udp isn't reachable from this network: open or forward it to the studio, or set up a TURN server"
	for _, tc := range []struct {
		media   studio.Media
		problem string
		want    string // "" for no note
	}{
		{studio.MediaConnecting, "", "Joined, no media yet…"},
		{studio.MediaFailed, problem, "Can't connect: " + problem},
		{studio.MediaLost, "", "Connection lost — holding their place"},
		{studio.MediaReconnecting, "", "Reconnecting…"},
		{studio.MediaConnected, "", ""},
	} {
		f.change(studio.EventMedia, func(st *studio.State) {
			p := &st.Participants[1]
			p.Media, p.MediaProblem, p.Connected = tc.media, tc.problem, tc.media == studio.MediaConnected
		})
		eventually(t, s, "the card to show "+string(tc.media), func() bool { return s.cards["g1"].person.Media == tc.media })
		c := s.cards["g1"]
		if tc.want == "" {
			if c.media.Visible() || !strings.Contains(c.conn.Text, "good") {
				t.Errorf("%s: note shown %v %q, quality %q", tc.media, c.media.Visible(), c.mediaText.Text, c.conn.Text)
			}
			continue
		}
		if !c.media.Visible() || c.mediaText.Text != tc.want || c.conn.Text != "" {
			t.Errorf("%s: note shown %v %q, quality %q; want the note %q and no quality", tc.media, c.media.Visible(), c.mediaText.Text, c.conn.Text, tc.want)
		}
		if tc.media == studio.MediaFailed {
			writePNG(t, "ui-card-cant-connect.png", s.w.Canvas().Capture())
		}
	}
	if s.cards[studio.HostID].media.Visible() {
		t.Error("the host's card has a media note")
	}
}

// A gone guest's card counts down to their leaving (issue #10), second
// by second with no event in between, and says from where: the stage or
// backstage.
func TestCardCountsDown(t *testing.T) {
	f := newFake()
	s, _ := open(t, f, nil)
	// 10.5 s to go: the card says 11, then counts down. Not 2.5 s: in
	// scripts/test's idle lane the seconds between two looks (the
	// screenshot below among them) went by unseen, down to "now", in two
	// CI runs of three.
	leaving := time.Now().Add(10500 * time.Millisecond)
	f.change(studio.EventLost, func(st *studio.State) {
		p := &st.Participants[1]
		p.Media, p.Connected, p.Place, p.LeavingAt = studio.MediaLost, false, studio.PlaceStage, leaving
	})
	note := func() string { return s.cards["g1"].mediaText.Text }
	// left is the seconds the card counts down from now, 0 if none.
	left := func() int {
		var n int
		if _, err := fmt.Sscanf(note(), "Connection lost — leaves the stage in %d s unless they're back", &n); err != nil {
			return 0
		}
		return n
	}
	eventually(t, s, "the countdown", func() bool { return left() > 0 })
	if first := left(); first < 8 || first > 11 {
		t.Errorf("the countdown is at %d s, want 11 (10.5 s to go; 8 at the least on a slow machine): %q", first, note())
	}
	if !s.cards["g1"].media.Visible() {
		t.Error("the countdown is not shown")
	}
	writePNG(t, "ui-card-countdown.png", s.w.Canvas().Capture())
	first := left()
	eventually(t, s, "the countdown to move", func() bool { n := left(); return n > 0 && n < first })
	f.change(studio.EventMedia, func(st *studio.State) {
		p := &st.Participants[1]
		p.Media, p.Connected, p.LeavingAt = studio.MediaConnected, true, time.Time{}
	})
	eventually(t, s, "the countdown to stop when they are back", func() bool { return !s.cards["g1"].media.Visible() })
	if n, _ := mediaNote(studio.Participant{Media: studio.MediaLost, Place: studio.PlaceGreenRoom, LeavingAt: leaving}, leaving.Add(-9500*time.Millisecond)); n != "Connection lost — leaves in 10 s unless they're back" {
		t.Errorf("backstage: %q", n)
	}
	// Held between two attempts of a page that can't connect: the reason
	// stays (issue #16), no countdown flickers in.
	if n, _ := mediaNote(studio.Participant{Media: studio.MediaFailed, MediaProblem: "no route", LeavingAt: leaving}, time.Now()); n != "Can't connect: no route" {
		t.Errorf("failed and held: %q", n)
	}
}

// TestJoinedNoticeGoesWhenNobodyWaits: "X joined — waiting backstage"
// names only those still waiting: staged, a guest drops out of it, and
// when nobody it named waits any more (staged or left) it goes at once,
// not after noticeFor.
func TestJoinedNoticeGoesWhenNobodyWaits(t *testing.T) {
	f := newFake()
	s, _ := open(t, f, nil)
	arrive := func(id, name string) {
		p := studio.Participant{ID: id, Name: name, Role: studio.RoleGuest, Place: studio.PlaceGreenRoom}
		f.changeWith(studio.EventJoined, p, func(st *studio.State) { st.Participants = append(st.Participants, p) })
	}
	place := func(kind studio.EventKind, id string, pl studio.Place) {
		f.change(kind, func(st *studio.State) {
			for i := range st.Participants {
				if st.Participants[i].ID == id {
					st.Participants[i].Place = pl
				}
			}
		})
	}
	says := func(text string) func() bool {
		return func() bool {
			if text == "" {
				return !s.notice.Visible()
			}
			return s.notice.Visible() && s.notice.Text == text
		}
	}
	start := time.Now()

	arrive("g2", "Bo")
	eventually(t, s, "the notice for Bo", says("Bo joined — waiting backstage"))
	place(studio.EventStaged, "g2", studio.PlaceStage)
	eventually(t, s, "the notice to go when Bo is on stage", says(""))

	arrive("g3", "Cy")
	eventually(t, s, "the notice for Cy", says("Cy joined — waiting backstage"))
	arrive("g4", "Di")
	eventually(t, s, "the notice for Cy and Di", says("Cy, Di joined — waiting backstage"))
	place(studio.EventStaged, "g4", studio.PlaceStage)
	eventually(t, s, "the notice for Cy alone", says("Cy joined — waiting backstage"))
	f.change(studio.EventLeft, func(st *studio.State) {
		st.Participants = slices.DeleteFunc(st.Participants, func(p studio.Participant) bool { return p.ID == "g3" })
	})
	eventually(t, s, "the notice to go when Cy leaves", says(""))
	if d := time.Since(start); d >= noticeFor {
		t.Fatalf("took %v, the notice may have gone by its timer", d)
	}

	// Back in the green room is not joining again: no notice.
	place(studio.EventUnstage, "g2", studio.PlaceGreenRoom)
	time.Sleep(50 * time.Millisecond)
	s.settle()
	if s.notice.Visible() {
		t.Errorf("notice %q after Bo went back backstage", s.notice.Text)
	}
}

func TestGoLiveNeedsADestination(t *testing.T) {
	f := newFake()
	s, _ := open(t, f, nil)
	test.Tap(s.goLive)
	s.settle()
	if _, _, live, _ := f.calls(); len(live) != 0 {
		t.Fatalf("SetLive called with no destination: %v", live)
	}
	if !strings.Contains(bannerText(s), "Add a destination") {
		t.Errorf("banner: %q", bannerText(s))
	}
}

func TestGoLiveInvalidCustomURL(t *testing.T) {
	f := newFake()
	s, _ := open(t, f, func(set *settings.Settings) {
		set.Destinations = []settings.Destination{
			validTwitch(),
			{ID: "d2", Service: settings.Custom, Name: "My server", URL: "http://example.com/live", Key: settings.NewStreamKey(testKey + "2"), Enabled: true},
		}
	})
	test.Tap(s.goLive)
	s.settle()
	if _, _, live, _ := f.calls(); len(live) != 0 {
		t.Fatalf("SetLive called with an invalid destination: %v", live)
	}
	msg := bannerText(s)
	if !strings.Contains(msg, "My server") || !strings.Contains(msg, "rtmp://") {
		t.Errorf("banner: %q", msg)
	}
	if strings.Contains(msg, testKey) {
		t.Errorf("the banner shows a stream key: %q", msg)
	}
	if s.live || s.onAir.Visible() {
		t.Error("on air after a refused Go Live")
	}
	// The Destinations tab says which one needs attention.
	if h := s.dest.rows["d2"].health.Text; !strings.Contains(h, "Needs attention") {
		t.Errorf("row health %q", h)
	}
}

func TestGoLiveAndEnd(t *testing.T) {
	f := newFake()
	s, _ := open(t, f, func(set *settings.Settings) { set.Destinations = []settings.Destination{validTwitch()} })
	test.Tap(s.goLive)
	s.settle()
	if _, _, live, _ := f.calls(); len(live) != 1 || !live[0] {
		t.Fatalf("SetLive calls: %v", live)
	}
	if !s.live || !s.onAir.Visible() || s.offAir.Visible() || s.goLive.Text != "End Stream" {
		t.Fatalf("after going live: live %v, on air %v, button %q", s.live, s.onAir.Visible(), s.goLive.Text)
	}
	if !strings.HasPrefix(s.onAirText.Text, "● LIVE 00:00:0") {
		t.Errorf("timer %q", s.onAirText.Text)
	}
	if !s.dest.rows["d1"].enabled.Disabled() || s.prefs.fps.Disabled() != true {
		t.Error("destinations or output settings editable while live")
	}

	// End Stream asks; Cancel keeps the show on air.
	test.Tap(s.goLive)
	tapDialogButton(t, s, "Cancel")
	s.settle()
	if _, _, live, _ := f.calls(); len(live) != 1 {
		t.Fatalf("ended without confirmation: %v", live)
	}
	test.Tap(s.goLive)
	tapDialogButton(t, s, "End Stream")
	s.settle()
	if _, _, live, _ := f.calls(); len(live) != 2 || live[1] {
		t.Fatalf("SetLive calls: %v", live)
	}
	if s.live || s.onAir.Visible() || s.goLive.Text != "Go Live" {
		t.Errorf("after ending: live %v, button %q", s.live, s.goLive.Text)
	}
}

func TestGoLiveShortcut(t *testing.T) {
	f := newFake()
	s, _ := open(t, f, func(set *settings.Settings) { set.Destinations = []settings.Destination{validTwitch()} })
	s.w.Canvas().(fyne.Shortcutable).TypedShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyL, Modifier: fyne.KeyModifierShortcutDefault})
	s.settle()
	if _, _, live, _ := f.calls(); len(live) != 1 || !live[0] {
		t.Fatalf("Ctrl+L: SetLive calls %v", live)
	}
}

func TestGoLiveErrorInCreatorsWords(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"key refused", fmt.Errorf("rtmpout: publish to rtmp://live.twitch.tv/app/[redacted]: %w", errors.New("server refused the stream")), "refused the stream key"},
		{"refused connection", fmt.Errorf("rtmpout: dial: %w", &netOpError{}), "refused the connection"},
		{"turned away after connect", errors.New("rtmpout: publish to rtmp://live.twitch.tv/app/****: the server closed the connection after connect"), "turned the connection away"},
		{"key in a library's error", fmt.Errorf("dial rtmp://live.twitch.tv/app/%s: boom", testKey), "[redacted]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake()
			f.liveErr = tc.err
			s, _ := open(t, f, func(set *settings.Settings) { set.Destinations = []settings.Destination{validTwitch()} })
			test.Tap(s.goLive)
			s.settle()
			msg := bannerText(s)
			if !strings.HasPrefix(msg, "Couldn't go live: ") || !strings.Contains(msg, tc.want) {
				t.Errorf("banner %q, want it to say %q", msg, tc.want)
			}
			if strings.Contains(msg, testKey) {
				t.Errorf("the banner shows the stream key: %q", msg)
			}
			if s.live || s.goLive.Text != "Go Live" || s.goLive.Disabled() {
				t.Errorf("after a failed Go Live: live %v, button %q", s.live, s.goLive.Text)
			}
		})
	}
}

// netOpError is ECONNREFUSED as the net package wraps it.
type netOpError struct{}

func (*netOpError) Error() string { return "connect: connection refused" }
func (*netOpError) Unwrap() error { return syscall.ECONNREFUSED }

func TestLiveFromShow(t *testing.T) {
	f := newFake()
	s, _ := open(t, f, nil)
	f.change(studio.EventLive, func(st *studio.State) { st.Live = true })
	eventually(t, s, "the on-air indicator", func() bool { return s.onAir.Visible() })
	if !strings.Contains(s.onAirText.Text, "LIVE 00:00:") || s.goLive.Text != "End Stream" {
		t.Errorf("on air %q, button %q", s.onAirText.Text, s.goLive.Text)
	}
	f.change(studio.EventLive, func(st *studio.State) { st.Live = false })
	eventually(t, s, "off air", func() bool { return !s.onAir.Visible() && s.offAir.Visible() })
}

func TestLiveStats(t *testing.T) {
	f := newFake()
	f.stats = []DestinationStats{
		{ID: "d1", Name: "Twitch", State: StateLive, BitRate: 4.5e6, FPS: 30, Dropped: 3},
		{Name: "Recording", State: StateLive, BitRate: 4.6e6, FPS: 30},
	}
	s, _ := open(t, f, func(set *settings.Settings) { set.Destinations = []settings.Destination{validTwitch()} })
	test.Tap(s.goLive)
	s.settle()
	s.applyStats(f.LiveStats()) // what the tick loop does every second
	if h := s.dest.rows["d1"].health.Text; !strings.Contains(h, "4.5 Mb/s") || !strings.Contains(h, "30 fps") || !strings.Contains(h, "3 dropped") {
		t.Errorf("health %q", h)
	}
	if !strings.Contains(s.dest.rec.Text, "Recording: ● Live") {
		t.Errorf("recording %q", s.dest.rec.Text)
	}
	// Without an ID, the output is matched by name, as studio.Program names them.
	f.setStats([]DestinationStats{{Name: "Twitch (rtmp://live.twitch.tv/app/[redacted])", State: StateFailed,
		Err: "rtmpout: publish to rtmp://live.twitch.tv/app/" + testKey + ": server stopped the stream: NetStream.Publish.BadName"}})
	s.applyStats(f.LiveStats())
	if msg := bannerText(s); !strings.HasPrefix(msg, "Twitch stopped: the server ended the connection.") || strings.Contains(msg, testKey) {
		t.Errorf("banner %q", msg)
	}
	if h := s.dest.rows["d1"].health.Text; !strings.HasPrefix(h, "✕ Stopped") {
		t.Errorf("health %q", h)
	}
	s.hideError()
	s.applyStats(f.LiveStats())
	if s.banner.Visible() {
		t.Error("the same failure is reported every second")
	}
}

func TestStreamKeyEntry(t *testing.T) {
	f := newFake()
	s, st := open(t, f, nil)
	form := &s.dest.form
	s.dest.openForm(settings.Destination{Service: settings.Custom, Name: "Custom RTMP", Enabled: true})
	if !form.key.Password {
		t.Fatal("the stream key entry is not masked")
	}
	test.Type(form.key, testKey)
	reveal, ok := form.key.ActionItem.(fyne.Tappable)
	if !ok {
		t.Fatal("no reveal button on the stream key entry")
	}
	test.Tap(reveal)
	if form.key.Password {
		t.Error("reveal did not show the key")
	}
	test.Tap(reveal)
	if !form.key.Password {
		t.Error("reveal did not hide the key again")
	}
	if strings.Contains(test.RenderObjectToMarkup(form.key), testKey) {
		t.Error("the masked entry renders the key")
	}

	// An invalid URL is refused in the form, without saving.
	test.Type(form.url, "http://example.com/live")
	test.Tap(form.save)
	s.settle()
	if !form.err.Visible() || !strings.Contains(form.err.Text, "rtmp://") || strings.Contains(form.err.Text, testKey) {
		t.Errorf("form error %q (visible %v)", form.err.Text, form.err.Visible())
	}
	if len(st.Get().Destinations) != 0 {
		t.Fatal("an invalid destination was saved")
	}
	form.url.SetText("rtmp://127.0.0.1:1935/live")
	test.Tap(form.save)
	s.settle()
	ds := st.Get().Destinations
	if len(ds) != 1 || ds[0].Key.Reveal() != testKey || ds[0].URL != "rtmp://127.0.0.1:1935/live" || !ds[0].Enabled || ds[0].ID == "" {
		t.Fatalf("saved %+v", ds)
	}
	if s.dest.editor.Visible() || s.dest.rows[ds[0].ID] == nil {
		t.Error("the list does not show the new destination")
	}
	if form.key.Text != "" {
		t.Error("the closed form keeps the key")
	}
}

func TestGuestLink(t *testing.T) {
	f := newFake()
	s, _ := open(t, f, nil)
	test.Tap(s.guest.copy)
	if got := s.app.Clipboard().Content(); got != f.guestURL {
		t.Errorf("clipboard %q", got)
	}
	test.Tap(s.guest.rotate)
	tapDialogButton(t, s, "New link")
	s.settle()
	if s.guest.link.Text != "https://192.168.1.20:8443/join/tok2" {
		t.Errorf("link after rotate %q", s.guest.link.Text)
	}
}

func TestLayoutButtons(t *testing.T) {
	f := newFake()
	s, _ := open(t, f, nil)
	test.Tap(s.layoutBtns["solo"])
	s.settle()
	if _, _, _, layouts := f.calls(); len(layouts) != 1 || layouts[0] != "solo" {
		t.Fatalf("SetLayout calls %v", layouts)
	}
	if s.layoutBtns["solo"].Importance != widget.HighImportance || s.layoutBtns["grid"].Importance == widget.HighImportance {
		t.Error("the chosen layout is not marked")
	}
}

func TestPreview(t *testing.T) {
	f := newFake()
	s, _ := open(t, f, nil)
	img := image.NewRGBA(image.Rect(0, 0, 640, 360))
	img.Set(1, 1, color.White)
	f.mu.Lock()
	frame := f.frame
	f.mu.Unlock()
	frame(img)
	s.settle()
	if s.preview.Image != img || s.noPreview.Visible() {
		t.Error("the preview does not show the frame")
	}
	s.Close()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.frame != nil {
		t.Error("Close did not stop the preview")
	}
}

func TestCloseWhileLiveAsksThenEnds(t *testing.T) {
	f := newFake()
	s, st := open(t, f, func(set *settings.Settings) { set.Destinations = []settings.Destination{validTwitch()} })
	test.Tap(s.goLive)
	s.settle()
	s.requestClose()
	tapDialogButton(t, s, "Cancel")
	s.settle()
	if _, _, live, _ := f.calls(); len(live) != 1 {
		t.Fatalf("SetLive calls after Cancel: %v", live)
	}
	s.w.Resize(fyne.NewSize(1400, 900))
	s.requestClose()
	tapDialogButton(t, s, "End Stream and Quit")
	s.settle()
	if _, _, live, _ := f.calls(); len(live) != 2 || live[1] {
		t.Fatalf("SetLive calls: %v", live)
	}
	s.Close()
	if w := st.Get().Window; w.Width != 1400 || w.Height != 900 {
		t.Errorf("window size saved as %v", w)
	}
}

func TestDamagedSettingsShown(t *testing.T) {
	f := newFake()
	s, _ := open(t, f, nil)
	s.ShowError(&settings.DamagedError{Path: "/x/settings.json", Saved: "/x/settings.json.corrupt-1"})
	if msg := bannerText(s); !strings.Contains(msg, "damaged") {
		t.Errorf("banner %q", msg)
	}
}

// A value out of range in the settings file reaches the window's banner
// as Open words it: the file, the field, the value kept.
func TestBadSettingsFieldShown(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, settings.FileName), []byte(`{"reconnect_grace_seconds": 1, "output": {"width": 1280, "height": 720, "fps": 500}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := settings.Open(dir)
	var fe *settings.FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("Open: %v, want a *settings.FieldError", err)
	}
	f := newFake()
	s, _ := open(t, f, nil)
	s.ShowError(err)
	msg := bannerText(s)
	for _, want := range []string{`settings.json: "reconnect_grace_seconds": 1 is out of range (2–600 s); keeping 10`, `"output.fps": 500 is out of range (1–60); keeping 30`} {
		if !strings.Contains(msg, want) {
			t.Errorf("banner %q, want it to say %q", msg, want)
		}
	}
}

func TestCloseWhileLiveDoesNotHangOnADeadServer(t *testing.T) {
	f := newFake()
	s, _ := open(t, f, func(set *settings.Settings) { set.Destinations = []settings.Destination{validTwitch()} })
	test.Tap(s.goLive)
	s.settle()
	if s.w.Title() != "● LIVE — Greenroom" {
		t.Errorf("title while live: %q", s.w.Title())
	}
	f.mu.Lock() // SetLive(false) now blocks, like a server that never answers
	defer f.mu.Unlock()
	s.closeWait = 50 * time.Millisecond
	closed := false
	s.w.SetOnClosed(func() { closed = true })
	s.requestClose()
	tapDialogButton(t, s, "End Stream and Quit")
	for start := time.Now(); !closed && time.Since(start) < 5*time.Second; {
		time.Sleep(10 * time.Millisecond)
		s.q.pump()
	}
	if !closed {
		t.Fatal("the window did not close while the stream would not end")
	}
}

func TestHasDisplay(t *testing.T) {
	t.Setenv("DISPLAY", "")
	t.Setenv("WAYLAND_DISPLAY", "")
	if HasDisplay() {
		t.Error("a display without DISPLAY or WAYLAND_DISPLAY")
	}
	t.Setenv("WAYLAND_DISPLAY", "wayland-0")
	if !HasDisplay() {
		t.Error("no display with WAYLAND_DISPLAY set")
	}
}

func TestSettingsSavedInOrder(t *testing.T) {
	f := newFake()
	s, st := open(t, f, nil)
	for _, v := range []string{"6", "60", "600", "6000", "60000", "6000"} {
		s.prefs.kbps.SetText(v)
	}
	s.settle()
	if got := st.Get().Output.VideoKbps; got != 6000 {
		t.Errorf("saved %d kb/s, want the last value typed, 6000", got)
	}
	if s.prefs.kbpsErr.Visible() {
		t.Error("an error shows for a good value")
	}
	s.prefs.kbps.SetText("12")
	if !s.prefs.kbpsErr.Visible() {
		t.Error("no error for 12 kb/s")
	}
	s.prefs.size.SetSelected(sizeLabel(1920, 1080))
	s.settle()
	if o := st.Get().Output; o.Width != 1920 || o.Height != 1080 || o.VideoKbps != 6000 {
		t.Errorf("after choosing 1080p: %+v", o)
	}
}

func TestStartingNotEnding(t *testing.T) {
	f := newFake()
	s, _ := open(t, f, func(set *settings.Settings) { set.Destinations = []settings.Destination{validTwitch()} })
	f.mu.Lock() // SetLive waits, as a preflight does
	test.Tap(s.goLive)
	// The show says it is live before SetLive returns.
	s.applyState(studio.State{Live: true, Participants: f.state.Participants})
	if s.goLive.Text != "Starting…" || !s.goLive.Disabled() {
		t.Errorf("while going live: button %q (disabled %v)", s.goLive.Text, s.goLive.Disabled())
	}
	f.mu.Unlock()
	s.settle()
	if s.goLive.Text != "End Stream" || s.goLive.Disabled() {
		t.Errorf("live: button %q (disabled %v)", s.goLive.Text, s.goLive.Disabled())
	}
}

// TestDropInPlainWords: an output that drops mid-show is explained in the
// banner, with the original (scrubbed) kept in brackets.
func TestDropInPlainWords(t *testing.T) {
	f := newFake()
	s, _ := open(t, f, func(set *settings.Settings) { set.Destinations = []settings.Destination{validTwitch()} })
	test.Tap(s.goLive)
	s.settle()
	for _, c := range []struct{ err, want string }{
		{"RTMP read: read tcp 127.0.0.1:1->127.0.0.1:2: read: connection reset by peer", "Twitch lost its connection; reconnecting… the server ended the connection."},
		{"network stalled: nothing sent for 5s", "Twitch lost its connection; reconnecting… the connection is too slow"},
		{"rtmpout: publish to rtmp://x/app/[redacted]: server unreachable: dial tcp: connect: connection refused", "Twitch lost its connection; reconnecting… the server refused the connection."},
		{"srtout: publish to srt://h:9000?streamid=****: connection lost: Input/output error", "Twitch lost its connection; reconnecting… the server ended the connection."},
		{"srtout: publish to srt://h:9000?streamid=****: no SRT answer from h:9000 within 5s (nothing listens there, or a firewall drops it)", "Twitch lost its connection; reconnecting… couldn't reach the server."},
		{"srtout: publish to srt://h:9000?streamid=****: the SRT server at h:9000 rejected the connection in 15ms (a wrong streamid or passphrase?)", "Twitch lost its connection; reconnecting… the SRT server rejected the connection"},
		{"something new", "Twitch lost its connection; reconnecting… something new"},
	} {
		s.health = map[string]string{}
		s.applyStats([]DestinationStats{{ID: "d1", Name: "Twitch", State: StateReconnecting, Err: c.err}})
		if msg := bannerText(s); !strings.HasPrefix(msg, c.want) {
			t.Errorf("%q: banner %q, want %q…", c.err, msg, c.want)
		}
	}
}

// verticalShow is the fake with a vertical program.
type verticalShow struct {
	*fakeShow
	vframe func(image.Image)
}

func (v *verticalShow) VerticalPreview(frame func(image.Image)) func() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.vframe = frame
	return func() {
		v.mu.Lock()
		defer v.mu.Unlock()
		v.vframe = nil
	}
}

// The vertical program's preview (issue #13) appears beside the program's
// with its first picture of a live show, and goes when the show ends.
func TestVerticalPreview(t *testing.T) {
	f := &verticalShow{fakeShow: newFake()}
	s, _ := openShow(t, f, nil)
	if s.vertical.box.Visible() {
		t.Fatal("a vertical preview before any picture")
	}
	s.applyLive(true)
	img := image.NewRGBA(image.Rect(0, 0, 180, 320))
	f.mu.Lock()
	frame := f.vframe
	f.mu.Unlock()
	frame(img)
	s.settle()
	if !s.vertical.box.Visible() || s.vertical.img.Image != img {
		t.Error("the vertical preview does not show the vertical program's picture")
	}
	if w, h := s.vertical.img.Size().Width, s.vertical.img.Size().Height; w >= h || h < 200 {
		t.Errorf("vertical preview laid out %gx%g, want portrait", w, h)
	}
	s.applyLive(false)
	frame(img) // a last picture in flight
	s.settle()
	if s.vertical.box.Visible() {
		t.Error("the vertical preview is still shown after the show ended")
	}
	s.Close()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.vframe != nil {
		t.Error("Close did not stop the vertical preview")
	}
}
