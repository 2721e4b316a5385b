// Package settings owns the user's settings: where the show goes live
// (destinations and their stream keys), the program's size, frame rate and bit
// rate, where recordings go, the host's camera and microphone, the brand kits
// and banners, the STUN/TURN servers and NAT address guests reach the studio
// through, how long a gone guest keeps their place, the Music tab (its
// levels and jingle board), and the size of the studio window. They live in one JSON file,
// os.UserConfigDir()/greenroom/settings.json, written atomically and readable
// by the user only, because it holds stream keys and TURN passwords.
//
// It does not connect anywhere or know how to publish: it only checks that a
// destination's server URL has the shape an RTMP(S) or SRT publisher needs.
package settings

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"greenroom/encode/publish"
	"greenroom/encode/rtmpout"
	"greenroom/encode/srtout"
	"greenroom/studio"
	"greenroom/studio/presets"
)

// StreamKey is the secret part of a destination. It prints, logs and
// marshals as [redacted] so it cannot leak through a log line, an error or a
// JSON dump by accident; the settings file stores the real key through a
// private on-disk type. Use Reveal where the key itself is needed.
type StreamKey struct{ v string }

// NewStreamKey wraps a key typed or pasted by the user. Surrounding spaces are
// dropped: a pasted key often carries a newline, and no service uses spaces.
func NewStreamKey(s string) StreamKey { return StreamKey{strings.TrimSpace(s)} }

// Reveal returns the key itself.
func (k StreamKey) Reveal() string { return k.v }

// IsZero reports whether no key was given.
func (k StreamKey) IsZero() bool { return k.v == "" }

func (k StreamKey) String() string       { return redacted }
func (k StreamKey) GoString() string     { return redacted }
func (k StreamKey) LogValue() slog.Value { return slog.StringValue(redacted) }
func (k StreamKey) MarshalText() ([]byte, error) {
	return []byte(redacted), nil
}

const redacted = "[redacted]"

// Service is a destination's platform: a studio/presets ID, which the
// settings file keeps so that a destination remembers its preset.
type Service string

const (
	YouTube   Service = presets.YouTube
	Twitch    Service = presets.Twitch
	Facebook  Service = presets.Facebook
	Kick      Service = presets.Kick
	Instagram Service = presets.Instagram
	TikTok    Service = presets.TikTok
	Custom    Service = presets.Custom
)

// PresetFor returns the preset of a service; unknown services are Custom.
func PresetFor(s Service) presets.Preset { return presets.ByID(string(s)) }

// Destination is one place the show goes live to.
type Destination struct {
	// ID tells destinations apart (two Twitch channels have the same
	// service); the UI makes it, unique within Settings.Destinations.
	ID      string
	Service Service
	Name    string
	// URL is the ingest server, rtmp:// or rtmps://, without the key; or
	// an SRT ingest, srt://host:port[?latency=…], whose key is its
	// streamid.
	URL string
	Key StreamKey
	// Passphrase is an SRT ingest's, if it encrypts: a secret like the
	// key (a StreamKey: it prints as [redacted]), kept out of the URL so
	// the URL may be shown and logged.
	Passphrase StreamKey
	Enabled    bool
	// Vertical sends it the vertical (9:16) program instead of the
	// landscape one; a new destination of a vertical platform (Instagram,
	// TikTok) starts with it on (NewDestination).
	Vertical bool
}

// NewDestination is a new destination of preset service, as the window
// offers it: the preset's name and default server, switched on, vertical
// if the platform is.
func NewDestination(service Service) Destination {
	p := PresetFor(service)
	return Destination{Service: service, Name: p.Name, URL: p.URL(), Enabled: true, Vertical: p.Vertical}
}

// Errors of Destination.Validate, for callers that want to point at the
// field (errors.Is). The errors' own text is a sentence for the user, without
// these words in front.
var (
	ErrBadURL = errors.New("bad server URL")
	ErrNoKey  = errors.New("no stream key")
)

// invalid is a validation error: the reason is what the user reads, kind is
// what a caller tests for.
type invalid struct {
	kind   error
	reason string
}

func (e *invalid) Error() string { return e.reason }
func (e *invalid) Unwrap() error { return e.kind }

func badURL(format string, a ...any) error {
	return &invalid{ErrBadURL, fmt.Sprintf(format, a...)}
}

// Validate checks that the destination can be published to: an rtmp:// or
// rtmps:// URL with a host, and a stream key. Its errors never contain the key.
func (d Destination) Validate() error {
	if err := ValidateServerURL(d.URL); err != nil {
		return err
	}
	// An SRT listener may let anyone in who has its passphrase: the
	// streamid is not required.
	if d.Key.IsZero() && !publish.IsSRT(d.URL) {
		return &invalid{ErrNoKey, "the stream key is missing: paste it from " + d.keySource()}
	}
	return nil
}

func (d Destination) keySource() string {
	if d.Service == Custom || d.Service == "" {
		return "your server's settings"
	}
	return PresetFor(d.Service).Name + "'s live dashboard"
}

// ValidateServerURL checks an ingest server URL with the output's own
// check: for RTMP (rtmpout.ParseServer) rtmp:// or rtmps://, a host, an
// optional numeric port, an app, no user:password, a query only after an
// app of one part (YouTube's backup, live2?backup=1); for SRT
// (srtout.ParseURL) srt://host:port and libsrt's options, but no streamid
// or passphrase (they have fields of their own: they are secrets). A server it takes makes a publish URL
// (PublishURL) the output takes. It does not look the host up. The errors
// never quote the URL, which may hold a password.
func ValidateServerURL(s string) error {
	if strings.TrimSpace(s) == "" {
		return badURL("the server URL is empty")
	}
	if publish.IsSRT(s) {
		t, err := srtout.ParseURL(s)
		if err != nil {
			return badURL("the server URL is not right: %v", err)
		}
		if strings.Contains(t.Redacted(), "streamid=") {
			return badURL("the server URL has a streamid: put it in the stream key field")
		}
		if strings.Contains(t.Redacted(), "passphrase=") {
			return badURL("the server URL has a passphrase: put it in the passphrase field")
		}
		return nil
	}
	if _, err := rtmpout.ParseServer(s); err != nil {
		return badURL("the server URL is not right: %v", err)
	}
	return nil
}

// PublishURL is the URL a publisher is given: for RTMP the server URL with
// the key as its last path element, for SRT with the key as its streamid
// and the passphrase. It contains the key: hand it to the output only,
// never to a log or an error.
func (d Destination) PublishURL() string {
	u := strings.TrimSpace(d.URL)
	if publish.IsSRT(u) {
		for _, p := range []struct {
			name string
			v    StreamKey
		}{{"streamid", d.Key}, {"passphrase", d.Passphrase}} {
			if p.v.IsZero() {
				continue
			}
			sep := "?"
			if strings.Contains(u, "?") {
				sep = "&"
			}
			u += sep + p.name + "=" + url.QueryEscape(p.v.Reveal())
		}
		return u
	}
	return strings.TrimRight(u, "/") + "/" + d.Key.Reveal()
}

// Output is the program's encoding.
type Output struct {
	Width, Height int
	FPS           int
	VideoKbps     int
}

// Format is the output as the presets check it. The keyframe interval is
// the encoder's, fixed at 2 s (encode/codec's default), which every
// platform takes.
func (o Output) Format() presets.Format {
	return presets.Format{Width: o.Width, Height: o.Height, FPS: o.FPS, VideoKbps: o.VideoKbps, Keyframe: 2 * time.Second}
}

// Warnings says what in the output d's platform would refuse (its preset's
// Check of the vertical program's format if d is vertical), a sentence
// each; none when it is fine.
func (d Destination) Warnings(o Output) []string {
	f := o.Format()
	if d.Vertical {
		f = studio.VerticalFormat(f)
	}
	return PresetFor(d.Service).Check(f)
}

// Sizes are the program sizes offered; the encoder supports these two (#3).
var Sizes = [][2]int{{1280, 720}, {1920, 1080}}

// DefaultKbps is the video bit rate for a program height, as the encoder
// picks it by default (4500 at 720p, 6000 at 1080p: YouTube's and Twitch's
// recommendations at 30 fps).
func DefaultKbps(height int) int {
	if height >= 1080 {
		return 6000
	}
	return 4500
}

// Host is the host's own camera and microphone, by device label (see
// encode/device). "" is the built-in test pattern's picture or sound: the
// default, and what a machine without a camera gets.
type Host struct {
	Camera string
	Mic    string
}

// Window is the size of the studio window, in Fyne's device-independent
// units, as it was last closed; zero until then (the window then takes a
// share of the screen). When Placed, X and Y are where its frame's
// top-left corner was on the screen, in pixels (X11 only: elsewhere it
// opens centred).
type Window struct {
	Width, Height float32
	X, Y          int
	Placed        bool
}

// Settings is everything the user configures. It is a value: Store.Get
// returns a copy, and changes go back through Store.Update.
type Settings struct {
	Destinations []Destination
	Output       Output
	// RecordingDir is where each show's recording is written.
	RecordingDir string
	Host         Host
	Window       Window
	// Brands are the creator's brand kits, by distinct names; Brand is the
	// name of the one the show wears ("" or a name not among them: none,
	// Greenroom's own look).
	Brands []studio.BrandKit
	Brand  string
	// Banners are the lower-thirds queued in the window, in order; Ticker
	// is the ticker's text (whether it runs is not kept: a show starts
	// without one).
	Banners []string
	Ticker  string
	// Network is how guests behind strict firewalls reach the studio;
	// Store.Update refuses a change that brings a bad server or IP into it.
	Network Network
	// ReconnectGrace is how long a guest who is gone (their tab closed,
	// their laptop shut, their network gone) keeps their place for their
	// page to come back, counting down on their card
	// (studio.Config.ReconnectGrace); whole seconds, within
	// studio.MinReconnectGrace and MaxReconnectGrace: Store.Update
	// refuses others (ErrBadGrace).
	ReconnectGrace time.Duration
	// Limits are how many guests the stage and the green room take
	// (studio.Config.Limits); GuestKbps is the most each guest may send
	// the studio (studio.Config.GuestKbps). Store.Update refuses values
	// out of studio.CheckLimits's and CheckGuestKbps's ranges
	// (ErrBadGuests).
	Limits    studio.Limits
	GuestKbps int
	// LoudnessTarget is the program's loudness target, LUFS: one of
	// studio.LoudnessTargets, or 0 for none (the host turned it off);
	// studio.DefaultLoudnessTarget until the host chooses. A value not
	// offered (a hand edit) goes back to the default.
	LoudnessTarget float64
	// Music is the window's Music tab as the host left it.
	Music Music
}

// Music is what the Music tab keeps between sessions (issue #12 item 3):
// the music chosen (not playing: a show starts quiet), how it plays, and
// the jingle board. A volume or ducking out of range (a hand edit) goes
// back to the defaults; the files are not checked until played (a file
// gone is said then).
type Music struct {
	File   string  // chosen for Play; "" for none
	Volume float64 // dB, studio.MusicMinVolume … MusicMaxVolume
	Loop   bool
	Duck   studio.Duck // DB 0: not lowered under speech
	// Jingles are the board's files, on Alt+1…9; "" for a free key.
	Jingles [9]string
}

// ErrBadGrace is Store.Update's error for a ReconnectGrace out of range.
var ErrBadGrace = errors.New("bad reconnect grace")

// ErrBadGuests is Store.Update's error for Limits or GuestKbps out of
// range.
var ErrBadGuests = errors.New("bad guest limit")

// checkGuests refuses limits or a cap the studio does not take, in words
// for the user.
func checkGuests(s Settings) error {
	err := studio.CheckLimits(s.Limits)
	if err == nil {
		err = studio.CheckGuestKbps(s.GuestKbps)
	}
	if err != nil {
		return &invalid{ErrBadGuests, err.Error()}
	}
	return nil
}

// checkGrace refuses a grace the studio does not take, in words for the
// user.
func checkGrace(d time.Duration) error {
	if err := studio.CheckReconnectGrace(d); err != nil {
		return &invalid{ErrBadGrace, err.Error()}
	}
	return nil
}

// BrandKit returns the kit the show wears, and whether there is one.
func (s Settings) BrandKit() (studio.BrandKit, bool) {
	for _, k := range s.Brands {
		if k.Name == s.Brand {
			return k, true
		}
	}
	return studio.BrandKit{}, false
}

// Defaults returns the settings of a new user: no destination, 720p30 at
// 4500 kb/s, recordings in ~/Videos/Greenroom, the default STUN servers, a
// gone guest's place held for 10 s, no window size yet.
func Defaults() Settings {
	s := Settings{
		Output:         Output{Width: 1280, Height: 720, FPS: 30, VideoKbps: DefaultKbps(720)},
		Network:        defaultNetwork(),
		ReconnectGrace: studio.DefaultReconnectGrace,
		Limits:         studio.DefaultLimits,
		GuestKbps:      studio.DefaultGuestKbps,
		LoudnessTarget: studio.DefaultLoudnessTarget,
		Music:          defaultMusic,
	}
	if home, err := os.UserHomeDir(); err == nil {
		s.RecordingDir = filepath.Join(home, "Videos", "Greenroom")
	}
	return s
}

// fillDefaults replaces missing or out-of-range values (an older file, a
// hand edit) with the defaults, so the rest of the program can trust them.
// It returns a problem for each value that was given (not zero: absent in
// an older file) and out of range.
func (s *Settings) fillDefaults() []fieldError {
	d := Defaults()
	var problems []fieldError
	bad := func(field string, value any, why string) {
		problems = append(problems, fieldError{field: field, value: fmt.Sprint(value), why: why})
	}
	if !validSize(s.Output.Width, s.Output.Height) {
		if s.Output.Width != 0 || s.Output.Height != 0 {
			bad("output", fmt.Sprintf("%d×%d", s.Output.Width, s.Output.Height), "is not a size the encoder makes (1280×720 or 1920×1080)")
		}
		s.Output.Width, s.Output.Height = d.Output.Width, d.Output.Height
	}
	// A number out of [lo, hi] becomes def; said unless it was 0, absent.
	inRange := func(field string, v *int, lo, hi, def int, unit string) {
		if *v < lo || *v > hi {
			if *v != 0 {
				bad(field, *v, fmt.Sprintf("is out of range (%d–%d%s)", lo, hi, unit))
			}
			*v = def
		}
	}
	inRange("output.fps", &s.Output.FPS, 1, 60, d.Output.FPS, "")
	inRange("output.video_kbps", &s.Output.VideoKbps, 300, 50000, DefaultKbps(s.Output.Height), " kb/s")
	inRange("max_on_stage", &s.Limits.Stage, 1, studio.MaxLimits.Stage, d.Limits.Stage, "")
	inRange("max_in_green_room", &s.Limits.GreenRoom, 1, studio.MaxLimits.GreenRoom, d.Limits.GreenRoom, "")
	inRange("guest_kbps", &s.GuestKbps, studio.MinGuestKbps, studio.MaxGuestKbps, d.GuestKbps, " kb/s")
	if s.RecordingDir == "" {
		s.RecordingDir = d.RecordingDir
	}
	if s.Window != (Window{}) && (s.Window.Width < 320 || s.Window.Height < 240) {
		bad("window", fmt.Sprintf("%g×%g", s.Window.Width, s.Window.Height), "is smaller than 320×240")
		s.Window = d.Window
	}
	if checkGrace(s.ReconnectGrace) != nil {
		if s.ReconnectGrace != 0 {
			bad("reconnect_grace_seconds", s.ReconnectGrace.Seconds(), fmt.Sprintf("is out of range (%d–%d s)",
				int(studio.MinReconnectGrace/time.Second), int(studio.MaxReconnectGrace/time.Second)))
		}
		s.ReconnectGrace = d.ReconnectGrace
	}
	if studio.CheckLoudnessTarget(s.LoudnessTarget) != nil {
		bad("loudness_target", s.LoudnessTarget, `is not a target offered (-14, -16, -23, or 0 for none)`)
		s.LoudnessTarget = d.LoudnessTarget
	}
	if err := studio.CheckMusic(s.Music.Volume, s.Music.Duck); err != nil {
		bad("music", musicLevels(s.Music), "is out of range (volume −60…+12 dB, ducking 0…40 dB, its times 0…10 s)")
		s.Music.Volume, s.Music.Loop, s.Music.Duck = d.Music.Volume, d.Music.Loop, d.Music.Duck
	}
	return problems
}

// valueOf is the value of a field of the file as the user would write it,
// for the messages of Open; "the default" for a field it does not know.
func (s Settings) valueOf(field string) string {
	switch field {
	case "output", "output.width", "output.height":
		return fmt.Sprintf("%d×%d", s.Output.Width, s.Output.Height)
	case "output.fps":
		return strconv.Itoa(s.Output.FPS)
	case "output.video_kbps":
		return strconv.Itoa(s.Output.VideoKbps)
	case "window", "window.width", "window.height":
		if s.Window == (Window{}) {
			return "a size that fits the screen"
		}
		return fmt.Sprintf("%g×%g", s.Window.Width, s.Window.Height)
	case "reconnect_grace_seconds":
		return strconv.Itoa(int(s.ReconnectGrace / time.Second))
	case "max_on_stage":
		return strconv.Itoa(s.Limits.Stage)
	case "max_in_green_room":
		return strconv.Itoa(s.Limits.GreenRoom)
	case "guest_kbps":
		return strconv.Itoa(s.GuestKbps)
	case "loudness_target":
		return strconv.FormatFloat(s.LoudnessTarget, 'g', -1, 64)
	case "music":
		return musicLevels(s.Music)
	}
	return "the default"
}

// defaultMusic is a new user's Music tab: nothing chosen, at 0 dB, not
// looped, lowered under speech.
var defaultMusic = Music{Duck: studio.DefaultDuck}

// musicLevels is how the Music tab's levels are said in Open's messages.
func musicLevels(m Music) string {
	return fmt.Sprintf("volume %g dB, ducking %g dB (%d ms down, %d ms back)", m.Volume, m.Duck.DB, m.Duck.AttackMs, m.Duck.ReleaseMs)
}

func validSize(w, h int) bool {
	for _, s := range Sizes {
		if s[0] == w && s[1] == h {
			return true
		}
	}
	return false
}

// Enabled returns the destinations that are switched on: where going live
// goes.
func (s Settings) Enabled() []Destination {
	var on []Destination
	for _, d := range s.Destinations {
		if d.Enabled {
			on = append(on, d)
		}
	}
	return on
}

func (s Settings) clone() Settings {
	s.Destinations = append([]Destination(nil), s.Destinations...)
	s.Brands = append([]studio.BrandKit(nil), s.Brands...)
	s.Banners = append([]string(nil), s.Banners...)
	s.Network = s.Network.clone()
	return s
}
