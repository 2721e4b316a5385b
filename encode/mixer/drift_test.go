package mixer

import (
	"math"
	"testing"
)

// TestSlipTrackFollowsAFastSender is issue #12's drift case at the mixer,
// ten minutes of media mixed faster than real time: a guest whose clock
// runs 0.1 % fast sends 960 of its samples every 20 ms of its time, which
// the program places (by its sender reports) 19.98 ms apart, so its sound
// gains 1 ms a second on the program's. A slipping track (SetSlip) takes
// that up as it goes: in pauses at once, in sound that never pauses by
// playing it at most 0.5 % faster. After 10 minutes the beeps still start
// within ±20 ms of their place (the bound; within a ms here), and
// no sound is dropped in bursts: nothing overflows or runs dry, and a
// tone that never pauses comes out without a jump in its wave.
//
// And a sender four times as fast (0.4 %) whose playout delay shortens by
// 100 ms half-way through a minute of a tone that never pauses: the slip
// moves it 0.5 % around the sender's own pace, so it is in place within
// 20 s (before the track measured that pace, the sender's 0.4 % left
// it 0.1 % to move earlier by: 80 s).
func TestSlipTrackFollowsAFastSender(t *testing.T) {
	const (
		packet = 960              // the sender's samples a packet (20 ms)
		ahead  = 60 * Rate / 1000 // a packet is written 60 ms before it plays
		block  = 1024
	)
	tone := func(i int64) float32 {
		return float32(0.5 * math.Sin(2*math.Pi*440*float64(i)/Rate))
	}
	for _, tc := range []struct {
		name    string
		fast    float64 // the sender's clock against the program's
		seconds int64   // of media
		shorten int64   // program samples the delay shortens by half-way
		// at is the sender's sound at its sample i (mono).
		at    func(i int64) float32
		beeps bool
	}{
		{"beeps with pauses", 1.001, 600, 0, func(i int64) float32 {
			if i%Rate < Rate/10 { // 100 ms of 1 kHz every second
				return float32(0.8 * math.Sin(2*math.Pi*1000*float64(i)/Rate))
			}
			return 0
		}, true},
		{"a tone that never pauses", 1.001, 600, 0, tone, false},
		{"0.4 % fast, the delay 100 ms shorter", 1.004, 60, Rate / 10, tone, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fast, minutes := tc.fast, float64(tc.seconds)/60
			tr := NewTrack("guest", TrackConfig{MaxQueue: 1e9})
			tr.SetSlip(true)
			var m Mixer
			left, right := make([]float32, block), make([]float32, block)
			pcm := make([]float32, packet*Channels)
			// place is where the program puts the sender's sample i: its
			// sender reports' mapping, exact here.
			end := tc.seconds * Rate
			place := func(i int64) int64 {
				at := int64(math.Round(float64(i) / fast))
				if at >= end/2 {
					at -= tc.shorten
				}
				return at
			}
			var sent int64 // the sender's samples written
			var prev float32
			var maxStep float64
			var onsets []int64 // in the program's samples, of the last minute
			quiet := int64(Rate)
			for at := int64(0); at < end; at += block {
				for place(sent)-ahead <= at+block {
					for j := range packet {
						v := tc.at(sent + int64(j))
						pcm[2*j], pcm[2*j+1] = v, v
					}
					if err := tr.WriteAt(pcm, Rate, Channels, place(sent)+ahead); err != nil {
						t.Fatal(err)
					}
					sent += packet
				}
				m.MixAt([]*Track{tr}, left, right, at+ahead)
				if at < Rate { // the first second: the track's start
					prev = left[block-1]
					continue
				}
				for i, v := range left {
					maxStep = max(maxStep, math.Abs(float64(v-prev)))
					prev = v
					if v > 0.1 || v < -0.1 {
						if quiet >= Rate/2 && at >= end-60*Rate {
							onsets = append(onsets, at+int64(i))
						}
						quiet = 0
					} else {
						quiet++
					}
				}
			}
			st := tr.Stats()
			t.Logf("%.0f min of a sender %.1f %% fast: sent %d samples for %d played; dropped %d, ran dry %d times, concealed %d; largest step between two samples %.4f",
				minutes, (fast-1)*100, sent, end, st.Dropped, st.Underruns, st.Concealed, maxStep)
			if st.Dropped > 0 || st.Underruns > 0 {
				t.Errorf("the track dropped %d samples and ran dry %d times, want none", st.Dropped, st.Underruns)
			}
			if tc.beeps {
				if len(onsets) < 55 {
					t.Fatalf("%d beeps in the last minute, want 60", len(onsets))
				}
				var worst float64
				for _, o := range onsets {
					// The sender's beep nearest o (the output's sample o
					// is the program's at o+ahead), where it belongs.
					s := int64(math.Round(float64(o)*fast/Rate)) * Rate
					off := float64(o-place(s)) / Rate
					if math.Abs(off) > math.Abs(worst) {
						worst = off
					}
				}
				t.Logf("the last minute's beeps: at most %+.1f ms from their place", worst*1000)
				if math.Abs(worst) > 0.020 {
					t.Errorf("a beep %+.1f ms from its place after %.0f minutes, want within ±20 ms", worst*1000, minutes)
				}
			} else if maxStep > 0.035 {
				// A 440 Hz sine at 0.5 moves at most 0.029 a sample; a
				// burst dropped or skipped inside it jumps further.
				t.Errorf("the tone jumped by %.3f between two samples: sound cut, want a continuous wave (≤ 0.035)", maxStep)
			}
			// Where the track's queue ends against where the sender's
			// next sample belongs: what it gained and has not taken up.
			tr.mu.Lock()
			lag := float64(tr.head+int64(tr.fifo.Len())-place(sent)-ahead) / Rate
			tr.mu.Unlock()
			t.Logf("the queue ends %+.1f ms from the next packet's place", lag*1000)
			if math.Abs(lag) > 0.020 {
				t.Errorf("after %.0f minutes the sound is %+.1f ms from its place, want within ±20 ms", minutes, lag*1000)
			}
		})
	}
}
