// Package signal is the guest signaling protocol: the JSON messages a guest
// page and the studio exchange over the WebSocket at /join/<token>/ws, and
// their validation. It knows nothing of sessions or WebRTC state; the studio
// package drives the exchange.
//
// The negotiation scheme is fixed so that glare cannot happen:
//
//   - the guest sends "join" first, and gets "welcome" with its ID;
//   - the guest sends exactly one "offer" (its camera and mic), the studio
//     answers;
//   - from then on only the studio offers (when it adds or removes other
//     participants' tracks) and the guest only answers. A guest that needs
//     different tracks replaces them on its existing senders, or reconnects.
//
// Both sides trickle ICE candidates with "candidate" at any time after their
// first description. "roster" tells the guest who is in the show and where
// (so it can name the videos it receives: their stream ID is the
// participant's ID); "error" reports a message the studio refused (the
// session goes on); "bye" comes before the studio closes the socket.
package signal

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/pion/webrtc/v4"
)

// MaxMessageSize bounds one message. An SDP offer with audio, video and a few
// codecs is 3–8 KiB; a studio offer carrying 16 guests' tracks stays far
// below this.
const MaxMessageSize = 64 << 10

// Message types.
const (
	TypeJoin      = "join"      // guest → studio: {name, [id, resume]}
	TypeWelcome   = "welcome"   // studio → guest: {id, name, resume, iceServers}
	TypeOffer     = "offer"     // both ways: {sdp}
	TypeAnswer    = "answer"    // both ways: {sdp}
	TypeCandidate = "candidate" // both ways: {candidate}
	TypeLeave     = "leave"     // guest → studio
	TypeRoster    = "roster"    // studio → guest: {roster}
	TypeError     = "error"     // studio → guest: {error}
	TypeBye       = "bye"       // studio → guest: {reason}
)

// Member is one participant as a guest page sees it.
type Member struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Role  string `json:"role"`
	Place string `json:"place"`
}

// Message is every message of the protocol; Type says which fields matter.
type Message struct {
	Type string `json:"type"`
	Name string `json:"name,omitempty"`
	ID   string `json:"id,omitempty"`
	// Resume comes with "welcome": a key the page sends back in a later
	// "join" (with the ID) to take its place back after losing the
	// connection.
	Resume    string                   `json:"resume,omitempty"`
	SDP       string                   `json:"sdp,omitempty"`
	Candidate *webrtc.ICECandidateInit `json:"candidate,omitempty"`
	Roster    []Member                 `json:"roster,omitempty"`
	// ICEServers come with "welcome": the STUN/TURN servers the guest
	// should use.
	ICEServers []webrtc.ICEServer `json:"iceServers,omitempty"`
	Error      string             `json:"error,omitempty"`
	Reason     string             `json:"reason,omitempty"`
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
	case TypeCandidate:
		// An empty candidate string is the end-of-candidates marker and is
		// valid; a missing object is not.
		if m.Candidate == nil {
			return m, invalid("candidate needs a candidate object")
		}
	case TypeLeave:
	case "":
		return m, invalid("message has no type")
	default:
		return m, invalid("unknown message type %q", m.Type)
	}
	return m, nil
}
