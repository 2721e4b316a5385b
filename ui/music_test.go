package ui

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"greenroom/studio"
	"greenroom/studio/settings"
)

// musicShow is the fake show with a music player (MusicPlayer); f.mu
// guards its fields too.
type musicShow struct {
	*fakeShow
	changes []studio.MusicChange
	music   studio.Music
	err     error
}

// ChangeMusic records the change and, as the studio does, plays it.
func (m *musicShow) ChangeMusic(c studio.MusicChange) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.changes = append(m.changes, c)
	if m.err != nil {
		return m.err
	}
	if c.Loop != nil {
		m.music.Loop = *c.Loop
	}
	if c.Volume != nil {
		m.music.Volume = *c.Volume
	}
	if c.Duck != nil {
		m.music.Duck = *c.Duck
	}
	if c.Stop {
		m.music.File = ""
	}
	if c.Play != "" {
		m.music.File = c.Play
	}
	return nil
}

func (m *musicShow) MusicState() (studio.Music, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.music, true
}

func (m *musicShow) calls() []studio.MusicChange {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]studio.MusicChange(nil), m.changes...)
}

// TestMusicTab: the Music tab plays the chosen file, stops it, loops it,
// turns the ducking off and says what plays; a jingle on the board plays
// by its button; a file that can't be played is explained.
func TestMusicTab(t *testing.T) {
	m := &musicShow{fakeShow: newFake(), music: studio.Music{Duck: studio.DefaultDuck}}
	s, _ := openShow(t, m, nil)
	mt := s.music
	if mt == nil {
		t.Fatal("no Music tab")
	}
	do := func(f func()) {
		f()
		s.settle()
		s.tasks.Wait()
		s.settle()
	}
	if !mt.play.Disabled() || !mt.duck.Checked {
		t.Errorf("before a file is chosen: Play disabled %v, ducking on %v", mt.play.Disabled(), mt.duck.Checked)
	}
	mt.choose("/music/bed.mp3") // as the file dialog would
	do(func() { test.Tap(mt.play) })
	do(func() { test.Tap(mt.loop) })
	do(func() { test.Tap(mt.duck) })
	if got := mt.status.Text; got != "Playing bed.mp3" {
		t.Errorf("status %q", got)
	}
	mt.jingles[2] = "/music/ding.wav"
	do(func() { test.Tap(mt.jingleButtons[2]) })
	do(func() { test.Tap(mt.stop) })
	got := m.calls()
	want := []string{"play /music/bed.mp3", "loop true", "duck 0", "jingle /music/ding.wav", "stop"}
	var said []string
	for _, c := range got {
		switch {
		case c.Play != "":
			said = append(said, "play "+c.Play)
		case c.Loop != nil:
			said = append(said, fmt.Sprint("loop ", *c.Loop))
		case c.Duck != nil:
			said = append(said, fmt.Sprint("duck ", c.Duck.DB))
		case c.Jingle != "":
			said = append(said, "jingle "+c.Jingle)
		case c.Stop:
			said = append(said, "stop")
		}
	}
	if strings.Join(said, ", ") != strings.Join(want, ", ") {
		t.Errorf("changes sent: %v, want %v", said, want)
	}
	if mt.status.Text != "Not playing" || !mt.loop.Checked || mt.duck.Checked {
		t.Errorf("after stop: status %q, loop %v, ducking %v", mt.status.Text, mt.loop.Checked, mt.duck.Checked)
	}
	m.mu.Lock()
	m.err = errors.New("music: /music/bed.mp3 cannot be played: not a file FFmpeg can read")
	m.mu.Unlock()
	do(func() { test.Tap(mt.play) })
	if got := bannerText(s); !strings.Contains(got, "Couldn't change the music") {
		t.Errorf("banner %q", got)
	}

	// Music played from elsewhere (the API) is the tab's to play again.
	other := &musicShow{fakeShow: newFake(), music: studio.Music{File: "/music/intro.ogg", Volume: -6}}
	s2, _ := openShow(t, other, nil)
	do2 := func() { s2.settle(); s2.tasks.Wait(); s2.settle() }
	do2()
	if m := s2.music; m.fileLabel.Text != "intro.ogg" || m.play.Disabled() || m.status.Text != "Playing intro.ogg" || m.volume.Value != -6 {
		t.Errorf("a tab opened on playing music: file %q, Play disabled %v, status %q, volume %v", m.fileLabel.Text, m.play.Disabled(), m.status.Text, m.volume.Value)
	}
}

// TestMusicTabRemembers: what the host sets on the Music tab (the file,
// loop, volume, ducking, the board's jingles) is in the settings, and a
// window opened on them the next session shows it, sets the player so,
// and plays the board's jingles by their keys' buttons. A fresh window
// sets nothing (TestMusicTab's changes).
func TestMusicTabRemembers(t *testing.T) {
	m := &musicShow{fakeShow: newFake(), music: studio.Music{Duck: studio.DefaultDuck}}
	s, st := openShow(t, m, nil)
	mt := s.music
	do := func(s *testStudio, f func()) {
		f()
		s.settle()
		s.tasks.Wait()
		s.settle()
	}
	do(s, func() { mt.chosen("/music/bed.mp3") }) // as the file dialog would
	do(s, func() { mt.jingleChosen(2, "/music/ding.wav") })
	do(s, func() { test.Tap(mt.loop) })
	do(s, func() { test.Tap(mt.duck) })
	press(s, mt.volume, fyne.KeyLeft, 9)
	want := settings.Music{File: "/music/bed.mp3", Volume: -9, Loop: true, Duck: studio.DefaultDuck}
	want.Duck.DB = 0
	want.Jingles[2] = "/music/ding.wav"
	if got := st.Get().Music; got != want {
		t.Fatalf("kept %+v, want %+v", got, want)
	}

	next := &musicShow{fakeShow: newFake(), music: studio.Music{Duck: studio.DefaultDuck}}
	s2, _ := openShow(t, next, func(set *settings.Settings) { set.Music = want })
	do(s2, func() {})
	mt2 := s2.music
	if mt2.fileLabel.Text != "bed.mp3" || mt2.play.Disabled() || mt2.jingleButtons[2].Text != "3: ding.wav" ||
		!mt2.loop.Checked || mt2.duck.Checked || mt2.volume.Value != -9 {
		t.Errorf("the next session's tab: file %q (Play disabled %v), jingle 3 %q, loop %v, ducking %v, volume %v",
			mt2.fileLabel.Text, mt2.play.Disabled(), mt2.jingleButtons[2].Text, mt2.loop.Checked, mt2.duck.Checked, mt2.volume.Value)
	}
	next.mu.Lock()
	player := next.music
	next.mu.Unlock()
	if player.Volume != -9 || !player.Loop || player.Duck.DB != 0 || player.File != "" {
		t.Errorf("the next session's player: %+v, want the levels kept and nothing playing", player)
	}
	do(s2, func() { test.Tap(mt2.jingleButtons[2]) })
	if c := next.calls(); len(c) != 2 || c[1].Jingle != "/music/ding.wav" {
		t.Errorf("changes sent: %+v, want the levels, then jingle 3", c)
	}
}

// TestMusicAPIKept: what the control API changes (POST /api/music: the
// player's levels, then the studio's musicPlayer event) is kept in the
// settings as the tab's own changes are, shown on the tab and not sent
// back.
func TestMusicAPIKept(t *testing.T) {
	m := &musicShow{fakeShow: newFake(), music: studio.Music{Duck: studio.DefaultDuck}}
	s, st := openShow(t, m, nil)
	mt := s.music
	s.settle()
	s.tasks.Wait()
	s.settle()
	mt.jingleChosen(4, "/music/horn.wav") // the board stays as the host left it
	api := func(edit func(*studio.Music)) {
		m.mu.Lock()
		edit(&m.music)
		m.mu.Unlock()
		m.change(studio.EventMusicPlayer, func(*studio.State) {})
	}
	api(func(p *studio.Music) {
		p.Volume, p.Loop, p.Duck = -20, true, studio.Duck{DB: 6, AttackMs: 50, ReleaseMs: 400}
		p.File = "/music/theme.ogg"
	})
	want := settings.Music{File: "/music/theme.ogg", Volume: -20, Loop: true, Duck: studio.Duck{DB: 6, AttackMs: 50, ReleaseMs: 400}}
	want.Jingles[4] = "/music/horn.wav"
	eventually(t, s, "the API's change kept", func() bool { return st.Get().Music == want })
	if mt.volume.Value != -20 || !mt.loop.Checked || !mt.duck.Checked || mt.fileLabel.Text != "theme.ogg" {
		t.Errorf("the tab after the API's change: volume %v, loop %v, ducking %v, file %q",
			mt.volume.Value, mt.loop.Checked, mt.duck.Checked, mt.fileLabel.Text)
	}
	if c := m.calls(); len(c) != 0 {
		t.Errorf("the tab sent the API's change back: %+v", c)
	}
	// The tab's own change after it keeps both.
	press(s, mt.volume, fyne.KeyRight, 2)
	want.Volume = -18
	eventually(t, s, "the tab's change kept", func() bool { return st.Get().Music == want })
}
