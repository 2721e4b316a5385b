package studio

import (
	"slices"
	"sync"
	"time"

	"github.com/pion/rtcp"

	"greenroom/encode/clock"
)

// A guest's round trip, as Health shows it (Uplink.RTTMs), is the one its
// media takes: the studio measures it from the reception reports the
// guest sends on what the studio sends it (the host's feed, the others'
// forwarded media), each of which echoes the studio's last sender report
// on that stream (LSR, DLSR: clock.ReportRoundTrip). The guest's browser
// sends them about every second for video, every five for audio; the
// studio sends its sender reports every second.
//
// ICE's round trip (the selected pair's CurrentRoundTripTime) was stale
// with Chromium guests in the lab, the same for up to 14 s. Pion sends
// a consent check on the selected pair every 2 s (ice's keepalive
// interval) and sets the pair's round trip only from the answers to its
// own checks (selection.go HandleSuccessResponse); the browser's checks
// (every 2.5 s) it only answers. The browser answered every check of
// ours (36 of 36 in a lab run), so the answers came; what stood still
// was pion's filing of them. Likely: our host candidates all read the
// UDP mux's one connection for the ufrag, and an answer is filed under
// the pair of whichever read it (on this box, with loopback and eth0,
// 2 of the 4 answers to the other pair's checks went to the selected
// pair). With a pion guest on loopback alone it moved every 2 s. It
// remains the fallback for a guest who receives nothing from us (no
// sender reports to echo).

// RTTFrom names where a guest's round trip comes from.
type RTTFrom string

const (
	// RTTFromReports: the guest's reception reports on what we send it.
	RTTFromReports RTTFrom = "rtcp"
	// RTTFromICE: ICE's, when the guest has reported none lately.
	RTTFromICE RTTFrom = "ice"
)

// rttFresh is how long a round trip from the reports stands when no
// report came in the last interval (a guest who receives only sound
// reports every five seconds), before ICE's takes its place.
const rttFresh = 3 * qualityInterval

// roundTrips gathers the round trips a guest's reception reports give
// (see above). mu guards the fields: the RTCP pumps of the guest's
// streams write (reports.go), the session's loop takes.
type roundTrips struct {
	mu     sync.Mutex
	got    []time.Duration // since the last take
	last   time.Duration   // the latest ever; 0 before one
	lastAt time.Time
	// seen is each reported SSRC's last block (LSR<<32 | DLSR) since
	// the last take: pion hands a compound packet to the reader of
	// every stream it names, so its blocks come once per stream.
	seen map[uint32]uint64
}

// report notes the round trips the reception reports rs that came at
// give.
func (m *roundTrips) report(rs []rtcp.ReceptionReport, at time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range rs {
		rtt, ok := clock.ReportRoundTrip(r.LastSenderReport, r.Delay, at)
		key := uint64(r.LastSenderReport)<<32 | uint64(r.Delay)
		if !ok || m.seen[r.SSRC] == key {
			continue
		}
		if m.seen == nil {
			m.seen = make(map[uint32]uint64)
		}
		m.seen[r.SSRC] = key
		m.got = append(m.got, rtt)
		m.last, m.lastAt = rtt, at
	}
}

// take is the round trip as of now: the median of those reported since
// the last take, or else the latest if younger than rttFresh; false if
// neither.
func (m *roundTrips) take(now time.Time) (time.Duration, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	got := m.got
	m.got, m.seen = nil, nil
	if len(got) > 0 {
		slices.Sort(got)
		return got[len(got)/2], true
	}
	if m.lastAt.IsZero() || now.Sub(m.lastAt) > rttFresh {
		return 0, false
	}
	return m.last, true
}

// into puts the round trip of the guest's media in up, in place of
// ICE's, when there is one as of now (take), and says whether there was.
func (m *roundTrips) into(up *Uplink, now time.Time) bool {
	rtt, ok := m.take(now)
	if ok {
		up.RTTMs, up.RTTFrom = int((rtt+time.Millisecond/2)/time.Millisecond), RTTFromReports
	}
	return ok
}
