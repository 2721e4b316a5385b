package studio

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"time"
)

// Delay is a participant's own sync offset, in ms, for a camera or a mic
// that lags (issue #12 item 5): the program places their media by their
// sender's clock (clock.Playout), which is exact for what the browser
// stamps, but a webcam that takes 100 ms to deliver a picture stamps it
// 100 ms after the instant it shows. Positive, their sound plays that
// much later than their clock says (the usual case: the camera lags);
// negative, their picture does. Neither plays earlier: it may not be
// there yet.
type Delay int

// The range of a Delay: a USB or HDMI capture chain lags its sound by up
// to a few hundred ms; a mic that lags its picture (Bluetooth) by less.
// The program holds that much on top of the playout delay (the mixer's
// queue and a tile's pending pictures, see encode).
const (
	MinDelay Delay = -200
	MaxDelay Delay = 500
)

// ErrBadDelay is a delay out of range.
var ErrBadDelay = fmt.Errorf("a delay is %d to %+d ms", MinDelay, MaxDelay)

func (d Delay) check() error {
	if d < MinDelay || d > MaxDelay {
		return fmt.Errorf("delay %d ms: %w", d, ErrBadDelay)
	}
	return nil
}

// shifts is how much later than their clock places it the participant's
// sound and picture play.
func (d Delay) shifts() (audio, video time.Duration) {
	ms := time.Duration(d) * time.Millisecond
	return max(ms, 0), max(-ms, 0)
}

// delayShift is a participant's Delay as what it adds to where their
// sender's clock places their sound and their picture, in the program
// (programInput) and in their own file (recFile), so that the file lines
// up with the program and carries the same correction. Set when the show
// changes, read by the goroutines that place their media.
type delayShift struct {
	audio, video atomic.Int64 // time.Duration
}

func (s *delayShift) set(d Delay) {
	audio, video := d.shifts()
	s.audio.Store(int64(audio))
	s.video.Store(int64(video))
}

// of is the shift of the sound, or of the picture.
func (s *delayShift) of(video bool) time.Duration {
	if video {
		return time.Duration(s.video.Load())
	}
	return time.Duration(s.audio.Load())
}

// EventDelay: the host set a participant's Delay.
const EventDelay EventKind = "delay"

// SetDelay sets participant id's sync offset in the program (see Delay).
// It holds for the show, as a volume does. ErrNoParticipant, ErrBadDelay.
func (s *Studio) SetDelay(id string, d Delay) error {
	if err := d.check(); err != nil {
		return err
	}
	if _, err := setField(s.show, id, "delay", EventDelay, func(p *Participant) *Delay { return &p.Delay }, d); err != nil {
		return err
	}
	s.log.Info("delay", "participant", id, "ms", int(d))
	s.changed()
	return nil
}

// apiDelay is POST /api/delay {"id": "g1", "ms": 120} → State; 400 for a
// delay out of range, 404 for an unknown id.
func (s *Studio) apiDelay(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ID string `json:"id"`
		MS *Delay `json:"ms"`
	}
	s.serveSet(w, r, &req, func() bool { return req.ID != "" && req.MS != nil },
		`delay needs {"id": "...", "ms": 120} (from −200 to +500)`, func() error { return s.SetDelay(req.ID, *req.MS) })
}
