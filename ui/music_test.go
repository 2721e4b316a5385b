package ui

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"

	"greenroom/studio"
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
