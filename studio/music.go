package studio

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"greenroom/encode/music"
)

// Music is the program's music and jingles as /api/state shows them
// (issue #12 item 3): what plays, and how (package encode/music).
type Music struct {
	File       string   `json:"file,omitempty"` // the music playing, "" for none
	PositionMs int64    `json:"positionMs"`
	LengthMs   int64    `json:"lengthMs"` // 0: the file does not say
	Loop       bool     `json:"loop"`
	Volume     float64  `json:"volume"` // dB
	FadeInMs   int64    `json:"fadeInMs"`
	FadeOutMs  int64    `json:"fadeOutMs"`
	Duck       Duck     `json:"duck"`
	Ducked     float64  `json:"ducked"` // dB the music is down for speech now (≤ 0)
	Jingles    []string `json:"jingles,omitempty"`
}

// Duck is how far the music goes down while someone speaks (dB; 0: not
// at all), how fast, and how fast it comes back.
type Duck struct {
	DB        float64 `json:"db"`
	AttackMs  int64   `json:"attackMs"`
	ReleaseMs int64   `json:"releaseMs"`
}

// The music's volume range, dB, and its ducking as a new show starts.
const (
	MusicMinVolume = music.MinVolume
	MusicMaxVolume = music.MaxVolume
)

// DefaultDuck is the music's ducking as a new show starts.
var DefaultDuck = Duck{DB: music.DefaultDuck.DB, AttackMs: music.DefaultDuck.Attack.Milliseconds(), ReleaseMs: music.DefaultDuck.Release.Milliseconds()}

// CheckMusic says whether volume (dB) and ducking d are settings the
// music takes (an error wrapping music.ErrBadSetting if not): for values
// kept elsewhere (the window's settings) before they are applied.
func CheckMusic(volume float64, d Duck) error {
	ms := func(v int64) time.Duration { return time.Duration(v) * time.Millisecond }
	return music.Settings{VolumeDB: volume, Duck: music.Duck{DB: d.DB, Attack: ms(d.AttackMs), Release: ms(d.ReleaseMs)}}.Check()
}

// MusicChange is a change to the music, every field optional: the
// settings first, then Stop, Play and Jingle. It is POST /api/music's body.
type MusicChange struct {
	Play      string   `json:"play,omitempty"`   // a file to play as the music
	Stop      bool     `json:"stop,omitempty"`   // fade the music out
	Jingle    string   `json:"jingle,omitempty"` // a file to play once over it
	Loop      *bool    `json:"loop,omitempty"`
	Volume    *float64 `json:"volume,omitempty"` // dB, -60 … +12
	FadeInMs  *int64   `json:"fadeInMs,omitempty"`
	FadeOutMs *int64   `json:"fadeOutMs,omitempty"`
	Duck      *Duck    `json:"duck,omitempty"`
}

// EventMusicPlayer says the program's music changed through ChangeMusic
// (the window's Music tab or POST /api/music): what plays, or how. The
// window keeps the levels in its settings from it, whoever changed them.
// (EventMusic is a guest's music mode.)
const EventMusicPlayer EventKind = "musicPlayer"

// attachMusic makes State carry the program's music, and ChangeMusic and
// the host's feed (StartHostFeed: the guests hear it) reach its player.
func (s *Studio) attachMusic(m *music.Player) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.music = m
}

func (s *Studio) musicPlayer() *music.Player {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.music
}

// ChangeMusic applies c: ErrNoProgram without a program, an error wrapping
// music.ErrBadSetting or music.ErrBadFile (both 400 on the API) for what
// cannot be, in which case nothing of c that follows is done.
func (s *Studio) ChangeMusic(c MusicChange) error {
	m := s.musicPlayer()
	if m == nil {
		return fmt.Errorf("music: %w", ErrNoProgram)
	}
	// Said even when a part of c was refused: what came before it was done.
	defer s.show.notify(EventMusicPlayer)
	set := m.Settings()
	ms := func(v int64) time.Duration { return time.Duration(v) * time.Millisecond }
	if c.Loop != nil {
		set.Loop = *c.Loop
	}
	if c.Volume != nil {
		set.VolumeDB = *c.Volume
	}
	if c.FadeInMs != nil {
		set.FadeIn = ms(*c.FadeInMs)
	}
	if c.FadeOutMs != nil {
		set.FadeOut = ms(*c.FadeOutMs)
	}
	if c.Duck != nil {
		set.Duck = music.Duck{DB: c.Duck.DB, Attack: ms(c.Duck.AttackMs), Release: ms(c.Duck.ReleaseMs)}
	}
	if err := m.Set(set); err != nil {
		return err
	}
	if c.Stop {
		if err := m.Stop(); err != nil {
			return err
		}
	}
	if c.Play != "" {
		if err := m.Play(c.Play); err != nil {
			return err
		}
	}
	if c.Jingle != "" {
		if err := m.Jingle(c.Jingle); err != nil {
			return err
		}
	}
	return nil
}

// MusicState is what the program's music plays now, and false without a
// program.
func (s *Studio) MusicState() (Music, bool) {
	m := s.musicPlayer()
	if m == nil {
		return Music{}, false
	}
	st := m.State()
	ms := func(d time.Duration) int64 { return d.Milliseconds() }
	return Music{
		File: st.File, PositionMs: ms(st.Position), LengthMs: ms(st.Length),
		Loop: st.Loop, Volume: st.VolumeDB, FadeInMs: ms(st.FadeIn), FadeOutMs: ms(st.FadeOut),
		Duck:   Duck{DB: st.Duck.DB, AttackMs: ms(st.Duck.Attack), ReleaseMs: ms(st.Duck.Release)},
		Ducked: st.Ducked, Jingles: st.Jingles,
	}, true
}

// apiMusic is POST /api/music (MusicChange) → State; 400 for a file that
// cannot be played or a setting out of range, 503 without a program.
func (s *Studio) apiMusic(w http.ResponseWriter, r *http.Request) {
	var c MusicChange
	if !readJSON(w, r, &c) {
		return
	}
	if err := s.ChangeMusic(c); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, s.State())
}

// isBadMusic is whether err is the caller's file or setting (400).
func isBadMusic(err error) bool {
	return errors.Is(err, music.ErrBadFile) || errors.Is(err, music.ErrBadSetting)
}
