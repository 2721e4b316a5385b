package studio_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"greenroom/studio"
)

// fakeShow makes a show folder in dir with show.json (none if meta is
// nil, written as is if it is a string) and files of the given sizes,
// last changed at mod.
func fakeShow(t *testing.T, dir, name string, meta any, files map[string]int, mod time.Time) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(path, 0o755); err != nil {
		t.Fatal(err)
	}
	for f, size := range files {
		if err := os.WriteFile(filepath.Join(path, f), make([]byte, size), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var b []byte
	switch m := meta.(type) {
	case nil:
	case string:
		b = []byte(m)
	default:
		b, _ = json.Marshal(m)
	}
	if b != nil {
		if err := os.WriteFile(filepath.Join(path, "show.json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chtimes(path, mod, mod); err != nil {
		t.Fatal(err)
	}
	return path
}

type metaFile struct {
	Name        string `json:"name"`
	Role        string `json:"role"`
	Participant string `json:"participant"`
	File        string `json:"file"`
	StartMS     int64  `json:"start_ms"`
	EndMS       int64  `json:"end_ms"`
	Dropped     int64  `json:"dropped,omitempty"`
}

type meta struct {
	Title   string     `json:"title"`
	Start   string     `json:"start"`
	EndMS   int64      `json:"end_ms"`
	Program string     `json:"program"`
	Files   []metaFile `json:"files"`
}

// getRecordings is GET /api/recordings with token ("" for the studio's).
func getRecordings(t *testing.T, s *studio.Studio, token string) (int, studio.Recordings) {
	t.Helper()
	if token == "" {
		token = s.ControlToken().Reveal()
	}
	req, _ := http.NewRequest("GET", "http://"+s.Addr().String()+"/api/recordings", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := noKeepAlive.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out studio.Recordings
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatalf("GET /api/recordings: %v", err)
		}
	}
	return resp.StatusCode, out
}

// TestRecordingsAPI: a recordings folder with a good show, one cut short
// by a crash, one live now, one whose show.json is damaged and one with
// none, listed by GET /api/recordings newest first, field by field; loose
// files and hidden folders are left out, a show.json naming files outside
// its folder does not send the listing there. A wrong token gets 401, then
// 429, as the other endpoints.
func TestRecordingsAPI(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	start := now.Add(-time.Hour).UTC().Format(time.RFC3339)
	good := fakeShow(t, dir, "2026-12-01 10.00 Good", meta{Title: "Good: one", Start: start, EndMS: 61000, Program: "program.mp4",
		Files: []metaFile{
			{Name: "Host", Role: "host", Participant: "host", File: "Host.webm", StartMS: 4, EndMS: 60990},
			{Name: "Ann", Role: "guest", Participant: "g1", File: "Ann.webm", StartMS: 2000, EndMS: 60980, Dropped: 3},
			{Name: "Ann's screen", Role: "screen", Participant: "g1", File: "Ann screen.webm", StartMS: 5000, EndMS: 9000},
			{Name: "Eve", Role: "guest", Participant: "g2", File: "../../secret", EndMS: 10},
		}}, map[string]int{"program.mp4": 5000, "Host.webm": 1200, "Ann.webm": 800}, now.Add(-4*time.Hour))
	fakeShow(t, dir, "2026-12-02 10.00 Cut", meta{Title: "Cut", Start: start, Program: "program.mp4",
		Files: []metaFile{{Name: "Host", Role: "host", Participant: "host", File: "Host.webm", EndMS: 4200}}},
		map[string]int{"program.mp4": 700, "Host.webm": 300}, now.Add(-3*time.Hour))
	fakeShow(t, dir, "2026-12-03 10.00 Damaged", `{"title": "Dam`, map[string]int{"program.mp4": 10, "Bob.webm": 20}, now.Add(-2*time.Hour))
	fakeShow(t, dir, "Holiday videos", nil, map[string]int{"a.mkv": 30, ".hidden": 1}, now.Add(-time.Hour))
	live := fakeShow(t, dir, "2026-12-04 10.00 Live", meta{Title: "Live", Start: now.Add(-90 * time.Second).UTC().Format(time.RFC3339), Program: "program.mp4",
		Files: []metaFile{}}, map[string]int{"program.mp4": 40}, now)
	fakeShow(t, dir, ".trash", nil, nil, now)
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}

	s := newStudio(t, nil)
	s.AttachTestRecordings(dir, live)
	code, got := getRecordings(t, s, "")
	if code != http.StatusOK {
		t.Fatalf("GET /api/recordings: %d", code)
	}
	b, _ := json.MarshalIndent(got, "", "  ")
	t.Logf("%s", b)
	var names []string
	for _, sh := range got.Shows {
		names = append(names, sh.Folder)
	}
	if want := "2026-12-04 10.00 Live|Holiday videos|2026-12-03 10.00 Damaged|2026-12-02 10.00 Cut|2026-12-01 10.00 Good"; strings.Join(names, "|") != want || got.Dir != dir || got.More != 0 || got.Error != "" {
		t.Fatalf("listed %q in %q (more %d, error %q), want %q", names, got.Dir, got.More, got.Error, want)
	}
	ln, holiday, damaged, cut, g := got.Shows[0], got.Shows[1], got.Shows[2], got.Shows[3], got.Shows[4]

	if !ln.Live || ln.CutShort || ln.DurationMS < 89000 || ln.DurationMS > 100000 || ln.Title != "Live" || ln.Bytes != 40 || ln.Error != "" {
		t.Errorf("the live show: %+v", ln)
	}
	if holiday.Error == "" || holiday.Title != "" || holiday.Program != nil || len(holiday.Files) != 1 || holiday.Files[0].File != "a.mkv" || holiday.Files[0].Bytes != 30 || holiday.Bytes != 30 {
		t.Errorf("a folder without show.json: %+v", holiday)
	}
	if !strings.Contains(damaged.Error, "show.json is damaged") || damaged.Program == nil || damaged.Program.Bytes != 10 ||
		len(damaged.Files) != 1 || damaged.Files[0].File != "Bob.webm" || damaged.Files[0].Bytes != 20 || damaged.Bytes != 30 {
		t.Errorf("a damaged show.json: %+v", damaged)
	}
	if !cut.CutShort || cut.Live || cut.DurationMS != 4200 || cut.Bytes != 1000 || cut.Title != "Cut" {
		t.Errorf("a show cut short: %+v", cut)
	}
	if g.Title != "Good: one" || g.Start != start || g.DurationMS != 61000 || g.CutShort || g.Live || g.Error != "" || g.Path != good ||
		g.Program == nil || g.Program.File != "program.mp4" || g.Program.Bytes != 5000 || g.Bytes != 7000 || len(g.Files) != 4 {
		t.Fatalf("the good show: %+v", g)
	}
	wantFiles := []studio.RecordedFile{
		{File: "Host.webm", Name: "Host", Role: "host", Participant: "host", Bytes: 1200, StartMS: 4, EndMS: 60990},
		{File: "Ann.webm", Name: "Ann", Role: "guest", Participant: "g1", Bytes: 800, StartMS: 2000, EndMS: 60980, Dropped: 3},
		{File: "Ann screen.webm", Name: "Ann's screen", Role: "screen", Participant: "g1", StartMS: 5000, EndMS: 9000, Error: "missing"},
		{File: "../../secret", Name: "Eve", Role: "guest", Participant: "g2", EndMS: 10, Error: "not in the show's folder"},
	}
	for i, f := range g.Files {
		if f != wantFiles[i] {
			t.Errorf("the good show's file %d: %+v, want %+v", i, f, wantFiles[i])
		}
	}

	// The control token as for every endpoint: 401, then 429 for an
	// address that keeps guessing.
	codes := map[int]int{}
	for range 12 {
		code, _ := getRecordings(t, s, "wrong")
		codes[code]++
	}
	if codes[http.StatusUnauthorized] == 0 || codes[http.StatusTooManyRequests] == 0 || len(codes) != 2 {
		t.Errorf("12 wrong tokens: %v, want 401s then 429s", codes)
	}
}

// TestRecordingsListingIsBounded: thousands of folders list the newest
// MaxListedShows and count the rest; a folder of thousands of files lists
// its first hundred; a cancelled request stops the walk.
func TestRecordingsListingIsBounded(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-time.Hour)
	for i := range studio.MaxListedShows + 50 {
		fakeShow(t, dir, fmt.Sprintf("show %03d", i), nil, nil, old.Add(time.Duration(i)*time.Second))
	}
	files := map[string]int{}
	for i := range 150 {
		files[fmt.Sprintf("f%03d.webm", i)] = 1
	}
	fakeShow(t, dir, "show 999", nil, files, time.Now())
	got := studio.ListRecordings(context.Background(), dir, "")
	if len(got.Shows) != studio.MaxListedShows || got.More != 51 || got.Shows[0].Folder != "show 999" || got.Shows[1].Folder != "show 249" {
		t.Fatalf("%d shows, more %d, first %q", len(got.Shows), got.More, got.Shows[0].Folder)
	}
	if big := got.Shows[0]; len(big.Files) != 100 || big.MoreFiles != 50 || big.Bytes != 100 {
		t.Errorf("a folder of 150 files: %d listed, %d more, %d bytes", len(big.Files), big.MoreFiles, big.Bytes)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if got := studio.ListRecordings(ctx, dir, ""); len(got.Shows) != 0 || got.More != 251 {
		t.Errorf("cancelled: %d shows, more %d", len(got.Shows), got.More)
	}
	if got := studio.ListRecordings(context.Background(), filepath.Join(dir, "none"), ""); len(got.Shows) != 0 || got.Error != "" {
		t.Errorf("no recordings folder yet: %+v", got)
	}
}
