package studio_test

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"greenroom/encode/mediatest"
	"greenroom/studio"
)

// The host sets a person's volume through the control API: it is in the
// state and an event, and the program's mix takes it; "-inf" is off; a
// volume out of range is refused in words. /api/state carries the
// program's R128 meters.
func TestVolumeAndLoudness(t *testing.T) {
	s, _, pipe := startShowAt(t, smallShow, studio.ProgramConfig{})
	events, cancel := s.Subscribe()
	defer cancel()
	gain := func() float32 { return pipe.Input(studio.HostID).Audio.Gain() }

	code, out := api(t, s, "POST", "/api/volume", "", `{"id":"host","db":-6}`)
	if code != 200 {
		t.Fatalf("volume: %d %v", code, out)
	}
	if v := find(s, studio.HostID).Volume; v != -6 {
		t.Errorf("state says volume %v, want -6 dB", v)
	}
	if g := gain(); math.Abs(float64(g)-0.501) > 0.001 {
		t.Errorf("the host's gain in the mix is %.3f, want 0.501 (−6 dB)", g)
	}
	select {
	case ev := <-events:
		if ev.Kind != studio.EventVolume || ev.Participant.ID != studio.HostID || ev.Participant.Volume != -6 {
			t.Errorf("event %+v, want the host's volume at -6", ev)
		}
	case <-time.After(time.Second):
		t.Error("no event for the volume")
	}
	if code, out = api(t, s, "POST", "/api/volume", "", `{"id":"host","db":"-inf"}`); code != 200 || gain() != 0 {
		t.Fatalf("volume off: %d %v, gain %v", code, out, gain())
	}
	if got := fmt.Sprint(out["participants"].([]any)[0].(map[string]any)["volume"]); got != "-inf" {
		t.Errorf("an off volume reads %q in /api/state, want \"-inf\"", got)
	}
	for _, c := range []struct{ body, want string }{
		{`{"id":"host","db":12.5}`, "400 a volume is -inf (off) or -60 to +12 dB"},
		{`{"id":"host","db":-61}`, "400 a volume is -inf"},
		{`{"id":"host","db":"loud"}`, "400 request body is not the expected JSON"},
		{`{"id":"host"}`, `400 volume needs {"id": "...", "db": -6}`},
		{`{"id":"nobody","db":0}`, "404 no such participant"},
		{`{"id":"host","db":0,"pad":"` + strings.Repeat("x", 5000) + `"}`, "413 request body over 4096 bytes"},
	} {
		code, out := api(t, s, "POST", "/api/volume", "", c.body)
		if got := fmt.Sprint(code, " ", out["error"]); !strings.HasPrefix(got, c.want[:3]) || !strings.Contains(got, c.want[4:]) {
			t.Errorf("volume %.60s: %s, want %s", c.body, got, c.want)
		}
	}
	if g := gain(); g != 0 {
		t.Errorf("a refused volume changed the gain to %v", g)
	}

	// The test pattern's beep (−6 dBFS, 100 ms a second) back at 0 dB:
	// the meters in /api/state show it.
	if err := s.SetVolume(studio.HostID, 0); err != nil {
		t.Fatal(err)
	}
	var l map[string]any
	eventually(t, "the program's loudness in /api/state", func() bool {
		_, st := api(t, s, "GET", "/api/state", "", "")
		l, _ = st["loudness"].(map[string]any)
		tp, _ := l["truePeak"].(float64)
		i, _ := l["integrated"].(float64)
		return tp > -7 && i > -40
	})
	t.Logf("/api/state loudness: %v", l)
	if tp := l["truePeak"].(float64); tp > -5 {
		t.Errorf("true peak %.1f dBTP for a −6 dBFS beep", tp)
	}
}

// The host chooses the program's loudness target through the control
// API: it reaches the master bus and /api/state; "off" takes it away; a
// target not offered is refused in words.
func TestLoudnessTargetAPI(t *testing.T) {
	s, _, pipe := startShowAt(t, smallShow, studio.ProgramConfig{})
	target := func(out map[string]any) any { return out["loudness"].(map[string]any)["target"] }
	code, out := api(t, s, "POST", "/api/loudness", "", `{"target":-16}`)
	if code != 200 || target(out) != -16.0 || pipe.Loudness().Target != -16 {
		t.Fatalf("target −16: %d %v, the bus's %v", code, out, pipe.Loudness().Target)
	}
	for _, c := range []struct{ body, want string }{
		{`{"target":-15}`, `400 a loudness target is -14, -16 or -23 LUFS, or "off"`},
		{`{"target":0}`, `400 loudness needs {"target": -14}`},
		{`{"target":"loud"}`, `400 loudness needs {"target": -14}`},
		{`{}`, `400 loudness needs {"target": -14}`},
	} {
		code, out := api(t, s, "POST", "/api/loudness", "", c.body)
		if got := fmt.Sprint(code, " ", out["error"]); !strings.HasPrefix(got, c.want[:3]) || !strings.Contains(got, c.want[4:]) {
			t.Errorf("loudness %s: %s, want %s", c.body, got, c.want)
		}
	}
	if pipe.Loudness().Target != -16 {
		t.Errorf("a refused target changed the bus's to %v", pipe.Loudness().Target)
	}
	if code, out = api(t, s, "POST", "/api/loudness", "", `{"target":"off"}`); code != 200 || target(out) != 0.0 || pipe.Loudness().Target != 0 {
		t.Errorf("target off: %d %v, the bus's %v", code, out, pipe.Loudness().Target)
	}
	if code, out = api(t, newStudio(t, nil), "POST", "/api/loudness", "", `{"target":-14}`); code != 503 || out["error"] != "loudness target: this studio has no program" {
		t.Errorf("a target without a program: %d %v, want 503 in words", code, out)
	}
}

// A loud host (the test pattern's −6 dBFS beep at +12 dB: +6 dBFS) goes
// live and is recorded: ffmpeg finds no true peak over −1 dBTP in the
// recording. The meters in /api/state count from going live: a loud
// second before it is forgotten. (Their integrated loudness against
// ffmpeg's is encode's TestMasterBus, on a steady tone: on these 100 ms
// beeps the two read up to 1.2 LU apart by where the 400 ms blocks fall.)
func TestLoudShowIsLimited(t *testing.T) {
	dir := t.TempDir()
	s, _, _ := startShowAt(t, smallShow, studio.ProgramConfig{RecordDir: dir})
	loudness := func() map[string]any {
		_, st := api(t, s, "GET", "/api/state", "", "")
		l, _ := st["loudness"].(map[string]any)
		return l
	}
	if err := s.SetVolume(studio.HostID, 12); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the loud beep before going live", func() bool { mix, _ := loudness()["mixPeak"].(float64); return mix > 5.5 })
	if err := s.SetVolume(studio.HostID, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.SetLive(true); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond) // a beep at 0 dB: −6 dBFS
	if mix, _ := loudness()["mixPeak"].(float64); mix > -5.5 {
		t.Errorf("mix peak %.1f dBFS after going live with the beep at −6 dBFS: the meters kept what came before", mix)
	}
	if code, out := api(t, s, "POST", "/api/volume", "", `{"id":"host","db":12}`); code != 200 {
		t.Fatalf("volume: %d %v", code, out)
	}
	time.Sleep(2500 * time.Millisecond) // two loud beeps
	l := loudness()
	if err := s.SetLive(false); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*", "program.mp4"))
	if len(files) != 1 {
		t.Fatalf("recordings: %v", files)
	}
	got := mediatest.Loudness(t, files[0])
	t.Logf("ffmpeg on the recording: true peak %.2f dBTP, integrated %.2f LUFS; /api/state: %v", got.TruePeak, got.Integrated, l)
	if got.TruePeak > -1 {
		t.Errorf("true peak %.2f dBTP in the recording, want ≤ −1.0", got.TruePeak)
	}
	if mix, _ := l["mixPeak"].(float64); mix < 5.5 {
		t.Errorf("mix peak %.1f dBFS before the limiter, want ≈ +6", mix)
	}
}
