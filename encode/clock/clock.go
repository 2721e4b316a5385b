// Package clock is the studio's one media clock and the only place where
// timestamps change units. Every timestamp inside the program is a
// time.Duration since the program started; ingest converts to it (RTP,
// device capture) and each output converts from it to its own time base.
package clock

import (
	"time"

	"github.com/asticode/go-astiav"
)

// Clock is the program's start instant on the monotonic wall clock.
type Clock struct{ start time.Time }

// New starts a clock now.
func New() Clock { return Clock{start: time.Now()} }

// Now is the media time elapsed since the clock started.
func (c Clock) Now() time.Duration { return time.Since(c.start) }

// At is the wall instant of media time d, for timers.
func (c Clock) At(d time.Duration) time.Time { return c.start.Add(d) }

// Duration converts a timestamp in time base tb to media time, rounding
// to the nearest nanosecond.
func Duration(ts int64, tb astiav.Rational) time.Duration {
	num, den := int64(tb.Num()), int64(tb.Den())
	return time.Duration(divRound(ts*num*int64(time.Second), den))
}

// Timestamp converts media time to time base tb, rounding to the nearest
// unit.
func Timestamp(d time.Duration, tb astiav.Rational) int64 {
	num, den := int64(tb.Num()), int64(tb.Den())
	return divRound(int64(d)*den, num*int64(time.Second))
}

// Stamp sets an output packet's timestamps from media times, in its
// stream's time base tb: what every muxing output does at its boundary.
func Stamp(pkt *astiav.Packet, pts, dts time.Duration, tb astiav.Rational) {
	pkt.SetPts(Timestamp(pts, tb))
	pkt.SetDts(Timestamp(dts, tb))
}

// divRound divides rounding half away from zero.
func divRound(a, b int64) int64 {
	if (a >= 0) == (b >= 0) {
		return (a + b/2) / b
	}
	return (a - b/2) / b
}

// Of is the media time of wall instant t (for a sender's clock mapped
// onto ours, see Sender).
func (c Clock) Of(t time.Time) time.Duration { return t.Sub(c.start) }
