package studio_test

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"greenroom/encode/mediatest"
	"greenroom/studio"
	"greenroom/studio/studiotest"
)

// showJSON is show.json as an editor's tool would read it.
type showJSON struct {
	Title   string     `json:"title"`
	Start   string     `json:"start"`
	EndMS   int64      `json:"end_ms"`
	Program string     `json:"program"`
	Files   []showFile `json:"files"`
	Layouts []struct {
		AtMS   int64 `json:"at_ms"`
		Layout string
	} `json:"layouts"`
}

// showFile is one file in show.json.
type showFile struct {
	Name, Role, Participant, File string
	StartMS                       int64 `json:"start_ms"`
	EndMS                         int64 `json:"end_ms"`
}

// readShow reads folder's show.json, and logs it; b is as it was read.
func readShow(t *testing.T, folder string) (show showJSON, b []byte) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(folder, "show.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &show); err != nil {
		t.Fatalf("show.json: %v\n%s", err, b)
	}
	t.Logf("show.json:\n%s", b)
	return show, b
}

// TestShowFolder is issue #11's first slice: a show with the test-pattern
// host and two pion guests, one of whom joins 3 s in sharing his screen,
// live for about 8 s. Its folder holds the program, a file per person with
// their VP8 and Opus as sent (judged by ffprobe) and one of the screen,
// each ending with the program, the late guest's starting when he joined,
// and show.json naming them all. A second show of the same title gets a
// folder of its own.
func TestShowFolder(t *testing.T) {
	dir := t.TempDir()
	s, prog, _ := startShow(t, studio.ProgramConfig{RecordDir: dir, ShowTitle: "Ask: me/anything"})
	opt := studiotest.Options{VideoIVF: videoIVF, AudioOgg: audioOgg}
	ann := join(t, s, "Ann", opt)
	if err := s.Stage(ann.ID, true); err != nil {
		t.Fatal(err)
	}
	eventually(t, "Ann in the program", func() bool { return len(prog.Inputs()) == 1 })

	start := time.Now()
	if err := s.SetLive(true); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	withScreen := opt
	withScreen.ScreenIVF = screenIVF
	bob := join(t, s, "Bob", withScreen)
	if err := s.Stage(bob.ID, true); err != nil {
		t.Fatal(err)
	}
	for len(prog.Inputs()) < 2 {
		time.Sleep(5 * time.Millisecond)
	}
	bobCame := time.Since(start) // his first packet made his input
	if err := prog.SetLayout("side-by-side"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	// Written as it goes: Ann's file, copied mid-show (as a crash would
	// leave it: no end, no index), plays up to a second or so ago.
	folders, _ := filepath.Glob(filepath.Join(dir, "*", "Ann.webm"))
	if len(folders) != 1 {
		t.Fatalf("no Ann.webm mid-show: %v", folders)
	}
	now := time.Since(start).Seconds()
	b, err := os.ReadFile(folders[0])
	if err != nil {
		t.Fatal(err)
	}
	partial := filepath.Join(t.TempDir(), "Ann-mid-show.webm")
	if err := os.WriteFile(partial, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if frames := mediatest.VideoFrameTimes(t, partial); len(frames) == 0 || frames[len(frames)-1] < now-1.5 {
		t.Errorf("Ann's file copied %.1f s into the show plays %d frames, up to %v s", now, len(frames), frames[len(frames)-1:])
	} else {
		t.Logf("Ann's file copied %.2f s into the show: %d bytes, plays to %.2f s", now, len(b), frames[len(frames)-1])
	}
	if l := s.Recordings(context.Background()); len(l.Shows) != 1 || !l.Shows[0].Live || l.Shows[0].CutShort || l.Shows[0].DurationMS < 5000 {
		t.Errorf("mid-show, /api/recordings lists %+v: want the show, live", l.Shows)
	}
	time.Sleep(2 * time.Second)
	if err := s.SetLive(false); err != nil {
		t.Fatal(err)
	}
	checkListed(t, s, dir)

	folders, _ = filepath.Glob(filepath.Join(dir, "*"))
	if len(folders) != 1 || !strings.HasSuffix(folders[0], " Ask_ me_anything") {
		t.Fatalf("recordings folder holds %v, want one show folder named for its time and title", folders)
	}
	folder := folders[0]
	if _, err := time.Parse("2006-01-02 15.04", strings.TrimSuffix(filepath.Base(folder), " Ask_ me_anything")); err != nil {
		t.Errorf("folder %q: %v", filepath.Base(folder), err)
	}
	show, b := readShow(t, folder)
	if _, err := time.Parse(time.RFC3339, show.Start); err != nil || show.Title != "Ask: me/anything" || show.Program != "program.mp4" {
		t.Errorf("show.json: title %q, start %q (%v), program %q", show.Title, show.Start, err, show.Program)
	}
	if len(show.Layouts) < 2 || show.Layouts[len(show.Layouts)-1].Layout != "side-by-side" {
		t.Errorf("layouts %+v: want the one at the start and side-by-side", show.Layouts)
	}

	program := mediatest.ProbeFile(t, filepath.Join(folder, "program.mp4"))
	programEnd := program.StartTime + program.Duration
	t.Logf("program.mp4: start %.3f s, duration %.3f s", program.StartTime, program.Duration)
	want := map[string]string{"Host": "host", "Ann": "guest", "Bob": "guest", "Bob's screen": "screen"}
	for _, f := range show.Files {
		if want[f.Name] != f.Role {
			t.Errorf("show.json has %s (%s) in %s", f.Name, f.Role, f.File)
			continue
		}
		delete(want, f.Name)
		if file := strings.Replace(f.Name, "'s screen", " screen", 1) + ".webm"; f.File != file {
			t.Errorf("%s's file is %q, want %q", f.Name, f.File, file)
		}
		screen := f.Role == "screen"
		if _, ok := judgePersonFile(t, folder, f, programEnd); !ok {
			continue
		}
		// A guest's file has their frames where the program has them:
		// ProgramDelay after they were captured.
		d := time.Duration(f.StartMS)*time.Millisecond - bobCame - studio.ProgramDelay
		switch {
		case f.Name == "Bob" && d.Abs() > 150*time.Millisecond:
			t.Errorf("Bob's file starts at %d ms, he came at %v: %v off", f.StartMS, bobCame.Round(time.Millisecond), d)
		case screen && (d < -150*time.Millisecond || d > 1500*time.Millisecond):
			// Shared as he joined: its first keyframe comes a little later.
			t.Errorf("Bob's screen starts at %d ms, he came at %v", f.StartMS, bobCame.Round(time.Millisecond))
		case !strings.HasPrefix(f.Name, "Bob") && f.StartMS > 500:
			t.Errorf("%s, there from the start, has a file starting at %d ms", f.Name, f.StartMS)
		}
	}
	if len(want) > 0 {
		t.Errorf("no file in show.json for %v", want)
	}

	// The same show again, within the minute: a folder of its own; the
	// first show's files are left as they were.
	if err := s.SetLive(true); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	if err := s.SetLive(false); err != nil {
		t.Fatal(err)
	}
	again, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(again) != 2 {
		t.Fatalf("after a second show: %v", again)
	}
	second := again[0]
	if second == folder {
		second = again[1]
	}
	if strings.HasPrefix(filepath.Base(second), filepath.Base(folder)[:16]) && filepath.Base(second) != filepath.Base(folder)+" (2)" {
		t.Errorf("the second show of the minute is in %q, want %q", filepath.Base(second), filepath.Base(folder)+" (2)")
	}
	if b2, _ := os.ReadFile(filepath.Join(folder, "show.json")); string(b2) != string(b) {
		t.Errorf("the first show's show.json changed")
	}
}

// judgePersonFile checks one person's file in a show's folder as ffprobe
// sees it: VP8 and, but for a screen, Opus (ok is false otherwise, and
// nothing more is judged); it ends within 5 % of the program's end
// (programEnd, on the show's timeline) and starts where show.json says,
// within 50 ms.
func judgePersonFile(t *testing.T, folder string, f showFile, programEnd float64) (p mediatest.Probe, ok bool) {
	t.Helper()
	p = mediatest.ProbeFile(t, filepath.Join(folder, f.File))
	keepRecording(filepath.Join(folder, f.File), f.File)
	screen := f.Role == "screen"
	if p.Video == nil || p.Video.Codec != "vp8" || (p.Audio == nil) != screen || (!screen && p.Audio.Codec != "opus") {
		t.Errorf("%s: %+v, want VP8 and, but for a screen, Opus", f.File, p)
		return p, false
	}
	// Matroska's duration runs from the timeline's zero, the show's
	// start: where the file ends on it.
	t.Logf("%s: %dx%d, start %.3f s, ends at %.3f s; show.json %d–%d ms", f.File, p.Video.Width, p.Video.Height, p.StartTime, p.Duration, f.StartMS, f.EndMS)
	if math.Abs(p.Duration-programEnd) > 0.05*programEnd {
		t.Errorf("%s ends at %.2f s, the program at %.2f s: more than 5%% apart", f.File, p.Duration, programEnd)
	}
	if math.Abs(p.StartTime-float64(f.StartMS)/1000) > 0.05 {
		t.Errorf("%s starts at %.3f s, show.json says %d ms", f.File, p.StartTime, f.StartMS)
	}
	return p, true
}

// TestRecordFileShowFolder: with --record FILE the program goes exactly to
// FILE, as before, and the people's files and show.json to a folder next
// to it named after it; the next show's to "… (2)". Nothing of the two
// recordings runs on after the studio closed.
func TestRecordFileShowFolder(t *testing.T) {
	checkLeaks(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "talk.mp4")
	s, _, _ := startShow(t, studio.ProgramConfig{RecordFile: file})
	for range 2 {
		if err := s.SetLive(true); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1500 * time.Millisecond)
		if err := s.SetLive(false); err != nil {
			t.Fatal(err)
		}
	}
	if p := mediatest.ProbeFile(t, file); p.Video == nil || p.Duration < 1 {
		t.Errorf("%s: %+v", file, p)
	}
	for _, folder := range []string{"talk", "talk (2)"} {
		b, err := os.ReadFile(filepath.Join(dir, folder, "show.json"))
		if err != nil {
			t.Fatal(err)
		}
		var show showJSON
		if err := json.Unmarshal(b, &show); err != nil {
			t.Fatal(err)
		}
		if show.Program != filepath.Join("..", "talk.mp4") || len(show.Files) != 1 || show.Files[0].File != "Host.webm" {
			t.Errorf("%s/show.json:\n%s", folder, b)
			continue
		}
		if p := mediatest.ProbeFile(t, filepath.Join(dir, folder, "Host.webm")); p.Video == nil || p.Audio == nil || p.Duration < 1 {
			t.Errorf("%s/Host.webm: %+v", folder, p)
		}
	}
}

// checkListed: the show that just ended in dir is listed by GET
// /api/recordings, not live, not cut short, with show.json's people and
// each file's size as os.Stat has it.
func checkListed(t *testing.T, s *studio.Studio, dir string) {
	t.Helper()
	code, l := getRecordings(t, s, "")
	if code != 200 || len(l.Shows) != 1 {
		t.Fatalf("after the show, /api/recordings: %d, %+v", code, l)
	}
	sh := l.Shows[0]
	if sh.Live || sh.CutShort || sh.Error != "" || sh.Title != "Ask: me/anything" || sh.DurationMS < 7000 || sh.Program == nil || len(sh.Files) != 4 {
		t.Fatalf("after the show, /api/recordings lists %+v", sh)
	}
	total := int64(0)
	for _, f := range append([]studio.RecordedFile{*sh.Program}, sh.Files...) {
		info, err := os.Stat(filepath.Join(sh.Path, f.File))
		if err != nil || f.Bytes != info.Size() || f.Bytes == 0 || f.Error != "" {
			t.Errorf("%s: listed %d bytes (%q), os.Stat: %v", f.File, f.Bytes, f.Error, err)
			continue
		}
		total += f.Bytes
	}
	if sh.Bytes != total {
		t.Errorf("the show's bytes: %d, its files': %d", sh.Bytes, total)
	}
	t.Logf("listed: %q, %d ms, %d bytes in %d files and the program", sh.Folder, sh.DurationMS, sh.Bytes, len(sh.Files))
}
