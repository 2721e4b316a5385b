package stream

import (
	"testing"
	"time"
)

func vid(key bool) *Packet { return &Packet{Kind: Video, Key: key, Data: make([]byte, 10)} }
func aud() *Packet         { return &Packet{Kind: Audio, Key: true, Data: make([]byte, 10)} }

func TestQueueStartsAtKeyframe(t *testing.T) {
	q := NewQueue(8)
	if q.Push(vid(false)) {
		t.Fatal("a delta frame before any keyframe was accepted")
	}
	if !q.Push(aud()) {
		t.Fatal("audio before the first keyframe was refused")
	}
	if !q.Push(vid(true)) || !q.Push(vid(false)) {
		t.Fatal("keyframe and following delta frame refused")
	}
	if q.Len() != 3 || q.Dropped() != 0 {
		t.Fatalf("len %d dropped %d, want 3 and 0: joining mid-GOP loses nothing", q.Len(), q.Dropped())
	}
}

func TestQueueFullDropsToNextKeyframe(t *testing.T) {
	for _, tc := range []struct {
		name        string
		overflow    *Packet
		wantKept    bool
		thenDelta   bool // is a following delta frame accepted?
		wantDropped int64
	}{
		{"delta frame overflows", vid(false), false, false, 4 + 1 + 1},
		{"keyframe overflows", vid(true), true, true, 4},
		{"audio overflows", aud(), true, false, 4 + 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := NewQueue(4)
			q.Push(vid(true))
			for range 3 {
				q.Push(vid(false))
			}
			if got := q.Push(tc.overflow); got != tc.wantKept {
				t.Fatalf("overflow packet kept=%v, want %v", got, tc.wantKept)
			}
			if got := q.Push(vid(false)); got != tc.thenDelta {
				t.Fatalf("delta after overflow kept=%v, want %v", got, tc.thenDelta)
			}
			if q.Dropped() != tc.wantDropped {
				t.Fatalf("dropped %d, want %d", q.Dropped(), tc.wantDropped)
			}
			if !q.Push(vid(true)) {
				t.Fatal("keyframe after overflow refused")
			}
		})
	}
}

func TestQueuePopOrderAndClose(t *testing.T) {
	q := NewQueue(8)
	a, b, c := vid(true), aud(), vid(false)
	for _, p := range []*Packet{a, b, c} {
		q.Push(p)
	}
	select {
	case <-q.Ready():
	default:
		t.Fatal("Ready not signalled after Push")
	}
	if q.Pop() != a || q.Pop() != b {
		t.Fatal("packets popped out of order")
	}
	rest := q.Close()
	if len(rest) != 1 || rest[0] != c {
		t.Fatalf("Close returned %v, want the last packet", rest)
	}
	if q.Push(vid(true)) {
		t.Fatal("Push after Close accepted a packet")
	}
	if q.Pop() != nil {
		t.Fatal("Pop after Close returned a packet")
	}
}

func TestMeterRates(t *testing.T) {
	now := time.Unix(0, 0)
	m := NewMeter(2 * time.Second)
	m.now = func() time.Time { return now }
	for i := range 60 { // 30 fps for 2 s, 1000 bytes each, plus 2 audio packets
		now = time.Unix(0, 0).Add(time.Duration(i) * time.Second / 30)
		m.Add(&Packet{Kind: Video, Data: make([]byte, 1000)})
	}
	m.Add(&Packet{Kind: Audio, Data: make([]byte, 500)})
	bps, fps, n := m.Rates()
	if fps < 29 || fps > 31 {
		t.Errorf("fps %.1f, want 30", fps)
	}
	if want := float64(60*1000*8+500*8) / 2; bps < want*0.95 || bps > want*1.05 {
		t.Errorf("bit rate %.0f, want about %.0f", bps, want)
	}
	if n != 61 {
		t.Errorf("written %d, want 61", n)
	}
	now = now.Add(5 * time.Second)
	if bps, fps, _ := m.Rates(); bps != 0 || fps != 0 {
		t.Errorf("after 5 s idle: %.0f b/s %.1f fps, want 0", bps, fps)
	}
}
