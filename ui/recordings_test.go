package ui

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"greenroom/studio"
)

// recordingsShow is the fake show with a recordings folder, listed by the
// studio's own listing.
type recordingsShow struct {
	*fakeShow
	dir     string
	live    string                          // the show folder recorded now, if any
	uploads map[string][]studio.GuestUpload // the studio's, by show folder
}

func (r recordingsShow) Recordings(ctx context.Context) studio.Recordings {
	l := studio.ListRecordings(ctx, r.dir, r.live)
	for i, sh := range l.Shows {
		l.Shows[i].Uploads = r.uploads[sh.Folder]
	}
	return l
}

// writeShow makes a show's folder in dir: show.json (end_ms 0 for one cut
// short) and a program of size bytes, last changed at mod.
func writeShow(t *testing.T, dir, folder, title string, endMS int64, size int, mod time.Time) string {
	t.Helper()
	path := filepath.Join(dir, folder)
	if err := os.MkdirAll(path, 0o755); err != nil {
		t.Fatal(err)
	}
	meta, _ := json.Marshal(map[string]any{"title": title, "start": "2026-12-01T10:00:00Z", "end_ms": endMS, "program": "program.mp4",
		"files": []map[string]any{{"name": "Ann", "role": "guest", "participant": "g1", "file": "Ann.webm", "end_ms": 4200}}})
	for name, b := range map[string][]byte{"show.json": meta, "program.mp4": make([]byte, size), "Ann.webm": make([]byte, 1000)} {
		if err := os.WriteFile(filepath.Join(path, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chtimes(path, mod, mod); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestRecordingsTab: the Recordings tab lists the past shows of the
// folder newest first — title, date, length, size, cut short — each
// opening onto its files, its guests' own recordings' upload state and an
// Open folder button that asks the desktop to open that show's folder;
// the list is read again when a show ends and on Refresh.
func TestRecordingsTab(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	talk := writeShow(t, dir, "2026-12-01 10.00 Talk", "Talk", 61000, 6000, now.Add(-2*time.Hour))
	writeShow(t, dir, "2026-12-02 10.00 Crash", "Crash", 0, 10, now.Add(-time.Hour))
	f := newFake()
	uploads := map[string][]studio.GuestUpload{"2026-12-01 10.00 Talk": {
		{Participant: "g1", Name: "Ann", State: studio.UploadUploading, Percent: 63},
		{Participant: "g2", Name: "Bob", State: studio.UploadComplete, Percent: 100},
	}}
	s, _ := openShow(t, recordingsShow{f, dir, "", uploads}, nil)
	var opened []*url.URL
	s.recs.open = func(u *url.URL) error { opened = append(opened, u); return nil }
	s.settle()

	var titles []string
	for _, tab := range s.tabs.Items {
		titles = append(titles, tab.Text)
	}
	if strings.Join(titles, ",") != "Destinations,Guests,Brand,Banners,Settings,Recordings" {
		t.Fatalf("tabs %v", titles)
	}
	lines := func() []string {
		var l []string
		for _, it := range s.recs.shows.Items {
			l = append(l, it.Title)
		}
		return l
	}
	went := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC).Local()
	date := went.Format("2 Jan 2006")
	want := []string{"Crash · " + date + " · 0:04 · 1.0 kB · cut short", "Talk · " + date + " · 1:01 · 7.0 kB"}
	if got := lines(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("the tab lists %q, want %q", got, want)
	}
	if !strings.Contains(s.recs.status.Text, dir) {
		t.Errorf("status %q does not name the folder", s.recs.status.Text)
	}

	// Talk's files, and Open folder.
	s.recs.shows.Open(1)
	detail := s.recs.shows.Items[1].Detail.(*fyne.Container)
	var texts []string
	var open *widget.Button
	for _, o := range detail.Objects {
		switch o := o.(type) {
		case *widget.Label:
			texts = append(texts, o.Text)
		case *fyne.Container:
			open = o.Objects[0].(*widget.Button)
		}
	}
	if strings.Join(texts, "|") != "Went live "+went.Format("Mon 2 Jan 2006 at 15:04")+" · 2026-12-01 10.00 Talk|Program: program.mp4 · 6.0 kB|Ann (guest): Ann.webm · 1.0 kB|"+
		"Ann's own recording: uploading, 63 %|Bob's own recording: uploaded" || open == nil || open.Text != "Open folder" {
		t.Fatalf("Talk opens onto %q and %v", texts, open)
	}
	test.Tap(open)
	if len(opened) != 1 || opened[0].Scheme != "file" || opened[0].Path != talk {
		t.Fatalf("Open folder asked to open %v, want file://%s", opened, talk)
	}

	// A show goes live and ends: listed.
	f.change(studio.EventLive, func(st *studio.State) { st.Live = true })
	eventually(t, s, "live", func() bool { return s.live })
	writeShow(t, dir, "2026-12-03 10.00 New", "New", 2000, 10, now)
	f.change(studio.EventLive, func(st *studio.State) { st.Live = false })
	eventually(t, s, "the ended show listed", func() bool { return len(s.recs.shows.Items) == 3 })
	if got := lines()[0]; !strings.HasPrefix(got, "New · ") {
		t.Errorf("the newest show is %q", got)
	}

	// Refresh.
	if err := os.RemoveAll(talk); err != nil {
		t.Fatal(err)
	}
	test.Tap(s.recs.refresh)
	eventually(t, s, "Refresh", func() bool { return len(s.recs.shows.Items) == 2 })
}

// uploadingShow is recordingsShow with uploads the test moves on; mu
// guards them and reads, the listings made.
type uploadingShow struct {
	recordingsShow
	mu    *sync.Mutex
	reads *int
}

func (u uploadingShow) Recordings(ctx context.Context) studio.Recordings {
	u.mu.Lock()
	defer u.mu.Unlock()
	*u.reads++
	l := u.recordingsShow.Recordings(ctx)
	for i := range l.Shows {
		l.Shows[i].Uploads = slices.Clone(l.Shows[i].Uploads) // not the test's, which it changes
	}
	return l
}

// TestRecordingsTabFollowsUploads: a guest's own recording uploading
// after the show is followed in the tab in view with no Refresh (issue
// #11: the host sees "uploading N %", then complete), the show the host
// opened staying open as the tab is read again; once it is complete, the
// tab stops reading the folder.
func TestRecordingsTabFollowsUploads(t *testing.T) {
	dir := t.TempDir()
	const folder = "2026-12-01 10.00 Talk"
	writeShow(t, dir, folder, "Talk", 61000, 6000, time.Now())
	var mu sync.Mutex
	reads := 0
	uploads := map[string][]studio.GuestUpload{folder: {{Participant: "g1", Name: "Ann", State: studio.UploadUploading, Percent: 10}}}
	s, _ := openShow(t, uploadingShow{recordingsShow{newFake(), dir, "", uploads}, &mu, &reads}, nil)
	eventually(t, s, "the show listed", func() bool { return len(s.recs.shows.Items) == 1 })
	s.tabs.Select(s.recs.item)
	s.recs.shows.Open(0)
	ann := func() string { return detailLine(s, 0, "Ann's own recording") }
	set := func(state string, percent int) {
		mu.Lock()
		uploads[folder][0].State, uploads[folder][0].Percent = state, percent
		mu.Unlock()
	}
	set(studio.UploadUploading, 63)
	eventually(t, s, "63 % with no Refresh", func() bool { return ann() == "Ann's own recording: uploading, 63 %" })
	if !s.recs.shows.Items[0].Open {
		t.Error("the show the host opened closed as the tab was read again")
	}
	set(studio.UploadComplete, 100)
	eventually(t, s, "uploaded", func() bool { return ann() == "Ann's own recording: uploaded" })
	mu.Lock()
	n := reads
	mu.Unlock()
	time.Sleep(2500 * time.Millisecond) // two ticks and a half
	s.settle()
	mu.Lock()
	defer mu.Unlock()
	// One more at most: a tick that came while the last was read.
	if reads > n+1 {
		t.Errorf("the tab read the folder %d times in 2.5 s once every upload was complete", reads-n)
	}
}

// detailLine is the line of the tab's show i (as opened) that starts
// with prefix; "" when there is none.
func detailLine(s *testStudio, i int, prefix string) string {
	if i >= len(s.recs.shows.Items) {
		return ""
	}
	for _, o := range s.recs.shows.Items[i].Detail.(*fyne.Container).Objects {
		if l, ok := o.(*widget.Label); ok && strings.HasPrefix(l.Text, prefix) {
			return l.Text
		}
	}
	return ""
}

// TestRecordingsTabFollowsTheLiveShow: while a show is live, the
// Recordings tab in view follows it with no Refresh (issue #11): its
// files' sizes grow (as the studio's listing stats them), as does its
// total, and a guest's own recording says how much of it is uploaded;
// the show the host opened stays open, and a past show listed as before
// keeps its widgets. It reads the folder at most every two seconds, off
// the UI thread (load), and not at all while another tab is in front —
// coming into view reads it at once.
func TestRecordingsTabFollowsTheLiveShow(t *testing.T) {
	dir := t.TempDir()
	const folder = "2026-12-05 15.00 Live"
	path := writeShow(t, dir, folder, "Live", 0, 1000, time.Now())
	writeShow(t, dir, "2026-12-01 10.00 Talk", "Talk", 61000, 6000, time.Now().Add(-time.Hour))
	var mu sync.Mutex
	reads := 0
	uploads := map[string][]studio.GuestUpload{folder: {{Participant: "g1", Name: "Ann", State: studio.UploadRecording, Percent: 50}}}
	f := newFake()
	s, _ := openShow(t, uploadingShow{recordingsShow{f, dir, path, uploads}, &mu, &reads}, nil)
	f.change(studio.EventLive, func(st *studio.State) { st.Live = true })
	eventually(t, s, "live, the shows listed", func() bool { return s.live && len(s.recs.shows.Items) == 2 && !s.recs.loading })
	readsSince := func(n int) int {
		mu.Lock()
		defer mu.Unlock()
		return reads - n
	}
	grow := func(program, percent int) {
		if err := os.WriteFile(filepath.Join(path, "program.mp4"), make([]byte, program), 0o644); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		uploads[folder][0].Percent = percent
		mu.Unlock()
	}

	// Out of view: nothing read, however the show grows.
	n := readsSince(0)
	grow(5000, 60)
	time.Sleep(2200 * time.Millisecond) // two ticks
	s.settle()
	if r := readsSince(n); r != 0 || !strings.Contains(s.recs.shows.Items[0].Title, " · 2.0 kB · ") {
		t.Errorf("out of view the tab read the folder %d times and lists %q", r, s.recs.shows.Items[0].Title)
	}

	// In view: read at once.
	s.tabs.Select(s.recs.item)
	s.recs.shows.Open(0)
	eventually(t, s, "the show as it is now, on coming into view", func() bool {
		return detailLine(s, 0, "Program:") == "Program: program.mp4 · 5.0 kB"
	})
	if line := s.recs.shows.Items[0].Title; !strings.Contains(line, " · 6.0 kB · recording") {
		t.Errorf("the live show's line %q", line)
	}
	if got := detailLine(s, 0, "Ann's own recording"); got != "Ann's own recording: recording, 60 % uploaded" {
		t.Errorf("Ann's own recording: %q", got)
	}

	// And again as it grows, with no Refresh.
	past := s.recs.shows.Items[1]
	n = readsSince(0)
	began := time.Now()
	grow(9000, 80)
	eventually(t, s, "the show grown with no Refresh", func() bool {
		return detailLine(s, 0, "Program:") == "Program: program.mp4 · 9.0 kB" &&
			detailLine(s, 0, "Ann's own recording") == "Ann's own recording: recording, 80 % uploaded"
	})
	took := time.Since(began)
	if !s.recs.shows.Items[0].Open {
		t.Error("the show the host opened closed as the tab was read again")
	}
	if s.recs.shows.Items[1] != past {
		t.Error("the past show, listed as before, was made anew")
	}
	// Over 3.8 s: a listing each tick would be 3 or more, one every two
	// ticks 2 at most (the ticks since the last listing are 0 or 1).
	time.Sleep(3800*time.Millisecond - took)
	s.settle()
	elapsed := time.Since(began)
	if r, most := readsSince(n), int(elapsed/(2*time.Second))+1; r > most {
		t.Errorf("the tab read the folder %d times in %v while live, want at most %d", r, elapsed.Round(time.Millisecond), most)
	}
}
