package studio

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// Who is on stage is kept in the config folder (issue #11), so a guest
// whose page rejoins a restarted studio by itself (the guest link is kept:
// guestlink.go) comes back onto the stage, not into the green room, if
// there is room. A guest is known by the resume key her page kept from
// the last studio's "welcome" — by its SHA-256 only: the file holds no
// key that would let anyone in. Each guest's entry is short-lived: good
// for a restart within stageKeptFor of when she was last seen on stage,
// which is refreshed every stageRefresh while she is, so a studio killed
// after hours still puts its guests back, and one started the next day
// does not. Guests of the last studio not back yet stay in the file
// until then (a second restart soon after the first loses nobody). The
// file lists them in the stage's order, and those who come back take
// their places in it whatever order their pages rejoin in (after the
// guests on stage already, for those still to come). The file is private
// (0600) like the guest link.
const (
	stageFile    = "stage.json"
	stageKeptFor = 10 * time.Minute
	stageRefresh = time.Minute
)

// stageRecord is the file's form.
type stageRecord struct {
	Guests []stageGuest `json:"guests"`
}

// stageGuest is one guest on stage.
type stageGuest struct {
	Key  string    `json:"key"`  // resumeHash of their resume key
	Name string    `json:"name"` // for the log and whoever reads the file
	Seen time.Time `json:"seen"` // last known on stage
	// rank is the guest's place in the last studio's stage order (the
	// file's order), for one not back yet.
	rank int
}

// resumeHash is what the file keeps of a resume key.
func resumeHash(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:])
}

// stageKeeper writes who is on stage (run owns the file) and holds who
// the last studio had there, to put back (mu guards back).
type stageKeeper struct {
	path string // "" without a config folder: nothing kept
	log  *slog.Logger
	poke chan struct{} // the show changed; capacity 1 merges pokes

	mu   sync.Mutex
	back map[string]stageGuest // by Key
}

// newStageKeeper reads what the last studio left in dir (nothing for ""):
// a guest seen on stage longer than stageKeptFor ago is left out. A file that can't be read
// is said in the log; its guests come back into the green room.
func newStageKeeper(dir string, log *slog.Logger, now time.Time) *stageKeeper {
	k := &stageKeeper{log: log.With("component", "stage"), poke: make(chan struct{}, 1), back: map[string]stageGuest{}}
	if dir == "" {
		return k
	}
	k.path = filepath.Join(dir, stageFile)
	b, err := os.ReadFile(k.path)
	var rec stageRecord
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return k
	case err == nil:
		err = json.Unmarshal(b, &rec)
	}
	if err != nil {
		k.log.Warn("who was on stage is lost: guests coming back go to the green room", "err", fmt.Errorf("read %s: %w", k.path, err))
		return k
	}
	for i, g := range rec.Guests {
		if fresh(g, now) {
			g.rank = i
			k.back[g.Key] = g
		}
	}
	if len(k.back) > 0 {
		k.log.Info("guests back within minutes go back on stage", "guests", len(k.back))
	}
	return k
}

// fresh is whether g was on stage recently enough at now to go back.
func fresh(g stageGuest, now time.Time) bool {
	age := now.Sub(g.Seen)
	return age >= 0 && age <= stageKeptFor
}

// takeBack says whether the guest whose page came with resume key key
// was on stage in the last studio, and her place in its stage order
// (rank, from 0); once per key.
func (k *stageKeeper) takeBack(key string) (name string, rank int, ok bool) {
	h := resumeHash(key)
	k.mu.Lock()
	defer k.mu.Unlock()
	g, ok := k.back[h]
	delete(k.back, h)
	return g.Name, g.rank, ok && fresh(g, time.Now())
}

// changed tells run the show changed. It never blocks.
func (k *stageKeeper) changed() {
	select {
	case k.poke <- struct{}{}:
	default:
	}
}

// run writes onStage() to the file after each change that alters it, and
// every stageRefresh while anyone is on stage, until ctx ends. Once ctx
// has ended nothing more is written: the studio closing ends every
// session, and those guests leaving are not leaving the stage.
func (k *stageKeeper) run(ctx context.Context, onStage func() []stageGuest) {
	if k.path == "" {
		return
	}
	tick := time.NewTicker(stageRefresh)
	defer tick.Stop()
	var last []stageGuest
	written := false
	for {
		refresh := false
		select {
		case <-ctx.Done():
			return
		case <-k.poke:
		case <-tick.C:
			refresh = true
		}
		guests := onStage()
		if ctx.Err() != nil {
			return
		}
		if written && slices.Equal(guests, last) && (!refresh || len(guests) == 0) {
			continue
		}
		if err := k.write(guests, time.Now()); err != nil {
			k.log.Warn("who is on stage will not survive a restart", "err", err)
			continue
		}
		last, written = guests, true
	}
}

// write keeps guests as who is on stage at now, with the last studio's
// guests not back yet, atomically; none removes the file.
func (k *stageKeeper) write(guests []stageGuest, now time.Time) error {
	all := make([]stageGuest, 0, len(guests))
	for _, g := range guests {
		g.Seen = now.UTC()
		all = append(all, g)
	}
	k.mu.Lock()
	var back []stageGuest
	for _, g := range k.back {
		if fresh(g, now) {
			back = append(back, g)
		}
	}
	k.mu.Unlock()
	slices.SortFunc(back, func(a, b stageGuest) int { return a.rank - b.rank })
	all = append(all, back...)
	if len(all) == 0 {
		if err := os.Remove(k.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("stage: %w", err)
		}
		return nil
	}
	if err := keepJSON(k.path, stageRecord{Guests: all}); err != nil {
		return fmt.Errorf("stage: keep who is on stage: %w", err)
	}
	return nil
}
