package studio

import (
	"testing"
	"time"

	"github.com/pion/rtcp"

	"greenroom/encode/clock"
)

// The round trips a guest's reception reports give: arrival − LSR − DLSR
// of each block that echoes a sender report of ours, each block once
// though pion hands its packet to the reader of every stream it names;
// the median of an interval's, the latest while fresh, and ICE's when
// none is.
func TestRoundTrips(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	// A block on stream ssrc received at t0+at, echoing our report sent
	// at t0, held dlsr by the guest: a round trip of at − dlsr.
	block := func(ssrc uint32, at, dlsr time.Duration) ([]rtcp.ReceptionReport, time.Time) {
		return []rtcp.ReceptionReport{{SSRC: ssrc, LastSenderReport: clock.NTPMiddle(t0), Delay: uint32(dlsr * 65536 / time.Second)}}, t0.Add(at)
	}
	near := func(got, want time.Duration) bool { return got > want-time.Millisecond && got < want+time.Millisecond }

	var m roundTrips
	if _, ok := m.take(t0); ok {
		t.Error("a round trip before any report")
	}
	m.report([]rtcp.ReceptionReport{{SSRC: 1, LastSenderReport: 0, Delay: 5}}, t0) // no sender report of ours reached them yet
	m.report(block(1, 300*time.Millisecond, 250*time.Millisecond))                 // 50 ms
	m.report(block(1, 300*time.Millisecond, 250*time.Millisecond))                 // the same block, read on another stream
	m.report(block(1, 300*time.Millisecond, 250*time.Millisecond))
	m.report(block(2, 400*time.Millisecond, 310*time.Millisecond)) // 90 ms
	m.report(block(3, 500*time.Millisecond, 430*time.Millisecond)) // 70 ms
	if len(m.got) != 3 {
		t.Errorf("%d round trips noted, want 3 (one a block): %v", len(m.got), m.got)
	}
	if rtt, ok := m.take(t0.Add(time.Second)); !ok || !near(rtt, 70*time.Millisecond) {
		t.Errorf("take = %v %v, want the median 70 ms", rtt, ok)
	}
	// Nothing reported since: the latest (70 ms) while fresh, then none.
	if rtt, ok := m.take(t0.Add(time.Second + rttFresh/2)); !ok || !near(rtt, 70*time.Millisecond) {
		t.Errorf("take with no new report = %v %v, want the latest, 70 ms", rtt, ok)
	}
	if rtt, ok := m.take(t0.Add(time.Second + rttFresh)); ok {
		t.Errorf("take %v after the last report = %v, want none", rttFresh+500*time.Millisecond, rtt)
	}
	// A block from a clock not ours (arrival before LSR + DLSR) gives none.
	m.report(block(4, 10*time.Millisecond, 20*time.Millisecond))
	if len(m.got) != 0 {
		t.Errorf("a negative round trip noted: %v", m.got)
	}

	// Into an uplink: ICE's stays when there is none, else the media's.
	ice := Uplink{RTTMs: 39, RTTFrom: RTTFromICE}
	up := ice
	if m.into(&up, t0.Add(time.Minute)) || up != ice {
		t.Errorf("with no report: %+v, want ICE's %+v", up, ice)
	}
	m.report(block(1, 2*time.Second, 1960*time.Millisecond))
	if !m.into(&up, t0.Add(3*time.Second)) || up.RTTMs != 40 || up.RTTFrom != RTTFromReports {
		t.Errorf("with a report of 40 ms: %+v, want 40 ms from %q", up, RTTFromReports)
	}
}
