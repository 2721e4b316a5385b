package studio

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Guests' takes across a studio restart (issue #11: "after a drop or a
// reload of the link, the upload resumes where it stopped", and "a crash
// ... loses nothing already recorded"). A take's page keeps its chunks in
// IndexedDB until the studio confirms them and retries while the studio
// is away; for the restarted studio to take them, each take is kept as a
// small JSON file in ConfigDir/uploads, <take>.json (0600), replaced
// atomically when the take is made and each time a chunk is confirmed:
// its ID, its key's SHA-256 (never the key), the guest's name, the show's
// folder and its start on the wall clock, the file, the next chunk, the
// bytes stored, the file's start on the show's timeline and whether it is
// complete. The config folder, not the show's: New knows it before any
// show, while the recordings folder is the Program's and may change from
// one run to the next.
//
// At the next start (newUploads) every kept take whose last change is
// younger than keepTakes is taken back as it was: its page's GET
// /upload/{take} gets where to resume, its chunks go on into the same
// file, and the host sees its state (State.Uploads, and /api/recordings
// under its show). A file longer than its take says (a chunk written,
// the crash before its confirmation) is cut back to it: the page sends
// that chunk again. Older takes are forgotten, their file trimmed to
// whole WebM elements if it never got its last chunk. A complete take is
// kept as long, so a page that missed the last confirmation hears "done"
// and frees its storage.

// keepTakes is how long a take is kept after its last chunk: a guest who
// closed the laptop before the upload finished, and opens the page (the
// same studio's address) the next days, still finishes it.
const keepTakes = 7 * 24 * time.Hour

// takeRecord is a take as kept on disk.
type takeRecord struct {
	Take        string `json:"take"`
	KeySHA256   string `json:"key_sha256"` // hex; the key itself is never written
	Participant string `json:"participant"`
	Name        string `json:"name"`
	Folder      string `json:"folder"` // the show's
	// Origin is the wall clock at the show's time 0, for a first chunk
	// that comes only after a restart.
	Origin  time.Time `json:"origin"`
	File    string    `json:"file,omitempty"` // "" until chunk 0
	Next    int       `json:"next"`
	Of      int       `json:"of"`
	Bytes   int64     `json:"bytes"`
	StartMS int64     `json:"start_ms"`
	DelayMS int64     `json:"delay_ms,omitempty"` // take.delay
	Done    bool      `json:"done,omitempty"`
	Updated time.Time `json:"updated"`
}

// save keeps the take as it is now, if it is kept at all. Under t.mu.
func (t *take) save() error {
	if t.store == "" {
		return nil
	}
	r := takeRecord{
		Take: t.id, KeySHA256: hex.EncodeToString(t.keyHash[:]), Participant: t.participant, Name: t.name,
		Folder: t.show.folder(), Origin: time.Now().Add(-t.show.now()).UTC(),
		File: t.path, Next: t.next, Of: t.of, Bytes: t.bytes, StartMS: t.start.Milliseconds(), DelayMS: t.delay.Milliseconds(), Done: t.done,
		Updated: time.Now().UTC(),
	}
	if p, ok := t.show.(*pastShow); ok {
		r.Origin = p.origin // not drifting with each save
	}
	if err := keepJSON(filepath.Join(t.store, t.id+".json"), r); err != nil {
		return err
	}
	t.kept = true
	return nil
}

// load takes back the takes kept in u.dir, forgetting those last changed
// before now-keepTakes.
func (u *uploads) load(now time.Time) {
	if u.dir == "" {
		return
	}
	paths, _ := filepath.Glob(filepath.Join(u.dir, "*.json"))
	shows := map[string]*pastShow{}
	for _, path := range paths {
		t, err := u.restore(path, now, shows)
		if err != nil {
			u.log.Warn("a guest's local recording kept from the last run", "record", filepath.Base(path), "err", err)
			_ = os.Remove(path)
			continue
		}
		if t == nil {
			_ = os.Remove(path) // expired
			continue
		}
		u.takes[t.id] = t
		u.log.Info("a guest's local recording goes on from the last run", "guest", t.participant,
			"file", t.path, "next", t.next, "done", t.done)
	}
}

// restore reads one kept take; nil, with no error, if it expired (its
// file then trimmed if it never got its last chunk).
func (u *uploads) restore(path string, now time.Time, shows map[string]*pastShow) (*take, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r takeRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	hash, err := hex.DecodeString(r.KeySHA256)
	if r.Take+".json" != filepath.Base(path) || err != nil || len(hash) != len(take{}.keyHash) ||
		r.Folder == "" || r.Next < 0 || r.Bytes < 0 || (r.File == "") != (r.Next == 0) {
		return nil, errors.New("not a take record")
	}
	sh := shows[r.Folder]
	if sh == nil {
		sh = &pastShow{dir: r.Folder, origin: r.Origin, log: u.log}
		shows[r.Folder] = sh
	}
	t := &take{
		id: r.Take, participant: r.Participant, name: r.Name, show: sh, log: u.log, store: u.dir,
		path: r.File, next: r.Next, of: r.Of, bytes: r.Bytes, start: time.Duration(r.StartMS) * time.Millisecond,
		delay:   time.Duration(r.DelayMS) * time.Millisecond,
		stopped: true, done: r.Done, kept: true,
	}
	copy(t.keyHash[:], hash)
	if t.path == "" {
		if now.Sub(r.Updated) > keepTakes {
			return nil, nil
		}
		return t, nil
	}
	if t.done {
		// Nothing more goes into it: kept only to say "done".
		if now.Sub(r.Updated) > keepTakes {
			return nil, nil
		}
		return t, nil
	}
	f, err := os.OpenFile(t.path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("its file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("its file: %w", err)
	}
	switch {
	case st.Size() < t.bytes:
		return nil, fmt.Errorf("its file %s has %d bytes of the %d stored", t.path, st.Size(), t.bytes)
	case st.Size() > t.bytes:
		// A chunk written, and the studio gone before it was confirmed:
		// the page sends it again.
		if err := f.Truncate(t.bytes); err != nil {
			return nil, fmt.Errorf("its file: %w", err)
		}
	}
	if now.Sub(r.Updated) > keepTakes {
		t.trim(f)
		u.log.Info("a guest's local recording never finished: left as it is", "file", t.path, "since", r.Updated)
		return nil, nil
	}
	return t, nil
}

// pastShow is the show of a take kept across a restart: its folder, and
// its start on the wall clock. mu guards the writing of its show.json.
type pastShow struct {
	dir    string
	origin time.Time
	log    *slog.Logger
	mu     sync.Mutex
}

func (p *pastShow) folder() string     { return p.dir }
func (p *pastShow) now() time.Duration { return time.Since(p.origin) }

// pictureDelay: the show is over, and its take keeps the delay it had.
func (p *pastShow) pictureDelay(string, time.Duration, time.Duration) (time.Duration, bool) {
	return 0, false
}

// senderTime: the show is over, and its take keeps the start it had.
func (p *pastShow) senderTime(string, time.Duration) (time.Duration, bool) { return 0, false }

// setLocal lists a guest's own recording in the show's show.json, if it
// is not there as f yet: its show ended with the last run, so nothing
// else writes it.
func (p *pastShow) setLocal(_ string, f showFile) {
	p.mu.Lock()
	defer p.mu.Unlock()
	m, err := readShowMeta(p.dir)
	if err != nil {
		p.log.Warn("show.json of a local recording from the last run", "folder", p.dir, "err", err)
		return
	}
	i := slices.IndexFunc(m.Files, func(g showFile) bool { return g.File == f.File })
	switch {
	case i >= 0 && m.Files[i] == f:
		return
	case i >= 0:
		m.Files[i] = f
	default:
		m.Files = append(m.Files, f)
	}
	if err := writeShowJSON(p.dir, m); err != nil {
		p.log.Warn("show.json of a local recording from the last run", "folder", p.dir, "err", err)
	}
}

// byFolder is the takes' states by their show's folder, for the
// Recordings listing.
func (u *uploads) byFolder() map[string][]GuestUpload {
	u.mu.Lock()
	ts := make([]*take, 0, len(u.takes))
	for _, t := range u.takes {
		ts = append(ts, t)
	}
	u.mu.Unlock()
	out := map[string][]GuestUpload{}
	for _, t := range ts {
		up := t.upload()
		dir := filepath.Clean(up.Show)
		out[dir] = append(out[dir], GuestUpload{Participant: up.Participant, Name: up.Name, State: up.State, Percent: up.Percent})
	}
	for _, ups := range out {
		slices.SortFunc(ups, func(a, b GuestUpload) int { return strings.Compare(a.Name, b.Name) })
	}
	return out
}
