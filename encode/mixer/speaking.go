package mixer

import "time"

// Speaking (issue #12 item 6) is judged from the same blocks the level
// meter sees, with hysteresis so the flag neither flaps between words
// nor rises on a cough: a source turns speaking once SpeakAttack of its
// blocks peak at SpeakOn or more, counted across the short gaps between
// syllables (a gap of quiet reset the count only once it lasts
// speakReset); it stops once it has been under SpeakOff for SpeakHold.
// Between the two levels it keeps what it was. The levels are a voice's
// at a laptop mic (peaks of −26 dBFS and more, as the scene's ring) and
// room tone under it.
const (
	SpeakOn     = 0.05  // −26 dBFS
	SpeakOff    = 0.016 // −36 dBFS
	SpeakAttack = 150 * time.Millisecond
	SpeakHold   = 800 * time.Millisecond
	speakReset  = 300 * time.Millisecond
)

// voice is a track's speaking state, guarded by the track's mu.
type voice struct {
	speaking    bool
	loud, quiet int // frames: loud blocks counted towards SpeakAttack; quiet ones in a row
}

// add takes a block of n frames whose peak was peak.
func (v *voice) add(peak float32, n int) {
	switch {
	case peak >= SpeakOn:
		v.loud += n
		v.quiet = 0
	case peak < SpeakOff:
		v.quiet += n
		if !v.speaking && v.quiet >= frames(speakReset) {
			v.loud = 0
		}
	default:
		v.quiet = 0
	}
	if !v.speaking && v.loud >= frames(SpeakAttack) {
		v.speaking = true
	}
	if v.speaking && v.quiet >= frames(SpeakHold) {
		v.speaking, v.loud = false, 0
	}
}
