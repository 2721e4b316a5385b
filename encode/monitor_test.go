package encode_test

import (
	"math"
	"testing"
	"time"

	"greenroom/encode"
	"greenroom/encode/mixer"
)

// The monitor (the host's speakers) hears the inputs it is told to, in
// the program or not (a guest in the green room), never a muted one. Each input plays a constant of its own, so the monitor's level
// says who it heard: host 0.1, Ann 0.2, Bob (in the green room) 0.4, Cat
// (muted) 0.8 — each set of them sums to a different value.
func TestMonitorHearsTheGuests(t *testing.T) {
	p, err := encode.New(encode.Config{Width: 320, Height: 180, FPS: 30})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	host, ann := p.AddInput("host"), p.AddInput("ann")
	bob, cat := p.AddHiddenInput("bob"), p.AddInput("cat")
	host.SetMonitored(false)
	cat.SetMuted(true)
	inputs := []*encode.Input{host, ann, bob, cat}
	levels := []float32{0.1, 0.2, 0.4, 0.8}

	heard := make(chan float32, 256)
	p.SetMonitor(func(stereo []float32) {
		select {
		case heard <- stereo[len(stereo)/2]: // mid-block: all playing or none
		default:
		}
	})
	// listen feeds each input 300 ms of its constant, then says what the
	// monitor played most often, beside silence, over the next 400 ms.
	listen := func() float32 {
		for len(heard) > 0 {
			<-heard
		}
		for i, in := range inputs {
			pcm := make([]float32, 48000*3/10*mixer.Channels)
			for j := range pcm {
				pcm[j] = levels[i]
			}
			if err := in.WriteAudio(pcm, 48000, mixer.Channels); err != nil {
				t.Fatal(err)
			}
		}
		count := map[float32]int{}
		for end := time.After(400 * time.Millisecond); ; {
			select {
			case v := <-heard:
				if v != 0 {
					count[float32(math.Round(float64(v)*100)/100)]++
				}
				continue
			case <-end:
			}
			break
		}
		var most float32
		for v, n := range count {
			if n > count[most] {
				most = v
			}
		}
		t.Logf("the monitor played %v", count)
		return most
	}
	if got := listen(); got != 0.6 {
		t.Errorf("the monitor played %v, want 0.6 (Ann and Bob: not the host, not muted Cat)", got)
	}
	ann.SetMonitored(false) // Bob on solo
	if got := listen(); got != 0.4 {
		t.Errorf("with Ann unmonitored the monitor played %v, want 0.4 (Bob alone)", got)
	}
	p.SetMonitor(nil)
	for len(heard) > 0 {
		<-heard
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(heard); n > 1 {
		t.Errorf("the monitor was called %d times after SetMonitor(nil)", n)
	}
}
