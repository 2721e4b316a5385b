package ui

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"slices"
	"strings"
	"time"
	"unicode"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"greenroom/assets"
	"greenroom/studio"
)

var colorWhite = color.NRGBA{R: 0xff, G: 0xff, B: 0xff, A: 0xff}

// colorBadge is the backing of a card's quieter badges (Mic off, Camera
// off): dark and see-through, readable on any picture.
var colorBadge = color.NRGBA{R: 0x10, G: 0x12, B: 0x16, A: 0xc8}

// card is one person in the backstage strip: their picture (the live
// thumbnail, or their initials), name, place and connection, sound level,
// and the buttons that act on them.
type card struct {
	id     string
	box    *fyne.Container
	bg     *canvas.Rectangle
	thumb  *canvas.Image     // the live thumbnail; hidden until one came
	avatar fyne.CanvasObject // the initials, while there is no thumbnail
	muted  *fyne.Container   // the "Muted" badge on the picture
	// devices says what the guest turned off themselves: "Mic off",
	// "Camera off" or both, and "Music mode" while their sound is music,
	// a badge beside Muted.
	devices     *fyne.Container
	devicesText *canvas.Text
	// media says on the picture that their media doesn't flow: joined
	// and connecting, can't connect (and why), or connection lost.
	media     *fyne.Container
	mediaText *widget.Label
	name      *canvas.Text
	place     *canvas.Text
	conn      *canvas.Text
	stage     *widget.Button
	kick      *widget.Button
	mute      *widget.Button // nil without a Monitor
	solo      *widget.Button // a guest's, with a Monitor; nil otherwise
	music     *widget.Button // a guest's music mode; nil for the host, or without a MusicModer
	// On stage only: spotlight shows them large, fit letterboxes their
	// picture. setting is true while update sets fit, not the host.
	onStage *fyne.Container
	spot    *widget.Button
	fit     *widget.Check
	setting bool
	health  *healthView         // their connection, on the picture's bottom
	level   *widget.ProgressBar // their sound; nil when nothing measures it
	// volume is their level in the program (levels.go), nil without a
	// VolumeSetter; setting (above) is true while update moves it.
	volume     *widget.Slider
	volumeText *canvas.Text
	// delay is a guest's sync offset in the program (levels.go), nil for
	// the host or without a DelaySetter.
	delay     *widget.Slider
	delayText *canvas.Text
	shown     float64 // the level shown, falling back slowly
	person    studio.Participant
}

func (s *Studio) buildStrip() fyne.CanvasObject {
	s.strip = container.NewHBox()
	s.stripEmpty = widget.NewLabel("No guests yet. Send them the link from the Guests tab.")
	s.stripEmpty.Importance = widget.LowImportance
	title := widget.NewLabelWithStyle("Backstage", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	hint := widget.NewLabel("Ctrl+1…9: on or off stage")
	hint.Importance = widget.LowImportance
	s.notice = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	s.notice.Importance = widget.SuccessImportance
	s.notice.Hide()
	s.stripRow = container.NewHBox(s.strip, container.NewCenter(s.stripEmpty))
	scroll := container.NewHScroll(s.stripRow)
	scroll.SetMinSize(fyne.NewSize(0, cardHeight+theme.Padding()*2))
	bg := canvas.NewRectangle(colorPanel)
	return container.NewStack(bg, container.NewPadded(container.NewBorder(
		container.NewHBox(title, s.notice, layout.NewSpacer(), hint), nil, nil, nil, scroll)))
}

const cardWidth, cardHeight = 240, 277

// updateStrip makes the strip match s.state: a card per participant, in the
// order they joined, the host first.
func (s *Studio) updateStrip() {
	seen := map[string]bool{}
	main := s.mainID()
	var objs []fyne.CanvasObject
	for i, p := range s.state.Participants {
		seen[p.ID] = true
		c := s.cards[p.ID]
		if c == nil {
			c = s.newCard(p)
			s.cards[p.ID] = c
		}
		c.update(p, i, p.ID == main, slices.Contains(s.scene.Fit, p.ID), sendsLine(s.state, p))
		objs = append(objs, c.box)
	}
	for id := range s.cards {
		if !seen[id] {
			delete(s.cards, id)
		}
	}
	s.strip.Objects = objs
	s.strip.Refresh()
	s.guestsFlag.Store(len(s.state.Participants) > 1)
	if len(s.state.Participants) <= 1 { // the host alone
		s.stripEmpty.Show()
	} else {
		s.stripEmpty.Hide()
	}
	s.stripRow.Refresh() // the cards' width changed: lay the row out again
	s.guest.setCount(len(s.state.Participants) - 1)
	s.countDown()
}

// countDown updates the strip again in a second while a guest's card
// counts down to their leaving (Participant.LeavingAt): no event comes
// for each second.
func (s *Studio) countDown() {
	if s.countdownDue || !slices.ContainsFunc(s.state.Participants, func(p studio.Participant) bool { return !p.LeavingAt.IsZero() }) {
		return
	}
	s.countdownDue = true
	time.AfterFunc(countdownTick, func() {
		s.do(func() {
			s.countdownDue = false
			s.updateStrip()
		})
	})
}

// countdownTick is how often a countdown on a card moves: each second it
// shows is shown for about that long.
const countdownTick = 250 * time.Millisecond

// mainID is who the program shows large: the scene's Main while they are on
// stage, otherwise the first on stage (as studio.Scene.Main says).
func (s *Studio) mainID() string {
	first := ""
	for _, p := range s.state.Participants {
		if p.Place != studio.PlaceStage {
			continue
		}
		if p.ID == s.scene.Main {
			return p.ID
		}
		if first == "" {
			first = p.ID
		}
	}
	return first
}

// spotlight shows p large in the layouts that have a main tile.
func (s *Studio) spotlight(p studio.Participant) {
	s.scene.Main = p.ID
	s.updateStrip()
	s.command("Couldn't spotlight "+p.Name, func() error { return s.show.Spotlight(p.ID) })
}

// setFit letterboxes p's picture (on) or crops it to fill their tile.
func (s *Studio) setFit(p studio.Participant, on bool) {
	fit := slices.DeleteFunc(slices.Clone(s.scene.Fit), func(id string) bool { return id == p.ID })
	if on {
		fit = append(fit, p.ID)
	}
	s.scene.Fit = fit
	s.command("Couldn't change how "+p.Name+" is framed", func() error { return s.show.SetFit(p.ID, on) })
}

// announce says, beside the strip's title, that guests joined and wait
// backstage, with those it already named who still wait: for noticeFor
// after the last of them, or until none of them waits any more (the host
// staged them, or they left) — a notice about someone already on stage
// would send the host looking for them.
func (s *Studio) announce(joined []studio.Participant) {
	s.noticeWho = append(s.noticeWho, joined...)
	s.noticeSeq++
	n := s.noticeSeq
	s.updateNotice()
	time.AfterFunc(noticeFor, func() {
		s.do(func() {
			if s.noticeSeq == n {
				s.noticeWho = nil
				s.notice.Hide()
			}
		})
	})
}

// updateNotice keeps the notice to those it names who still wait
// backstage, by their names now, and hides it when none does.
func (s *Studio) updateNotice() {
	var waiting []studio.Participant
	var names []string
	for _, w := range s.noticeWho {
		for _, p := range s.state.Participants {
			if p.ID == w.ID && p.Place == studio.PlaceGreenRoom {
				waiting = append(waiting, p)
				names = append(names, p.Name)
			}
		}
	}
	s.noticeWho = waiting
	if len(waiting) == 0 {
		s.notice.Hide()
		return
	}
	s.notice.SetText(strings.Join(names, ", ") + " joined — waiting backstage")
	s.notice.Show()
}

const noticeFor = 8 * time.Second

func (s *Studio) newCard(p studio.Participant) *card {
	c := &card{id: p.ID}
	c.bg = canvas.NewRectangle(colorCard)
	c.bg.CornerRadius = 10
	c.bg.StrokeWidth = 2
	c.bg.SetMinSize(fyne.NewSize(cardWidth, cardHeight))
	c.name = canvas.NewText("", theme.Color(theme.ColorNameForeground))
	c.name.TextStyle = fyne.TextStyle{Bold: true}
	c.place = canvas.NewText("", colorMuted)
	c.place.TextSize = 12
	c.conn = canvas.NewText("", colorMuted)
	c.conn.TextSize = 12
	c.stage = widget.NewButton("Add to stage", func() {
		s.stage(c.person, c.person.Place != studio.PlaceStage)
	})
	c.kick = widget.NewButtonWithIcon("", theme.LogoutIcon(), func() { s.kick(c.person) })
	c.kick.Importance = widget.LowImportance
	c.spot = widget.NewButtonWithIcon("Spotlight", theme.ZoomInIcon(), func() { s.spotlight(c.person) })
	c.fit = widget.NewCheck("Fit", func(on bool) {
		if !c.setting {
			s.setFit(c.person, on)
		}
	})
	c.onStage = container.NewBorder(nil, nil, nil, c.fit, c.spot)

	// The picture: 16:9 across the top, as the program shows them.
	picBg := canvas.NewRectangle(colorProgram)
	picBg.CornerRadius = 6
	picBg.SetMinSize(thumbSize())
	c.thumb = canvas.NewImageFromImage(nil)
	c.thumb.FillMode = canvas.ImageFillContain
	c.thumb.Hide()
	c.avatar = container.NewCenter(avatar(p.Name))
	mutedText := canvas.NewText("Muted", colorWhite)
	mutedText.TextStyle = fyne.TextStyle{Bold: true}
	mutedText.TextSize = 12
	c.muted = pill(colorLive, mutedText)
	c.muted.Hide()
	c.devicesText = canvas.NewText("", colorWhite)
	c.devicesText.TextSize = 11
	c.devices = pill(colorBadge, c.devicesText)
	c.devices.Hide()
	c.mediaText = widget.NewLabel("")
	c.mediaText.Wrapping = fyne.TextWrapWord
	c.mediaText.Alignment = fyne.TextAlignCenter
	c.mediaText.SizeName = theme.SizeNameCaptionText
	c.mediaText.TextStyle = fyne.TextStyle{Bold: true}
	// Opaque: no picture comes while no media flows, and the initials
	// behind would muddle the words.
	mediaBg := canvas.NewRectangle(color.NRGBA{R: 0x10, G: 0x12, B: 0x16, A: 0xff})
	mediaBg.CornerRadius = 6
	c.media = container.NewStack(mediaBg, container.NewVBox(layout.NewSpacer(), c.mediaText, layout.NewSpacer()))
	c.media.Hide()
	c.health = newHealthView()
	badges := container.NewHBox(c.devices, layout.NewSpacer(), c.muted)
	if mm, ok := s.show.(MusicModer); ok && p.Role != studio.RoleHost {
		// On the picture's corner: the buttons' row under it is full.
		c.music = widget.NewButtonWithIcon("", theme.MediaMusicIcon(), func() { s.setMusicMode(mm, c.person, !c.person.MusicMode) })
		badges.Add(c.music)
	}
	picture := container.NewStack(picBg, c.avatar, c.thumb, c.media,
		container.NewPadded(container.NewVBox(badges)),
		container.NewPadded(c.health.box), newHoverArea(c.health.hover))

	top := container.NewVBox(picture)
	if s.monitor != nil || p.Role == studio.RoleHost {
		c.level = widget.NewProgressBar()
		c.level.TextFormatter = func() string { return "" }
		top.Add(container.New(thin{6}, c.level))
	}
	if s.volumes != nil {
		top.Add(s.newVolume(c))
	}
	if ds, ok := s.show.(DelaySetter); ok && p.Role != studio.RoleHost {
		top.Add(s.newDelay(c, ds))
	}
	info := container.NewVBox(container.NewBorder(nil, nil, nil, c.conn, c.name), c.place)
	tools := container.NewHBox()
	if s.monitor != nil {
		c.mute = widget.NewButtonWithIcon("", theme.VolumeUpIcon(), func() { s.mute(c.person, !c.person.Muted) })
		tools.Add(c.mute)
		if p.Role != studio.RoleHost {
			c.solo = widget.NewButtonWithIcon("", soloIcon, func() { s.solo(c.person, !c.person.Solo) })
			tools.Add(c.solo)
		}
	}
	tools.Add(c.kick)
	buttons := container.NewVBox(c.onStage, container.NewBorder(nil, nil, nil, tools, c.stage))
	c.box = container.NewStack(c.bg, container.NewPadded(container.NewBorder(top, buttons, nil, nil, info)))
	return c
}

// thumbSize is the card's picture: 16:9, the card's width inside its
// padding.
func thumbSize() fyne.Size {
	w := float32(cardWidth) - 2*theme.Padding()
	return fyne.NewSize(w, float32(math.Round(float64(w*9/16))))
}

// update shows p, the ith in the strip; main and fit are theirs in the
// program's scene; sent is the layers of their camera the others get
// (sendsLine).
func (c *card) update(p studio.Participant, i int, main, fit bool, sent string) {
	c.person = p
	name := p.Name
	if p.Role == studio.RoleHost {
		name += " (you)"
	}
	c.conn.Text, c.conn.Color = quality(p)
	note, imp := mediaNote(p, time.Now())
	if note != "" {
		c.conn.Text = "" // the last rating says nothing while no media flows
	}
	c.mediaText.Importance = imp
	c.mediaText.SetText(note)
	setShown(c.media, note != "")
	c.health.update(p, sent, note != "")
	room := float32(cardWidth) - 2*theme.Padding() - fyne.MeasureText(c.conn.Text, c.conn.TextSize, c.conn.TextStyle).Width - theme.Padding()
	c.name.Text = ellipsize(name, room, c.name.TextSize, c.name.TextStyle)
	c.name.Refresh()
	if p.Place == studio.PlaceStage {
		c.place.Text, c.place.Color = "● On stage", colorOK
		c.bg.StrokeColor = colorBrand
		c.stage.SetText("Remove")
		c.stage.Importance = widget.MediumImportance
	} else {
		c.place.Text, c.place.Color = "Backstage", colorMuted
		c.bg.StrokeColor = colorCard
		c.stage.SetText("Add to stage")
		c.stage.Importance = widget.HighImportance
	}
	if i < 9 {
		c.place.Text = "Ctrl+" + string(rune('1'+i)) + " · " + c.place.Text
	}
	if p.Place == studio.PlaceStage {
		if main {
			restyle(c.spot, theme.ConfirmIcon(), widget.HighImportance)
		} else {
			restyle(c.spot, theme.ZoomInIcon(), widget.MediumImportance)
		}
		c.setting = true
		c.fit.SetChecked(fit)
		c.setting = false
	}
	setShown(c.onStage, p.Place == studio.PlaceStage)
	setShown(c.kick, p.Role != studio.RoleHost)
	setShown(c.muted, p.Muted)
	c.showVolume(p.Volume)
	c.showOnSlider(c.delay, float64(p.Delay))
	var off []string
	if p.MicOff {
		off = append(off, "Mic off")
	}
	if p.CameraOff {
		off = append(off, "Camera off")
		c.setThumb(nil) // their last picture, from before
	}
	if p.MusicMode {
		off = append(off, "Music mode")
	}
	c.devicesText.Text = strings.Join(off, " · ")
	c.devicesText.Refresh()
	setShown(c.devices, len(off) > 0)
	if c.music != nil {
		// Highlighted while on: the guest's sound goes out unprocessed.
		imp := widget.LowImportance
		if p.MusicMode {
			imp = widget.HighImportance
		}
		restyle(c.music, theme.MediaMusicIcon(), imp)
	}
	if c.mute != nil {
		if p.Muted {
			restyle(c.mute, theme.VolumeMuteIcon(), widget.DangerImportance)
		} else {
			restyle(c.mute, theme.VolumeUpIcon(), widget.MediumImportance)
		}
	}
	if c.solo != nil {
		importance := widget.MediumImportance
		if p.Solo {
			importance = widget.HighImportance
		}
		if c.solo.Importance != importance {
			c.solo.Importance = importance
			c.solo.Refresh()
		}
	}
	c.stage.Refresh()
	c.place.Refresh()
	c.conn.Refresh()
	c.bg.Refresh()
}

// setLevel shows their sound level (a peak, 0…1): it jumps up at once and
// falls back over a few tenths of a second, as meters do, so a word is seen
// and not just a flicker.
func (c *card) setLevel(peak float32) {
	if c.level == nil {
		return
	}
	shown := max(float64(peak), c.shown*0.6)
	if shown < 0.01 {
		shown = 0
	}
	if shown == c.shown {
		return // a quiet card is not redrawn ten times a second
	}
	c.shown = shown
	c.level.SetValue(shown)
}

// restyle gives a button that shows a state its icon and importance.
func restyle(b *widget.Button, icon fyne.Resource, imp widget.Importance) {
	b.Icon, b.Importance = icon, imp
	b.Refresh()
}

// setShown shows o (on) or hides it.
func setShown(o fyne.CanvasObject, on bool) {
	if on {
		o.Show()
	} else {
		o.Hide()
	}
}

// setThumb shows img as their picture; nil goes back to their initials,
// as does a camera they turned off (a picture still on its way is left
// out; the first after it is back on shows).
func (c *card) setThumb(img image.Image) {
	if img != nil && c.person.CameraOff {
		return
	}
	c.thumb.Image = img
	if img == nil {
		c.thumb.Hide()
		c.avatar.Show()
		return
	}
	c.avatar.Hide()
	c.thumb.Show()
	c.thumb.Refresh()
}

// ellipsize shortens text with "…" until it fits in width.
func ellipsize(text string, width, size float32, style fyne.TextStyle) string {
	if fyne.MeasureText(text, size, style).Width <= width {
		return text
	}
	r := []rune(text)
	for len(r) > 0 {
		r = r[:len(r)-1]
		t := strings.TrimRightFunc(string(r), unicode.IsSpace) + "…"
		if fyne.MeasureText(t, size, style).Width <= width {
			return t
		}
	}
	return "…"
}

// quality words a guest's connection: a dot of their health's level (see
// healthView for why), or else bars of their quality; nothing until the
// studio has measured it (and never for the host, who is local).
func quality(p studio.Participant) (string, color.Color) {
	if h := p.Health; h != nil && h.Level != studio.LevelUnknown {
		switch h.Level {
		case studio.LevelGreen:
			return "  ● good", colorOK
		case studio.LevelAmber:
			return "  ● fair", colorWarn
		}
		return "  ● poor", colorLive
	}
	switch p.Quality {
	case studio.QualityGood:
		return "  ▮▮▮ good", colorOK
	case studio.QualityFair:
		return "  ▮▮▯ fair", colorWarn
	case studio.QualityPoor:
		return "  ▮▯▯ poor", colorLive
	}
	return "", colorMuted
}

// mediaNote words where a guest's media stands while it doesn't flow, for
// their card's picture, and how loudly; "" while it flows (and for the
// host). Issue #16: a guest whose media never connected looked fine on the
// card, and the host staged a black tile. A guest who is gone counts down
// to their leaving as of now (issue #10) — unless their media failed: a
// page that can't connect ends a session each attempt and is held between
// them, and the host should read one steady explanation, not a countdown
// flickering in at every retry.
func mediaNote(p studio.Participant, now time.Time) (string, widget.Importance) {
	if !p.LeavingAt.IsZero() && p.Media != studio.MediaFailed {
		what := "leaves"
		if p.Place == studio.PlaceStage {
			what = "leaves the stage"
		}
		left := p.LeavingAt.Sub(now)
		if left <= 0 {
			return "Connection lost — " + what + " now", widget.DangerImportance
		}
		return fmt.Sprintf("Connection lost — %s in %d s unless they're back", what, int((left+time.Second-1)/time.Second)), widget.DangerImportance
	}
	switch p.Media {
	case studio.MediaConnecting:
		return "Joined, no media yet…", widget.MediumImportance
	case studio.MediaFailed:
		if p.MediaProblem == "" {
			return "Can't connect", widget.DangerImportance
		}
		return "Can't connect: " + p.MediaProblem, widget.DangerImportance
	case studio.MediaReconnecting:
		return "Reconnecting…", widget.WarningImportance
	case studio.MediaLost:
		return "Connection lost — holding their place", widget.WarningImportance
	}
	return "", widget.MediumImportance
}

// avatar is a round badge with the person's initials, their picture until
// a live thumbnail comes (and for good when they have no camera, or the
// show no Monitor): initials tell people apart at a glance.
func avatar(name string) fyne.CanvasObject {
	var initials []rune
	for _, w := range strings.Fields(name) {
		r := []rune(w)
		if len(r) > 0 && len(initials) < 2 {
			initials = append(initials, unicode.ToUpper(r[0]))
		}
	}
	circle := canvas.NewCircle(avatarColor(name))
	t := canvas.NewText(string(initials), colorWhite)
	t.TextStyle = fyne.TextStyle{Bold: true}
	t.Alignment = fyne.TextAlignCenter
	t.TextSize = 18
	size := fyne.NewSize(52, 52)
	return container.New(layout.NewGridWrapLayout(size), container.NewStack(circle, container.NewCenter(t)))
}

var avatarColors = []color.NRGBA{
	{0x3d, 0x7b, 0xff, 0xff}, {0x8e, 0x5c, 0xf7, 0xff}, {0x1f, 0xa8, 0x8f, 0xff},
	{0xe0, 0x7a, 0x2e, 0xff}, {0xd9, 0x46, 0x8f, 0xff}, {0x4a, 0x9e, 0x3c, 0xff},
}

// avatarColor picks a colour from the name, so a person keeps theirs.
func avatarColor(name string) color.Color {
	h := 0
	for _, r := range name {
		h = h*31 + int(r)
	}
	if h < 0 {
		h = -h
	}
	return avatarColors[h%len(avatarColors)]
}

func (s *Studio) stage(p studio.Participant, on bool) {
	s.async(func() {
		if err := s.show.Stage(p.ID, on); err != nil {
			s.do(func() {
				if on {
					s.showError("Couldn't bring " + p.Name + " on stage: " + s.explain(err))
				} else {
					s.showError("Couldn't move " + p.Name + " backstage: " + s.explain(err))
				}
			})
		}
		// Success shows through the show's event.
	})
}

// mute mutes p (on) or unmutes them, for the program and the other guests;
// for the host, their microphone.
func (s *Studio) mute(p studio.Participant, on bool) {
	who := p.Name
	if p.Role == studio.RoleHost {
		who = "your microphone"
	}
	verb := "unmute "
	if on {
		verb = "mute "
	}
	s.personCommand(verb+who, func() error { return s.monitor.SetMuted(p.ID, on) })
}

// setMusicMode switches p's music mode: their page sends their sound as
// music (on) or as a voice.
func (s *Studio) setMusicMode(mm MusicModer, p studio.Participant, on bool) {
	what := "turn off music mode for " + p.Name
	if on {
		what = "turn on music mode for " + p.Name
	}
	s.personCommand(what, func() error { return mm.SetMusicMode(p.ID, on) })
}

// personCommand runs do off the UI thread, then shows the show's state;
// a refusal is said as "Couldn't <what>: <why>".
func (s *Studio) personCommand(what string, do func() error) {
	s.async(func() {
		err := do()
		st := s.show.State()
		s.do(func() {
			if err != nil {
				s.showError("Couldn't " + what + ": " + s.explain(err))
			}
			s.applyState(st)
		})
	})
}

// soloIcon is the solo button's: headphones, in the theme's colours.
var soloIcon = theme.NewThemedResource(fyne.NewStaticResource("headphones.svg", assets.Headphones))

// solo puts p on solo (on) for the host's own listening, or takes them off.
func (s *Studio) solo(p studio.Participant, on bool) {
	s.async(func() {
		err := s.monitor.SetSolo(p.ID, on)
		st := s.show.State()
		s.do(func() {
			if err != nil {
				s.showError("Couldn't solo " + p.Name + ": " + s.explain(err))
			}
			s.applyState(st)
		})
	})
}

func (s *Studio) kick(p studio.Participant) {
	s.confirm("Remove "+p.Name+"?",
		p.Name+" leaves the studio. They can come back with the guest link\nunless you make a new one (Guests tab).",
		"Remove", func() {
			s.async(func() {
				err := s.show.Kick(p.ID)
				if err != nil && !errors.Is(err, studio.ErrNoParticipant) {
					s.do(func() { s.showError("Couldn't remove " + p.Name + ": " + s.explain(err)) })
				}
			})
		})
}

// thin lays its objects out full width and h high: a card's level meter as
// a slim bar under the picture, not a button-high block.
type thin struct{ h float32 }

func (l thin) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	for _, o := range objs {
		o.Move(fyne.NewPos(0, (size.Height-l.h)/2))
		o.Resize(fyne.NewSize(size.Width, l.h))
	}
}

func (l thin) MinSize([]fyne.CanvasObject) fyne.Size { return fyne.NewSize(0, l.h+4) }
