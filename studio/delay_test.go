package studio_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"greenroom/encode/mediatest"
	"greenroom/studio/studiotest"
)

// TestDelayMovesThePicture is issue #12's per-person delay offset: the
// host sets it through the control API (in the state; refused in words
// out of range), and the program plays that guest's sound that much
// later against their picture. A pion guest whose camera flashes as its
// mic beeps, placed by its sender reports, live 9 s: +100 ms set half-way
// moves its beeps 100 ms (±1 frame) after its flashes in the recording,
// and in the guest's own file in the show's folder, which carries the
// same correction so that it lines up with the program.
func TestDelayMovesThePicture(t *testing.T) {
	video, audio := flashBeepFiles(t, 12, 0)
	s, id, rec, _ := pionGuestSolo(t, video, audio, studiotest.Options{})
	for _, c := range []struct{ body, want string }{
		{`{"id":"` + id + `","ms":501}`, "400 a delay is -200 to +500 ms"},
		{`{"id":"` + id + `","ms":-201}`, "400 a delay is -200 to +500 ms"},
		{`{"id":"` + id + `","ms":"late"}`, "400 request body is not the expected JSON"},
		{`{"id":"` + id + `"}`, `400 delay needs {"id": "...", "ms": 120}`},
		{`{"id":"nobody","ms":0}`, "404 no such participant"},
	} {
		code, out := api(t, s, "POST", "/api/delay", "", c.body)
		if got := fmt.Sprint(code, " ", out["error"]); !strings.HasPrefix(got, c.want[:3]) || !strings.Contains(got, c.want[4:]) {
			t.Errorf("delay %s: %s, want %s", c.body, got, c.want)
		}
	}
	if d := find(s, id).Delay; d != 0 {
		t.Errorf("a refused delay changed the state's to %d ms", d)
	}

	// pion reports each stream every second: past the first reports and
	// the hand-over from arrival.
	time.Sleep(2500 * time.Millisecond)
	if err := s.SetLive(true); err != nil {
		t.Fatal(err)
	}
	const switchAt = 4500 * time.Millisecond
	time.Sleep(switchAt)
	code, out := api(t, s, "POST", "/api/delay", "", `{"id":"`+id+`","ms":100}`)
	if code != 200 {
		t.Fatalf("delay +100 ms: %d %v", code, out)
	}
	var inState any
	for _, p := range out["participants"].([]any) {
		if p := p.(map[string]any); p["id"] == id {
			inState = p["delay"]
		}
	}
	if inState != 100.0 {
		t.Errorf("/api/state says the guest's delay is %v, want 100", inState)
	}
	if d := find(s, id).Delay; d != 100 {
		t.Errorf("the state says a delay of %d ms, want 100", d)
	}
	time.Sleep(4500 * time.Millisecond)
	if err := s.SetLive(false); err != nil {
		t.Fatal(err)
	}
	keepRecording(rec, "delay.mp4")
	folder := strings.TrimSuffix(rec, ".mp4")
	show, _ := readShow(t, folder)
	files := map[string]string{"the program": rec}
	for _, f := range show.Files {
		if f.Participant == id && f.Role == "guest" {
			files["the guest's own file"] = filepath.Join(folder, f.File)
		}
	}
	if len(files) != 2 {
		t.Fatalf("want the program and the guest's file; have %v", files)
	}
	for what, path := range files {
		av := mediatest.FileSync(t, path)
		// A flash within half a second of the change may fall either
		// side. Both files are on the show's timeline.
		var before, after []float64
		for i, at := range av.At {
			switch {
			case at < switchAt.Seconds()-0.5:
				before = append(before, av.D[i])
			case at > switchAt.Seconds()+0.5:
				after = append(after, av.D[i])
			}
		}
		if len(before) < 2 || len(after) < 2 {
			t.Errorf("%s: flash/beep pairs: %d before the delay, %d after, want ≥ 2 each", what, len(before), len(after))
			continue
		}
		moved := mediatest.Median(after) - mediatest.Median(before)
		t.Logf("%s: audio − video before: %.3f, after +100 ms: %.3f; moved %+.0f ms", what, before, after, moved*1000)
		if moved < 0.100-1.0/30 || moved > 0.100+1.0/30 {
			t.Errorf("%s: +100 ms moved the guest's sound %+.0f ms against their picture, want +100 ms ± a frame", what, moved*1000)
		}
	}
}
