package studio

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Recordings is the list of past shows in the recordings folder (issue
// #11): what GET /api/recordings answers and the window's Recordings tab
// shows. ListRecordings makes it, from the disk, every time: nothing here
// is kept, so nothing goes stale and nothing is shared.
type Recordings struct {
	Dir   string         `json:"dir"` // the recordings folder; "" when the show records nowhere
	Shows []RecordedShow `json:"shows"`
	// More counts the folders past MaxListedShows, left out.
	More int `json:"more,omitempty"`
	// Error says why the folder could not be read (it not existing yet is
	// no error: no show was recorded).
	Error string `json:"error,omitempty"`
}

// RecordedShow is one show's folder, newest first in Recordings.
type RecordedShow struct {
	Folder string `json:"folder"` // its name in Recordings.Dir
	Path   string `json:"path"`   // where it is, for opening it
	// Title and Start (RFC 3339) are show.json's; empty without one.
	Title string `json:"title,omitempty"`
	Start string `json:"start,omitempty"`
	// DurationMS is the show's length: show.json's end_ms; while live, so
	// far; cut short, as far as its files were recorded.
	DurationMS int64 `json:"duration_ms"`
	// CutShort: the show never ended (end_ms 0, or show.json's cut_short
	// set by the next start) and is not the one live
	// now — the studio crashed or was killed mid-show.
	CutShort bool `json:"cut_short,omitempty"`
	Live     bool `json:"live,omitempty"` // being recorded now
	// Program is the program's file; nil when there is none.
	Program *RecordedFile `json:"program,omitempty"`
	// ProgramVertical is the vertical program's file; nil when there is
	// none.
	ProgramVertical *RecordedFile `json:"program_vertical,omitempty"`
	// Files are the people's own (show.json's), or without a readable
	// show.json every file found in the folder; MoreFiles past
	// maxListedFiles are left out.
	Files     []RecordedFile `json:"files"`
	MoreFiles int            `json:"more_files,omitempty"`
	Bytes     int64          `json:"bytes"` // all the files above, program included
	// Error says what is wrong with show.json: missing, or not readable.
	Error string `json:"error,omitempty"`
	// Uploads are the guests' own full-quality recordings on their way
	// to the studio (issue #11, guests' local recording): filled in by
	// the upload side; omitted while it has none.
	Uploads []GuestUpload `json:"uploads,omitempty"`
}

// GuestUpload is where a guest's own recording of the show stands.
type GuestUpload struct {
	Participant string `json:"participant"`
	Name        string `json:"name"`
	State       string `json:"state"` // "recording", "uploading" or "complete"
	Percent     int    `json:"percent,omitempty"`
}

// RecordedFile is one file of a show.
type RecordedFile struct {
	File        string `json:"file"` // relative to the show's folder
	Name        string `json:"name,omitempty"`
	Role        string `json:"role,omitempty"` // "host", "guest", "screen"; "" for the program
	Participant string `json:"participant,omitempty"`
	Bytes       int64  `json:"bytes"`
	StartMS     int64  `json:"start_ms,omitempty"`
	EndMS       int64  `json:"end_ms,omitempty"`
	Dropped     int64  `json:"dropped,omitempty"`
	Error       string `json:"error,omitempty"` // missing, or not readable
}

// The listing's bounds: a recordings folder of years of shows, or one a
// user filled with other things, costs one directory read and a stat per
// folder, then show.json and a stat per file for at most MaxListedShows.
const (
	MaxListedShows = 200
	maxListedFiles = 100
	maxShowJSON    = 1 << 20
)

// recordingsSource says where the shows are recorded and which folder is
// being recorded now: the Program.
type recordingsSource interface {
	recordingsWhere() (dir, live string)
}

func (s *Studio) attachRecordings(src recordingsSource) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recs = src
}

// recordingsWhere is the recordings folder and the show folder being
// recorded now ("" when not live). With only RecordFile set there is no
// folder of shows to list.
func (p *Program) recordingsWhere() (dir, live string) {
	p.mu.Lock()
	dir = p.cfg.RecordDir
	p.mu.Unlock()
	if r := p.rec.Load(); r != nil {
		live = r.dir
	}
	return dir, live
}

// Recordings lists the past shows (see ListRecordings) of the attached
// Program's recordings folder. One listing runs at a time: many clients
// asking at once wait their turn rather than all walking the disk.
func (s *Studio) Recordings(ctx context.Context) Recordings {
	s.mu.Lock()
	src := s.recs
	s.mu.Unlock()
	if src == nil {
		return Recordings{Shows: []RecordedShow{}}
	}
	dir, live := src.recordingsWhere()
	s.recScan.Lock()
	defer s.recScan.Unlock()
	recs := ListRecordings(ctx, dir, live)
	ups := s.uploads.byFolder()
	for i, sh := range recs.Shows {
		recs.Shows[i].Uploads = ups[filepath.Clean(sh.Path)]
	}
	return recs
}

// apiRecordings is GET /api/recordings.
func (s *Studio) apiRecordings(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.Recordings(r.Context()))
}

// ListRecordings reads the show folders in dir, newest first (by the
// folder's modification time: show.json is renamed into it every second
// while live, so that is about when the show ended; no file is opened to
// sort). live is the folder being recorded now. It never fails as a
// whole: what cannot be read is said in the Error of the folder or show
// it concerns. A cancelled ctx ends it early, with what it has.
func ListRecordings(ctx context.Context, dir, live string) Recordings {
	out := Recordings{Dir: dir, Shows: []RecordedShow{}}
	if dir == "" {
		return out
	}
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		out.Error = fmt.Sprintf("reading the recordings folder: %v", err)
	}
	type folder struct {
		name string
		mod  time.Time
	}
	var folders []folder
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		f := folder{name: e.Name()}
		if info, err := e.Info(); err == nil {
			f.mod = info.ModTime()
		}
		folders = append(folders, f)
	}
	slices.SortFunc(folders, func(a, b folder) int {
		return cmp.Or(b.mod.Compare(a.mod), strings.Compare(b.name, a.name))
	})
	if len(folders) > MaxListedShows {
		out.More = len(folders) - MaxListedShows
		folders = folders[:MaxListedShows]
	}
	if live != "" {
		live = filepath.Clean(live)
	}
	for i, f := range folders {
		if ctx.Err() != nil {
			out.More += len(folders) - i
			break
		}
		path := filepath.Join(dir, f.name)
		out.Shows = append(out.Shows, readShow(path, path == live))
	}
	return out
}

// readShow lists one show's folder.
func readShow(path string, live bool) RecordedShow {
	sh := RecordedShow{Folder: filepath.Base(path), Path: path, Live: live, Files: []RecordedFile{}}
	meta, err := readShowMeta(path)
	if err != nil {
		sh.Error = err.Error()
		sh.filesFound()
	} else {
		sh.Title, sh.Start = meta.Title, meta.Start
		if meta.Program != "" {
			p := statRecorded(path, RecordedFile{File: meta.Program})
			sh.Program = &p
		}
		if meta.ProgramVertical != "" {
			p := statRecorded(path, RecordedFile{File: meta.ProgramVertical})
			sh.ProgramVertical = &p
		}
		files := meta.Files
		if len(files) > maxListedFiles {
			sh.MoreFiles, files = len(files)-maxListedFiles, files[:maxListedFiles]
		}
		var recorded int64
		for _, f := range files {
			sh.Files = append(sh.Files, statRecorded(path, RecordedFile{File: f.File, Name: f.Name, Role: f.Role,
				Participant: f.Participant, StartMS: f.StartMS, EndMS: f.EndMS, Dropped: f.Dropped}))
			recorded = max(recorded, f.EndMS)
		}
		sh.DurationMS = meta.EndMS
		if meta.EndMS <= 0 {
			sh.DurationMS = recorded
			if start, err := time.Parse(time.RFC3339, meta.Start); err == nil && live {
				sh.DurationMS = time.Since(start).Milliseconds()
			}
			sh.CutShort = !live
		}
		// A show a later start found cut short has its end_ms from how
		// far its files went, and says so (cutshort.go).
		sh.CutShort = sh.CutShort || meta.CutShort
	}
	for _, p := range []*RecordedFile{sh.Program, sh.ProgramVertical} {
		if p != nil {
			sh.Bytes += p.Bytes
		}
	}
	for _, f := range sh.Files {
		sh.Bytes += f.Bytes
	}
	return sh
}

// readShowMeta reads the folder's show.json, in words a creator reads.
func readShowMeta(path string) (showMeta, error) {
	var m showMeta
	f, err := os.Open(filepath.Join(path, "show.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return m, errors.New("no show.json: not a Greenroom show, or one that never started")
	}
	if err != nil {
		return m, fmt.Errorf("show.json: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxShowJSON+1))
	switch {
	case err != nil:
		return m, fmt.Errorf("show.json: %w", err)
	case len(b) > maxShowJSON:
		return m, fmt.Errorf("show.json: over %d bytes", maxShowJSON)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("show.json is damaged: %w", err)
	}
	return m, nil
}

// filesFound lists the folder's files when show.json says nothing: each
// file but hidden ones and a damaged show.json, program.mp4 as the
// program.
func (sh *RecordedShow) filesFound() {
	entries, err := os.ReadDir(sh.Path)
	if err != nil {
		sh.Error += fmt.Sprintf("; reading the folder: %v", err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || strings.HasPrefix(e.Name(), ".") || e.Name() == "show.json" {
			continue
		}
		if len(sh.Files) == maxListedFiles {
			sh.MoreFiles++
			continue
		}
		f := statRecorded(sh.Path, RecordedFile{File: e.Name()})
		if e.Name() == "program.mp4" {
			sh.Program = &f
			continue
		}
		sh.Files = append(sh.Files, f)
	}
}

// statRecorded fills in f's size. Only files in the show's folder, or
// next to it (the program of `--record FILE`, "../FILE"), are looked at:
// a damaged show.json can't send the listing elsewhere.
func statRecorded(folder string, f RecordedFile) RecordedFile {
	name := filepath.FromSlash(f.File)
	if !filepath.IsLocal(name) && (filepath.Dir(name) != ".." || !filepath.IsLocal(filepath.Base(name))) {
		f.Error = "not in the show's folder"
		return f
	}
	info, err := os.Stat(filepath.Join(folder, name))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		f.Error = "missing"
	case err != nil:
		f.Error = err.Error()
	case !info.Mode().IsRegular():
		f.Error = "not a file"
	default:
		f.Bytes = info.Size()
	}
	return f
}
