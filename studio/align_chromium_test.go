//go:build unix

package studio_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"greenroom/encode/mediatest"
	"greenroom/studio/studiotest"
)

// TestChromiumRecordingsAlign is issue #11's alignment test: a Chromium
// guest whose camera flashes as its microphone beeps (mediatest.FlashBeep), live for
// 11 s with the people's files and the guests' own recordings on. Each
// flash falls at the same show time in the program, in the guest's ISO
// file (placed by their sender reports) and in their local recording
// (placed by its start_ms in show.json: the page's start, through the
// same sender reports), each within a frame; the local recording starts
// where its page said, so it is not a whole second (a flash) off. In the
// program and the ISO file the beeps start with their flashes within EBU
// R37's −40…+60 ms of what the browser sent (sentSync: its fake devices
// drift apart under load); the local recording, written by the browser,
// within −40…+100 ms of it.
func TestChromiumRecordingsAlign(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "show.mp4")
	s, page, id, sent := flashingGuestSolo(t, rec)
	s.SetLocalRecording(true)
	time.Sleep(2 * time.Second) // past the browser's first seconds of ramp-up
	before := time.Now()
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
	var local showFile
	for _, f := range show.Files {
		if f.Participant == id && (f.Role == "guest" || f.Role == "local") {
			files[f.Role] = filepath.Join(folder, f.File)
			starts[f.Role] = float64(f.StartMS) / 1000
			if f.Role == "local" {
				local = f
			}
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
	// −24…+9 ms), and the local recording, placed at its first frame's
	// capture (the page's word, through the guest's sender reports) plus
	// the median of the program's delay for the guest's picture over its
	// time. What is left for the local recording is the delay's moves
	// while it was recording, which one offset cannot follow. Its sound,
	// 40 ms later still in the browser's file (above), is not judged
	// here.
	for _, role := range []string{"guest", "local"} {
		flashesOnProgram(t, role, flashes["program"], flashes[role], 6)
	}
	localStartsWhenThePageDid(t, page, local, before)
}

// flashesOnProgram judges a file's flashes, on the show's timeline,
// against the program's: at least least of the program's paired with
// one of the file's, their median within a frame at 30 fps (33 ms;
// 34 for the files' rounding to the ms).
//
// The median: a local recording, the browser's own file, is placed by
// one offset, its start plus the median over its time of the program's
// delay for the guest, and the delay moves under load (a stall grows it;
// +85 ms over 20 s with two Chromium guests at a load of 13) where the
// program and the ISO file follow it, so its flashes drift from theirs
// as the delay does.
func flashesOnProgram(t *testing.T, what string, program, flashes []float64, least int) {
	t.Helper()
	flashesOn(t, what, "the program", program, flashes, least, oneFrame)
}

// oneFrame is the alignment: a frame at 30 fps, 34 ms for the
// files' rounding to the ms.
const oneFrame = 0.034

// flashesOn is flashesOnProgram against the flashes of another file on
// the show's timeline, ref (named on), their median within within; a
// median past oneFrame is logged as the target missed.
func flashesOn(t *testing.T, what, on string, ref, flashes []float64, least int, within float64) {
	t.Helper()
	d := mediatest.Pairs(ref, flashes).D
	t.Logf("%s − %s, per flash: %.3f", what, on, d)
	if len(d) < least {
		t.Errorf("%s: %d flashes matched %s's, want ≥ %d", what, len(d), on, least)
		return
	}
	med := mediatest.Median(d)
	if abs(med) > oneFrame {
		t.Logf("issue #11's target not met: %s's flashes %+.0f ms from %s's (median), the target is a frame", what, med*1000, on)
	}
	if abs(med) > within {
		t.Errorf("%s: flashes %+.0f ms from %s's (median), want within %.0f ms", what, med*1000, on, within*1000)
	}
}

// localStartsWhenThePageDid judges where show.json places a guest's
// local recording, f, against its page's own word: its recorder's start
// (the page's status, Date.now: this machine's clock, the test's too)
// after before, a moment before the show went live, is about its
// start_ms: later by the program's delay for the guest (what it adds to
// the start, 300 ms at most) and by the show's zero's distance from
// before (the program file's first instant): measured +0.09…+0.14 s,
// +0.33 at a load of 17. A whole second off is outside. The flashes are a
// second apart, and a recording placed a whole second off pairs with the
// program's as well as one in its place: the page's since read as 0 ms
// before (it had a fraction), which placed each take at its first
// chunk's arrival, a chunk late, passed unseen.
func localStartsWhenThePageDid(t *testing.T, page *studiotest.Page, f showFile, before time.Time) {
	t.Helper()
	var takes map[string]struct{ StartWall float64 }
	if err := page.Eval(`greenroomLocal.status.takes`, &takes); err != nil || len(takes) != 1 {
		t.Errorf("%s: the page's takes %v (%v), want one", f.File, takes, err)
		return
	}
	for _, tk := range takes {
		started := (tk.StartWall - float64(before.UnixMilli())) / 1000
		t.Logf("%s: start_ms %d, its page's recorder started %.3f s after go-live", f.File, f.StartMS, started)
		if d := float64(f.StartMS)/1000 - started; d < -0.5 || d > 0.7 {
			t.Errorf("%s: placed %+.3f s from its page's start, want −0.5…+0.7 s", f.File, d)
		}
	}
}
