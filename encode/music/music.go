// Package music plays audio files into the show (issue #12 item 3): the
// music bed — one file at a time, looped or not, at a volume, faded in and
// out, ducked while someone speaks — and jingles, short files played once
// over it. It owns the files being read and their gains, nothing else:
// it writes one stream of the mix format (48 kHz stereo float) into its
// sinks — the program's mix, which the host's monitor hears too, and the
// host's conference feed, which the guests hear — and is told by its
// owner whether anyone speaks (Config.Speaking).
//
// A Player is an actor: one goroutine reads the files, mixes them and
// writes a little ahead of the program's clock (lead), paced by it; its
// callers' requests reach it through a channel. The gains are applied
// here, before the sinks, so the program and the guests hear the same
// fades and ducking; a change is heard a lead later.
package music

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"time"

	"greenroom/encode/mixer"
)

// Sink takes the player's sound: a mixer.Track (the program's, the
// feed's).
type Sink interface {
	Write(pcm []float32, rate, channels int) error
}

// Config is what the player needs from its owner.
type Config struct {
	// Now is the program clock's time: the player writes by it.
	Now func() time.Duration
	// Speaking says whether anyone in the show speaks now (the music is
	// ducked while they do); nil: nobody ever does.
	Speaking func() bool
	Logger   *slog.Logger
}

// Duck is how the music makes way for speech.
type Duck struct {
	// DB is how far the music goes down while someone speaks, in dB (12:
	// to −12 dB under its volume); 0: no ducking.
	DB float64
	// Attack is how long the music takes to go down, Release to come
	// back (after speech has stopped for hold).
	Attack  time.Duration
	Release time.Duration
}

// DefaultDuck is a broadcast's usual: −12 dB, down in 100 ms, back in
// 800 ms.
var DefaultDuck = Duck{DB: 12, Attack: 100 * time.Millisecond, Release: 800 * time.Millisecond}

// Limits of what the player accepts.
const (
	MaxVolume   = 12.0  // dB
	MinVolume   = -60.0 // dB; below is off
	MaxDuck     = 40.0  // dB
	MaxFade     = 30 * time.Second
	MaxJingles  = 8 // playing at once; one more stops the oldest
	MaxDuckTime = 10 * time.Second
)

// The errors callers tell their user about: a file the player cannot play
// (not found, not media, no sound), and a setting out of range.
var (
	ErrBadFile    = errors.New("cannot be played")
	ErrBadSetting = errors.New("out of range")
)

// Settings are how the music plays: set together by Set, and kept across
// files.
type Settings struct {
	Loop     bool
	VolumeDB float64 // MinVolume … MaxVolume; 0: as the file is (Stop silences it)
	FadeIn   time.Duration
	FadeOut  time.Duration // on Stop, and before the end of a file not looped
	Duck     Duck
}

// DefaultSettings: once through, as the file is, no fades, DefaultDuck.
var DefaultSettings = Settings{Duck: DefaultDuck}

// Check refuses settings out of range, in words.
func (s Settings) Check() error {
	switch {
	case math.IsNaN(s.VolumeDB) || s.VolumeDB > MaxVolume || s.VolumeDB < MinVolume:
		return fmt.Errorf("music: volume %g dB: %w: want %g … %g dB", s.VolumeDB, ErrBadSetting, MinVolume, MaxVolume)
	case s.FadeIn < 0 || s.FadeIn > MaxFade || s.FadeOut < 0 || s.FadeOut > MaxFade:
		return fmt.Errorf("music: fades %v and %v: %w: want 0 … %v", s.FadeIn, s.FadeOut, ErrBadSetting, MaxFade)
	case math.IsNaN(s.Duck.DB) || s.Duck.DB < 0 || s.Duck.DB > MaxDuck:
		return fmt.Errorf("music: ducking by %g dB: %w: want 0 … %g dB", s.Duck.DB, ErrBadSetting, MaxDuck)
	case s.Duck.Attack < 0 || s.Duck.Attack > MaxDuckTime || s.Duck.Release < 0 || s.Duck.Release > MaxDuckTime:
		return fmt.Errorf("music: ducking attack %v and release %v: %w: want 0 … %v", s.Duck.Attack, s.Duck.Release, ErrBadSetting, MaxDuckTime)
	}
	return nil
}

// State is what plays now.
type State struct {
	Settings
	// File is the music playing, "" for none (nor for one fading out
	// after Stop).
	File     string
	Position time.Duration // into the file (from its start again after a loop)
	Length   time.Duration // the file's, 0 if it does not say
	// Ducked is how far the music is down for speech now, dB (≤ 0).
	Ducked  float64
	Jingles []string // playing now
}

// Player plays files into its sinks. Settings and the published state
// are guarded by mu; the files and gains belong to run.
type Player struct {
	cfg Config
	log *slog.Logger

	mu       sync.Mutex
	set      Settings
	state    State
	sinks    []*Sink // a pointer each, so AddSink's remove finds its own
	requests chan func()
	loop     loop // run's own

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// Pacing: the player writes chunk frames at a time, and keeps lead ahead
// of the program's clock: more than a track's prebuffer (mixer's 60 ms),
// so it plays on at once, with room for the goroutine to be late. At
// 100 ms a box loaded past 18 left 15–67 ms holes in the music now and
// then (the goroutine late by more than the lead: the tracks ran dry);
// more delays every change, and the ducking's onset, as much.
const (
	chunk = mixer.Rate / 100      // 10 ms
	lead  = mixer.Rate * 15 / 100 // 150 ms
	// hold keeps the music down through the gaps between words, so it
	// does not pump up and down within a sentence.
	hold = 400 * time.Millisecond
)

// New starts a player with DefaultSettings and no sinks.
func New(cfg Config) *Player {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	p := &Player{
		cfg:      cfg,
		log:      cfg.Logger.With("component", "music"),
		set:      DefaultSettings,
		requests: make(chan func()),
		done:     make(chan struct{}),
	}
	p.state.Settings = p.set
	p.ctx, p.cancel = context.WithCancel(context.Background())
	go p.run()
	return p
}

// AddSink has s receive the player's sound from now on; remove stops it.
func (p *Player) AddSink(s Sink) (remove func()) {
	ps := &s
	p.mu.Lock()
	p.sinks = append(p.sinks, ps)
	p.mu.Unlock()
	return func() {
		p.mu.Lock()
		p.sinks = slices.DeleteFunc(p.sinks, func(x *Sink) bool { return x == ps })
		p.mu.Unlock()
	}
}

// ErrClosed is a request to a player that has been closed.
var ErrClosed = errors.New("music: the player is closed")

// do runs f on the player's goroutine and waits for it.
func (p *Player) do(f func()) error {
	ran := make(chan struct{})
	select {
	case p.requests <- func() { f(); close(ran) }:
		<-ran
		return nil
	case <-p.ctx.Done():
		return ErrClosed
	}
}

// Play starts path as the music (the one before it fades out over its
// FadeOut), with the current settings. A file FFmpeg cannot read, or
// without sound, is an error saying so, and what played goes on.
func (p *Player) Play(path string) error {
	f, err := openFile(path)
	if err != nil {
		return err
	}
	if err := p.do(func() { p.loop.play(f, p.Settings().FadeOut) }); err != nil {
		f.close()
		return err
	}
	p.log.Info("music", "file", path)
	return nil
}

// Jingle plays path once, over the music, at its own level (neither the
// music's volume nor its ducking). With MaxJingles already playing, the
// oldest stops.
func (p *Player) Jingle(path string) error {
	f, err := openFile(path)
	if err != nil {
		return err
	}
	if err := p.do(func() { p.loop.jingle(f) }); err != nil {
		f.close()
		return err
	}
	p.log.Info("jingle", "file", path)
	return nil
}

// Stop fades the music out over FadeOut (at once, without a click, for
// none); the jingles play on.
func (p *Player) Stop() error {
	return p.do(func() { p.loop.stop(p.Settings().FadeOut) })
}

// Set changes how the music plays: a new volume moves there over the next
// 10 ms, without a click, heard a lead (150 ms) later.
func (p *Player) Set(s Settings) error {
	if err := s.Check(); err != nil {
		return err
	}
	p.mu.Lock()
	p.set = s
	p.state.Settings = s
	p.mu.Unlock()
	return nil
}

// Settings are what Set last set.
func (p *Player) Settings() Settings {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.set
}

// State is what plays now.
func (p *Player) State() State {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.state
	s.Jingles = slices.Clone(s.Jingles)
	return s
}

// Close stops everything and waits for the player's goroutine. Safe to
// call twice.
func (p *Player) Close() {
	p.once.Do(func() {
		p.cancel()
		<-p.done
	})
}
