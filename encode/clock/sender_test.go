package clock

import (
	"testing"
	"time"
)

// ntpOf is the 64-bit NTP timestamp of d since 1900.
func ntpOf(d time.Duration) uint64 {
	return uint64(d/time.Second)<<32 | uint64(d%time.Second)<<32/uint64(time.Second)
}

// TestSenderMapping: RTP times reach our wall clock through the sender's
// reports — across RTP's wrap-around, as reports update, with the
// least-delayed report setting the offset, following a drifting clock and
// starting over when the sender's clock is set.
func TestSenderMapping(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	n0 := 3_900_000_000 * time.Second // NTP: seconds since 1900
	type sr struct {
		ssrc    uint32
		ntp     time.Duration // since n0
		rtp     uint32
		arrived time.Duration // since t0
	}
	type probe struct {
		ssrc, ts, rate uint32
		want           time.Duration // since t0
		ok             bool
	}
	for _, tc := range []struct {
		name    string
		reports []sr
		probes  []probe
	}{
		{"no report yet", nil, []probe{{1, 0, 90000, 0, false}}},
		{"one report, 20 ms in flight",
			[]sr{{1, 0, 1000, 20 * time.Millisecond}},
			[]probe{
				{1, 1000, 90000, 20 * time.Millisecond, true},
				{1, 1000 + 90000, 90000, time.Second + 20*time.Millisecond, true},
				{1, 1<<32 - 8000, 90000, -80 * time.Millisecond, true}, // 1000 − 9000, wrapped
				{2, 1000, 90000, 0, false},                             // another stream: no report of its own yet
			}},
		{"RTP wraps after the report",
			[]sr{{1, 0, 0xffffff00, 0}},
			[]probe{{1, 90000 - 0x100, 90000, time.Second, true}}},
		{"RTP wrapped before the report",
			[]sr{{1, 0, 100, 0}},
			[]probe{{1, 1<<32 + 100 - 48000, 48000, -time.Second, true}}},
		{"audio and video share the sender's clock, each its own RTP",
			[]sr{{1, 0, 5000, 30 * time.Millisecond}, {2, 0, 777, 80 * time.Millisecond}},
			[]probe{
				// The audio's report came 50 ms later than the video's:
				// queueing, which the least lag (30 ms) leaves out.
				{1, 5000 + 9000, 90000, 130 * time.Millisecond, true},
				{2, 777 + 4800, 48000, 130 * time.Millisecond, true},
			}},
		{"a later report of the stream replaces the earlier",
			[]sr{{1, 0, 0, 10 * time.Millisecond}, {1, 10 * time.Second, 900_000 + 90, 10*time.Second + 10*time.Millisecond}},
			[]probe{{1, 900_000 + 90, 90000, 10*time.Second + 10*time.Millisecond, true}}},
		{"a delayed report does not move the offset",
			[]sr{{1, 0, 0, 10 * time.Millisecond}, {1, time.Second, 90000, time.Second + 300*time.Millisecond}},
			[]probe{{1, 90000, 90000, time.Second + 10*time.Millisecond, true}}},
		{"a sender 100 ppm slow is followed within the window",
			[]sr{
				{1, 0, 0, 0},
				{1, 20 * time.Second, 20 * 90000, 20*time.Second + 2*time.Millisecond},
				{1, 40 * time.Second, 40 * 90000, 40*time.Second + 4*time.Millisecond},
				{1, 60 * time.Second, 60 * 90000, 60*time.Second + 6*time.Millisecond},
			},
			// The window holds the reports of 40 s and 60 s: 2 ms behind.
			[]probe{{1, 60 * 90000, 90000, 60*time.Second + 4*time.Millisecond, true}}},
		{"a renumbered layer maps through its own reports (a simulcast switch)",
			[]sr{{7, 0, 1000, 20 * time.Millisecond}},
			[]probe{{7, 1000 + 5000 + 90000, 90000, time.Second + 20*time.Millisecond, true}}},
		{"the sender's clock is set back 1 h: the window starts over",
			[]sr{{1, 0, 0, 0}, {1, time.Second - time.Hour, 90000, time.Second + 15*time.Millisecond}},
			[]probe{{1, 90000 + 900, 90000, time.Second + 25*time.Millisecond, true}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewSender()
			s.Renumbered(7, 5000)
			for _, r := range tc.reports {
				s.Report(r.ssrc, ntpOf(n0+r.ntp), r.rtp, t0.Add(r.arrived))
			}
			for _, p := range tc.probes {
				got, ok := s.Wall(p.ssrc, p.ts, p.rate)
				if ok != p.ok || (ok && got.Sub(t0) != p.want) {
					t.Errorf("Wall(%d, %d, %d) = %v, %v; want %v, %v", p.ssrc, p.ts, p.rate, got.Sub(t0), ok, p.want, p.ok)
				}
			}
		})
	}
}

func TestNTP(t *testing.T) {
	for _, tc := range []struct {
		ntp  uint64
		want time.Duration
	}{
		{0, 0},
		{1 << 32, time.Second},
		{1<<32 | 1<<31, 1500 * time.Millisecond},
		{3_900_000_000<<32 | 1<<30, 3_900_000_000*time.Second + 250*time.Millisecond},
		{1, 0}, // 0.23 ns
	} {
		if got := NTP(tc.ntp); got != tc.want {
			t.Errorf("NTP(%#x) = %v, want %v", tc.ntp, got, tc.want)
		}
	}
}

// TestSenderSameReportOnce: one report read from several streams (SRTP
// hands it to the stream of each SSRC it names) takes one place in the
// window, so the window still spans senderWindow of a sender's reports.
func TestSenderSameReportOnce(t *testing.T) {
	s := NewSender()
	t0 := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	n0 := 3_900_000_000 * time.Second
	for i := range 3 {
		at := t0.Add(time.Duration(i) * time.Second)
		for range 20 { // one per stream the report names
			s.Report(1, ntpOf(n0+time.Duration(i)*time.Second), uint32(i)*90000, at)
		}
	}
	if len(s.lags) != 3 {
		t.Errorf("3 reports each read 20 times fill %d places of the window, want 3", len(s.lags))
	}
}

// TestSenderWallOfNTP: an instant on the sender's own clock (a guest
// page's Date.now) lands on our wall clock as its media does: with the
// least-delayed report's offset, nowhere before a report.
func TestSenderWallOfNTP(t *testing.T) {
	s := NewSender()
	t0 := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	page := t0.Add(-3 * time.Second).UnixMilli() // the page's clock: 3 s behind ours
	n0 := NTPOfUnixMilli(page)
	if _, ok := s.WallOfNTP(n0); ok {
		t.Error("WallOfNTP before a report: ok")
	}
	s.Report(1, ntpOf(n0), 0, t0.Add(40*time.Millisecond))
	s.Report(2, ntpOf(n0+time.Second), 0, t0.Add(time.Second+10*time.Millisecond)) // 30 ms less in flight
	at, ok := s.WallOfNTP(NTPOfUnixMilli(page + 500))
	if want := t0.Add(510 * time.Millisecond); !ok || !at.Equal(want) {
		t.Errorf("WallOfNTP(500 ms after the first report) = %v, %v; want %v", at.Sub(t0), ok, want.Sub(t0))
	}
	// The same instant as the RTP time of a report's stream maps to.
	rtp, _ := s.Wall(2, 45000, 90000)
	if byNTP, _ := s.WallOfNTP(n0 + 1500*time.Millisecond); !rtp.Equal(byNTP) {
		t.Errorf("RTP time and NTP time of one instant map %v apart", byNTP.Sub(rtp))
	}
	if got, want := NTPOfUnixMilli(0), NTP(2208988800<<32); got != want {
		t.Errorf("NTPOfUnixMilli(0) = %v, want %v (1970 on NTP's timeline)", got, want)
	}
}
