package clock

import (
	"testing"
	"time"

	"github.com/asticode/go-astiav"
)

func TestConversions(t *testing.T) {
	for _, tc := range []struct {
		ts   int64
		tb   astiav.Rational
		want time.Duration
	}{
		{0, astiav.NewRational(1, 30), 0},
		{30, astiav.NewRational(1, 30), time.Second},
		{1, astiav.NewRational(1, 30), 33333333 * time.Nanosecond},
		{1024, astiav.NewRational(1, 48000), 21333333 * time.Nanosecond},
		{-1024, astiav.NewRational(1, 48000), -21333333 * time.Nanosecond},
		{90000, astiav.NewRational(1, 90000), time.Second},
		{3, astiav.NewRational(1001, 30000), 100100 * time.Microsecond},
		{48000 * 3600 * 24, astiav.NewRational(1, 48000), 24 * time.Hour},
	} {
		if got := Duration(tc.ts, tc.tb); got != tc.want {
			t.Errorf("Duration(%d, %s) = %v, want %v", tc.ts, tc.tb, got, tc.want)
		}
		if back := Timestamp(tc.want, tc.tb); back != tc.ts {
			t.Errorf("Timestamp(%v, %s) = %d, want %d (round trip)", tc.want, tc.tb, back, tc.ts)
		}
	}
	// Audio frames land on whole samples however long the program runs.
	tb := astiav.NewRational(1, 48000)
	for n := int64(0); n < 1_000_000; n += 977 {
		if got := Timestamp(Duration(n*1024, tb), tb); got != n*1024 {
			t.Fatalf("frame %d: sample %d became %d", n, n*1024, got)
		}
	}
}
