package studio

import (
	"log/slog"
	"testing"
	"time"

	"greenroom/encode/clock"
)

// TestTakeDelayMedianHeld: a local recording is placed by the median
// over its time on the show of the picture delay (its file's, not as its
// chunks came: those pile up after a stall and at the end), not by one
// that moved for a moment.
func TestTakeDelayMedianHeld(t *testing.T) {
	ms, s := time.Millisecond, time.Second
	for _, c := range []struct {
		name     string
		changes  []delayAt
		from, to time.Duration
		want     time.Duration
	}{
		{"steady", []delayAt{{0, 54 * ms}}, 0, 10 * s, 54 * ms},
		{"a stall", []delayAt{{0, 54 * ms}, {4 * s, 300 * ms}, {5 * s, 54 * ms}}, 0, 10 * s, 54 * ms},
		{"settled higher for most of it", []delayAt{{0, 54 * ms}, {3 * s, 68 * ms}}, 0, 10 * s, 68 * ms},
		{"higher for most of the take, lower at its end", []delayAt{{0, 170 * ms}, {11 * s, 10 * ms}, {16 * s, 60 * ms}}, 500 * ms, 20 * s, 170 * ms},
		// The longest-held is 10 ms (8 s) but 11 s are above it.
		{"the median, not the longest-held", []delayAt{{0, 10 * ms}, {8 * s, 40 * ms}, {13 * s, 80 * ms}}, 0, 19 * s, 40 * ms},
		{"only the take's time counts", []delayAt{{0, 54 * ms}, {8 * s, 68 * ms}}, 7 * s, 10 * s, 68 * ms},
		{"even: the smaller", []delayAt{{0, 68 * ms}, {5 * s, 54 * ms}}, 0, 10 * s, 54 * ms},
		{"before the take's time: the latest", []delayAt{{0, 54 * ms}, {1 * s, 68 * ms}}, 3 * s, 2 * s, 68 * ms},
	} {
		if got := medianHeld(c.changes, c.from, c.to); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}

// TestTakeDelayKept: a take kept across a restart keeps its delay, so its
// placement in show.json does not move when its upload goes on.
func TestTakeDelayKept(t *testing.T) {
	dir, log := t.TempDir(), slog.New(slog.DiscardHandler)
	tk := &take{id: "0123456789abcdef", participant: "g1", name: "Ann", log: log, store: dir,
		show: &pastShow{dir: t.TempDir(), origin: time.Now(), log: log}, start: time.Second}
	tk.delay = 68 * time.Millisecond
	if err := tk.save(); err != nil {
		t.Fatal(err)
	}
	back := newUploads(dir, log).takes[tk.id]
	if back == nil {
		t.Fatal("the take was not kept")
	}
	if got := back.placed(); got != time.Second+68*time.Millisecond {
		t.Errorf("restored, the take is placed at %s, want 1.068s", got)
	}
}

// senderShow is a live show whose guest's sender has reported (reported)
// or not: their clock's instant ntp is at show time ntp − clockAt.
type senderShow struct {
	dir      string
	at       time.Duration // the show time now
	clockAt  time.Duration // the sender's NTP time at the show's zero
	reported bool
	files    []showFile
}

func (s *senderShow) folder() string     { return s.dir }
func (s *senderShow) now() time.Duration { return s.at }
func (s *senderShow) pictureDelay(string, time.Duration, time.Duration) (time.Duration, bool) {
	return 50 * time.Millisecond, true
}
func (s *senderShow) setLocal(_ string, f showFile) { s.files = append(s.files, f) }
func (s *senderShow) senderTime(_ string, ntp time.Duration) (time.Duration, bool) {
	return ntp - s.clockAt, s.reported
}

// TestTakePlacedBySender: a take is placed by the page's start on its own
// clock, through the guest's sender reports, once there is one (at
// whichever chunk); by the first chunk's arrival minus since before, for
// a page that sent no start of its own, and where the reports put the
// start where chunk 0 could not have been sent from.
func TestTakePlacedBySender(t *testing.T) {
	ms := time.Millisecond
	page := int64(1_700_000_000_000)               // the page's Date.now at its recorder's start
	clockAt := clock.NTPOfUnixMilli(page) - 300*ms // the show began 300 ms before it
	for _, c := range []struct {
		name     string
		wall     time.Duration
		reported []bool // at chunks 0, 1
		want     []time.Duration
	}{
		// Chunk 0 arrives at 1.5 s, 1 s after the start by the page's
		// count (since), the request 200 ms on its way.
		{"by the reports", clock.NTPOfUnixMilli(page), []bool{true, true}, []time.Duration{350 * ms, 350 * ms}},
		{"the reports come after chunk 0", clock.NTPOfUnixMilli(page), []bool{false, true}, []time.Duration{550 * ms, 350 * ms}},
		{"a page that sends no start", 0, []bool{true, true}, []time.Duration{550 * ms, 550 * ms}},
		{"reports not on the page's clock", clock.NTPOfUnixMilli(page + 3_600_000), []bool{true, true}, []time.Duration{550 * ms, 550 * ms}},
	} {
		show := &senderShow{dir: t.TempDir(), at: 1500 * ms, clockAt: clockAt}
		tk := &take{id: "t", participant: "g1", name: "Ann", log: slog.New(slog.DiscardHandler), show: show}
		for n, reported := range c.reported {
			show.reported = reported
			if _, err := tk.write(n, n+1, false, time.Second, c.wall, []byte("chunk")); err != nil {
				t.Fatal(err)
			}
			show.at += time.Second
			if got := show.files[len(show.files)-1].StartMS; got != c.want[n].Milliseconds() {
				t.Errorf("%s: after chunk %d, start_ms %d, want %d", c.name, n, got, c.want[n].Milliseconds())
			}
		}
	}
}
