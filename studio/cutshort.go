package studio

import (
	"cmp"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// liveWrites is how recently a show.json was written for its show to be
// taken as live in another studio, not cut short: a live show rewrites it
// every second (showRecording.run).
const liveWrites = 5 * time.Second

// lastCutShort looks at the newest show in the recordings folder dir, by
// its start, when the studio starts (issue #14 item 6): if its show.json
// still says end_ms 0 and nobody has written it for liveWrites, the studio
// that recorded it never ended it — a crash, a power cut, a kill — and it
// returns what to tell the host, nil otherwise.
//
// It also ends that show.json: end_ms from the files it names (how far
// each was written at its last rewrite, a second or so before the end;
// the program's file is not probed, as that would cost a decode at every
// start) and "cut_short": true, so the next start does not say it again
// and an editor's tool sees both the length and that it is approximate.
func lastCutShort(dir string, log *slog.Logger) *CutShort {
	metas, _ := filepath.Glob(filepath.Join(dir, "*", "show.json"))
	var newest struct {
		path  string
		meta  showMeta
		start time.Time
		mod   time.Time
	}
	for _, path := range metas {
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		var m showMeta
		if json.Unmarshal(b, &m) != nil {
			continue
		}
		start, err := time.Parse(time.RFC3339, m.Start)
		if err != nil {
			continue
		}
		if newest.path == "" || start.After(newest.start) {
			st, err := os.Stat(path)
			if err != nil {
				continue
			}
			newest.path, newest.meta, newest.start, newest.mod = path, m, start, st.ModTime()
		}
	}
	m := newest.meta
	if newest.path == "" || m.EndMS != 0 || m.CutShort || time.Since(newest.mod) < liveWrites {
		return nil
	}
	folder := filepath.Dir(newest.path)
	for _, f := range m.Files {
		m.EndMS = max(m.EndMS, f.EndMS)
	}
	m.CutShort = true
	if err := writeShowJSON(folder, m); err != nil {
		log.Warn("show.json of the show cut short", "err", err)
	}
	title := cmp.Or(m.Title, "Show")
	return &CutShort{
		Title: title, Start: m.Start, Folder: folder,
		Message: fmt.Sprintf("The last show (%s, %s) was cut short; its recordings are in %s",
			title, newest.start.Local().Format("Mon 2 Jan 15:04"), folder),
	}
}
