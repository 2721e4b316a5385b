// Package signal is the guest signaling protocol: the JSON messages a guest
// page and the studio exchange over the WebSocket at /join/<token>/ws, and
// their validation. It knows nothing of sessions or WebRTC state; the studio
// package drives the exchange.
//
// The negotiation scheme is fixed so that glare cannot happen:
//
//   - the guest sends "join" first, and gets "welcome" with its ID;
//   - the guest sends exactly one "offer" (its camera and mic, and a video
//     transceiver kept for sharing a screen, without a track until then),
//     the studio answers; the offer's "sources" say which of its
//     transceivers (by mid) carries what, so the studio can tell a screen
//     from a camera;
//   - from then on only the studio offers (when it adds or removes other
//     participants' tracks) and the guest only answers. A guest that needs
//     different tracks replaces them on its existing senders, or reconnects.
//     A guest whose media path broke (its network dropped, or it moved to
//     another one) sends "restart": the studio then offers an ICE restart
//     (new ICE credentials; both sides gather afresh), so the guest gets
//     back on its new path without tearing the session down (issue #9) —
//     after a second, unless the path has mended by itself meanwhile, or
//     at once with "stalled" (nothing arrives over a path the browser
//     still calls connected). The page also sends it when its own public
//     address changed under a connected path (the studio follows it
//     there by itself): the socket most likely broke with the address,
//     and sending is how the page finds out.
//     If its socket broke too, the page comes back over a new one with a
//     "join" that resumes and says keep: the studio carries the session
//     on (a "welcome" that says keep, the state afresh, the offer the page
//     may not have answered, and an ICE restart unless it has just
//     followed the guest to a new address and its media flows) or, if it
//     can't, the page starts afresh with its offer.
//
// Both sides trickle ICE candidates with "candidate" at any time after their
// first description. "roster" tells the guest who is in the show and where
// (so it can name the videos it receives: their stream ID is the
// participant's ID; a shared screen's is the ID and "/screen"); "share"
// says the guest started or stopped sharing its screen (the track itself
// never ends: the page replaces it on its sender); "muted" tells the guest
// the host muted (or unmuted) them, for the page to say so and silence its
// mic; "devices" says the guest turned its own mic or camera off or on (the
// tracks go on, sending silence or black: the studio shows their initials
// instead); "media" tells the guest how the studio sees its media
// connection: "connecting", "connected", "reconnecting", or "failed" with
// a problem, the likely cause and its fix in words (issue #16: the page
// says it can't reach the studio, and why, instead of "Reconnecting…"
// forever); "error" reports a message the studio refused (the session
// goes on); "health" tells the guest how the studio rates its connection
// (green, amber, red, and why), when that changes; "bye" comes before the
// studio closes the socket; "record" starts (with a take and its key) or
// stops the guest's local recording; "music" says the guest's sound is
// music, or a voice again (issue #12): the page sends it when its guest
// switches, the studio when the host does, and the studio then offers a
// renegotiation, whose Opus parameters (stereo, 128 kb/s) the page sets
// on its side. "view" says how big the page draws each other participant,
// so the studio forwards them the layer that fills the tile rather than
// the one the guest's downlink would carry (issue #10); the page sends it
// when that changes, at most twice a second. "layers" tells the page
// which of its camera's layers nobody gets, for it to stop sending them
// (and to send the others): the studio says so after a while unused, and
// again as soon as a receiver is to get one (issue #10). "alive" comes
// every 2 s, with the WebSocket pings a browser answers but cannot see:
// a page that hears nothing for 6 s takes its socket for dead (a network
// change can leave it open on the page's side only, its media going on
// over ICE) and comes back over a new one with keep (issue #10).
package signal

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/pion/webrtc/v4"
)

// MaxMessageSize bounds one message. An SDP offer with audio, video and a few
// codecs is 3–8 KiB; a studio offer carrying 16 guests' tracks stays far
// below this.
const MaxMessageSize = 64 << 10

// CloseStudioFull is the close code of a socket the studio refused because
// the green room is full (a code of the range RFC 6455 §7.4.2 leaves to
// applications). It is final: the page says the studio is full and does
// not try again by itself; the guest may, later (issue #14: a full studio
// closed with 1013, which the page took for a blip and retried forever).
const CloseStudioFull = 4001

// Message types.
const (
	TypeJoin      = "join"      // guest → studio: {name, [id, resume, [keep]]}
	TypeWelcome   = "welcome"   // studio → guest: {id, name, resume, iceServers, mediaWait, [keep]}
	TypeOffer     = "offer"     // both ways: {sdp}
	TypeAnswer    = "answer"    // both ways: {sdp}
	TypeCandidate = "candidate" // both ways: {candidate}
	TypeLeave     = "leave"     // guest → studio
	TypeRestart   = "restart"   // guest → studio: offer me an ICE restart
	TypeShare     = "share"     // guest → studio: {sharing}
	TypeDevices   = "devices"   // guest → studio: {mic, camera}
	TypeRoster    = "roster"    // studio → guest: {roster}
	TypeMuted     = "muted"     // studio → guest: {muted}
	TypeMedia     = "media"     // studio → guest: {media, [problem]}
	TypeError     = "error"     // studio → guest: {error}
	TypeBye       = "bye"       // studio → guest: {reason, back}
	TypeAlive     = "alive"     // studio → guest, every 2 s: the socket still reaches the studio
	TypeHealth    = "health"    // studio → guest: {level, [reason]}
	TypeRecord    = "record"    // studio → guest: {take, key} record locally and upload; {} stop
	TypeMusic     = "music"     // both ways: {music} the guest's sound is music (or a voice again)
	TypeView      = "view"      // guest → studio: {sizes}
	TypeLayers    = "layers"    // studio → guest: {[paused]} the camera's layers nobody gets
)

// MaxLayers bounds a "layers": a camera's simulcast encodings (the page
// sends three; WebRTC allows a few more).
const MaxLayers = 8

// CheckLayers validates a "layers" message before the studio sends it:
// at most MaxLayers rids, each 1 to 16 letters, digits, '-' or '_' (an
// RtpStreamId, RFC 8851 §10, as short as browsers take them), once each.
func CheckLayers(m Message) error {
	if m.Type != TypeLayers {
		return invalid("not a layers message: %q", m.Type)
	}
	if len(m.Paused) > MaxLayers {
		return invalid("%d paused layers is over the limit of %d", len(m.Paused), MaxLayers)
	}
	for i, rid := range m.Paused {
		if len(rid) == 0 || len(rid) > 16 || strings.IndexFunc(rid, func(r rune) bool {
			return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '_')
		}) >= 0 {
			return invalid("a layer's rid must be 1 to 16 letters, digits, - or _: %q", rid)
		}
		if slices.Contains(m.Paused[:i], rid) {
			return invalid("layer %q paused twice", rid)
		}
	}
	return nil
}

// MaxViewSizes bounds a "view": the most tiles a page shows (ten on
// stage, their screens), with room to spare.
const MaxViewSizes = 32

// MaxViewPixels bounds a tile's side in a "view", device pixels (an 8K
// screen's width, twice).
const MaxViewPixels = 16384

// Health levels, the values of "health"'s level: how the studio rates the
// guest's connection (see the README's thresholds). The page tells its
// guest the connection is weak, and what to do, at red at once and at
// amber that lasts.
const (
	LevelGreen = "green"
	LevelAmber = "amber"
	LevelRed   = "red"
)

// CheckHealth validates a "health" message before the studio sends it: a
// known level, and a reason short enough to show in a banner.
func CheckHealth(m Message) error {
	if m.Type != TypeHealth {
		return invalid("not a health message: %q", m.Type)
	}
	if m.Level != LevelGreen && m.Level != LevelAmber && m.Level != LevelRed {
		return invalid("unknown health level %q (green, amber or red)", m.Level)
	}
	if len(m.Reason) > 200 {
		return invalid("a health reason of %d bytes is over 200", len(m.Reason))
	}
	return nil
}

// Media states, the values of "media"'s media.
const (
	MediaConnecting   = "connecting"
	MediaReconnecting = "reconnecting"
	MediaConnected    = "connected"
	MediaFailed       = "failed"
)

// MaxSources bounds an offer's sources: a camera, a mic and a screen, with
// room to spare.
const MaxSources = 8

// Source kinds, the values of an offer's sources.
const (
	SourceCamera = "camera"
	SourceMic    = "mic"
	SourceScreen = "screen"
)

// Member is one participant as a guest page sees it.
type Member struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Role  string `json:"role"`
	Place string `json:"place"`
	// CameraOff: they turned their camera off (their video is black);
	// pages show their initials.
	CameraOff bool `json:"cameraOff,omitempty"`
	// MicOff: they turned their mic off; Muted: the host muted them.
	// Either way nobody hears them, and pages mark their tile.
	MicOff bool `json:"micOff,omitempty"`
	Muted  bool `json:"muted,omitempty"`
}

// Message is every message of the protocol; Type says which fields matter.
type Message struct {
	Type string `json:"type"`
	Name string `json:"name,omitempty"`
	ID   string `json:"id,omitempty"`
	// Resume comes with "welcome": a key the page sends back in a later
	// "join" (with the ID) to take its place back after losing the
	// connection.
	Resume string `json:"resume,omitempty"`
	// Keep comes with a "join" that resumes (ID and Resume) from a page
	// whose socket broke while its media flowed: it still has its
	// RTCPeerConnection and would carry on with it. The studio's
	// "welcome" says keep if the session carried on (the page keeps its
	// RTCPeerConnection and answers the ICE restart the studio offers);
	// without it the page starts afresh with its offer (issue #9).
	Keep bool `json:"keep,omitempty"`
	// Stalled comes with "restart" when the page receives nothing over a
	// path its browser still calls connected (the guest's router took a
	// new address): restart even if the studio's side looks connected.
	// Without it the studio first gives a path that was down a moment to
	// mend by itself.
	Stalled   bool                     `json:"stalled,omitempty"`
	SDP       string                   `json:"sdp,omitempty"`
	Candidate *webrtc.ICECandidateInit `json:"candidate,omitempty"`
	Roster    []Member                 `json:"roster,omitempty"`
	// ICEServers come with "welcome": the STUN/TURN servers the guest
	// should use.
	ICEServers []webrtc.ICEServer `json:"iceServers,omitempty"`
	// MediaWait comes with "welcome": how long, in ms, the studio waits
	// for the guest's media after its answer before saying it failed
	// (issue #16); the page gives an attempt twice that before starting
	// another.
	MediaWait int `json:"mediaWait,omitempty"`
	// Sources come with the guest's offer: what each of its sending
	// transceivers carries, by mid (SourceCamera, SourceMic,
	// SourceScreen). A transceiver not listed is a camera or a mic.
	Sources map[string]string `json:"sources,omitempty"`
	// Sizes come with "view": how big the page draws each other
	// participant (by stream ID: their ID, or ID + "/screen"), [width,
	// height] in device pixels; [0, 0] for a tile that shows no picture
	// (hidden, or the page is in a background tab). The studio forwards
	// the smallest layer that fills each (issue #10). A participant not
	// listed is not known: their layer follows the downlink alone.
	Sizes map[string][2]int `json:"sizes,omitempty"`
	// Paused comes with "layers": the rids of the guest's camera layers
	// that nobody gets now (no other guest, not the program), which the
	// page stops sending (RTCRtpSender.setParameters, the encoding's
	// active false); it sends every other layer. The studio sends one
	// when that changes, and before anyone gets a paused layer again
	// (issue #10).
	Paused []string `json:"paused,omitempty"`
	// Sharing comes with "share": whether the guest's screen is now shared.
	Sharing bool `json:"sharing,omitempty"`
	// Mic and Camera come with "devices": whether the guest's own mic and
	// camera are on (false: turned off by the guest). Both must be there.
	Mic    *bool `json:"mic,omitempty"`
	Camera *bool `json:"camera,omitempty"`
	// Muted comes with "muted": whether the host has muted the guest.
	Muted bool `json:"muted,omitempty"`
	// Music comes with "music": whether the guest's sound is music (the
	// browser's voice processing off, Opus at 128 kb/s in stereo) — from
	// the page when its guest switches it, from the studio when the host
	// does.
	Music bool `json:"music,omitempty"`
	// Media comes with "media": the studio's view of the guest's media
	// connection (MediaConnecting, MediaConnected, MediaReconnecting,
	// MediaFailed); Problem, with MediaFailed, says the likely cause and
	// the fix.
	Media   string `json:"media,omitempty"`
	Problem string `json:"problem,omitempty"`
	// Level comes with "health" (LevelGreen, LevelAmber, LevelRed), and
	// Reason with it when not green ("weak uplink: 6 % loss").
	Level string `json:"level,omitempty"`
	// Take and Key come with "record": record the guest's own camera and
	// mic locally and upload it as take Take, with Key as the bearer
	// token (issue #11, studio/upload.go). A "record" without Take says
	// stop recording (the uploads go on).
	Take   string `json:"take,omitempty"`
	Key    string `json:"key,omitempty"`
	Error  string `json:"error,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Back comes with the "bye" of a studio that closes (a quit, a
	// restart): it keeps its guest link, so the page waits for it to
	// come back and joins again by itself (issue #11).
	Back bool `json:"back,omitempty"`
}

// ErrInvalid wraps every refusal of Parse; its text is meant for the guest.
var ErrInvalid = errors.New("invalid message")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// Parse decodes and validates one message from a guest. Its errors wrap
// ErrInvalid and say what is wrong in words fit to send back.
func Parse(data []byte) (Message, error) {
	if len(data) > MaxMessageSize {
		return Message{}, invalid("message of %d bytes is over the %d-byte limit", len(data), MaxMessageSize)
	}
	var m Message
	if err := json.Unmarshal(data, &m); err != nil {
		return Message{}, invalid("not a JSON object: %v", err)
	}
	switch m.Type {
	case TypeJoin:
		if strings.TrimSpace(m.Name) == "" {
			return m, invalid("join needs a name")
		}
	case TypeOffer, TypeAnswer:
		if !strings.HasPrefix(m.SDP, "v=0") {
			return m, invalid("%s needs an sdp starting with v=0", m.Type)
		}
		if len(m.Sources) > MaxSources {
			return m, invalid("%d sources is over the limit of %d", len(m.Sources), MaxSources)
		}
		for mid, kind := range m.Sources {
			if mid == "" || len(mid) > 32 {
				return m, invalid("a source's mid must be 1 to 32 bytes")
			}
			if kind != SourceCamera && kind != SourceMic && kind != SourceScreen {
				return m, invalid("unknown source kind %q (camera, mic or screen)", kind)
			}
		}
	case TypeShare:
	case TypeDevices:
		if m.Mic == nil || m.Camera == nil {
			return m, invalid("devices needs mic and camera, each true or false")
		}
	case TypeCandidate:
		// An empty candidate string is the end-of-candidates marker and is
		// valid; a missing object is not.
		if m.Candidate == nil {
			return m, invalid("candidate needs a candidate object")
		}
	case TypeLeave, TypeRestart, TypeMusic:
	case TypeView:
		if err := checkView(m.Sizes); err != nil {
			return m, err
		}
	case TypeHealth, TypeRecord, TypeLayers:
		return m, invalid("%s is the studio's to send", m.Type)
	case "":
		return m, invalid("message has no type")
	default:
		return m, invalid("unknown message type %q", m.Type)
	}
	return m, nil
}

// checkView validates a "view"'s sizes: a bounded count of stream IDs,
// each 1 to 64 bytes, with sides from 0 to MaxViewPixels.
func checkView(sizes map[string][2]int) error {
	if len(sizes) > MaxViewSizes {
		return invalid("view of %d tiles is over the limit of %d", len(sizes), MaxViewSizes)
	}
	for id, wh := range sizes {
		if id == "" || len(id) > 64 {
			return invalid("a view's stream ID must be 1 to 64 bytes")
		}
		for _, px := range wh {
			if px < 0 || px > MaxViewPixels {
				return invalid("a tile of %dx%d is outside 0 to %d pixels", wh[0], wh[1], MaxViewPixels)
			}
		}
	}
	return nil
}
