package clock

import (
	"testing"
	"time"
)

// TestPlayout: a sender's audio and video, captured together and reported
// on one NTP clock, are played together, at the capture plus one delay
// that covers the later of the two (here the video, 170 ms behind the
// audio on the network): the delay grows at once to the playoutTop-th
// latest frame, stays within its bounds, and comes down only once a window passed
// without the late frames.
func TestPlayout(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	n0 := 3_900_000_000 * time.Second
	s := NewSender()
	// Audio (SSRC 1, 48 kHz) and video (SSRC 2, 90 kHz) both report
	// capture instant 0 as RTP 0; the reports take 10 ms.
	s.Report(1, ntpOf(n0), 0, t0.Add(10*time.Millisecond))
	s.Report(2, ntpOf(n0), 0, t0.Add(10*time.Millisecond))
	p := NewPlayout(s)
	// Stream 3 has had no report: neither it nor the others are placed
	// while it asks, and it is forgotten once it asks no more.
	if _, ok := p.At(3, 0, 90000, t0.Add(-3*time.Second)); ok {
		t.Fatal("placed a stream with no report")
	}
	if _, ok := p.At(1, 0, 48000, t0.Add(-2500*time.Millisecond)); ok {
		t.Fatal("placed a stream while another of the sender's had no report")
	}
	at := func(ssrc, rate uint32, captured, ready time.Duration) time.Duration {
		t.Helper()
		w, ok := p.At(ssrc, uint32(int64(captured)*int64(rate)/int64(time.Second)), rate, t0.Add(ready))
		if !ok {
			t.Fatal("not placed")
		}
		return w.Sub(t0)
	}
	// The sound of instant 1 s, ready 5 ms after its report would have
	// it: the least delay.
	if got, want := at(1, 48000, time.Second, time.Second+15*time.Millisecond), time.Second+10*time.Millisecond+MinPlayout+playoutStep; got != want {
		t.Errorf("audio alone: %v, want %v", got, want)
	}
	// Pictures ready 170 ms after their reports would have them, a
	// frame apart: one or a few are shown late, but once playoutTop of
	// them have come the delay takes them in, and the sound of the same
	// instant goes by the same delay.
	var v time.Duration
	for i := range playoutTop {
		c := time.Second + time.Duration(i)*33*time.Millisecond
		v = at(2, 90000, c, c+180*time.Millisecond)
		if i < playoutTop-1 && p.Delay() != MinPlayout+playoutStep {
			t.Fatalf("delay %v after %d late pictures", p.Delay(), i+1)
		}
	}
	c := time.Second + (playoutTop-1)*33*time.Millisecond
	a := at(1, 48000, c, c+15*time.Millisecond)
	if v != a {
		t.Errorf("captured together, played %v apart", v-a)
	}
	if want := c + 10*time.Millisecond + 170*time.Millisecond + PlayoutMargin + playoutStep; v != want {
		t.Errorf("video 170 ms late: played at %v, want %v", v, want)
	}
	// Later than MaxPlayout: bounded.
	for i := range playoutTop {
		c := 2*time.Second + time.Duration(i)*33*time.Millisecond
		at(2, 90000, c, c+time.Second)
	}
	if d := p.Delay(); d != MaxPlayout {
		t.Errorf("delay %v after frames 1 s late, want the bound %v", d, MaxPlayout)
	}
	// Two windows of frames only 5 ms late bring it back down.
	for ms := 2000; ms < 2000+int(2*playoutWindow/time.Millisecond)+100; ms += 20 {
		c := time.Duration(ms) * time.Millisecond
		at(1, 48000, c, c+15*time.Millisecond)
	}
	if d := p.Delay(); d != MinPlayout+playoutStep {
		t.Errorf("delay %v after two quiet windows, want %v", d, MinPlayout+playoutStep)
	}
	var none *Playout
	if _, ok := none.At(1, 0, 48000, t0); ok || none.Delay() != 0 {
		t.Error("a nil Playout placed a frame")
	}
}
