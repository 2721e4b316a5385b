package master

import (
	"fmt"
	"math"
)

// The loudness target is a slow gain before the limiter, steered by the
// bus's own short-term loudness (ebur128's 3 s figure, after the limiter,
// so what the limiter takes off is made up too). FFmpeg's own
// normalisers do not fit a live show: loudnorm's single-pass mode held
// 3.0 s of sound before its first sample came out, dynaudnorm (100 ms
// frames, a 5-frame window) 0.5 s, and the video would have to wait as
// long. This gain adds no latency: it applies to the block being mixed.
const (
	// steerRate is how much of the error, in dB, the gain corrects each
	// second: slow enough that speech does not pump and that the 3 s
	// window's lag cannot make it swing.
	steerRate = 0.5
	// maxSlew bounds the gain's change, dB a second.
	maxSlew = 6.0
	// A program far too loud (momentary loudness more than tooLoud LU
	// over the target: a source much louder than the last, or the
	// show's start) is turned down at once, on the 400 ms figure, whose
	// lag allows a fast loop: each second too loud weighs in the
	// integrated loudness as several at the target.
	tooLoud, fastRate, fastSlew = 6.0, 2.0, 30.0
	// gate: below it the program is silence or room tone, and the gain
	// holds rather than raise the noise. ebur128 gives no short-term
	// figure (Silence) until its 3 s window is full, after New and after
	// Reset too: the gain holds then as well.
	gate = -50.0
	// The gain's range, dB: enough for a quiet microphone, not for
	// silence.
	minGain, maxGain = -24.0, 24.0
	// meterStep is how often ebur128 gives a figure.
	meterStep = 0.1 // s
)

// SetTarget sets the program's loudness target in LUFS (−14 as YouTube
// and Spotify normalise, −16, −23 for EBU R128 broadcast; from −40 to −5),
// or 0 for none. The gain moves from where it is. Any goroutine may call it.
func (b *Bus) SetTarget(lufs float64) error {
	if lufs != 0 && (lufs < -40 || lufs > -5 || math.IsNaN(lufs)) {
		return fmt.Errorf("master: loudness target %.1f LUFS: want −40 to −5, or 0 for none", lufs)
	}
	b.target.Store(math.Float64bits(lufs))
	return nil
}

// Target is the loudness target SetTarget last set (0: none).
func (b *Bus) Target() float64 { return math.Float64frombits(b.target.Load()) }

// steer moves the gain one meter step towards the target, given the
// program's momentary and short-term loudness; with no target it returns
// to 0 dB.
func (b *Bus) steer(momentary, shortTerm float64) {
	if momentary > 0 || shortTerm > 0 {
		return // no figure on this frame (Bus.figure's default)
	}
	var step float64
	slew := maxSlew
	switch target := b.Target(); {
	case target == 0:
		step = -b.gainDB
	case momentary > target+tooLoud:
		step, slew = fastRate*meterStep*(target-momentary), fastSlew
	case shortTerm < gate:
		return
	default:
		step = steerRate * meterStep * (target - shortTerm)
	}
	step = max(-slew*meterStep, min(slew*meterStep, step))
	b.gainDB = max(minGain, min(maxGain, b.gainDB+step))
}

// applyGain returns the block with the target's gain applied, ramped
// across the block from the last one's so a change makes no click. At
// unity it is the block itself.
func (b *Bus) applyGain(left, right []float32) ([]float32, []float32) {
	g := float32(math.Pow(10, b.gainDB/20))
	if g == 1 && b.gain == 1 {
		return left, right
	}
	from := b.gain
	b.gain = g
	for c, src := range [][]float32{left, right} {
		if cap(b.scaled[c]) < len(src) {
			b.scaled[c] = make([]float32, len(src))
		}
		dst := b.scaled[c][:len(src)]
		for i, v := range src {
			dst[i] = v * (from + (g-from)*float32(i+1)/float32(len(src)))
		}
		b.scaled[c] = dst
	}
	return b.scaled[0], b.scaled[1]
}
