package clock

import "time"

// ReportRoundTrip is the round trip a reception report that came at
// gives (RFC 3550 §6.4.1): its arrival less lsr, the middle 32 bits of
// the NTP time of the last sender report the reporter had from us, and
// less dlsr, how long it held that report, all in 1/65536 s and modulo
// 2^32 as the fields are. False when it gives none: no sender report
// reached the reporter yet (lsr 0), or the difference is negative (the
// sender reports' clock is not this machine's).
func ReportRoundTrip(lsr, dlsr uint32, at time.Time) (time.Duration, bool) {
	if lsr == 0 {
		return 0, false
	}
	d := NTPMiddle(at) - lsr - dlsr
	if d >= 1<<31 {
		return 0, false
	}
	return time.Duration(d) * time.Second / 65536, true
}

// NTPMiddle is the middle 32 bits of t's NTP timestamp, as an LSR: 16 of
// the seconds since 1900, 16 of the fraction.
func NTPMiddle(t time.Time) uint32 {
	secs := uint64(t.Unix()) + uint64(ntpUnix/time.Second)
	frac := uint64(t.Nanosecond()) << 32 / uint64(time.Second)
	return uint32(secs<<16 | frac>>16)
}
