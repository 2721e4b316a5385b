package studio_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"

	"greenroom/studio"
	"greenroom/studio/studiotest"
)

// The host mutes their own mic: the guests get Opus silence from them
// (packets still flowing, so nothing stalls), and their sound again on
// unmute.
func TestHostMutesThemselves(t *testing.T) {
	s, _, _ := startShow(t, studio.ProgramConfig{})
	var sizes [2]atomic.Int64 // host audio packets: silent (≤ 3 bytes), with sound
	ann := join(t, s, "Ann", studiotest.Options{OnRTP: func(from, kind string, pkt *rtp.Packet) {
		if from == studio.HostID && kind == "audio" {
			if len(pkt.Payload) <= 3 {
				sizes[0].Add(1)
			} else {
				sizes[1].Add(1)
			}
		}
	}})
	eventually(t, "Ann to hear the host", func() bool { return sizes[1].Load() > 20 })
	if err := s.SetMuted(studio.HostID, true); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // what was on its way
	silent, loud := sizes[0].Load(), sizes[1].Load()
	time.Sleep(time.Second)
	if got := sizes[1].Load() - loud; got > 0 {
		t.Errorf("Ann got %d packets of the muted host's sound", got)
	}
	if got := sizes[0].Load() - silent; got < 40 {
		t.Errorf("Ann got %d silent packets in a second from the muted host, want ~50", got)
	}
	if p := find(s, studio.HostID); !p.Muted {
		t.Errorf("the host's state says not muted: %+v", p)
	}
	if err := s.SetMuted(studio.HostID, false); err != nil {
		t.Fatal(err)
	}
	loud = sizes[1].Load()
	eventually(t, "Ann to hear the host again", func() bool { return sizes[1].Load() > loud+20 })
	_ = ann
}
