package clock

import (
	"sync"
	"time"
)

// Sender maps one sender's RTP times onto the wall clock through its RTCP
// sender reports (RFC 3550 §6.4.1), so that its streams — a guest's
// camera and mic — land on our timeline where the sender captured them,
// not where the network happened to deliver them.
//
// Two steps. Per SSRC, the latest report pairs an RTP time with the
// sender's NTP time; every stream of one sender reports on the same NTP
// clock, which is what lines up its audio and video. Then one offset
// per sender takes its NTP clock to ours: the smallest (arrival − NTP)
// among the reports of the last senderWindow. The smallest, because a
// report is only ever late (queued, retransmitted, scheduled), never
// early; a window, so a sender's clock drifting against ours is
// followed.
//
// A Sender is safe for concurrent use: each track's RTCP reader reports,
// each track's media goroutine maps. mu guards everything.
type Sender struct {
	mu      sync.Mutex
	streams map[uint32]report // by SSRC: its latest report
	offsets map[uint32]uint32 // by SSRC: what the RTP times Wall is given are ahead (Renumbered)
	ref     time.Time         // the first report's arrival: lags are from it
	refNTP  time.Duration     // and its NTP time
	lags    []lag             // arrival order, within senderWindow
	lag     time.Duration     // the least of lags: the offset
}

type report struct {
	rtp uint32
	ntp time.Duration
}

// lag is how late one report arrived, relative to the first.
type lag struct {
	at time.Time
	d  time.Duration
}

const (
	// senderWindow is how far back the offset looks: long enough to hold
	// a few reports that came without queueing (Chromium sends one every
	// second or so per video stream, every few seconds per audio stream),
	// short enough that clock drift of 100 ppm moves it 3 ms at most.
	senderWindow = 30 * time.Second
	// senderLags bounds the window however fast a sender reports.
	senderLags = 128
	// senderJump is a change of offset taken as the sender's clock being
	// set, not as queueing: the window starts over from that report.
	senderJump = time.Second
)

// NewSender returns a Sender that has had no report yet.
func NewSender() *Sender {
	return &Sender{streams: map[uint32]report{}, offsets: map[uint32]uint32{}}
}

// Renumbered says that from now on the RTP times of stream ssrc that
// Wall is given are the sender's plus off: a simulcast layer forwarded
// with its timestamps carried on from the layer before (the studio's
// switcher), whose own sender reports still speak of its own times.
func (s *Sender) Renumbered(ssrc, off uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offsets[ssrc] = off
}

// Report notes a sender report of stream ssrc — NTP time ntp (64-bit
// fixed point, RFC 3550) is RTP time rtp — that arrived at arrived. The
// same report again is ignored: SRTP hands a compound packet to the
// stream of every SSRC it names, so a reader of every stream reads a
// report with report blocks (on what the sender receives) once per
// stream, and the copies would crowd the window's senderLags.
func (s *Sender) Report(ssrc uint32, ntp uint64, rtp uint32, arrived time.Time) {
	n := NTP(ntp)
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.streams[ssrc]; ok && r.ntp == n && r.rtp == rtp {
		return
	}
	s.streams[ssrc] = report{rtp: rtp, ntp: n}
	if s.ref.IsZero() {
		s.ref, s.refNTP = arrived, n
	}
	d := arrived.Sub(s.ref) - (n - s.refNTP)
	if len(s.lags) > 0 && (d < s.lag-senderJump || d > s.lag+senderJump) {
		s.lags = s.lags[:0] // the sender's clock was set
	}
	s.lags = append(s.lags, lag{at: arrived, d: d})
	drop := 0
	for drop < len(s.lags)-1 && (arrived.Sub(s.lags[drop].at) > senderWindow || len(s.lags)-drop > senderLags) {
		drop++
	}
	s.lags = append(s.lags[:0], s.lags[drop:]...)
	s.lag = s.lags[0].d
	for _, l := range s.lags[1:] {
		s.lag = min(s.lag, l.d)
	}
}

// Wall is the instant on our wall clock at which stream ssrc's RTP time
// ts (clock rate rate) was captured; false before its first report.
// RTP time wraps: ts is taken as the nearest to the report's, within
// half the 32-bit range (6 h at 90 kHz).
func (s *Sender) Wall(ssrc, ts, rate uint32) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.streams[ssrc]
	if !ok || rate == 0 {
		return time.Time{}, false
	}
	ts -= s.offsets[ssrc]
	ntp := r.ntp + time.Duration(divRound(int64(int32(ts-r.rtp))*int64(time.Second), int64(rate)))
	return s.wall(ntp), true
}

// WallOfNTP is the instant on our wall clock at which the sender's NTP
// clock read ntp (a duration since 1900, as NTP returns); false before
// its first report. A browser's page reads the same clock as its
// WebRTC sender (Date.now and libwebrtc's NTP time are both the system's
// wall clock), so what the page says it did at an instant of its own
// lands on our timeline as that sender's media does (issue #11: a
// guest's own recording placed like their ISO file).
func (s *Sender) WallOfNTP(ntp time.Duration) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ref.IsZero() {
		return time.Time{}, false
	}
	return s.wall(ntp), true
}

// wall maps the sender's NTP time ntp onto our wall clock. Under s.mu,
// after a report.
func (s *Sender) wall(ntp time.Duration) time.Time { return s.ref.Add(ntp - s.refNTP + s.lag) }

// ntpUnix is the Unix epoch on NTP's timeline: 70 years (17 of them
// leap) after 1900.
const ntpUnix = 2208988800 * time.Second

// NTPOfUnixMilli is the NTP time (a duration since 1900, as NTP returns)
// of ms milliseconds since the Unix epoch: a JavaScript Date.now().
func NTPOfUnixMilli(ms int64) time.Duration { return ntpUnix + time.Duration(ms)*time.Millisecond }

// NTP converts a 64-bit NTP timestamp (seconds since 1900 and a binary
// fraction) to a duration since 1900, rounding to the nanosecond.
func NTP(ntp uint64) time.Duration {
	sec, frac := ntp>>32, ntp&0xffffffff
	return time.Duration(sec)*time.Second + time.Duration((frac*uint64(time.Second)+1<<31)>>32)
}
