package studio

import (
	"testing"
	"time"

	"github.com/pion/rtcp"
)

// A probe is judged from the receiver's transport-cc feedback: a link that
// delivers the probe's packets as fast as they were sent passes it; one
// whose queue grows (each packet later than the one before), or that
// loses packets, fails it, early when the feedback shows it before the
// window ends; a ceiling (a test's thin downlink) caps what counts as
// delivered.
func TestProbeVerdict(t *testing.T) {
	const n, size, every = 140, 1250, 5 * time.Millisecond // 2 Mb/s over the window
	cases := []struct {
		name      string
		spacing   time.Duration // between arrivals; sent every apart
		lost      int           // the last lost of the n
		ceiling   uint64
		need      uint64
		want      probeVerdict
		wantEarly bool // failed on the feedback, before the window ends
	}{
		{name: "carried", spacing: every, need: 1_600_000, want: probePassed},
		{name: "short of the need", spacing: every, need: 2_400_000, want: probeFailed},
		{name: "a queue grows", spacing: every + time.Millisecond, need: 1_000_000, want: probeFailed, wantEarly: true},
		{name: "lossy", spacing: every, lost: 20, need: 1_000_000, want: probeFailed, wantEarly: true},
		{name: "under a ceiling", spacing: every, ceiling: 1_000_000, need: 1_600_000, want: probeFailed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var p prober
			b := &binding{}
			t0 := time.Now()
			if v, _ := p.tryUp(b, 0, 0, 1, c.need, c.ceiling, t0); v != probeRunning {
				t.Fatalf("a new probe says %v, want running", v)
			}
			p.mu.Lock()
			p.need = c.need // as if sending and the layers' rates said so
			p.mu.Unlock()
			for i := range n {
				p.sent(uint16(1000+i), size, t0.Add(time.Duration(i)*every))
			}
			fb := &rtcp.TransportLayerCC{BaseSequenceNumber: 1000, PacketStatusCount: n, ReferenceTime: 10}
			got := n - c.lost
			fb.PacketChunks = append(fb.PacketChunks, &rtcp.RunLengthChunk{PacketStatusSymbol: rtcp.TypeTCCPacketReceivedSmallDelta, RunLength: uint16(got)})
			if c.lost > 0 {
				fb.PacketChunks = append(fb.PacketChunks, &rtcp.RunLengthChunk{PacketStatusSymbol: rtcp.TypeTCCPacketNotReceived, RunLength: uint16(c.lost)})
			}
			for range got {
				fb.RecvDeltas = append(fb.RecvDeltas, &rtcp.RecvDelta{Type: rtcp.TypeTCCPacketReceivedSmallDelta, Delta: c.spacing.Microseconds()})
			}
			p.feedback(fb)
			if v, _ := p.tryUp(b, 0, 0, 1, c.need, c.ceiling, t0.Add(probeFor/2)); (v == probeFailed) != c.wantEarly {
				t.Errorf("in the window the probe says %v, want failed early: %v", v, c.wantEarly)
			}
			if c.wantEarly {
				return
			}
			v, m := p.tryUp(b, 0, 0, 1, c.need, c.ceiling, t0.Add(probeFor+time.Millisecond))
			if v != c.want {
				t.Errorf("after the window the probe says %v (%+v), want %v", v, m, c.want)
			}
			if v == probePassed && (m.delivered < 1_900_000 || m.delivered > 2_100_000) {
				t.Errorf("delivered %d b/s, want about 2 Mb/s", m.delivered)
			}
			if n := p.padding(b, t0.Add(probeFor/2)); n != 0 && v != probeRunning {
				t.Errorf("%d padding packets owed after the verdict", n)
			}
		})
	}
}

// Padding fills what the connection's media leaves of the probe's rate
// (ramped up to it over the window's first third), sent after each frame,
// none after the window: media that runs under its average over the
// window (between keyframes) is made up for, a burst (a keyframe) is not
// padded on top of.
func TestProbePadding(t *testing.T) {
	// The connection sent 1.2 Mb/s, the track 200 kb/s of it; the
	// climb to 500 kb/s needs 1.5, and the probe pads up to 1.6.
	const sending, cur, to, goal = 1_200_000, 200_000, 500_000, 1_600_000
	const frame = 33 * time.Millisecond
	for _, c := range []struct {
		name  string
		media func(i int) int // bits the connection's media sends in frame i
	}{
		{"at its rate", func(int) int { return sending * int(frame) / int(time.Second) }},
		{"under it", func(int) int { return sending * 7 / 10 * int(frame) / int(time.Second) }},
		{"a keyframe", func(i int) int {
			if i == 8 {
				return 200_000
			}
			return sending * int(frame) / int(time.Second)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var p prober
			b, other := &binding{}, &binding{}
			t0 := time.Now()
			p.tryUp(b, 1, cur, to, sending, 0, t0)
			if n := p.padding(other, t0.Add(100*time.Millisecond)); n != 0 {
				t.Errorf("another track's binding owes %d padding packets", n)
			}
			var seq uint16
			var bits int // sent after the ramp
			for i, at := 0, frame; at <= probeFor; i, at = i+1, at+frame {
				now := t0.Add(at)
				media := c.media(i)
				p.sent(seq, media/8, now)
				n := p.padding(b, now)
				for range n {
					seq++
					p.sent(seq, padBits/8, now)
				}
				seq++
				if at > probeRamp {
					bits += media + n*padBits
				}
			}
			rate := float64(bits) / (probeFor - probeRamp).Seconds()
			lo, hi := 0.9*goal, 1.1*goal
			if c.name == "a keyframe" {
				hi = goal + 200_000/(probeFor-probeRamp).Seconds()
			}
			if rate < lo || rate > hi {
				t.Errorf("the connection sent %.0f kb/s after the ramp, want %.0f-%.0f", rate/1000, lo/1000, hi/1000)
			}
			if n := p.padding(b, t0.Add(probeFor+50*time.Millisecond)); n != 0 {
				t.Errorf("%d padding packets after the window", n)
			}
		})
	}
}
