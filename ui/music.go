package ui

import (
	"fmt"
	"path/filepath"
	"strconv"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"greenroom/studio"
	"greenroom/studio/settings"
)

// MusicPlayer plays music and jingles into the show, which the guests
// and the host hear too (studio.Studio.ChangeMusic, MusicState): a Show
// that has it gets the Music tab. Called off the UI thread.
type MusicPlayer interface {
	ChangeMusic(studio.MusicChange) error
	MusicState() (studio.Music, bool)
}

// musicTab is the Music tab: the music (a file, play, stop, loop, volume,
// ducking under speech) and a board of nine jingles, each played by its
// button or Alt+its number. Its widgets belong to the UI thread; the
// commands go to the show in order (cmds). The tab is kept in the
// settings (settings.Music) for the next session: the file chosen and the
// board as the host leaves them here, and the levels as the player has
// them after any change, the tab's or the control API's (follow: one
// path for both).
type musicTab struct {
	s    *Studio
	p    MusicPlayer
	cmds serial

	played        settings.Music // the player's levels (Volume, Loop, Duck) as last seen
	kept          settings.Music // what remember last saved
	file          string         // chosen, played by Play
	fileLabel     *widget.Label
	status        *widget.Label
	play, stop    *widget.Button
	loop, duck    *widget.Check
	volume        *widget.Slider
	volumeText    *widget.Label
	jingles       [9]string // the board's files
	jingleButtons [9]*widget.Button
}

// buildMusic is the Music tab's content, nil without a MusicPlayer.
func (s *Studio) buildMusic() fyne.CanvasObject {
	p, ok := s.show.(MusicPlayer)
	if !ok {
		return nil
	}
	t := &musicTab{s: s, p: p}
	s.music = t
	t.fileLabel = widget.NewLabel("No music chosen")
	t.fileLabel.Truncation = fyne.TextTruncateEllipsis
	choose := widget.NewButtonWithIcon("Choose…", theme.FolderOpenIcon(), func() {
		t.pick("Choose the music", t.chosen)
	})
	t.play = widget.NewButtonWithIcon("Play", theme.MediaPlayIcon(), func() { t.send(studio.MusicChange{Play: t.file}) })
	t.play.Importance = widget.HighImportance
	t.play.Disable()
	t.stop = widget.NewButtonWithIcon("Stop", theme.MediaStopIcon(), func() { t.send(studio.MusicChange{Stop: true}) })
	t.loop = widget.NewCheck("Loop", func(on bool) { t.send(studio.MusicChange{Loop: &on}) })
	t.duck = widget.NewCheck(fmt.Sprintf("Lower it %g dB while someone speaks", studio.DefaultDuck.DB), func(on bool) {
		d := duckOf(on)
		t.send(studio.MusicChange{Duck: &d})
	})
	t.volume = widget.NewSlider(studio.MusicMinVolume, studio.MusicMaxVolume)
	t.volume.Step = 1
	t.volumeText = widget.NewLabel("0 dB")
	t.volume.OnChanged = func(x float64) { t.volumeText.SetText(fmt.Sprintf("%+.0f dB", x)) }
	t.volume.OnChangeEnded = func(x float64) { t.send(studio.MusicChange{Volume: &x}) }
	t.status = widget.NewLabel("")
	board := container.NewGridWithColumns(3)
	for i := range t.jingleButtons {
		t.jingleButtons[i] = widget.NewButton(strconv.Itoa(i+1)+": choose…", func() { t.jingle(i) })
		board.Add(t.jingleButtons[i])
	}
	t.show(studio.Music{Duck: studio.DefaultDuck})
	t.restore(s.st.Get().Music)
	return container.NewVScroll(container.NewVBox(
		widget.NewLabelWithStyle("Music", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		container.NewBorder(nil, nil, nil, choose, t.fileLabel),
		container.NewHBox(t.play, t.stop, t.loop),
		container.NewBorder(nil, nil, widget.NewLabel("Volume"), t.volumeText, t.volume),
		t.duck,
		t.status,
		widget.NewSeparator(),
		widget.NewLabelWithStyle("Jingles (Alt+1…9)", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		board,
	))
}

// restore puts the last session's Music tab back (UI thread): the file
// chosen and the board; the levels also go to the player, if the host
// ever changed them (else the player's own are shown: a show whose music
// the API set before the window opened keeps it).
func (t *musicTab) restore(saved settings.Music) {
	t.played, t.kept = saved, saved
	if saved.File != "" {
		t.choose(saved.File)
	}
	for i, path := range saved.Jingles {
		if path != "" {
			t.setJingle(i, path)
		}
	}
	fresh := settings.Defaults().Music
	if saved.Volume == fresh.Volume && saved.Loop == fresh.Loop && saved.Duck == fresh.Duck {
		t.apply(nil, "")
		return
	}
	t.apply(&studio.MusicChange{Volume: &saved.Volume, Loop: &saved.Loop, Duck: &saved.Duck}, "Couldn't set the music as last time: ")
}

// remember keeps the tab in the settings, if it changed (UI thread): its
// file and board, and the player's levels as last seen. The whole of
// settings.Music each time: the saves are latest-only.
func (t *musicTab) remember() {
	m := settings.Music{File: t.file, Volume: t.played.Volume, Loop: t.played.Loop, Duck: t.played.Duck, Jingles: t.jingles}
	if m == t.kept {
		return
	}
	t.kept = m
	t.s.save(func(set *settings.Settings) { set.Music = m }, nil)
}

// follow shows the player's music as it is after a change, whoever made
// it (the tab's apply, or the show's EventMusicPlayer for the control
// API's), and keeps its levels (UI thread).
func (t *musicTab) follow(m studio.Music) {
	t.show(m)
	t.played.Volume, t.played.Loop, t.played.Duck = m.Volume, m.Loop, m.Duck
	t.remember()
}

// duckOf is the ducking the tab's checkbox stands for.
func duckOf(on bool) studio.Duck {
	d := studio.DefaultDuck
	if !on {
		d.DB = 0
	}
	return d
}

// choose makes path the music Play plays (UI thread).
func (t *musicTab) choose(path string) {
	t.file = path
	t.fileLabel.SetText(filepath.Base(path))
	t.play.Enable()
}

// addShortcuts: Alt+1…9 play the board's jingles (Ctrl+1…9 stage people).
func (t *musicTab) addShortcuts(c fyne.Canvas) {
	for i, k := range []fyne.KeyName{fyne.Key1, fyne.Key2, fyne.Key3, fyne.Key4, fyne.Key5, fyne.Key6, fyne.Key7, fyne.Key8, fyne.Key9} {
		c.AddShortcut(&desktop.CustomShortcut{KeyName: k, Modifier: fyne.KeyModifierAlt}, func(fyne.Shortcut) {
			if t.jingles[i] != "" {
				t.jingle(i)
			}
		})
	}
}

// jingle plays jingle i, or asks for its file when it has none.
func (t *musicTab) jingle(i int) {
	if t.jingles[i] != "" {
		t.send(studio.MusicChange{Jingle: t.jingles[i]})
		return
	}
	t.pick(fmt.Sprintf("Choose jingle %d", i+1), func(path string) { t.jingleChosen(i, path) })
}

// chosen and jingleChosen take the host's choice of a file (UI thread),
// kept for the next session.
func (t *musicTab) chosen(path string) {
	t.choose(path)
	t.remember()
}

func (t *musicTab) jingleChosen(i int, path string) {
	t.setJingle(i, path)
	t.remember()
}

// setJingle puts path on the board's key i (UI thread).
func (t *musicTab) setJingle(i int, path string) {
	t.jingles[i] = path
	t.jingleButtons[i].SetText(fmt.Sprintf("%d: %s", i+1, filepath.Base(path)))
}

// pick asks for a sound file (anything FFmpeg reads: no filter).
func (t *musicTab) pick(title string, chosen func(path string)) {
	d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil || r == nil {
			return
		}
		path := r.URI().Path()
		r.Close()
		chosen(path)
	}, t.s.w)
	d.SetTitleText(title)
	d.Resize(fyne.NewSize(720, 520))
	d.Show()
}

// send makes the change off the UI thread, in order, then shows the
// music as it is; a refusal (a file that can't be played) is explained.
func (t *musicTab) send(c studio.MusicChange) { t.apply(&c, "Couldn't change the music: ") }

// apply is send of c, or with c nil only the music shown as it is; a
// refusal is explained after failed.
func (t *musicTab) apply(c *studio.MusicChange, failed string) {
	t.cmds.run(t.s, func() {
		var err error
		if c != nil {
			err = t.p.ChangeMusic(*c)
		}
		m, ok := t.p.MusicState()
		t.s.do(func() {
			if err != nil {
				t.s.showError(failed + t.s.explain(err))
			}
			if ok {
				t.follow(m)
			}
		})
	})
}

// show puts the music's state on the tab without sending it back (UI
// thread): the widgets' callbacks are off while it sets them.
func (t *musicTab) show(m studio.Music) {
	loop, duck, volume := t.loop.OnChanged, t.duck.OnChanged, t.volume.OnChangeEnded
	t.loop.OnChanged, t.duck.OnChanged, t.volume.OnChangeEnded = nil, nil, nil
	t.loop.SetChecked(m.Loop)
	t.duck.SetChecked(m.Duck.DB > 0)
	t.volume.SetValue(m.Volume)
	t.loop.OnChanged, t.duck.OnChanged, t.volume.OnChangeEnded = loop, duck, volume
	if t.file == "" && m.File != "" { // played from elsewhere (the API): Play plays it again
		t.choose(m.File)
	}
	switch {
	case m.File != "":
		t.status.SetText("Playing " + filepath.Base(m.File))
		t.stop.Enable()
	default:
		t.status.SetText("Not playing")
		t.stop.Disable()
	}
}
