package studio

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"greenroom/encode/iso"
	"greenroom/encode/webm"
)

// A guest whose page was reloaded mid-show has several takes, each a
// file of its own (a new recorder is a new WebM stream, its times from
// 0). Once every take of hers in a show is complete, the studio joins
// them into one more file, "<name> local joined.webm": the first take
// whole, then each next one's clusters moved to where it began on the
// show's timeline (webm.Join), so the gaps (the reload, what the page
// never stored) stay gaps and the file lines up with the show like the
// takes. show.json lists it with the role "joined". The takes' files
// stay as they were: a join that fails (tracks that differ, a disk
// error) leaves them, and the log says why. It runs off the request
// that completed the last take (a long show's takes are gigabytes).
// A join a restart cut short (a crash, a kill, or a quit, which stops a
// join under way) is made again at the next start, from the takes kept
// for it (rejoin).

// errJoinStopped ends a join when the studio closes.
var errJoinStopped = errors.New("the studio closed")

// joined is a guest's joined file and how many takes it holds.
type joined struct {
	path  string
	takes int
}

// join joins the takes of t's guest in t's show, off the caller's
// goroutine, if they are several and all complete. A join made before a
// later take (a page reloaded twice, its second take complete before
// the third began) is made again, over the same file, once that one is
// complete too.
func (u *uploads) join(t *take) {
	u.mu.Lock()
	if u.closing {
		u.mu.Unlock()
		return
	}
	u.joins.Add(1)
	u.mu.Unlock()
	go func() {
		defer u.joins.Done()
		u.joinMu.Lock()
		defer u.joinMu.Unlock()
		key := joinKey(t)
		paths, gaps := u.takesOf(t)
		u.mu.Lock()
		was := u.joined[key]
		u.mu.Unlock()
		if len(paths) < 2 || was.takes == len(paths) {
			return
		}
		base := filepath.Join(t.show.folder(), joinedStem(t.name))
		path, err := joinFiles(base, was.path, paths, gaps, u.stopJoins)
		if err != nil {
			u.log.Warn("a guest's takes left as they are, not joined", "guest", t.participant, "takes", len(paths), "err", err)
			return
		}
		u.mu.Lock()
		u.joined[key] = joined{path, len(paths)}
		u.mu.Unlock()
		u.log.Info("a guest's takes joined", "guest", t.participant, "takes", len(paths), "file", path)
		t.show.setLocal("joined "+t.participant, showFile{Name: t.name, Role: "joined", Participant: t.participant,
			File: filepath.Base(path), StartMS: (gaps[0]).Milliseconds(), Takes: len(paths)})
	}()
}

// rejoin makes again the joins an earlier run left undone, at the start
// (New, the kept takes loaded). A guest's
// takes in a show whose show.json lists no joined file of as many takes
// are joined again (join: only if all are complete, which a restart
// leaves them), over the joined file it lists if any, not into a new
// name; what a join cut short left aside (".joining-*.webm") is removed.
// A show.json that lists it whole costs one read of it per show.
func (u *uploads) rejoin() {
	groups := map[string][]*take{}
	u.mu.Lock()
	for _, t := range u.takes {
		key := joinKey(t)
		groups[key] = append(groups[key], t)
	}
	u.mu.Unlock()
	metas := map[string]*showMeta{}
	for key, ts := range groups {
		if len(ts) < 2 {
			continue
		}
		folder := ts[0].show.folder()
		m, ok := metas[folder]
		if !ok {
			if mm, err := readShowMeta(folder); err == nil {
				m = &mm
			}
			metas[folder] = m
			// Under joinMu: none of this run's joins is writing aside.
			u.joinMu.Lock()
			stale, _ := filepath.Glob(filepath.Join(folder, ".joining-*.webm"))
			for _, p := range stale {
				if err := os.Remove(p); err == nil {
					u.log.Info("removed what a join cut short left", "file", p)
				}
			}
			u.joinMu.Unlock()
		}
		if m != nil {
			// Only a name join makes is made again (rename over it): show.json
			// is the creator's to edit, and no other file is ever overwritten.
			ours := joinedStem(ts[0].name)
			for _, f := range m.Files {
				if f.Role == "joined" && f.Participant == ts[0].participant && f.File == filepath.Base(f.File) &&
					strings.HasPrefix(f.File, ours) && strings.HasSuffix(f.File, ".webm") {
					u.mu.Lock()
					if _, ok := u.joined[key]; !ok { // not one this run made
						u.joined[key] = joined{filepath.Join(folder, f.File), f.Takes}
					}
					u.mu.Unlock()
				}
			}
		}
		u.join(ts[0])
	}
}

// joinedStem is the name of guest name's joined file, less " (2)" and
// ".webm".
func joinedStem(name string) string { return fileName(name, "guest") + " local joined" }

// joinKey is where u.joined keeps t's guest's joined file: by show
// folder and participant.
func joinKey(t *take) string { return t.show.folder() + "\x00" + t.participant }

// takesOf returns the files of t's guest's takes in t's show, in the
// order they began, and when each began on the show's timeline (the
// first's start, then the time from it); none unless all are complete.
func (u *uploads) takesOf(t *take) (paths []string, gaps []time.Duration) {
	u.mu.Lock()
	var takes []*take
	for _, o := range u.takes {
		if o.participant == t.participant && o.show.folder() == t.show.folder() {
			takes = append(takes, o)
		}
	}
	u.mu.Unlock()
	type part struct {
		path  string
		start time.Duration
	}
	var parts []part
	for _, o := range takes {
		o.mu.Lock()
		p, done := part{o.path, o.placed()}, o.done
		o.mu.Unlock()
		if !done {
			return nil, nil // the last to complete joins them
		}
		if p.path != "" {
			parts = append(parts, p)
		}
	}
	slices.SortFunc(parts, func(a, b part) int { return cmp.Compare(a.start, b.start) })
	for _, p := range parts {
		paths = append(paths, p.path)
		gaps = append(gaps, p.start-parts[0].start)
	}
	if len(gaps) > 0 {
		gaps[0] = parts[0].start
	}
	return paths, gaps
}

// joinFiles joins the recordings at paths, the i-th (i > 0) gaps[i]
// after the first, into a new file base+".webm" (or "base (2).webm"… if
// taken), or over the file at path if not "" (a join made again). The
// file is made only once whole: written aside, synced, then renamed to
// its name.
func joinFiles(base, path string, paths []string, gaps []time.Duration, stop <-chan struct{}) (string, error) {
	var first io.Reader
	var next []webm.Part
	for i, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return "", err
		}
		defer f.Close()
		r := stoppable{f, stop}
		if i == 0 {
			first = r
		} else {
			next = append(next, webm.Part{R: r, Gap: gaps[i]})
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(base), ".joining-*.webm")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name()) // when not renamed
	w := bufio.NewWriterSize(tmp, 1<<20)
	err = webm.Join(w, first, next...)
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644) // as the takes' files
	}
	if err == nil && path != "" {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return "", fmt.Errorf("join %s: %w", filepath.Base(base), err)
	}
	if path != "" {
		return path, nil
	}
	// A name that exists is never overwritten: the name is made first
	// (O_EXCL), then the whole file renamed over it.
	return iso.Unique(base, ".webm", func(p string) error {
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return err
		}
		_ = f.Close()
		return os.Rename(tmp.Name(), p)
	})
}

// stoppable reads r until stop is closed.
type stoppable struct {
	r    io.Reader
	stop <-chan struct{}
}

func (s stoppable) Read(b []byte) (int, error) {
	select {
	case <-s.stop:
		return 0, errJoinStopped
	default:
	}
	return s.r.Read(b)
}
