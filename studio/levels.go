package studio

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
)

// Volume is a participant's level in the program's mix, in dB: 0 as their
// sound arrives, up to MaxVolume, down to MinVolume, or VolumeOff (−∞).
// In JSON a number, or "-inf" for off (JSON has no infinity).
type Volume float64

// The range of a Volume (issue #12): +12 dB lifts a quiet laptop mic to
// speech level; below −60 dB a voice is inaudible under others, so the
// step after it is off.
const (
	MaxVolume Volume = 12
	MinVolume Volume = -60
)

// VolumeOff is −∞ dB: the participant is left out of the mix, as muted,
// but by their level (mute stays a switch of its own).
var VolumeOff = Volume(math.Inf(-1))

// ErrBadVolume is a volume out of range.
var ErrBadVolume = fmt.Errorf("a volume is -inf (off) or %g to %+g dB", float64(MinVolume), float64(MaxVolume))

// Off is whether v is −∞.
func (v Volume) Off() bool { return math.IsInf(float64(v), -1) }

func (v Volume) check() error {
	if v.Off() || (v >= MinVolume && v <= MaxVolume) {
		return nil
	}
	return fmt.Errorf("volume %s: %w", v, ErrBadVolume)
}

// String is "-6 dB", or "off".
func (v Volume) String() string {
	if v.Off() {
		return "off"
	}
	return strconv.FormatFloat(float64(v), 'f', -1, 64) + " dB"
}

// MarshalJSON writes a number, or "-inf" for off.
func (v Volume) MarshalJSON() ([]byte, error) {
	if v.Off() {
		return []byte(`"-inf"`), nil
	}
	if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
		return nil, fmt.Errorf("volume %v: %w", float64(v), ErrBadVolume)
	}
	return json.Marshal(float64(v))
}

// UnmarshalJSON reads a number, or "-inf" (or "off") for off.
func (v *Volume) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		if s != "-inf" && s != "off" {
			return fmt.Errorf("volume %q: %w", s, ErrBadVolume)
		}
		*v = VolumeOff
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("volume %s: %w", b, ErrBadVolume)
	}
	*v = Volume(f)
	return nil
}

// EventVolume: the host set a participant's Volume.
const EventVolume EventKind = "volume"

// SetVolume sets participant id's level in the program's mix (the host's
// too). It changes only the program, not what the other guests hear of
// them. It holds for the show: a guest who drops and comes back within
// the grace keeps it. ErrNoParticipant, ErrBadVolume.
func (s *Studio) SetVolume(id string, v Volume) error {
	if err := v.check(); err != nil {
		return err
	}
	if _, err := s.show.setVolume(id, v); err != nil {
		return err
	}
	s.log.Info("volume", "participant", id, "volume", v.String())
	s.changed()
	return nil
}

func (sh *show) setVolume(id string, v Volume) (changed bool, err error) {
	return setField(sh, id, "volume", EventVolume, func(p *Participant) *Volume { return &p.Volume }, v)
}

// apiVolume is POST /api/volume {"id": "g1", "db": -6} ("db": "-inf" for
// off) → State; 400 for a volume out of range, 404 for an unknown id.
func (s *Studio) apiVolume(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ID string  `json:"id"`
		DB *Volume `json:"db"`
	}
	s.serveSet(w, r, &req, func() bool { return req.ID != "" && req.DB != nil },
		`volume needs {"id": "...", "db": -6} ("db": "-inf" for off)`, func() error { return s.SetVolume(req.ID, *req.DB) })
}

// serveSet serves a command that sets one of a participant's values
// (/api/volume, /api/delay) → State: req, read from the body, must have
// them (given), else usage says what it needs; set's error says what
// else went wrong (writeError).
func (s *Studio) serveSet(w http.ResponseWriter, r *http.Request, req any, given func() bool, usage string, set func() error) {
	if !readJSON(w, r, req) {
		return
	}
	if !given() {
		writeJSONError(w, http.StatusBadRequest, usage)
		return
	}
	if err := set(); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, s.State())
}

// Loudness is the program's sound as EBU R128 measures it, after the
// master bus's limiter (package encode/master): what the viewers hear.
type Loudness struct {
	Momentary  float64 `json:"momentary"`  // LUFS, the last 400 ms
	ShortTerm  float64 `json:"shortTerm"`  // LUFS, the last 3 s
	Integrated float64 `json:"integrated"` // LUFS, the show so far
	TruePeak   float64 `json:"truePeak"`   // dBTP, the highest so far
	// MixPeak is the highest sample of the sum before the limiter, dBFS:
	// over 0, the limiter caught what would have clipped.
	MixPeak float64 `json:"mixPeak"`
	// Target is the loudness the program is steered to, LUFS (0: none;
	// SetLoudnessTarget), and Gain what that adds to the mix now, dB.
	Target float64 `json:"target"`
	Gain   float64 `json:"gain"`
}

// LoudnessTargets are the loudness targets the host can choose (issue
// #12): −14 LUFS, where YouTube and Spotify normalise; −16, Apple's and
// podcasts'; −23, EBU R128 broadcast.
var LoudnessTargets = []float64{-14, -16, -23}

// DefaultLoudnessTarget is the target a show starts with until the host
// chooses another (the window remembers the choice; serve's --loudness):
// −14 LUFS, where the platforms would turn it anyway (issue #12).
const DefaultLoudnessTarget = -14.0

// CheckLoudnessTarget refuses a target not in LoudnessTargets (0, none,
// is one), in words for the user (ErrBadTarget).
func CheckLoudnessTarget(lufs float64) error {
	if lufs != 0 && !slices.Contains(LoudnessTargets, lufs) {
		return fmt.Errorf("loudness target %g LUFS: %w", lufs, ErrBadTarget)
	}
	return nil
}

// ParseLoudnessTarget reads a target as a person writes it: "-14", or
// "off" for none (0).
func ParseLoudnessTarget(s string) (float64, error) {
	if s == "off" {
		return 0, nil
	}
	lufs, err := strconv.ParseFloat(s, 64)
	if err != nil || lufs == 0 {
		return 0, fmt.Errorf("loudness target %q: %w", s, ErrBadTarget)
	}
	return lufs, CheckLoudnessTarget(lufs)
}

// ErrNoProgram: the studio runs without a program (Program attaches one).
var ErrNoProgram = errors.New("this studio has no program")

// ErrBadTarget is a loudness target not in LoudnessTargets.
var ErrBadTarget = errors.New(`a loudness target is -14, -16 or -23 LUFS, or "off"`)

// loudnessControl is the Program's side of the meters and the target.
type loudnessControl interface {
	Loudness() Loudness
	SetLoudnessTarget(lufs float64) error
}

// attachLoudness makes State carry the program's loudness, and
// SetLoudnessTarget reach it.
func (s *Studio) attachLoudness(l loudnessControl) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loudness = l
}

// SetLoudnessTarget steers the program's loudness to lufs, one of
// LoudnessTargets, or 0 for none (ErrBadTarget otherwise). The gain moves
// slowly (encode/master), adding no delay. ErrNoProgram without one.
func (s *Studio) SetLoudnessTarget(lufs float64) error {
	if err := CheckLoudnessTarget(lufs); err != nil {
		return err
	}
	s.mu.Lock()
	l := s.loudness
	s.mu.Unlock()
	if l == nil {
		return fmt.Errorf("loudness target: %w", ErrNoProgram)
	}
	if err := l.SetLoudnessTarget(lufs); err != nil {
		return err
	}
	s.log.Info("loudness target", "lufs", lufs)
	return nil
}

// apiLoudness is POST /api/loudness {"target": -14} ("target": "off" for
// none) → State; 400 for a target not offered.
func (s *Studio) apiLoudness(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Target json.RawMessage `json:"target"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	var lufs float64
	if string(req.Target) != `"off"` {
		if err := json.Unmarshal(req.Target, &lufs); err != nil || lufs == 0 {
			writeJSONError(w, http.StatusBadRequest, `loudness needs {"target": -14} (-14, -16, -23 or "off")`)
			return
		}
	}
	if err := s.SetLoudnessTarget(lufs); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, s.State())
}

// isBadRequest is whether err is the caller's value out of range (400).
func isBadRequest(err error) bool {
	return errors.Is(err, ErrBadVolume) || errors.Is(err, ErrBadTarget) || errors.Is(err, ErrBadDelay)
}

// Loudness is the program's sound as the master bus measures it.
func (p *Program) Loudness() Loudness {
	l := p.pipe.Loudness()
	return Loudness{Momentary: l.Momentary, ShortTerm: l.ShortTerm, Integrated: l.Integrated, TruePeak: l.TruePeak, MixPeak: l.MixPeak, Target: l.Target, Gain: l.Gain}
}

// SetLoudnessTarget steers the program's loudness (Studio.SetLoudnessTarget).
func (p *Program) SetLoudnessTarget(lufs float64) error { return p.pipe.SetLoudnessTarget(lufs) }
