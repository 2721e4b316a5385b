package studio_test

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"greenroom/encode/scene"
	"greenroom/studio"
	"greenroom/studio/studiotest"
)

// toneOgg writes a pion guest's mic: a 440 Hz tone at −10 dBFS while on
// (an ffmpeg expression of t, seconds from the start of sending) and
// digital silence otherwise, Opus in 20 ms pages, 12 s long.
func toneOgg(t *testing.T, name, on string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name+".ogg")
	cmd := exec.Command("ffmpeg", "-v", "error", "-y", "-f", "lavfi",
		"-i", fmt.Sprintf("aevalsrc='if(%s\\,0.3*sin(2*PI*440*t)\\,0)':s=48000:d=12", on),
		"-c:a", "libopus", "-frame_duration", "20", "-page_duration", "20000", path)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	return path
}

// TestSpeakingAndAutoSpotlight: two pion guests on stage in the spotlight
// layout with auto-spotlight on. Ann speaks 3 s; Bob coughs (0.3 s), then
// speaks 3 s after she has stopped. Each one's speaking flag goes on and
// off once per utterance, never in between (Bob's cough is one short
// utterance); the host's test pattern, 100 ms beeps, never speaks. The
// main tile goes to Ann once she has spoken SpotlightAfter, stays hers
// through Bob's cough and after she stops, and goes to Bob once he has
// spoken a second: two moves, no flapping.
func TestSpeakingAndAutoSpotlight(t *testing.T) {
	annOgg := toneOgg(t, "ann", "between(t\\,0.5\\,3.5)")
	bobOgg := toneOgg(t, "bob", "between(t\\,1.5\\,1.8)+between(t\\,5\\,8)")
	s, prog, _ := startShowAt(t, smallShow, studio.ProgramConfig{})
	if err := prog.SetLayout(scene.Spotlight); err != nil {
		t.Fatal(err)
	}
	if code, body := api(t, s, "POST", "/api/autospotlight", "", `{}`); code != 400 {
		t.Errorf("POST /api/autospotlight {}: %d %v, want 400", code, body)
	}
	if code, body := api(t, s, "POST", "/api/autospotlight", "", `{"on":true}`); code != 200 || body["autoSpotlight"] != true {
		t.Fatalf("POST /api/autospotlight: %d %v", code, body)
	}
	events, cancel := s.Subscribe()
	defer cancel()
	ann := join(t, s, "Ann", studiotest.Options{AudioOgg: annOgg})
	bob := join(t, s, "Bob", studiotest.Options{AudioOgg: bobOgg})
	for _, c := range []*studiotest.Client{ann, bob} {
		if err := s.Stage(c.ID, true); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	flags := map[string][]bool{} // each one's speaking flag, as its events said
	var mains []string           // the main tile, as each spotlight event left it
	annSpoke := false            // ann's flag in /api/state when the tile went to her
	deadline := time.After(20 * time.Second)
	for len(flags[bob.ID]) < 4 {
		select {
		case ev := <-events:
			switch ev.Kind {
			case studio.EventSpeaking:
				id := ev.Participant.ID
				flags[id] = append(flags[id], ev.Participant.Speaking)
				t.Logf("%5.2f s: %s speaking %v", time.Since(start).Seconds(), ev.Participant.Name, ev.Participant.Speaking)
			case studio.EventSpotlight:
				main := prog.Scene().Main
				mains = append(mains, main)
				t.Logf("%5.2f s: the main tile to %q", time.Since(start).Seconds(), main)
				if main == ann.ID {
					_, st := api(t, s, "GET", "/api/state", "", "")
					for _, p := range st["participants"].([]any) {
						p := p.(map[string]any)
						annSpoke = annSpoke || (p["id"] == ann.ID && p["speaking"] == true)
					}
				}
			}
		case <-deadline:
			t.Fatalf("Bob's speaking flag changed %d times in 20 s, want 4 (cough, words); flags %v, main tile %v", len(flags[bob.ID]), flags, mains)
		}
	}
	onOff := func(n int) []bool {
		var want []bool
		for range n {
			want = append(want, true, false)
		}
		return want
	}
	if got := flags[ann.ID]; !slices.Equal(got, onOff(1)) {
		t.Errorf("Ann's speaking flag went %v, want on and off once", got)
	}
	if got := flags[bob.ID]; !slices.Equal(got, onOff(2)) {
		t.Errorf("Bob's speaking flag went %v, want on and off twice (cough, words)", got)
	}
	if got := flags[studio.HostID]; len(got) > 0 {
		t.Errorf("the host's 100 ms beeps made them speak: %v", got)
	}
	if !slices.Equal(mains, []string{ann.ID, bob.ID}) {
		t.Errorf("the main tile went to %v, want Ann (%s) then Bob (%s)", mains, ann.ID, bob.ID)
	}
	if !annSpoke {
		t.Error("/api/state did not say Ann was speaking when the tile went to her")
	}
	if code, body := api(t, s, "POST", "/api/autospotlight", "", `{"on":false}`); code != 200 || body["autoSpotlight"] != false {
		t.Errorf("POST /api/autospotlight off: %d %v", code, body)
	}
}
