//go:build unix

package studio_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"greenroom/encode/mediatest"
)

// TestChromiumRecordingsAlign is issue #11's alignment test: a Chromium
// guest whose camera flashes as its microphone beeps (mediatest.FlashBeep), live for
// 11 s with the people's files and the guests' own recordings on. Each
// flash falls at the same show time in the program, in the guest's ISO
// file (placed by their sender reports) and in their local recording
// (placed by its start_ms in show.json), each within a frame. In the
// program and the ISO file the beeps start with their flashes within EBU
// R37's −40…+60 ms of what the browser sent (sentSync: its fake devices
// drift apart under load); the local recording, written by the browser,
// within −40…+100 ms of it.
func TestChromiumRecordingsAlign(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "show.mp4")
	s, page, id, sent := flashingGuestSolo(t, rec)
	s.SetLocalRecording(true)
	time.Sleep(2 * time.Second) // past the browser's first seconds of ramp-up
	if err := s.SetLive(true); err != nil {
		t.Fatal(err)
	}
	live := time.Now()
	time.Sleep(11 * time.Second)
	if err := s.SetLive(false); err != nil {
		t.Fatal(err)
	}
	uploadsComplete(t, s, page, 1)
	keepRecording(rec, "align.mp4")

	folder := strings.TrimSuffix(rec, ".mp4")
	show, _ := readShow(t, folder)
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
	sentAV, delays := sent.offsets(live, live.Add(11*time.Second))
	t.Logf("sent by the guest: flashes %.3f s from go-live\naudio − video %.3f\nthe program's playout delay for the guest (from go-live): %s", sentAV.At, sentAV.D, delays)
	flashes := map[string][]float64{}
	for role, path := range files {
		av := mediatest.FileSync(t, path)
		// The program and the ISO files carry show times (an ISO file's
		// start_time is its start_ms, to a packet); the local recording
		// starts at 0 and is placed by its start_ms.
		offset := 0.0
		if role == "local" {
			offset = starts[role]
		}
		added := av.Added(sentAV)
		t.Logf("%s (start_ms %.3f s, start_time %.3f s): adds to what the guest sent, per flash, %.3f",
			role, starts[role], mediatest.ProbeFile(t, path).StartTime, added)
		// EBU R37: sound at most 40 ms early, 60 ms late, of what the
		// program and the ISO file add to what the browser sent. Not for
		// the local recording, which is the browser's own: Chromium's
		// MediaRecorder stamps the sound later than the picture
		// (measured +62…+73 ms, where the same guest's RTP had +21…+33;
		// flash by flash, +40 ms steady on what the browser sent).
		late := 0.060
		if role == "local" {
			late = 0.100
		}
		if len(added) < 6 {
			t.Errorf("%s: %d flashes in 11 s paired with their beeps and with what the guest sent, want ≥ 6", role, len(added))
		} else if med := mediatest.Median(added); med < -0.040 || med > late {
			t.Errorf("%s: the file adds %+.0f ms (median, audio − video) to what the guest sent, want within −40…%+.0f ms",
				role, med*1000, late*1000)
		}
		for _, f := range av.At {
			flashes[role] = append(flashes[role], f+offset)
		}
	}
	// Each within a frame of the program: the ISO file (measured
	// −24…+9 ms), and the local recording, placed at its start plus the
	// program's delay for the guest's picture (measured, median per run,
	// −13…+20 ms; −54…−56 before it took the delay). What is left is its
	// start's error, a request's one-way latency and the wait for the
	// recorder's first frame, against MediaRecorder's stamping a picture
	// as it reaches the recorder, after capture. Its sound, 40 ms later
	// still in the browser's file (above), is not judged here.
	for role, within := range map[string]float64{"guest": 0.034, "local": 0.034} {
		d := mediatest.Pairs(flashes["program"], flashes[role]).D
		t.Logf("%s − program, per flash: %.3f", role, d)
		if len(d) < 6 {
			t.Errorf("%s: %d flashes matched the program's, want ≥ 6", role, len(d))
			continue
		}
		if med := mediatest.Median(d); abs(med) > within {
			t.Errorf("%s: flashes %+.0f ms from the program's (median), want within %.0f ms", role, med*1000, within*1000)
		}
	}
}
