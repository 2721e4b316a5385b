package mediatest

import "math"

// Speech is a speech-like test signal at sample i of a rate Hz stream: a
// 140 Hz voice with ten harmonics, spoken in 4 syllables a second, with a
// 0.4 s pause every 2.5 s, peaking at amp. EBU R128's gate counts the
// syllables and drops the pauses, as it does a real voice's.
func Speech(i int64, rate int, amp float64) float32 {
	t := float64(i) / float64(rate)
	if math.Mod(t, 2.5) > 2.1 {
		return 0
	}
	var v float64
	for k := 1.0; k <= 10; k++ {
		v += math.Sin(2*math.Pi*140*k*t) / k
	}
	env := math.Pow(math.Sin(math.Pi*4*t), 2)
	return float32(amp * env * v / 3)
}
