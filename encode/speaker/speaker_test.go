package speaker

import (
	"sync"
	"testing"
	"time"

	"github.com/gen2brain/malgo"

	"greenroom/encode/mixer"
)

// On miniaudio's null device (it pulls on a clock of its own, as a sound
// card does): silence until the queue holds its latency, then the show's
// sound as written, then silence and an underrun when it runs dry; a
// writer far ahead is brought back to the latency.
func TestSpeakerPlaysTheMonitor(t *testing.T) {
	s, err := Open(Config{Backends: []malgo.Backend{BackendNull}, Latency: 40 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var mu sync.Mutex
	var out []float32
	s.mu.Lock()
	s.tap = func(samples []float32) {
		mu.Lock()
		out = append(out, samples...)
		mu.Unlock()
	}
	s.mu.Unlock()
	time.Sleep(50 * time.Millisecond) // the device plays silence meanwhile
	block := make([]float32, 1024*mixer.Channels)
	for i := range block {
		block[i] = 0.25
	}
	for range 5 { // 107 ms
		s.Write(block)
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.Stats().Underruns == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the queue never ran dry: %+v", s.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
	st := s.Stats()
	t.Logf("%+v", st)
	if st.Played != 5*1024 {
		t.Errorf("played %d frames, want the %d written", st.Played, 5*1024)
	}
	mu.Lock()
	var sound, lead int
	for i, v := range out {
		switch {
		case v == 0.25:
			sound++
		case v != 0:
			t.Fatalf("the device was given %v at sample %d: neither the show's sound nor silence", v, i)
		case sound == 0:
			lead++
		}
	}
	mu.Unlock()
	if sound != 5*1024*mixer.Channels || lead == 0 {
		t.Errorf("the device played %d samples of sound after %d of silence, want %d after some", sound, lead, 5*1024*mixer.Channels)
	}

	// Far ahead: back to the latency at once.
	for range 20 {
		s.Write(block)
	}
	if st := s.Stats(); st.Dropped == 0 {
		t.Errorf("20 blocks written at once dropped nothing: %+v", st)
	}
	s.mu.Lock()
	queued := s.fifo.Len()
	s.mu.Unlock()
	if queued > s.maxQueue {
		t.Errorf("%d frames queued, over the %d allowed", queued, s.maxQueue)
	}
	if err := s.Close(); err != nil {
		t.Error(err)
	}
	if err := s.Close(); err != nil {
		t.Error("twice:", err)
	}
}
