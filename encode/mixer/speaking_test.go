package mixer

import (
	"testing"
	"time"
)

// The speaking flag follows a voice through its syllables and pauses,
// not a cough, a click or room tone; it goes after SpeakHold of quiet.
func TestSpeaking(t *testing.T) {
	const block = 1024 // the audio stage's, 21 ms
	type part struct {
		peak float32
		d    time.Duration
	}
	for _, tc := range []struct {
		name  string
		parts []part
		want  bool // at the end
		ever  bool // at any block
	}{
		{"silence", []part{{0, time.Second}}, false, false},
		{"room tone under the off level", []part{{0.01, 2 * time.Second}}, false, false},
		{"a 100 ms cough", []part{{0.3, 100 * time.Millisecond}, {0, time.Second}}, false, false},
		{"clicks 300 ms apart", []part{{0.3, 40 * time.Millisecond}, {0, 350 * time.Millisecond}, {0.3, 40 * time.Millisecond}, {0, 350 * time.Millisecond}, {0.3, 40 * time.Millisecond}}, false, false},
		{"syllables", []part{{0.2, 100 * time.Millisecond}, {0, 120 * time.Millisecond}, {0.2, 100 * time.Millisecond}}, true, true},
		{"a pause between words", []part{{0.2, 300 * time.Millisecond}, {0, 600 * time.Millisecond}}, true, true},
		{"a soft tail between the levels", []part{{0.2, 300 * time.Millisecond}, {0.03, 2 * time.Second}}, true, true},
		{"done speaking", []part{{0.2, 300 * time.Millisecond}, {0, 900 * time.Millisecond}}, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var v voice
			ever := false
			for _, p := range tc.parts {
				for n := 0; n < frames(p.d); n += block {
					v.add(p.peak, block)
					ever = ever || v.speaking
				}
			}
			if v.speaking != tc.want || ever != tc.ever {
				t.Errorf("speaking %v at the end, ever %v; want %v, %v", v.speaking, ever, tc.want, tc.ever)
			}
		})
	}
}
