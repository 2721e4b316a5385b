// Package ui is the studio window: a view on the show and the place a creator
// runs it from. It shows the program preview, the people in the studio (the
// backstage strip: a card each with their live picture, sound level and
// mute, spotlight and fit for those on stage), the layout choice and Share
// screen, the brand kits, the banners and ticker, the destinations and their
// health, the guest link and how guests reach the studio, and the user's
// settings, and sends the creator's commands to the show through the Show
// interface.
//
// It owns no media and no show state: everything it displays comes from Show
// (and settings.Store), every command goes back through it. It does not create
// the Fyne app either — main does, with app.NewWithID — so that this package
// builds and tests without OpenGL (Fyne's test driver).
//
// Threading: every field of Studio below "UI state" is touched only on the
// Fyne UI thread (widget callbacks and fyne.Do). Calls into Show and disk
// writes run on goroutines (Studio.async) and come back through Studio.do,
// which is fyne.Do.
package ui

import (
	"errors"
	"fmt"
	"image"
	"log/slog"
	"os"
	"os/signal"
	"reflect"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"greenroom/assets"
	"greenroom/studio"
	"greenroom/studio/settings"
)

// HasDisplay reports whether there is a screen to open a window on. Without
// one GLFW panics deep inside the driver, so main checks first and points the
// user at `greenroom serve`.
func HasDisplay() bool {
	return os.Getenv("DISPLAY") != "" || os.Getenv("WAYLAND_DISPLAY") != ""
}

var errNoDisplay = errors.New("no display here (DISPLAY and WAYLAND_DISPLAY are unset)")

// Studio is the studio window. Create it with New, then Run it.
type Studio struct {
	app  fyne.App
	w    fyne.Window
	show Show
	st   *settings.Store
	log  *slog.Logger

	// tick is how often the on-air timer and the destinations' health are
	// refreshed while live.
	tick time.Duration
	// closeWait is how long closing the window waits for the stream to end.
	closeWait time.Duration
	// do runs a function on the UI thread: fyne.Do. Fyne's test driver runs
	// it at once on the calling goroutine, so tests put a queue here that
	// the test goroutine drains, and that goroutine is the UI thread.
	// Nothing it was given runs once ended is set (see endUpdates).
	do    func(func())
	ended atomic.Bool

	stop      chan struct{}
	closeOnce sync.Once
	loops     sync.WaitGroup // the event, tick, scene and reach loops
	tasks     sync.WaitGroup // one-shot calls into Show and the disk
	unsub     func()
	stopFrame func()
	liveFlag  atomic.Bool // s.live, for the tick loop
	// guestsFlag: the strip shows a guest's card, whose numbers
	// pollNumbers keeps fresh; applied counts the whole states applied
	// (applyState), so that a poll's numbers never overwrite a newer
	// state's (health.go).
	guestsFlag atomic.Bool
	applied    atomic.Uint64

	sharingFlag atomic.Bool // s.sharing, for watchScene

	// saves writes settings changes in order; scenes sends scene and brand
	// commands to the show in order, mixes the volumes.
	saves  serial
	scenes serial
	// sceneStale: a look at the program's scene was not shown, as the
	// window gave a scene command meanwhile (watchScene).
	sceneStale atomic.Bool
	mixes      serial // volume commands (levels.go)

	frames latest // the program's preview pictures

	// The vertical program's preview (vertical.go); stopVertical is nil
	// when the show has none.
	vertical     verticalPane
	stopVertical func()

	music *musicTab // nil without a MusicPlayer (music.go)

	// The cards' live view (monitor.go); monitor is nil when the show has
	// none, sharer when it cannot share the host's screen.
	monitor      Monitor
	sharer       ScreenSharer
	volumes      VolumeSetter  // nil: no volume on the cards
	loudness     LoudnessMeter // nil: no loudness readout
	loudText     *canvas.Text
	stopThumbs   func()
	thumbs       thumbs
	mediaPending atomic.Bool

	// The loudness target's choice (levels.go), nil without a
	// LoudnessTargeter; targetSetting while showTarget moves it, not the
	// host.
	loudTarget    *widget.Select
	targetSetting bool

	// UI state.
	live      bool
	busy      bool // a SetLive is under way…
	busyOn    bool // …to go live (true) or to end (false)
	checking  bool // Go Live's preflight is under way (golive.go)
	liveSince time.Time
	state     studio.State
	scene     studio.Scene // the program's, as last seen or as just asked for
	layout    string
	lastSize  fyne.Size
	fitScreen bool              // no size saved yet: Run sizes the window to the screen
	place     settings.Window   // where the window is (X, Y, Placed; place.go)
	health    map[string]string // output ID → last state seen, to report changes once

	goLive     *widget.Button
	onAir      *fyne.Container
	onAirText  *canvas.Text
	offAir     *fyne.Container
	banner     *fyne.Container
	bannerText *widget.Label
	preview    *canvas.Image
	noPreview  *fyne.Container
	layoutBtns map[string]*widget.Button
	share      *widget.Button // nil without a ScreenSharer
	localRec   *widget.Check  // nil without a LocalRecorder
	autoSpot   *widget.Check  // nil without an AutoSpotlighter
	sharing    bool           // the host's screen is shared…
	shareBusy  bool           // …or a ShareScreen is under way
	// layoutBefore is the layout sharing the screen replaced, to go back
	// to when it ends; "" when none.
	layoutBefore string

	strip      *fyne.Container
	stripRow   *fyne.Container
	stripEmpty *widget.Label
	notice     *widget.Label
	noticeSeq  int
	noticeWho  []studio.Participant // the guests the notice names, while they wait backstage
	// countdownDue: the strip is to be updated again soon, for a card
	// counting down (countDown). UI thread only.
	countdownDue bool
	cards        map[string]*card
	tabs         *container.AppTabs
	center       *fyne.Container // relaid out when the banner comes and goes
	topBar       *fyne.Container // relaid out when on air changes

	dest    destinationsTab
	guest   guestsTab
	prefs   settingsTab
	ban     bannersTab
	brand   brandTab
	recs    recordingsTab
	notices recNotices // the recordings' notices (recnotice.go)
}

type frameBox struct{ img image.Image }

// latest keeps the newest picture a media goroutine hands over until the
// UI thread draws it, asking the UI thread once however many arrive
// before it gets to it: a busy window drops preview pictures, never slows
// the show.
type latest struct {
	frame   atomic.Pointer[frameBox]
	pending atomic.Bool
}

// offer is called from the media side; draw runs on the UI thread with the
// newest picture.
func (l *latest) offer(s *Studio, img image.Image, draw func(image.Image)) {
	l.frame.Store(&frameBox{img})
	if l.pending.Swap(true) {
		return
	}
	s.do(func() {
		l.pending.Store(false)
		if b := l.frame.Load(); b != nil {
			draw(b.img)
		}
	})
}

// New builds the studio window for show, with the user's settings in st.
// It applies the studio theme to a.
func New(a fyne.App, show Show, st *settings.Store) *Studio {
	return newStudio(a, show, st, fyne.Do)
}

// NewOn is New with the window's updates handed to do instead of fyne.Do.
// It is for tests on Fyne's test driver, whose fyne.Do runs a function at
// once on the calling goroutine: they pass a queue that one goroutine
// drains, as the real driver's UI thread does.
func NewOn(a fyne.App, show Show, st *settings.Store, do func(func())) *Studio {
	return newStudio(a, show, st, do)
}

func newStudio(a fyne.App, show Show, st *settings.Store, do func(func())) *Studio {
	s := &Studio{
		app:       a,
		show:      show,
		st:        st,
		log:       slog.Default().With("component", "ui"),
		tick:      time.Second,
		closeWait: 10 * time.Second,
		stop:      make(chan struct{}),
		layout:    Layouts[len(Layouts)-1].Name,
		health:    map[string]string{},
		cards:     map[string]*card{},
	}
	s.do = func(f func()) {
		do(func() {
			if !s.ended.Load() {
				f()
			}
		})
	}
	s.monitor, _ = show.(Monitor)
	s.sharer, _ = show.(ScreenSharer)
	s.volumes, _ = show.(VolumeSetter)
	s.loudness, _ = show.(LoudnessMeter)
	if s.sharer != nil {
		s.sharing = s.sharer.Sharing()
		s.sharingFlag.Store(s.sharing)
	}
	a.Settings().SetTheme(studioTheme{})
	icon := fyne.NewStaticResource("greenroom.png", assets.Icon)
	a.SetIcon(icon)
	s.w = a.NewWindow("Greenroom")
	s.w.SetIcon(icon)
	s.w.SetContent(s.build())
	s.placeWindow(st.Get().Window)
	s.w.SetMaster()
	s.w.SetCloseIntercept(s.requestClose)
	s.addShortcuts()

	// Subscribe before reading the state, so that nothing happens unseen
	// between the two.
	events, unsub := show.Subscribe()
	s.unsub = unsub
	state := show.State()
	s.applyState(state)
	s.recs.load()
	sc := show.Scene()
	s.applyScene(sc)
	reach := viewReach(state, show.GuestURL())
	s.guest.showReach(reach, true)
	s.loops.Add(6)
	go s.watchEvents(events)
	go s.tickLoop()
	go s.every(healthPoll, s.pollNumbers)
	go s.every(s.tick, func() { s.do(func() { s.recs.poll(s.live) }) })
	go s.watchScene(sc)
	go s.watchReach(reach)
	s.stopFrame = show.Preview(s.onFrame)
	if vp, ok := show.(VerticalPreviewer); ok {
		s.stopVertical = vp.VerticalPreview(s.onVerticalFrame)
	}
	s.startMonitor()
	return s
}

// Window is the studio's window (for tests, and for main should it want to
// set a menu).
func (s *Studio) Window() fyne.Window { return s.w }

// Run shows the window and returns when it is closed, after stopping the
// window's goroutines and saving its size for next time.
func (s *Studio) Run() {
	// The screen's size is known, and the window may be placed, only once
	// the driver runs.
	s.app.Lifecycle().SetOnStarted(func() {
		if s.fitScreen {
			s.fitToScreen()
		}
		s.restorePlace()
	})
	s.loops.Add(1)
	go s.every(time.Second, func() { s.do(s.notePlace) })
	stopOnSignal := s.endUpdatesOnSignal()
	s.w.ShowAndRun()
	stopOnSignal()
	s.endUpdates()
	if s.lastSize == (fyne.Size{}) {
		// Fyne quit on SIGINT or SIGTERM (its driver catches them),
		// without closing the window: its last size is still the
		// canvas's.
		s.lastSize = s.w.Canvas().Size()
	}
	s.Close()
}

// endUpdates drops the window's updates from now on. Once Fyne's driver
// has stopped, fyne.Do no longer queues a function for the UI thread but
// runs it at once on the goroutine that asked (fyne-io/fyne#5748, #6301):
// the cards' meters, the preview and the events, still running until
// Close stops them, then touched widgets from their own goroutines, and
// Fyne logged "Error in Fyne call thread" at many a close. So updates end
// as the window does: at its close button, at the signal Fyne quits on,
// and when Run's driver returns (what else stops it).
func (s *Studio) endUpdates() { s.ended.Store(true) }

// endUpdatesOnSignal calls endUpdates at SIGINT or SIGTERM, which Fyne's
// driver also catches to quit: ours is set at once, its quit runs at the
// UI thread's next turn, before the driver stops. The returned func stops
// watching, and waits for the watcher to go.
func (s *Studio) endUpdatesOnSignal() (stop func()) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	done, gone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(gone)
		select {
		case <-sig:
			s.endUpdates()
		case <-done:
		}
	}()
	return func() {
		signal.Stop(sig)
		close(done)
		<-gone
	}
}

// Close stops the window's goroutines (events, timer, preview, the cards'
// pictures and meters), waits for the calls into the show it started, and
// saves the window size. It does not end the show: closing the window does
// that, after asking. Safe to call
// more than once.
func (s *Studio) Close() {
	s.closeOnce.Do(func() {
		close(s.stop)
		s.unsub()
		s.stopFrame()
		if s.stopVertical != nil {
			s.stopVertical()
		}
		s.stopThumbs()
		s.loops.Wait()
		s.tasks.Wait()
		closeX11()
		if sz := s.lastSize; sz.Width >= 320 && sz.Height >= 240 {
			if err := s.st.Update(func(set *settings.Settings) {
				set.Window = settings.Window{Width: sz.Width, Height: sz.Height, X: s.place.X, Y: s.place.Y, Placed: s.place.Placed}
			}); err != nil {
				s.log.Warn("saving the window size", "err", err)
			}
		}
	})
}

// ShowError puts a message for the creator at the top of the window, for
// problems main finds while starting (a damaged settings file). Call it from
// the UI thread, or before Run.
func (s *Studio) ShowError(err error) {
	s.showError(s.scrub(err.Error()))
}

// async runs f off the UI thread; f reports back through s.do.
func (s *Studio) async(f func()) {
	s.tasks.Add(1)
	go func() {
		defer s.tasks.Done()
		f()
	}()
}

// build lays the window out: top bar; centre the error banner, program
// preview and layout buttons; right the tabs; bottom the backstage strip.
func (s *Studio) build() fyne.CanvasObject {
	top := container.NewVBox(s.buildBanner(), s.buildRecNotices())
	center := container.NewBorder(top, s.buildLayoutBar(), nil, s.vertical.build(), s.buildPreview())
	s.center = center
	right := container.NewStack(minWidth(430), s.buildTabs())
	main := container.NewBorder(nil, nil, nil, container.NewHBox(widget.NewSeparator(), right), container.NewPadded(center))
	return container.NewBorder(s.buildTopBar(), s.buildStrip(), nil, nil, main)
}

func (s *Studio) buildTopBar() fyne.CanvasObject {
	title := canvas.NewText("Greenroom", theme.Color(theme.ColorNameForeground))
	title.TextStyle = fyne.TextStyle{Bold: true}
	title.TextSize = 20

	// The text keeps its width as it counts, so the pill never resizes.
	s.onAirText = canvas.NewText("● LIVE 00:00:00", colorWhite)
	s.onAirText.TextStyle = fyne.TextStyle{Bold: true, Monospace: true}
	s.onAir = pill(colorLive, s.onAirText)
	offText := canvas.NewText("OFF AIR", colorMuted)
	offText.TextStyle = fyne.TextStyle{Bold: true}
	s.offAir = pill(colorCard, offText)

	s.goLive = widget.NewButtonWithIcon("Go Live", theme.MediaRecordIcon(), s.toggleLive)
	s.goLive.Importance = widget.DangerImportance
	big := container.New(layout.NewGridWrapLayout(fyne.NewSize(170, 44)), s.goLive)

	bar := container.NewHBox(
		container.NewCenter(title), container.NewCenter(container.NewHBox(s.onAir, s.offAir)),
		layout.NewSpacer())
	if l := s.buildLoudness(); l != nil {
		bar.Add(l)
	}
	if lr, ok := s.show.(LocalRecorder); ok {
		// Off by default: it costs the guests upload bandwidth.
		s.localRec = widget.NewCheck("Guests record locally", lr.SetLocalRecording)
		bar.Add(container.NewCenter(s.localRec))
	}
	bar.Add(big)
	s.topBar = bar
	bg := canvas.NewRectangle(colorPanel)
	return container.NewStack(bg, container.NewPadded(bar))
}

func (s *Studio) buildBanner() fyne.CanvasObject {
	s.bannerText = widget.NewLabel("")
	s.bannerText.Wrapping = fyne.TextWrapWord
	dismiss := widget.NewButtonWithIcon("", theme.CancelIcon(), s.hideError)
	dismiss.Importance = widget.LowImportance
	bg := canvas.NewRectangle(colorErrorBox)
	bg.CornerRadius = 8
	bg.StrokeColor = colorLive
	bg.StrokeWidth = 1
	icon := widget.NewIcon(theme.NewErrorThemedResource(theme.ErrorIcon()))
	s.banner = container.NewPadded(container.NewStack(bg,
		container.NewBorder(nil, nil, container.NewCenter(icon), container.NewCenter(dismiss), s.bannerText)))
	s.banner.Hide()
	return s.banner
}

// showError tells the creator what went wrong; the newest message replaces
// the last. It is also logged, for bug reports.
func (s *Studio) showError(msg string) {
	s.log.Info("shown to the user", "msg", msg)
	s.bannerText.SetText(msg)
	s.banner.Show()
	s.center.Refresh()
}

func (s *Studio) hideError() {
	s.banner.Hide()
	s.center.Refresh()
}

func (s *Studio) buildPreview() fyne.CanvasObject {
	s.preview = previewImage(fyne.NewSize(480, 270))
	hint := canvas.NewText("The program appears here", colorMuted)
	hint.TextSize = 16
	s.noPreview = container.NewCenter(hint)
	return container.NewStack(canvas.NewRectangle(colorProgram), s.preview, s.noPreview, previewLabel(" PROGRAM "))
}

// previewLabel names a preview in its top left corner.
func previewLabel(text string) fyne.CanvasObject {
	label := canvas.NewText(text, colorMuted)
	label.TextStyle = fyne.TextStyle{Bold: true}
	label.TextSize = 11
	return container.NewVBox(container.NewHBox(container.NewPadded(label)))
}

// previewImage is a preview's picture, scaled to fit, at least min.
func previewImage(min fyne.Size) *canvas.Image {
	img := canvas.NewImageFromImage(nil)
	img.FillMode = canvas.ImageFillContain
	img.ScaleMode = canvas.ImageScaleFastest
	img.SetMinSize(min)
	return img
}

// onFrame is called by the media side for every preview frame.
func (s *Studio) onFrame(img image.Image) { s.frames.offer(s, img, s.drawFrame) }

func (s *Studio) drawFrame(img image.Image) {
	s.preview.Image = img
	s.noPreview.Hide()
	s.preview.Refresh()
}

func (s *Studio) buildLayoutBar() fyne.CanvasObject {
	s.layoutBtns = map[string]*widget.Button{}
	row := container.NewHBox(widget.NewLabelWithStyle("Layout", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}))
	for _, l := range Layouts {
		name := l.Name
		b := widget.NewButton(l.Label, func() { s.chooseLayout(name) })
		s.layoutBtns[name] = b
		row.Add(b)
	}
	if a, ok := s.show.(AutoSpotlighter); ok {
		// Off by default: the host arranges the stage until they ask.
		s.autoSpot = widget.NewCheck("Auto-spotlight", func(on bool) {
			if on != s.state.AutoSpotlight {
				a.SetAutoSpotlight(on)
			}
		})
		row.Add(s.autoSpot)
	}
	if share := s.buildShare(); share != nil {
		row.Add(widget.NewSeparator())
		row.Add(share)
	}
	s.markLayout()
	return container.NewCenter(row)
}

func (s *Studio) chooseLayout(name string) {
	s.layout = name
	s.scene.Layout = name
	s.markLayout()
	s.command("Couldn't change the layout", func() error { return s.show.SetLayout(name) })
}

// command changes the scene off the UI thread, after the window has shown
// the change. If the show refuses, the window says why (what: "Couldn't
// …") and goes back to the show's scene.
func (s *Studio) command(what string, call func() error) {
	s.scenes.run(s, func() {
		err := call()
		if err == nil {
			return
		}
		sc := s.show.Scene()
		s.do(func() {
			s.showError(what + ": " + s.explain(err))
			s.applyScene(sc)
		})
	})
}

// scenePoll is how often the window looks at the program's scene, which the
// control API (POST /api/scene) changes too. A look is a copy under a
// mutex; the window is redrawn only when the scene changed.
const scenePoll = 250 * time.Millisecond

// watchScene follows the program's scene from last, the one shown at start,
// and whether the host's screen is shared.
func (s *Studio) watchScene(last studio.Scene) {
	s.every(scenePoll, func() {
		if s.sharer != nil {
			if now := s.sharer.Sharing(); now != s.sharingFlag.Load() {
				s.do(func() { s.applySharing(now) })
			}
		}
		// A scene read while the window's own command is on its way is
		// older than what the window shows: it would undo the host's
		// click until the next look. Not read then, and not shown if a
		// command was given meanwhile (the next look shows it, even if
		// the scene is the same by then).
		busy, given := s.scenes.state()
		if busy {
			return
		}
		sc := s.show.Scene()
		if reflect.DeepEqual(sc, last) && !s.sceneStale.Swap(false) {
			return
		}
		last = sc
		s.do(func() {
			if _, now := s.scenes.state(); now != given {
				s.sceneStale.Store(true)
				return
			}
			s.applyScene(sc)
		})
	})
}

// every calls f every d until the window closes.
func (s *Studio) every(d time.Duration, f func()) {
	defer s.loops.Done()
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		f()
	}
}

// applyScene shows the program's scene: the layout button, the spotlight
// and fit on the stage's cards, the banner and ticker.
func (s *Studio) applyScene(sc studio.Scene) {
	s.scene = sc
	if sc.Layout != "" {
		s.layout = sc.Layout
	}
	s.markLayout()
	s.updateStrip()
	s.ban.refresh()
}

func (s *Studio) markLayout() {
	for name, b := range s.layoutBtns {
		if name == s.layout {
			b.Importance = widget.HighImportance
		} else {
			b.Importance = widget.MediumImportance
		}
		b.Refresh()
	}
}

func (s *Studio) buildTabs() fyne.CanvasObject {
	s.tabs = container.NewAppTabs(
		container.NewTabItem("Destinations", s.dest.build(s)),
		container.NewTabItem("Guests", s.guest.build(s)),
		container.NewTabItem("Brand", s.brand.build(s)),
		container.NewTabItem("Banners", s.ban.build(s)),
		container.NewTabItem("Settings", s.prefs.build(s)),
	)
	// Last: the tab bar has room for five, and the sixth goes in its
	// overflow menu; the Settings tab is the one people look for.
	if l, ok := s.show.(RecordingsLister); ok {
		s.recs.item = container.NewTabItem("Recordings", s.recs.build(s, l))
		s.tabs.Append(s.recs.item)
		s.tabs.OnSelected = func(it *container.TabItem) {
			if it == s.recs.item {
				s.recs.load() // what it shows may have moved while out of view
			}
		}
	}
	if m := s.buildMusic(); m != nil {
		s.tabs.Append(container.NewTabItem("Music", m))
	}
	return s.tabs
}

// watchEvents follows the show. Any event, or a gap, leads to the same thing:
// read the whole State and redraw from it. That is cheap for a studio of
// at most studio.MaxLimits guests, and it cannot drift from the show.
func (s *Studio) watchEvents(events <-chan studio.Event) {
	defer s.loops.Done()
	for {
		var joined []studio.Participant
		music := false
		note := func(ev studio.Event) {
			if ev.Kind == studio.EventJoined && ev.Participant.Role == studio.RoleGuest {
				joined = append(joined, ev.Participant)
			}
			music = music || ev.Kind == studio.EventMusicPlayer
		}
		select {
		case <-s.stop:
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			note(ev)
		}
		// Take what else is already queued: one redraw for a burst.
	drain:
		for {
			select {
			case ev, ok := <-events:
				if !ok {
					break drain
				}
				note(ev)
			default:
				break drain
			}
		}
		st := s.show.State()
		s.do(func() {
			s.applyState(st)
			if len(joined) > 0 {
				s.announce(joined)
			}
			if music && s.music != nil {
				// Read in turn with the tab's own changes, so the
				// tab never shows (or keeps) an older state.
				s.music.apply(nil, "")
			}
		})
	}
}

func (s *Studio) applyState(st studio.State) {
	s.state = st
	s.applied.Add(1)
	if s.autoSpot != nil {
		s.autoSpot.SetChecked(st.AutoSpotlight) // not sent back: the state already says so
	}
	s.updateStrip()
	s.updateNotice()
	s.showRecording(st.Recording)
	s.applyLive(st.Live)
}

// applyLive shows whether the show is on air. The timer counts from the
// moment this window saw the show go live.
func (s *Studio) applyLive(on bool) {
	if on != s.live {
		s.recs.load() // the show's folder came, or its show ended
	}
	if on && !s.live {
		s.liveSince = time.Now()
		s.health = map[string]string{}
	}
	s.live = on
	s.liveFlag.Store(on)
	if !on {
		s.hideVertical()
	}
	switch {
	case s.checking:
		s.goLive.SetText("Checking…")
	case s.busy && s.busyOn:
		s.goLive.SetText("Starting…")
	case s.busy:
		s.goLive.SetText("Ending…")
	case s.live:
		s.goLive.SetText("End Stream")
		s.goLive.SetIcon(theme.MediaStopIcon())
		s.goLive.Importance = widget.MediumImportance
	default:
		s.goLive.SetText("Go Live")
		s.goLive.SetIcon(theme.MediaRecordIcon())
		s.goLive.Importance = widget.DangerImportance
	}
	if s.busy {
		s.goLive.Disable()
	} else {
		s.goLive.Enable()
	}
	s.goLive.Refresh()
	if s.live {
		s.offAir.Hide()
		s.onAir.Show()
		s.updateTimer()
	} else {
		s.onAir.Hide()
		s.offAir.Show()
	}
	s.topBar.Refresh()
	if s.live {
		s.w.SetTitle("● LIVE — Greenroom") // the task bar shows it too
	} else {
		s.w.SetTitle("Greenroom")
	}
	s.dest.refresh()
	s.prefs.setLive(s.live)
}

func (s *Studio) updateTimer() {
	d := time.Since(s.liveSince).Truncate(time.Second)
	s.onAirText.Text = fmt.Sprintf("● LIVE %02d:%02d:%02d", int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60)
	s.onAirText.Refresh()
}

// tickLoop refreshes the on-air timer and the outputs' health while live.
func (s *Studio) tickLoop() {
	s.every(s.tick, func() {
		if !s.liveFlag.Load() {
			return
		}
		stats := s.show.LiveStats()
		s.do(func() {
			if !s.live {
				return
			}
			s.updateTimer()
			s.applyStats(stats)
		})
	})
}

// toggleLive is the Go Live / End Stream button and Ctrl+L.
func (s *Studio) toggleLive() {
	if s.busy {
		return
	}
	if s.live {
		s.confirm("End the stream?",
			"Viewers see the end of the show. Your guests stay in the studio,\nand the recording is saved in "+s.st.Get().RecordingDir+".",
			"End Stream", func() { s.setLive(false, nil) })
		return
	}
	if msg := s.preflight(); msg != "" {
		s.showError(msg)
		s.tabs.SelectIndex(0)
		return
	}
	if pf, ok := s.show.(Preflighter); ok {
		s.checkThenGoLive(pf)
		return
	}
	s.setLive(true, nil)
}

// preflight checks the settings before asking the show to go live, so that
// a mistake the window can see is explained in terms of the form the user
// filled in. It returns what to tell the user, or "".
func (s *Studio) preflight() string {
	on := s.st.Get().Enabled()
	if len(on) == 0 {
		return "Add a destination first — YouTube, Twitch, Facebook or your own RTMP server — under Destinations, and switch it on."
	}
	for _, d := range on {
		if err := d.Validate(); err != nil {
			return s.scrub(fmt.Sprintf("Can't go live to %s: %s. Fix it under Destinations.", d.Name, err))
		}
	}
	return ""
}

// setLive asks the show to go live or end, off the UI thread, then calls
// done (on the UI thread) if it succeeded.
func (s *Studio) setLive(on bool, done func()) {
	s.runLive(on, func() error { return s.show.SetLive(on) }, done)
}

// runLive is setLive with the call that goes live or ends given: SetLive,
// or a Preflighter's GoLiveTo.
func (s *Studio) runLive(on bool, call func() error, done func()) {
	s.busy, s.busyOn = true, on
	s.applyLive(s.live)
	s.async(func() {
		err := call()
		st := s.show.State()
		s.do(func() {
			s.busy = false
			if err != nil {
				if on {
					s.showError("Couldn't go live: " + s.explain(err))
				} else {
					s.showError("Couldn't end the stream cleanly: " + s.explain(err))
				}
			} else if on {
				s.hideError()
			}
			s.applyState(st)
			if err == nil && done != nil {
				done()
			}
		})
	})
}

// closeWindow closes the window, keeping its size for Close to save. The
// size is taken here, before closing, rather than in the window's
// OnClosed, which runs only if the driver is still running then.
func (s *Studio) closeWindow() {
	s.lastSize = s.w.Canvas().Size()
	s.notePlace()
	s.endUpdates()
	s.w.Close()
}

// requestClose is the window's close button: while live it asks, then ends
// the stream before the window goes.
func (s *Studio) requestClose() {
	if !s.live && (!s.busy || s.checking) { // a preflight is just given up
		s.closeWindow()
		return
	}
	s.confirm("You're live",
		"Closing Greenroom ends the stream for your viewers and your guests.",
		"End Stream and Quit", func() {
			s.busy, s.busyOn = true, false
			s.applyLive(s.live)
			s.async(func() {
				// Ending flushes the outputs; a dead server must not keep
				// the user from quitting, so wait only so long. main closes
				// the show after Run returns, which ends it either way.
				done := make(chan error, 1)
				go func() { done <- s.show.SetLive(false) }()
				var err error
				select {
				case err = <-done:
				case <-time.After(s.closeWait):
					err = fmt.Errorf("still ending after %v", s.closeWait)
				}
				s.do(func() {
					if err != nil {
						s.log.Warn("ending the stream on close", "err", err)
					}
					s.closeWindow()
				})
			})
		})
}

// confirm asks before something that cannot be undone.
func (s *Studio) confirm(title, msg, action string, yes func()) {
	d := dialog.NewConfirm(title, msg, func(ok bool) {
		if ok {
			yes()
		}
	}, s.w)
	d.SetConfirmText(action)
	d.SetDismissText("Cancel")
	d.SetConfirmImportance(widget.DangerImportance)
	d.Show()
}

// addShortcuts: Ctrl+L goes live or ends (with the same confirmation as the
// button); Ctrl+1…9 put the Nth person of the strip on or off stage.
func (s *Studio) addShortcuts() {
	c := s.w.Canvas()
	c.AddShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyL, Modifier: fyne.KeyModifierShortcutDefault},
		func(fyne.Shortcut) { s.toggleLive() })
	for i, k := range []fyne.KeyName{fyne.Key1, fyne.Key2, fyne.Key3, fyne.Key4, fyne.Key5, fyne.Key6, fyne.Key7, fyne.Key8, fyne.Key9} {
		c.AddShortcut(&desktop.CustomShortcut{KeyName: k, Modifier: fyne.KeyModifierShortcutDefault},
			func(fyne.Shortcut) {
				if i < len(s.state.Participants) {
					p := s.state.Participants[i]
					s.stage(p, p.Place != studio.PlaceStage)
				}
			})
	}
	if s.music != nil {
		s.music.addShortcuts(c)
	}
}
