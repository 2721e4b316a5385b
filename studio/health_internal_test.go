package studio

import (
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"greenroom/studio/signal"
)

func TestClassifyHealth(t *testing.T) {
	ok := healthSample{known: true, media: MediaConnected, up: Uplink{Kbps: 1500, RTTMs: 40}, sinceLast: -1}
	with := func(f func(*healthSample)) healthSample { s := ok; f(&s); return s }
	for _, tc := range []struct {
		name   string
		s      healthSample
		want   Level
		reason string
	}{
		{"not measured", healthSample{media: MediaConnected, sinceLast: -1}, LevelUnknown, ""},
		{"connecting", with(func(s *healthSample) { s.media = MediaConnecting }), LevelUnknown, ""},
		{"good", ok, LevelGreen, ""},
		{"uplink loss just under 2 %", with(func(s *healthSample) { s.up.Loss = 0.019 }), LevelGreen, ""},
		{"uplink loss 2 %", with(func(s *healthSample) { s.up.Loss = 0.02 }), LevelAmber, "weak uplink: 2 % loss"},
		{"uplink loss 6 %", with(func(s *healthSample) { s.up.Loss = 0.06 }), LevelAmber, "weak uplink: 6 % loss"},
		{"uplink loss 8 %", with(func(s *healthSample) { s.up.Loss = 0.08 }), LevelRed, "weak uplink: 8 % loss"},
		{"downlink loss 5 %", with(func(s *healthSample) { s.down.Loss = 0.05 }), LevelAmber, "weak downlink: 5 % loss"},
		{"downlink loss 20 %", with(func(s *healthSample) { s.down.Loss = 0.2 }), LevelRed, "weak downlink: 20 % loss"},
		{"red downlink beats amber uplink", with(func(s *healthSample) { s.up.Loss, s.down.Loss = 0.03, 0.1 }), LevelRed, "weak downlink: 10 % loss"},
		{"round trip 299 ms", with(func(s *healthSample) { s.up.RTTMs = 299 }), LevelGreen, ""},
		{"round trip 300 ms", with(func(s *healthSample) { s.up.RTTMs = 300 }), LevelAmber, "slow connection: 300 ms round trip"},
		{"round trip 800 ms", with(func(s *healthSample) { s.up.RTTMs = 800 }), LevelRed, "slow connection: 800 ms round trip"},
		{"jitter 50 ms", with(func(s *healthSample) { s.up.JitterMs = 50 }), LevelAmber, "unsteady uplink: 50 ms jitter"},
		{"a freeze 10 s ago", with(func(s *healthSample) {
			s.freezes, s.sinceLast = Freezes{Count: 1, LastMinuteMs: 700}, 10*time.Second
		}), LevelAmber, "video froze once in the last minute (0.7 s)"},
		{"a freeze 40 s ago", with(func(s *healthSample) {
			s.freezes, s.sinceLast = Freezes{Count: 1, LastMinuteMs: 700}, 40*time.Second
		}), LevelGreen, ""},
		{"frozen now for 1 s", with(func(s *healthSample) {
			s.freezes, s.frozenFor = Freezes{Count: 1, LastMinuteMs: 1000}, time.Second
		}), LevelAmber, "video frozen for 1.0 s"},
		{"frozen now for 2 s", with(func(s *healthSample) {
			s.freezes, s.frozenFor = Freezes{Count: 1, LastMinuteMs: 2000}, 2*time.Second
		}), LevelRed, "video frozen for 2.0 s"},
		{"10 s frozen in the last minute", with(func(s *healthSample) {
			s.freezes, s.sinceLast = Freezes{Count: 12, LastMinuteMs: 10000}, 45*time.Second
		}), LevelRed, "video froze 12 times in the last minute (10.0 s)"},
		{"a red uplink before a red freeze", with(func(s *healthSample) {
			s.up.Loss, s.freezes, s.frozenFor = 0.1, Freezes{Count: 1, LastMinuteMs: 3000}, 3*time.Second
		}), LevelRed, "weak uplink: 10 % loss"},
		{"a red freeze before an amber uplink", with(func(s *healthSample) {
			s.up.Loss, s.freezes, s.frozenFor = 0.03, Freezes{Count: 1, LastMinuteMs: 3000}, 3*time.Second
		}), LevelRed, "video frozen for 3.0 s"},
		{"frozen in the program for 2 s", with(func(s *healthSample) {
			s.prog = &freezeRead{Freezes{Count: 1, LastMinuteMs: 2000}, 2 * time.Second, 0}
		}), LevelRed, "video frozen in the program for 2.0 s"},
		{"a freeze in the program 10 s ago", with(func(s *healthSample) {
			s.prog = &freezeRead{Freezes{Count: 2, LastMinuteMs: 1500}, 0, 10 * time.Second}
		}), LevelAmber, "video froze in the program 2 times in the last minute (1.5 s)"},
		{"the SFU's freeze named before the program's", with(func(s *healthSample) {
			s.freezes, s.frozenFor = Freezes{Count: 1, LastMinuteMs: 800}, 800*time.Millisecond
			s.prog = &freezeRead{Freezes{Count: 1, LastMinuteMs: 900}, 900 * time.Millisecond, 0}
		}), LevelAmber, "video frozen for 0.8 s"},
		{"a red freeze in the program before an amber one in the SFU", with(func(s *healthSample) {
			s.freezes, s.frozenFor = Freezes{Count: 1, LastMinuteMs: 800}, 800*time.Millisecond
			s.prog = &freezeRead{Freezes{Count: 1, LastMinuteMs: 2500}, 2500 * time.Millisecond, 0}
		}), LevelRed, "video frozen in the program for 2.5 s"},
		{"sound 4.9 % concealed", with(func(s *healthSample) { s.sound = 0.049 }), LevelGreen, ""},
		{"sound 5 % concealed", with(func(s *healthSample) { s.sound = 0.05 }), LevelAmber, "sound breaking up: 5 % filled in"},
		{"sound 15 % concealed", with(func(s *healthSample) { s.sound = 0.15 }), LevelRed, "sound breaking up: 15 % filled in"},
		{"the uplink's loss named before the sound it cost", with(func(s *healthSample) { s.up.Loss, s.sound = 0.06, 0.06 }), LevelAmber, "weak uplink: 6 % loss"},
		{"red sound beats amber loss", with(func(s *healthSample) { s.up.Loss, s.sound = 0.03, 0.2 }), LevelRed, "sound breaking up: 20 % filled in"},
		{"the sound named before the jitter", with(func(s *healthSample) { s.up.JitterMs, s.sound = 70, 0.08 }), LevelAmber, "sound breaking up: 8 % filled in"},
		{"reconnecting", with(func(s *healthSample) { s.media = MediaReconnecting }), LevelRed, "media failing: reconnecting"},
		{"failed", with(func(s *healthSample) { s.media = MediaFailed }), LevelRed, "media failing: can't connect"},
	} {
		l, r := classify(tc.s)
		if l != tc.want || r != tc.reason {
			t.Errorf("%s: %q %q, want %q %q", tc.name, l, r, tc.want, tc.reason)
		}
	}
}

// The level goes up at once and comes down only after healthCalm of
// better samples; a worse sample meanwhile starts the wait over.
func TestLevelHold(t *testing.T) {
	t0 := time.Unix(1000, 0)
	s := time.Second
	var h levelHold
	for i, step := range []struct {
		at     time.Duration
		in     Level
		want   Level
		reason string
	}{
		{0, LevelGreen, LevelGreen, ""},
		{2 * s, LevelRed, LevelRed, "red"},
		{4 * s, LevelGreen, LevelRed, "red"},
		{6 * s, LevelGreen, LevelRed, "red"},
		{8 * s, LevelAmber, LevelRed, "red"}, // still better: 4 s of it
		{9 * s, LevelGreen, LevelGreen, ""},  // 5 s better: down
		{10 * s, LevelAmber, LevelAmber, "amber"},
		{12 * s, LevelGreen, LevelAmber, "amber"},
		{14 * s, LevelAmber, LevelAmber, "amber"}, // as bad again: the wait starts over
		{16 * s, LevelGreen, LevelAmber, "amber"},
		{20 * s, LevelGreen, LevelAmber, "amber"},
		{21 * s, LevelGreen, LevelGreen, ""},
		{22 * s, LevelUnknown, LevelUnknown, ""}, // connecting again: nothing to hold
	} {
		reason := ""
		if step.in == LevelRed || step.in == LevelAmber {
			reason = string(step.in)
		}
		if l, r := h.next(step.in, reason, t0.Add(step.at)); l != step.want || r != step.reason {
			t.Errorf("step %d at %v: %s: %q %q, want %q %q", i, step.at, step.in, l, r, step.want, step.reason)
		}
	}
}

// The share of each interval whose sound the program concealed, FEC's
// recovery not counted: nothing at the first interval (the counts are
// the show's, from before this session), nor when the counts start over.
func TestSoundMeter(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var m soundMeter
	for i, step := range []struct {
		at        time.Duration
		concealed int // ms, in all
		recovered int // ms, in all
		want      float64
	}{
		{0, 5000, 1000, 0},
		{2 * time.Second, 5000, 1000, 0},
		{4 * time.Second, 5160, 1000, 0.08},        // 160 ms guessed of 2 s
		{6 * time.Second, 5560, 1400, 0},           // all 400 ms from FEC
		{8 * time.Second, 5860, 1500, 0.1},         // 300 ms, 100 of them FEC
		{9 * time.Second, 5960, 1500, 0.1},         // a shorter interval: 100 ms of 1 s
		{11 * time.Second, 200, 0, 0},              // counts started over
		{13 * time.Second, 600, 0, 0.2},            // and go on from there
		{15 * time.Second, 600 + 10_000, 0, 1},     // never more than all of it
		{15 * time.Second, 600 + 10_100, 100, 0},   // no time passed
		{17 * time.Second, 600 + 10_100, 100, 0.0}, // nothing new
	} {
		a := ProgramAudio{ConcealedMs: step.concealed, RecoveredMs: step.recovered}
		if got := m.share(a, t0.Add(step.at)); got < step.want-1e-9 || got > step.want+1e-9 {
			t.Errorf("step %d at %v: %+v: %v, want %v", i, step.at, a, got, step.want)
		}
	}
}

func TestFreezeMeter(t *testing.T) {
	t0 := time.Unix(1000, 0)
	ms := time.Millisecond
	var m freezeMeter
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	if f, now, since := m.read(at(0)); f != (Freezes{}) || now != 0 || since != -1 {
		t.Fatalf("before a frame: %+v %v %v", f, now, since)
	}
	for d := time.Duration(0); d <= time.Second; d += 33 * ms {
		m.frame(at(d))
	}
	if f, _, _ := m.read(at(1100 * ms)); f.Count != 0 {
		t.Fatalf("30 fps: %+v", f)
	}
	// 800 ms without a frame, read while it goes on, then when it ended.
	if f, now, since := m.read(at(1790 * ms)); f.Count != 1 || now != 800*ms || since != 0 || f.LastMinuteMs != 800 {
		t.Fatalf("frozen: %+v %v %v", f, now, since)
	}
	m.frame(at(1990 * ms))
	if f, now, since := m.read(at(2390 * ms)); f.Count != 1 || now != 0 || since != 400*ms || f.LastMinuteMs != 1000 {
		t.Fatalf("after: %+v %v %v", f, now, since)
	}
	// Camera off: the gaps between a disabled camera's frames are not
	// freezes, nor is the first gap after it comes back on.
	m.camera(false)
	m.frame(at(4 * time.Second))
	m.frame(at(5 * time.Second))
	m.camera(true)
	m.frame(at(9 * time.Second))
	if f, now, _ := m.read(at(9 * time.Second)); f.Count != 1 || now != 0 {
		t.Fatalf("camera off: %+v %v", f, now)
	}
	// A minute later the freeze is forgotten.
	m.frame(at(62 * time.Second))
	if f, _, since := m.read(at(62 * time.Second)); f.Count != 1 || since != 0 {
		t.Fatalf("a minute on: %+v %v (the 53 s gap is a freeze of its own)", f, since)
	}
	if f, _, since := m.read(at(62*time.Second + 100*ms)); f.Count != 1 || since != 100*ms || f.LastMinuteMs != 53000 {
		t.Fatalf("a minute on: %+v %v", f, since)
	}
}

// The uplink from pion's stats over an interval, and the downlink's loss
// from the guest's receiver reports on the streams it is sent.
func TestLinks(t *testing.T) {
	var m lossMeter
	t0 := time.Unix(1000, 0)
	report := func(recv uint32, lost int32, in uint64) webrtc.StatsReport {
		return webrtc.StatsReport{
			"in":   webrtc.InboundRTPStreamStats{PacketsReceived: recv, PacketsLost: lost, BytesReceived: in, Jitter: 0.012},
			"pair": webrtc.ICECandidatePairStats{Nominated: true, CurrentRoundTripTime: 0.045},
		}
	}
	if up, known := m.links(report(1000, 0, 100_000), t0); !known || up.Loss != 0 || up.RTTMs != 45 {
		t.Errorf("first: %+v %v", up, known)
	}
	// 100 more received and 25 more lost: 20 % uplink loss this interval.
	up, _ := m.links(report(1100, 25, 350_000), t0.Add(2*time.Second))
	if want := (Uplink{Kbps: 1000, Loss: 0.2, JitterMs: 12, RTTMs: 45, RTTFrom: RTTFromICE}); up != want {
		t.Errorf("up %+v, want %+v", up, want)
	}

	var d downMeter
	if _, reported := d.take(); reported {
		t.Error("a report before any came")
	}
	d.report([]rtcp.ReceptionReport{{SSRC: 7, FractionLost: 64}, {SSRC: 8, FractionLost: 128}}, 7)
	d.report([]rtcp.ReceptionReport{{SSRC: 9, FractionLost: 13}}, 9)
	if loss, reported := d.take(); !reported || loss != 0.25 {
		t.Errorf("worst loss %v (%v), want 0.25: another sender's stream is not ours to count", loss, reported)
	}
	if loss, reported := d.take(); reported || loss != 0 {
		t.Errorf("after take: %v %v", loss, reported)
	}
}

func TestHealthMessage(t *testing.T) {
	if err := signal.CheckHealth(signal.Message{Type: signal.TypeHealth, Level: string(LevelRed), Reason: "weak uplink: 9 % loss"}); err != nil {
		t.Error(err)
	}
	if err := signal.CheckHealth(signal.Message{Type: signal.TypeHealth, Level: "purple"}); err == nil {
		t.Error("a level that isn't one passed")
	}
	if _, err := signal.Parse([]byte(`{"type":"health","level":"green"}`)); err == nil {
		t.Error("a page may not send health")
	}
}
