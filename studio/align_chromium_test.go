//go:build unix

package studio_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"greenroom/encode"
	"greenroom/encode/mediatest"
	"greenroom/studio"
)

// TestChromiumRecordingsAlign is issue #11's alignment test: a Chromium
// guest whose camera flashes as its microphone beeps (fakeAV), live for
// 11 s with the people's files and the guests' own recordings on. Each
// flash falls at the same show time in the program, in the guest's ISO
// file (placed by their sender reports) and in their local recording
// (placed by its start_ms in show.json); and in each file the beeps start
// with their flashes, within EBU R37's −40…+60 ms.
func TestChromiumRecordingsAlign(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "show.mp4")
	s, prog, _, page, id := chromiumGuestInProgram(t, encode.Config{Width: 1280, Height: 720, FPS: 30},
		studio.ProgramConfig{RecordFile: rec}, "Ann", fakeAVFlags(t))
	if err := prog.SetLayout("solo"); err != nil {
		t.Fatal(err)
	}
	if err := prog.Spotlight(id); err != nil {
		t.Fatal(err)
	}
	s.SetLocalRecording(true)
	time.Sleep(2 * time.Second) // past the browser's first seconds of ramp-up
	if err := s.SetLive(true); err != nil {
		t.Fatal(err)
	}
	time.Sleep(11 * time.Second)
	if err := s.SetLive(false); err != nil {
		t.Fatal(err)
	}
	uploadsComplete(t, s, page, 1)
	keepRecording(rec, "align.mp4")

	folder := strings.TrimSuffix(rec, ".mp4")
	b, err := os.ReadFile(filepath.Join(folder, "show.json"))
	if err != nil {
		t.Fatal(err)
	}
	var show showJSON
	if err := json.Unmarshal(b, &show); err != nil {
		t.Fatal(err)
	}
	t.Logf("show.json:\n%s", b)
	files := map[string]string{"program": rec} // by role
	starts := map[string]float64{"program": 0}
	for _, f := range show.Files {
		if f.Participant == id && (f.Role == "guest" || f.Role == "local") {
			files[f.Role] = filepath.Join(folder, f.File)
			starts[f.Role] = float64(f.StartMS) / 1000
		}
	}
	if len(files) != 3 {
		t.Fatalf("want the program, Ann's ISO file and her local recording; have %v", files)
	}
	flashes := map[string][]float64{}
	for role, path := range files {
		fl := flashStarts(t, path)
		beeps := mediatest.ToneOnsets(t, path, 500*time.Millisecond)
		sync := nearest(fl, beeps)
		first := mediatest.VideoFrameTimes(t, path)
		t.Logf("%s (%s, start %.3f s, first frame at %.3f s): flashes %.3f\nbeeps %.3f\naudio − video %.3f",
			role, filepath.Base(path), starts[role], first[0], fl, beeps, sync)
		if len(sync) < 6 {
			t.Errorf("%s: %d flash/beep pairs in 11 s, want ≥ 6", role, len(sync))
		} else if med := median(sync); med < -0.040 || med > 0.060 {
			t.Errorf("%s: median A/V offset %+.0f ms (audio − video), want within −40…+60 ms", role, med*1000)
		}
		for _, f := range fl {
			flashes[role] = append(flashes[role], f+starts[role])
		}
	}
	for _, role := range []string{"guest", "local"} {
		d := nearest(flashes["program"], flashes[role])
		t.Logf("%s − program, per flash: %.3f", role, d)
		if len(d) < 6 {
			t.Errorf("%s: %d flashes matched the program's, want ≥ 6", role, len(d))
			continue
		}
		if med := median(d); abs(med) > 0.034 {
			t.Errorf("%s: flashes %+.0f ms from the program's (median), want within a frame (33 ms)", role, med*1000)
		}
	}
}
