//go:build linux

package studio_test

import (
	"context"
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

// A recorded show of guests who come and go (issue #14's soak): each one
// who leaves for good — saying so, gone past their grace, or kicked —
// has their own file finished then, not at the show's end: the process
// is back to its goroutines and file descriptors of before they came, no
// descriptor is left on their file, which plays to when they left, and
// show.json lists it with that end. A blip they come back from within the
// grace (their page back with its resume key) keeps the same file; a
// person who comes back later is a new participant with a new file.
func TestDepartedGuestsFilesClose(t *testing.T) {
	checkLeaks(t)
	const grace = 2 * time.Second
	dir := t.TempDir()
	s, _, _ := startShowAt(t, smallShow, studio.ProgramConfig{RecordDir: dir}, func(c *studio.Config) { c.ReconnectGrace = grace })
	start := time.Now()
	if err := s.SetLive(true); err != nil {
		t.Fatal(err)
	}
	folders, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(folders) != 1 {
		t.Fatalf("recordings folder holds %v", folders)
	}
	folder := folders[0]
	time.Sleep(time.Second) // the host's file is made, the host feed settles
	before := countResources()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	av := studiotest.Options{VideoIVF: videoIVF, AudioOgg: audioOgg}
	// on joins a guest to the stage and waits until a second of their
	// media is in their file.
	on := func(name, file string, opt studiotest.Options) *studiotest.Client {
		t.Helper()
		g, err := studiotest.Join(ctx, s.GuestURL(), name, opt)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(g.Close)
		if err := s.Stage(g.ID, true); err != nil {
			t.Fatal(err)
		}
		eventually(t, file+" on disk", func() bool {
			_, err := os.Stat(filepath.Join(folder, file))
			return err == nil
		})
		time.Sleep(time.Second)
		return g
	}
	// gone waits until guest g left the show, their media having stopped
	// at show time stopped, and then checks that their file and
	// everything else they took is given back.
	stopped := map[string]time.Duration{} // by file: when its guest's media stopped
	now := func() time.Duration { return time.Since(start) }
	gone := func(g *studiotest.Client, file string, at time.Duration) {
		t.Helper()
		eventually(t, file+"'s guest to leave the show", func() bool { return find(s, g.ID).ID == "" })
		stopped[file] = at
		g.Close()
		after := backTo(t, before)
		if fd := openOn(t, filepath.Join(folder, file)); fd != "" {
			t.Errorf("%s is still open (fd %s) after its guest left", file, fd)
		}
		t.Logf("%s's guest left (media stopped at %.1f s, out at %.1f s): goroutines %d → %d, fds %d → %d",
			file, at.Seconds(), now().Seconds(), before.goroutines, after.goroutines, before.fds, after.fds)
	}

	ann := on("Ann", "Ann.webm", av)
	at := now()
	ann.Leave()
	gone(ann, "Ann.webm", at)

	// Bob's page goes and comes back within the grace (a reload): his
	// file goes on; then he vanishes for good and leaves after it.
	bob := on("Bob", "Bob.webm", av)
	blip := now()
	bob.Close()
	eventually(t, "Bob's countdown", func() bool { return held(s, bob.ID) })
	time.Sleep(700 * time.Millisecond) // away long enough for a gap to tell, within the grace
	back := av
	back.ResumeID, back.ResumeKey = bob.ID, bob.ResumeKey
	bob2, err := studiotest.Join(ctx, s.GuestURL(), "Bob", back)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(bob2.Close)
	if bob2.ID != bob.ID {
		t.Fatalf("Bob back as %s, want %s", bob2.ID, bob.ID)
	}
	eventually(t, "Bob's media back", func() bool { return connected(s, bob.ID) })
	blip = now() - blip // how long his media was away, at most
	time.Sleep(time.Second)
	at = now()
	bob2.Vanish() // out after the grace
	gone(bob2, "Bob.webm", at)

	// Ann again, later: a new participant, a new file; the host removes her.
	ann2 := on("Ann", "Ann (2).webm", av)
	at = now()
	if err := s.Kick(ann2.ID); err != nil {
		t.Fatal(err)
	}
	gone(ann2, "Ann (2).webm", at)

	if err := s.SetLive(false); err != nil {
		t.Fatal(err)
	}
	show, _ := readShow(t, folder)
	files := map[string]bool{}
	for _, f := range show.Files {
		files[f.File] = true
		at, ok := stopped[f.File]
		if !ok {
			continue
		}
		p := mediatest.ProbeFile(t, filepath.Join(folder, f.File))
		keepRecording(filepath.Join(folder, f.File), f.File)
		if p.Video == nil || p.Audio == nil {
			t.Errorf("%s: %+v, want VP8 and Opus", f.File, p)
			continue
		}
		// Matroska's duration runs from the show's start: where the file
		// ends on its timeline: when its guest's media stopped (their
		// last frame placed ProgramDelay after its capture), not at the
		// show's end.
		t.Logf("%s: show.json %d–%d ms, ffprobe start %.2f s, ends at %.2f s; media stopped at %.2f s",
			f.File, f.StartMS, f.EndMS, p.StartTime, p.Duration, at.Seconds())
		if math.Abs(p.Duration-float64(f.EndMS)/1000) > 0.1 {
			t.Errorf("%s ends at %.2f s, show.json says %d ms", f.File, p.Duration, f.EndMS)
		}
		if d := p.Duration - at.Seconds(); d < -0.5 || d > 0.5 {
			t.Errorf("%s ends at %.2f s, its guest's media stopped at %.2f s", f.File, p.Duration, at.Seconds())
		}
		if on := p.Duration - p.StartTime; on < 1.5 {
			t.Errorf("%s plays %.2f s, want their time on stage (2 s and more)", f.File, on)
		}
	}
	// Issue #11: a gap in someone's media stays a gap, never closed up.
	// Bob's file holds a hole where his page was away: the longest
	// between two pictures, at least half of the time from his page's
	// close to his media back (as closed up, a frame's 33 ms).
	frames := mediatest.VideoFrameTimes(t, filepath.Join(folder, "Bob.webm"))
	hole, after := 0.0, 0.0
	for i := 1; i < len(frames); i++ {
		if d := frames[i] - frames[i-1]; d > hole {
			hole, after = d, frames[i-1]
		}
	}
	t.Logf("Bob.webm: the longest hole %.2f s, after %.2f s; his page away at most %.2f s", hole, after, blip.Seconds())
	if hole < blip.Seconds()/2 {
		t.Errorf("Bob.webm's longest hole is %.2f s, his page was away up to %.2f s: the gap closed up", hole, blip.Seconds())
	}
	for _, f := range []string{"Host.webm", "Ann.webm", "Bob.webm", "Ann (2).webm"} {
		if !files[f] {
			t.Errorf("show.json does not list %s", f)
		}
	}
	if len(show.Files) != 4 {
		t.Errorf("show.json lists %d files, want the host's and three guests' (Bob's blip makes none)", len(show.Files))
	}
}

// openOn is the number of an fd of the process open on path, "" if none.
func openOn(t *testing.T, path string) string {
	t.Helper()
	es, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		if target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name())); err == nil && strings.HasSuffix(target, path) {
			return e.Name()
		}
	}
	return ""
}

// A guest's local recording holds its file open only while a chunk is
// written: a page closed for good never sends its last chunk, and its
// take must not keep an fd for the studio's life. The chunks still go
// on, in order, and the last one completes the file.
func TestTakeHoldsNoFileBetweenChunks(t *testing.T) {
	s := newStudio(t, nil)
	h := s.Handler()
	dir := t.TempDir()
	id, key, end := s.TestTake(dir, "g1", "Ann")
	defer end()
	file := filepath.Join(dir, "Ann local.webm")
	for n, chunk := range []string{"chunk 0;", "chunk 1;"} {
		if code, next := postChunk(t, h, id, key, n, "of=3", []byte(chunk)); code != 200 || next != n+1 {
			t.Fatalf("chunk %d: %d, next %d", n, code, next)
		}
		if fd := openOn(t, file); fd != "" {
			t.Errorf("after chunk %d the take's file is open (fd %s)", n, fd)
		}
	}
	if code, next := postChunk(t, h, id, key, 2, "of=3&final=1", []byte("chunk 2;")); code != 200 || next != 3 {
		t.Fatalf("the last chunk: %d, next %d", code, next)
	}
	if b, err := os.ReadFile(file); err != nil || string(b) != "chunk 0;chunk 1;chunk 2;" {
		t.Errorf("stored %q, %v", b, err)
	}
	if ups := s.State().Uploads; len(ups) != 1 || ups[0].State != studio.UploadComplete {
		t.Errorf("uploads %+v, want Ann's complete", ups)
	}
}
