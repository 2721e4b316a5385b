package ui

import (
	"image"

	"greenroom/studio"
)

// Show is what the window needs from the running show. It is declared here,
// by its one user, so that tests drive the window with a fake and the window
// cannot reach past it into media code.
//
// A Show may also have optional interfaces, each found by a type
// assertion and each adding to the window what it is for: HostDevices (the
// camera and microphone pickers), Monitor (the backstage cards' pictures,
// meters and mute buttons), ScreenSharer (Share screen), LocalRecorder
// (the guests' local recording checkbox), MusicModer (a guest's music
// mode, on their card), AutoSpotlighter (the auto-spotlight checkbox) and
// Preflighter (Go Live tries every destination first).
//
// The first group is *studio.Studio's method set as it is today. The second
// group is what the window needs that the studio does not offer yet; the
// comments are the contract the implementation should meet.
type Show interface {
	// State is a snapshot of the show: participants and whether it is live,
	// and (when the show knows them) how guests reach it (Reach) and the
	// certificate they are served (Certificate). Those two change without
	// an event, so the window also looks every 2 s (reachPoll): it must be
	// cheap.
	State() studio.State
	// Subscribe delivers the show's events until cancel. A gap in Event.Seq
	// means events were lost; the window then calls State.
	Subscribe() (events <-chan studio.Event, cancel func())
	// Stage puts a participant on stage (on) or back in the green room.
	Stage(id string, on bool) error
	// Kick removes a guest from the show.
	Kick(id string) error
	// GuestURL is the link to give guests. It may change by itself (it
	// names the router's address once the router forwards the ports): the
	// window looks every 2 s.
	GuestURL() string
	// RotateGuestToken replaces the guest link and returns the new one.
	RotateGuestToken() string
	// SetLive starts or ends the show: going live publishes to every
	// enabled destination of the settings (read at that moment, see
	// studio/settings) and starts recording into Settings.RecordingDir at
	// Settings.Output's size, fps and bit rate; ending flushes and closes
	// them. It may take seconds (a preflight connects to each destination):
	// the window calls it off the UI thread. Its errors never contain a
	// stream key; the window explains them (see explain).
	SetLive(on bool) error

	// --- not in studio yet ---

	// SetLayout chooses how the stage is arranged in the program: one of
	// the names in Layouts ("solo": the main participant fills the frame;
	// "grid": everyone on stage, tiled; …). Unknown names are an error.
	SetLayout(name string) error
	// Preview calls frame with the program as it goes out — downscaled to
	// about 640x360, about 15 times a second, from the compositor's output
	// (no second render path) — until stop is called; stop waits until frame
	// is no longer being called. frame is called from a media goroutine and
	// must return quickly; it may keep img: the producer never writes to an
	// image after handing it over.
	Preview(frame func(img image.Image)) (stop func())
	// LiveStats reports each output's health while live: one entry per
	// destination that went live, and one for the recording, in any order
	// (see DestinationStats.ID). It is cheap (a snapshot): the window polls
	// it once a second while live.
	LiveStats() []DestinationStats

	// --- the scene (studio.Program) ---

	// Scene is how the program looks now: layout, who is large, who is
	// letterboxed, the banner and the ticker. It is cheap (a copy under a
	// mutex): the window polls it to follow changes made elsewhere (the
	// control API's POST /api/scene).
	Scene() studio.Scene
	// Spotlight shows participant id large; "" gives the place back to the
	// first on stage.
	Spotlight(id string) error
	// SetFit letterboxes id's picture (on) or crops it to fill (off).
	SetFit(id string, on bool) error
	// ShowBanner puts text on screen as the lower-third, replacing the one
	// there; "" takes it down.
	ShowBanner(text string) error
	// SetTicker runs text along the bottom; "" stops it.
	SetTicker(text string) error
	// SetBrand dresses the program in kit; a kit that cannot be used (a
	// missing file, a bad colour) is an error wrapping studio.ErrBadBrand
	// and changes nothing.
	SetBrand(kit studio.BrandKit) error
}

// DestinationStats is one output's health, as the window shows it. It
// mirrors encode/stream.Stats in the vocabulary of the settings; it is
// declared here for now so the studio side need not exist first — when the
// studio has its own type this becomes an alias of it.
type DestinationStats struct {
	// ID is the settings.Destination.ID of this output; "" for the
	// recording, VerticalRecordingID for the vertical program's. An
	// output without an ID is matched to a destination by Name: Name ==
	// Destination.Name, or Name starts with it and " (".
	ID string
	// Name is what the user calls it ("Twitch", "Recording").
	Name string
	// State is one of "connecting", "live", "reconnecting", "failed",
	// "closed" (encode/stream.State's words).
	State string
	// Err is why the output is reconnecting or failed; "" otherwise. It
	// never contains a stream key.
	Err        string
	BitRate    float64 // bits per second, over the last few seconds
	FPS        float64 // video frames per second, same window
	Dropped    int64   // packets dropped because the output was too slow
	Reconnects int
}

// VerticalRecordingID is DestinationStats.ID of the vertical program's
// recording, made beside the landscape one's while a vertical destination
// is live: the two recordings need IDs of their own.
const VerticalRecordingID = "recording-vertical"

// Output states, as DestinationStats.State spells them.
const (
	StateConnecting   = "connecting"
	StateLive         = "live"
	StateReconnecting = "reconnecting"
	StateFailed       = "failed"
	StateClosed       = "closed"
)

// Layouts offered by the layout buttons, in order (the last is the
// program's first layout, marked at start).
var Layouts = []struct{ Name, Label string }{
	{"solo", "Solo"},
	{"side-by-side", "Side by side"},
	{"spotlight", "Spotlight"},
	{"pip", "Picture in picture"},
	{"grid", "Grid"},
}
