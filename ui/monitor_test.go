package ui

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"greenroom/studio"
)

func (f *fakeShow) Thumbnails(frame func(string, image.Image)) func() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.thumb = frame
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.thumb = nil
	}
}

// sendThumb delivers a thumbnail as the media side does.
func (f *fakeShow) sendThumb(id string, img image.Image) {
	f.mu.Lock()
	frame := f.thumb
	f.mu.Unlock()
	if frame != nil {
		frame(id, img)
	}
}

func (f *fakeShow) Levels() map[string]float32 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.levels
}

func (f *fakeShow) setLevels(l map[string]float32) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.levels = l
}

// SetMuted records the call and, as the studio does, changes the state
// (without an event: the window reads the state after muting).
func (f *fakeShow) SetMuted(id string, on bool) error {
	return f.setFor(&f.mutes, &f.muteErr, id, func(p *studio.Participant) { p.Muted = on }, on)
}

// setFor records a per-person call ("id on") in calls and, unless *err,
// applies it to id's state.
func (f *fakeShow) setFor(calls *[]string, err *error, id string, apply func(*studio.Participant), on bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	*calls = append(*calls, fmt.Sprintf("%s %v", id, on))
	return f.editLocked(id, *err, apply)
}

// editLocked changes participant id with change, as a command that
// succeeded does, unless err (what the command returns); f.mu held.
func (f *fakeShow) editLocked(id string, err error, change func(*studio.Participant)) error {
	if err != nil {
		return err
	}
	for i, p := range f.state.Participants {
		if p.ID == id {
			change(&f.state.Participants[i])
		}
	}
	return nil
}

// SetSolo records the call and changes the state, as SetMuted.
func (f *fakeShow) SetSolo(id string, on bool) error {
	return f.setFor(&f.solos, &f.soloErr, id, func(p *studio.Participant) { p.Solo = on }, on)
}

func (f *fakeShow) muteCalls() []string { return f.copyCalls(&f.mutes) }

// copyCalls is a copy of a record of calls.
func (f *fakeShow) copyCalls(c *[]string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), *c...)
}

func (f *fakeShow) ShareScreen(on bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.shares = append(f.shares, on)
	if f.shareErr != nil {
		return f.shareErr
	}
	f.sharing = on
	return nil
}

func (f *fakeShow) Sharing() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sharing
}

func (f *fakeShow) shareCalls() []bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]bool(nil), f.shares...)
}

// SetMusicMode records the call and, as the studio does, changes the
// state.
func (f *fakeShow) SetMusicMode(id string, on bool) error {
	return f.setFor(&f.musics, &f.musicErr, id, func(p *studio.Participant) { p.MusicMode = on }, on)
}

func (f *fakeShow) musicCalls() []string { return f.copyCalls(&f.musics) }

var (
	_ Monitor      = (*fakeShow)(nil)
	_ ScreenSharer = (*fakeShow)(nil)
	_ MusicModer   = (*fakeShow)(nil)
)

// bareShow hides every optional interface of the Show inside it.
type bareShow struct{ Show }

func thumbImage(c color.Color) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, 160, 90))
	for y := range 90 {
		for x := range 160 {
			img.Set(x, y, c)
		}
	}
	return img
}

func TestCardsTidy(t *testing.T) {
	for name, show := range map[string]func(*fakeShow) Show{
		"monitor": func(f *fakeShow) Show { return f },
		"bare":    func(f *fakeShow) Show { return bareShow{f} },
	} {
		t.Run(name, func(t *testing.T) {
			f := newFake()
			f.state.Participants[1].Place = studio.PlaceStage
			s, _ := openShow(t, show(f), nil)
			for id, c := range s.cards {
				if got := c.box.MinSize(); got.Width != cardWidth || got.Height != cardHeight {
					t.Errorf("%s's card is %v, not %vx%v", id, got, cardWidth, cardHeight)
				}
			}
		})
	}
}

// TestThumbnails: a picture delivered for a participant becomes their
// card's picture in place of the initials; nil brings the initials back;
// closing the window stops the thumbnails.
func TestThumbnails(t *testing.T) {
	f := newFake()
	s, _ := open(t, f, nil)
	c := s.cards["g1"]
	if c.thumb.Visible() || !c.avatar.Visible() {
		t.Fatal("a card shows a picture before one came")
	}
	img := thumbImage(color.RGBA{0x20, 0x80, 0x40, 0xff})
	f.sendThumb("g1", img)
	eventually(t, s, "Ann's picture on her card", func() bool { return c.thumb.Image == img })
	if !c.thumb.Visible() || c.avatar.Visible() {
		t.Error("the picture came but the initials still show")
	}
	if h := s.cards[studio.HostID]; h.thumb.Visible() || h.thumb.Image != nil {
		t.Error("Ann's picture is on the host's card too")
	}
	f.sendThumb("g1", nil)
	eventually(t, s, "Ann's initials again", func() bool { return c.avatar.Visible() })
	if c.thumb.Visible() {
		t.Error("the last picture stays after the camera went")
	}
	s.Close()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.thumb != nil {
		t.Error("Close did not stop the thumbnails")
	}
}

// TestWithoutMonitor: a show without Monitor or ScreenSharer gets the
// window as before — initials, no mute buttons, a meter on the host's card
// only, no Share screen.
func TestWithoutMonitor(t *testing.T) {
	f := newFake()
	s, _ := openShow(t, bareShow{f}, nil)
	f.mu.Lock()
	called := f.thumb != nil
	f.mu.Unlock()
	if called {
		t.Error("Thumbnails called on a show without Monitor")
	}
	for id, c := range s.cards {
		if c.mute != nil || c.thumb.Visible() || !c.avatar.Visible() {
			t.Errorf("%s's card: mute button %v, picture shown %v", id, c.mute != nil, c.thumb.Visible())
		}
	}
	if s.cards["g1"].level != nil || s.cards[studio.HostID].level == nil {
		t.Error("without Monitor only the host's card has a meter")
	}
	if s.share != nil {
		t.Error("a Share screen button for a show that cannot share")
	}
}

// shows reports whether o shows text: a visible canvas.Text or label
// inside visible containers.
func shows(o fyne.CanvasObject, text string) bool {
	if !o.Visible() {
		return false
	}
	switch o := o.(type) {
	case *canvas.Text:
		return o.Text == text
	case *widget.Label:
		return o.Text == text
	case *fyne.Container:
		for _, c := range o.Objects {
			if shows(c, text) {
				return true
			}
		}
	}
	return false
}

// TestLevels: every card's meter follows Levels, up at once and back down.
func TestLevels(t *testing.T) {
	f := newFake()
	s, _ := open(t, f, nil)
	ann, host := s.cards["g1"], s.cards[studio.HostID]
	if ann.level == nil || host.level == nil {
		t.Fatal("with a Monitor every card has a meter")
	}
	f.setLevels(map[string]float32{"g1": 0.8, studio.HostID: 0.3})
	eventually(t, s, "Ann's meter to rise", func() bool { return ann.level.Value >= 0.8 })
	if host.level.Value < 0.3 || host.level.Value > 0.5 {
		t.Errorf("the host's meter shows %v for 0.3", host.level.Value)
	}
	f.setLevels(map[string]float32{})
	eventually(t, s, "Ann's meter to fall back", func() bool { return ann.level.Value < 0.05 })
}

// TestMute: the mute button mutes and unmutes its participant (the host:
// their microphone); the card says Muted when the state does, whoever
// muted them; a refusal is explained.
func TestMute(t *testing.T) {
	f := newFake()
	s, _ := open(t, f, nil)
	ann := s.cards["g1"]
	if ann.mute == nil || shows(ann.box, "Muted") {
		t.Fatal("no mute button, or Muted shown before muting")
	}
	test.Tap(ann.mute)
	s.settle()
	if got := f.muteCalls(); len(got) != 1 || got[0] != "g1 true" {
		t.Fatalf("SetMuted calls %v", got)
	}
	if !shows(ann.box, "Muted") || ann.mute.Importance != widget.DangerImportance || ann.mute.Icon != theme.VolumeMuteIcon() {
		t.Error("a muted card does not say so")
	}
	test.Tap(ann.mute)
	s.settle()
	if got := f.muteCalls(); len(got) != 2 || got[1] != "g1 false" {
		t.Fatalf("SetMuted calls %v", got)
	}
	if shows(ann.box, "Muted") || ann.mute.Icon != theme.VolumeUpIcon() {
		t.Error("unmuted, the card still says Muted")
	}

	test.Tap(s.cards[studio.HostID].mute)
	s.settle()
	if got := f.muteCalls(); len(got) != 3 || got[2] != studio.HostID+" true" {
		t.Fatalf("the host's mute: SetMuted calls %v", got)
	}

	// Muted elsewhere (the control API): the event brings it.
	f.change(studio.EventQuality, func(st *studio.State) { st.Participants[1].Muted = true })
	eventually(t, s, "Ann's card to say Muted", func() bool { return shows(ann.box, "Muted") })

	f.mu.Lock()
	f.muteErr = fmt.Errorf("studio: mute g1: %w", studio.ErrNoParticipant)
	f.mu.Unlock()
	test.Tap(ann.mute)
	s.settle()
	if got := bannerText(s); !strings.Contains(got, "Couldn't unmute Ann Lee") {
		t.Errorf("banner %q", got)
	}
}

// TestSolo: a guest's card has a Solo button (the host's has none: the
// host never hears themselves) that puts them on solo and takes them off,
// and shows when they are on solo, whoever put them there.
func TestSolo(t *testing.T) {
	f := newFake()
	s, _ := open(t, f, nil)
	ann := s.cards["g1"]
	if ann.solo == nil || s.cards[studio.HostID].solo != nil {
		t.Fatalf("solo buttons: Ann's %v, the host's %v", ann.solo != nil, s.cards[studio.HostID].solo != nil)
	}
	test.Tap(ann.solo)
	s.settle()
	if ann.solo.Importance != widget.HighImportance {
		t.Error("Ann on solo, her button does not say so")
	}
	test.Tap(ann.solo)
	s.settle()
	if got := f.copyCalls(&f.solos); len(got) != 2 || got[0] != "g1 true" || got[1] != "g1 false" {
		t.Fatalf("SetSolo calls %v", got)
	}
	if ann.solo.Importance != widget.MediumImportance {
		t.Error("Ann off solo, her button still says on")
	}
	f.change(studio.EventSolo, func(st *studio.State) { st.Participants[1].Solo = true })
	eventually(t, s, "Ann's card to say Solo", func() bool { return ann.solo.Importance == widget.HighImportance })
}

// TestMusicMode: a guest's card has a music mode button (the host's has
// none) that switches it; the card says "Music mode" when the state does,
// whoever switched it (the guest on their page, the control API); a
// refusal is explained.
func TestMusicMode(t *testing.T) {
	f := newFake()
	s, _ := open(t, f, nil)
	ann := s.cards["g1"]
	if ann.music == nil || s.cards[studio.HostID].music != nil {
		t.Fatalf("music mode buttons: Ann's %v, the host's %v", ann.music != nil, s.cards[studio.HostID].music != nil)
	}
	if shows(ann.box, "Music mode") || ann.music.Importance == widget.HighImportance {
		t.Fatal("music mode shown before it is on")
	}
	test.Tap(ann.music)
	s.settle()
	if got := f.musicCalls(); len(got) != 1 || got[0] != "g1 true" {
		t.Fatalf("SetMusicMode calls %v", got)
	}
	if !shows(ann.box, "Music mode") || ann.music.Importance != widget.HighImportance {
		t.Error("a card in music mode does not say so")
	}
	writePNG(t, "ui-card-music.png", s.w.Canvas().Capture())
	test.Tap(ann.music)
	s.settle()
	if got := f.musicCalls(); len(got) != 2 || got[1] != "g1 false" {
		t.Fatalf("SetMusicMode calls %v", got)
	}
	if shows(ann.box, "Music mode") {
		t.Error("music mode off, the card still says it")
	}

	// Switched elsewhere (the guest's page): the event brings it.
	f.change(studio.EventMusic, func(st *studio.State) { st.Participants[1].MusicMode = true })
	eventually(t, s, "Ann's card to say Music mode", func() bool { return shows(ann.box, "Music mode") })

	f.mu.Lock()
	f.musicErr = fmt.Errorf("music mode for %q: %w", "g1", studio.ErrNoParticipant)
	f.mu.Unlock()
	test.Tap(ann.music)
	s.settle()
	if got := bannerText(s); !strings.Contains(got, "Couldn't turn off music mode for Ann Lee") {
		t.Errorf("banner %q", got)
	}

	// A show that can't switch it has no button.
	bare, _ := openShow(t, bareShow{newFake()}, nil)
	if bare.cards["g1"].music != nil {
		t.Error("a music mode button without a MusicModer")
	}
}

// TestDevicesOff: a guest who turned their mic or camera off has it said
// on their card, beside Muted; with the camera off the card shows their
// initials, not the last picture, until a picture comes after it is on.
func TestDevicesOff(t *testing.T) {
	f := newFake()
	s, _ := open(t, f, nil)
	ann := s.cards["g1"]
	if shows(ann.box, "Mic off") || shows(ann.box, "Camera off") {
		t.Fatal("devices off before the guest turned anything off")
	}
	img := thumbImage(color.RGBA{0x20, 0x80, 0x40, 0xff})
	f.sendThumb("g1", img)
	eventually(t, s, "Ann's picture on her card", func() bool { return ann.thumb.Visible() })

	f.change(studio.EventDevices, func(st *studio.State) { st.Participants[1].MicOff = true })
	eventually(t, s, "Ann's card to say Mic off", func() bool { return shows(ann.box, "Mic off") })
	if !ann.thumb.Visible() {
		t.Error("the mic off took the picture away")
	}
	f.change(studio.EventDevices, func(st *studio.State) {
		st.Participants[1].Muted = true
		st.Participants[1].CameraOff = true
	})
	eventually(t, s, "Ann's card to say Camera off", func() bool { return shows(ann.box, "Mic off · Camera off") })
	if !shows(ann.box, "Muted") || ann.thumb.Visible() || !ann.avatar.Visible() {
		t.Errorf("camera off and muted: Muted shown %v, picture shown %v, initials shown %v",
			shows(ann.box, "Muted"), ann.thumb.Visible(), ann.avatar.Visible())
	}
	f.sendThumb("g1", img) // on its way before the camera went off
	s.settle()
	if ann.thumb.Visible() {
		t.Error("a picture shows while the camera is off")
	}
	f.change(studio.EventDevices, func(st *studio.State) {
		st.Participants[1].MicOff, st.Participants[1].CameraOff = false, false
	})
	eventually(t, s, "the badge to go", func() bool { return !ann.devices.Visible() })
	f.sendThumb("g1", img)
	eventually(t, s, "Ann's picture back", func() bool { return ann.thumb.Visible() })
	if got := ann.box.MinSize(); got.Width != cardWidth || got.Height != cardHeight {
		t.Errorf("the card is %v with its badges, not %vx%v", got, cardWidth, cardHeight)
	}
}

// TestShareScreen: the button shares the host's screen and says Stop
// sharing; the program switches to the screen layout with the screen
// large, and back to the layout before when sharing ends — by the button,
// or elsewhere. A refusal is explained and changes nothing.
func TestShareScreen(t *testing.T) {
	f := newFake()
	s, _ := open(t, f, nil)
	if s.share == nil || !s.share.Visible() || s.share.Text != "Share screen" {
		t.Fatal("no Share screen button")
	}
	test.Tap(s.share)
	s.settle()
	if got := f.shareCalls(); len(got) != 1 || !got[0] {
		t.Fatalf("ShareScreen calls %v", got)
	}
	if s.share.Text != "Stop sharing" {
		t.Errorf("sharing, the button says %q", s.share.Text)
	}
	if sc := f.Scene(); sc.Layout != screenLayout || sc.Main != studio.ScreenInput(studio.HostID) {
		t.Errorf("sharing, the program's scene is %+v", sc)
	}
	test.Tap(s.share)
	s.settle()
	if got := f.shareCalls(); len(got) != 2 || got[1] {
		t.Fatalf("ShareScreen calls %v", got)
	}
	if s.share.Text != "Share screen" || f.Scene().Layout != "grid" || s.layoutBtns["grid"].Importance != widget.HighImportance {
		t.Errorf("after sharing: button %q, layout %q", s.share.Text, f.Scene().Layout)
	}

	// The share ends elsewhere (the screen went away).
	test.Tap(s.share)
	eventually(t, s, "the program to show the screen", func() bool { return f.Scene().Layout == screenLayout })
	f.mu.Lock()
	f.sharing = false
	f.mu.Unlock()
	eventually(t, s, "the button to say Share screen", func() bool { return s.share.Text == "Share screen" })
	eventually(t, s, "the layout before to come back", func() bool { return f.Scene().Layout == "grid" })

	f.mu.Lock()
	f.shareErr = errors.New("screen: no display to capture")
	f.mu.Unlock()
	test.Tap(s.share)
	s.settle()
	if got := bannerText(s); !strings.Contains(got, "Couldn't share your screen") || s.share.Text != "Share screen" || f.Scene().Layout != "grid" {
		t.Errorf("refused: banner %q, button %q, layout %q", got, s.share.Text, f.Scene().Layout)
	}
}

// TestThumbnailsKeepTheNewest: pictures pouring in faster than the UI
// thread draws wait as one trip to it, not a queue, and the newest is what
// the card ends up showing.
func TestThumbnailsKeepTheNewest(t *testing.T) {
	f := newFake()
	s, _ := open(t, f, nil)
	s.settle()
	var last image.Image
	for i := range 40 {
		last = thumbImage(color.RGBA{uint8(i), 0x80, 0x40, 0xff})
		f.sendThumb("g1", last)
		time.Sleep(10 * time.Millisecond) // 100 a second, for 0.4 s
	}
	s.q.mu.Lock()
	queued := len(s.q.fns)
	s.q.mu.Unlock()
	if queued > 2 {
		t.Errorf("%d updates queued for the UI thread while it was busy", queued)
	}
	eventually(t, s, "the newest picture", func() bool { return s.cards["g1"].thumb.Image == last })
}

// localShow is the fake show with the guests' local recording.
type localShow struct {
	*fakeShow
	on []bool
}

func (l *localShow) SetLocalRecording(on bool) { l.on = append(l.on, on) }

// TestLocalRecordingCheck: a show that can have its guests record
// themselves gets a checkbox by Go Live, off at first, that switches it;
// one that can't (the fake, in every other test) gets none.
func TestLocalRecordingCheck(t *testing.T) {
	l := &localShow{fakeShow: newFake()}
	s, _ := openShow(t, l, nil)
	if s.localRec == nil || s.localRec.Checked {
		t.Fatalf("checkbox %v", s.localRec)
	}
	test.Tap(s.localRec)
	test.Tap(s.localRec)
	if len(l.on) != 2 || !l.on[0] || l.on[1] {
		t.Errorf("SetLocalRecording calls %v, want on then off", l.on)
	}
	if s2, _ := open(t, newFake(), nil); s2.localRec != nil {
		t.Error("a checkbox for a show without local recording")
	}
}

// spotShow is the fake show with auto-spotlight: a switch changes the
// state and sends the event, as the studio does.
type spotShow struct {
	*fakeShow
	on []bool
}

func (a *spotShow) SetAutoSpotlight(on bool) {
	a.on = append(a.on, on)
	a.change(studio.EventSpotlight, func(st *studio.State) { st.AutoSpotlight = on })
}

// TestAutoSpotlightCheck: a show with auto-spotlight gets a checkbox by
// the layouts, off at first, that switches it, and follows a switch made
// elsewhere (the control API) without sending it back; one without gets
// none.
func TestAutoSpotlightCheck(t *testing.T) {
	a := &spotShow{fakeShow: newFake()}
	s, _ := openShow(t, a, nil)
	if s.autoSpot == nil || s.autoSpot.Checked {
		t.Fatalf("checkbox %v", s.autoSpot)
	}
	test.Tap(s.autoSpot)
	eventually(t, s, "the state to say it is on", func() bool { return s.state.AutoSpotlight })
	a.change(studio.EventSpotlight, func(st *studio.State) { st.AutoSpotlight = false }) // POST /api/autospotlight
	eventually(t, s, "the checkbox to follow", func() bool { return !s.autoSpot.Checked })
	if fmt.Sprint(a.on) != "[true]" {
		t.Errorf("SetAutoSpotlight calls %v, want [true]: a switch made elsewhere was sent back", a.on)
	}
	if s2, _ := open(t, newFake(), nil); s2.autoSpot != nil {
		t.Error("a checkbox for a show without auto-spotlight")
	}
}
