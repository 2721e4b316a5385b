//go:build unix

package studio_test

import (
	"image"
	"testing"
	"time"

	"github.com/pion/rtp"

	"greenroom/encode"
	"greenroom/studio"
	"greenroom/studio/studiotest"
)

// A headless Chromium guest sends its camera (1280x720) in three layers,
// and the studio reads all three; the program decodes the top one while
// the guest fills the picture, and the middle one (640x360) once a second
// guest on stage halves their tile (a 2-grid at 720p: 352 px tall), and
// the bottom one (320x180) back in the green room; a pion guest gets the
// top one.
func TestChromiumGuestSendsSimulcast(t *testing.T) {
	checkLeaks(t)
	// Chromium's own fake camera: 1280x720 as the page asks.
	s, _, pipe, _, id := chromiumGuestInProgram(t, encode.Config{Width: 1280, Height: 720, FPS: 30}, studio.ProgramConfig{}, "Ann", nil)
	// The browser starts the layers as its bandwidth estimate grows: the
	// top one (about 1.7 Mb/s) last.
	start := time.Now()
	within(t, 45*time.Second, "the studio to read Ann's three layers", func() bool {
		ls := find(s, id).Layers
		return len(ls) == 3 && ls[0].Height == 720 && ls[1].Height == 360 && ls[2].Height == 180
	})
	t.Logf("three layers after %v: %v", time.Since(start).Round(100*time.Millisecond), find(s, id).Layers)
	within(t, 20*time.Second, "the program to decode Ann at 1280x720", func() bool {
		return decodedSize(pipe, id) == image.Pt(1280, 720) && find(s, id).ProgramLayer == "h"
	})

	var bobSees stream
	bob := join(t, s, "Bob", studiotest.Options{AudioOgg: audioOgg, OnRTP: func(from, kind string, pkt *rtp.Packet) {
		if from == id && kind == "video" {
			bobSees.see(pkt)
		}
	}})
	if err := s.Stage(bob.ID, true); err != nil {
		t.Fatal(err)
	}
	switched := time.Now()
	within(t, 20*time.Second, "the program to decode Ann at 640x360 in a 2-grid", func() bool {
		return decodedSize(pipe, id) == image.Pt(640, 360) && find(s, id).ProgramLayer == "m"
	})
	t.Logf("switched to the middle layer %v after Bob came on stage; Ann: %v, the program decodes %q",
		time.Since(switched).Round(10*time.Millisecond), find(s, id).Layers, find(s, id).ProgramLayer)
	within(t, 10*time.Second, "the layers' rates to be measured", func() bool {
		for _, l := range find(s, id).Layers {
			if l.Kbps == 0 {
				return false
			}
		}
		return true
	})
	t.Logf("Ann's layers: %v", find(s, id).Layers)
	if tile := pipe.Input(id).Video.Tile(); tile.Y < 300 || tile.Y > 360 {
		t.Errorf("Ann's tile is %v", tile)
	}
	// Bob, a pion guest who says nothing of his downlink, gets her top
	// layer.
	within(t, 10*time.Second, "Bob to get Ann's 1280x720 keyframes", func() bool {
		w, h, n, _ := bobSees.size()
		return w == 1280 && h == 720 && n >= 1 && find(s, bob.ID).Forwarded[id] == "h"
	})

	// Back in the green room Ann is only the host's thumbnail: the
	// program decodes her smallest layer.
	if err := s.Stage(id, false); err != nil {
		t.Fatal(err)
	}
	within(t, 20*time.Second, "the program to decode Ann at 320x180 backstage", func() bool {
		return decodedSize(pipe, id) == image.Pt(320, 180) && find(s, id).ProgramLayer == "l"
	})
}

// within is eventually with a deadline of d.
func within(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
