package studio

import (
	"log/slog"
	"testing"
	"time"
)

// TestTakeDelayMedian: a local recording is placed by the delay that held
// for most of its chunks, not by one that moved for a moment.
func TestTakeDelayMedian(t *testing.T) {
	ms := time.Millisecond
	for _, c := range []struct {
		name    string
		samples []time.Duration
		want    time.Duration
	}{
		{"none", nil, 0},
		{"steady", []time.Duration{54 * ms, 54 * ms, 54 * ms}, 54 * ms},
		{"a stall", []time.Duration{54 * ms, 54 * ms, 300 * ms, 54 * ms, 54 * ms}, 54 * ms},
		{"settled higher", []time.Duration{54 * ms, 54 * ms, 68 * ms, 68 * ms, 68 * ms}, 68 * ms},
		{"even", []time.Duration{54 * ms, 68 * ms}, 54 * ms},
	} {
		tk := &take{start: time.Second}
		for _, d := range c.samples {
			tk.sample(d)
		}
		if tk.delay != c.want || tk.placed() != time.Second+c.want {
			t.Errorf("%s: delay %s, placed %s; want %s, %s", c.name, tk.delay, tk.placed(), c.want, time.Second+c.want)
		}
	}
}

// TestTakeDelayKept: a take kept across a restart keeps its delay, so its
// placement in show.json does not move when its upload goes on.
func TestTakeDelayKept(t *testing.T) {
	dir, log := t.TempDir(), slog.New(slog.DiscardHandler)
	tk := &take{id: "0123456789abcdef", participant: "g1", name: "Ann", log: log, store: dir,
		show: &pastShow{dir: t.TempDir(), origin: time.Now(), log: log}, start: time.Second}
	tk.sample(68 * time.Millisecond)
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
