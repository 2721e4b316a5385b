package studio

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"greenroom/encode/clock"
	"greenroom/encode/iso"
	"greenroom/encode/webm"
	"greenroom/studio/signal"
)

// Guest-side local recording (issue #11 item 3). When the host switches
// it on (SetLocalRecording) and the show is live and recorded to a folder,
// each guest's page is sent a "record" message with a take: an ID and its
// own key. The page records its camera and mic with MediaRecorder, keeps
// the chunks in IndexedDB and uploads them, numbered from 0, here:
//
//	GET  /upload/{take}      {"next": n, "done": false}: where to resume
//	POST /upload/{take}/{n}  one chunk; ?of=N chunks recorded so far,
//	                         &final=1 on the last (an empty body may end
//	                         a take), &since=ms&wall=ms on chunk 0
//	                         (see below)
//
// both with "Authorization: Bearer <key>". The studio appends the chunks,
// in order and each once, to "<name> local.webm" in the show's folder, and
// lists it in show.json with its start on the show's timeline. A take is
// one MediaRecorder run: a page reloaded mid-show finishes uploading its
// old take and records a new one (a WebM stream can't be resumed by
// another recorder), so a reload makes a second file.
//
// The start offset: with chunk 0 the page sends wall, when the camera
// frame its recorder starts on was captured, on Date.now's clock (it
// starts the recorder just after a frame is shown and says the next
// one's capture: localrec.js's afterFrame; not the recorder's start
// event, which comes once its encoder is up, 1.3 s late for VP9 at 1080p
// on a busy machine). Date.now reads the clock the page's WebRTC sender
// stamps its RTCP sender reports with (libwebrtc's NTP time is the
// system's wall clock), so the studio places that instant as it places
// the guest's media in their ISO file: through their sender reports
// (showRecording.senderTime), again as each chunk comes while the show
// is live, as the mapping settles on its least-delayed report.
//
// Until their sender has reported (a page whose call is not up yet), and
// for a page that does not send wall, the start is the show time at the
// request's arrival minus since, the milliseconds from that start to the
// request (both read from Date.now, so a reload in between does not
// matter). That one is late by the request's way to the studio, its
// queueing in the browser and its body's upload: 2–43 ms after the
// sender's in 4 runs with two Chromium guests at a load of 13–24. It is
// also what a take keeps when its sender's reports place the start where
// chunk 0 could not have been sent from (take.place).
//
// That start is when the guest captured the file's first instant, but
// the program (whose first instant is the show's zero) shows a guest's
// media their playout delay after its capture (clock.Playout, 40–300
// ms), and their ISO file takes that delay to line up with it. So does
// the local recording: show.json places it at its start plus the delay
// of their ISO file's picture (showRecording.pictureDelay: the playout
// delay and their Delay's shift of the picture; the page's file keeps its
// own sound against its picture, a camera's lag included, which one
// offset cannot correct for both). The ISO file takes the delay of each
// instant; a file placed by one offset takes its median over the file's
// time on the show (showRecording.pictureDelay, from the ISO file's
// changes), so a delay that moved for a moment (a stall) misplaces the
// file by nothing, and as much of it is early as late against the
// program when the delay moved for good, by the difference at most. (It
// took the median of the delays as its chunks came, which pile up after a
// stall and at the show's end: placed by the delay of the last seconds,
// 150 ms off the other 11 s of a 20 s show at a load of 20.)

// maxChunk bounds one chunk: the page records up to 8.25 Mb/s (1080p at
// 8 Mb/s and 256 kb/s of sound) in 1 s chunks, ~1 MB each; 8 MB leaves
// room for a chunk of keyframes or a recorder that overshoots.
const maxChunk = 8 << 20

// maxChunkNumber bounds a take's chunk numbers: ~12 days of 1 s chunks.
const maxChunkNumber = 1 << 20

// chunkTimeout is how long one chunk's body may take to arrive: 8 MB at
// the page's slowest pace (1 Mb/s) is about a minute.
const chunkTimeout = 2 * time.Minute

// Upload states.
const (
	UploadRecording = "recording" // the page records (and uploads as it goes)
	UploadUploading = "uploading" // the page stopped recording; chunks are still coming
	UploadComplete  = "complete"  // the last chunk is stored
)

// Upload is one guest's local recording (one take) as the host sees it,
// in State.Uploads.
type Upload struct {
	Take string `json:"take"`
	// Participant is the guest's ID in the show whose folder is Show: a
	// take kept from before a restart (takestore.go) has its show's,
	// and a restarted studio numbers its guests afresh.
	Participant string `json:"participant"`
	Show        string `json:"show"`
	Name        string `json:"name"`
	// File is the recording's path; empty until its first chunk came.
	File  string `json:"file,omitempty"`
	State string `json:"state"` // UploadRecording, UploadUploading or UploadComplete
	// Percent is the share of the chunks the page recorded (Recorded,
	// as far as it said) that are stored; Chunks and Bytes, what is
	// stored (chunks 0 to Chunks-1, each once).
	Percent  int   `json:"percent"`
	Recorded int   `json:"recorded"`
	Chunks   int   `json:"chunks"`
	Bytes    int64 `json:"bytes"`
}

// takeShow is the show a take belongs to: the live show's recording, or
// after a restart the past show its folder holds (pastShow, takestore.go).
type takeShow interface {
	folder() string
	now() time.Duration // the show time: from the show's start
	// pictureDelay is how long after its capture the program had the
	// participant's picture between show times from and to, its median
	// over that time; ok false when unknown (not yet, or a past show).
	pictureDelay(participant string, from, to time.Duration) (d time.Duration, ok bool)
	// senderTime is the show time at which the participant's sender's
	// own clock read ntp; ok false when unknown (no report yet, or a
	// past show).
	senderTime(participant string, ntp time.Duration) (at time.Duration, ok bool)
	setLocal(id string, f showFile)
}

// take is one guest's local recording. mu guards everything below it and
// is held while a chunk is written, so one take's chunks go to disk one
// at a time, in order. Its file is open only while a chunk is written: a
// page closed for good never sends its last chunk, and a take of every
// guest who ever left would otherwise hold an fd for the studio's life
// (issue #14's soak).
type take struct {
	id string
	// key is what the page was given; keyHash, its SHA-256, is what
	// requests are checked against and all a restored take (one the
	// studio kept across a restart, takestore.go) has of it.
	key         Secret
	keyHash     [sha256.Size]byte
	participant string
	name        string
	show        takeShow // the show it belongs to; its folder
	log         *slog.Logger
	// store is where the take is kept for a restarted studio to go on
	// with (uploads.dir); "" keeps it in memory only.
	store string
	// session is the guest session the take was handed to while it is
	// its participant's current take (under uploads.mu; nil after): a new
	// session of theirs — a reloaded page, whose recorder starts afresh
	// — gets a new take, whichever of the two sessions the studio hears
	// from first.
	session *guest

	mu    sync.Mutex
	path  string
	next  int   // the chunk expected next
	of    int   // chunks the page says it recorded
	bytes int64 // stored
	start time.Duration
	// wall is the page's start on its own clock, as an NTP time (0: the
	// page did not say); arrived, the start by chunk 0's arrival; mapped,
	// whether start was placed from wall; astray, that wall mapped where
	// chunk 0 could not have been sent from.
	wall    time.Duration
	arrived time.Duration
	mapped  bool
	astray  bool
	// delay is what the take's start is placed after on the show's
	// timeline (its file's first instant in the program): the median of
	// the program's picture delay for the guest over the take (see "The
	// start offset" above).
	delay   time.Duration
	stopped bool // the page was told to stop, or the show ended
	done    bool // the last chunk is stored
	closed  bool // the studio closed: no chunk is stored any more
	kept    bool // saved as it is now: a restart goes on from here
}

// uploads holds every take of the studio's life, and those an earlier
// run of it left unexpired (takestore.go); mu guards the maps (a take's
// own state is under its own lock).
type uploads struct {
	dir     string // where takes are kept across restarts; "" nowhere
	log     *slog.Logger
	mu      sync.Mutex
	takes   map[string]*take  // by ID
	current map[string]*take  // the live show's, by participant
	joined  map[string]joined // guests' takes joined (takejoin.go), by show folder and participant
	// joins counts the joins under way, which close stops (stopJoins, closed
	// once closing is set) and waits for; joinMu runs them one at a time.
	joins     sync.WaitGroup
	joinMu    sync.Mutex
	stopJoins chan struct{}
	closing   bool
}

// newUploads keeps the takes in dir ("": in memory only), and goes on
// with those an earlier run left there (their joins made again by
// rejoin, once the studio is up).
func newUploads(dir string, log *slog.Logger) *uploads {
	u := &uploads{dir: dir, log: log, takes: map[string]*take{}, current: map[string]*take{},
		joined: map[string]joined{}, stopJoins: make(chan struct{})}
	u.load(time.Now())
	return u
}

// takeFor returns participant's take of the show rec for their session,
// making it; the take it replaces (another session's, another show's) is
// stopped.
func (u *uploads) takeFor(rec takeShow, participant, name string, session *guest) *take {
	u.mu.Lock()
	old := u.current[participant]
	if old != nil && old.show == takeShow(rec) && old.session == session {
		u.mu.Unlock()
		return old
	}
	key := NewSecret()
	t := &take{id: NewSecret().Reveal()[:16], key: key, keyHash: sha256.Sum256([]byte(key.Reveal())),
		participant: participant, name: name, show: rec, session: session, log: u.log, store: u.dir}
	u.takes[t.id] = t
	u.current[participant] = t
	if old != nil {
		old.session = nil
	}
	u.mu.Unlock()
	if old != nil {
		old.stop()
	}
	// Before its page hears of it (off u.mu: a disk write): a restart
	// from now on keeps it. Failing that (a config folder that can't be
	// written), it goes on in memory only, as it would without one; once
	// kept, a chunk is confirmed only when kept too (write).
	t.mu.Lock()
	if err := t.save(); err != nil {
		t.log.Warn("a guest's local recording will not survive a restart", "guest", participant, "err", err)
		t.store = ""
	}
	t.mu.Unlock()
	return t
}

// stop marks take id (every current take, for "") stopped: its page no
// longer records it.
func (u *uploads) stop(id string) {
	u.mu.Lock()
	var ts []*take
	for p, t := range u.current {
		if id == "" || t.id == id {
			ts = append(ts, t)
			delete(u.current, p)
			t.session = nil
		}
	}
	u.mu.Unlock()
	for _, t := range ts {
		t.stop()
	}
}

func (t *take) stop() {
	t.mu.Lock()
	t.stopped = true
	t.mu.Unlock()
}

// lookup finds the take named id whose key is key. Every take's key
// hash is compared, each in constant time, so the answer's timing says
// nothing about the keys: 401 for a key of no take, 403 for another
// take's.
func (u *uploads) lookup(id, key string) (*take, int) {
	if key == "" {
		return nil, http.StatusUnauthorized
	}
	h := sha256.Sum256([]byte(key))
	u.mu.Lock()
	defer u.mu.Unlock()
	var found *take
	other := false
	for tid, t := range u.takes {
		if subtle.ConstantTimeCompare(t.keyHash[:], h[:]) == 1 {
			if tid == id {
				found = t
			} else {
				other = true
			}
		}
	}
	switch {
	case found != nil:
		return found, http.StatusOK
	case other:
		return nil, http.StatusForbidden
	}
	return nil, http.StatusUnauthorized
}

// state lists the takes for State, in the order of their names.
func (u *uploads) state() []Upload {
	u.mu.Lock()
	ts := make([]*take, 0, len(u.takes))
	for _, t := range u.takes {
		ts = append(ts, t)
	}
	u.mu.Unlock()
	out := make([]Upload, 0, len(ts))
	for _, t := range ts {
		out = append(out, t.upload())
	}
	slices.SortFunc(out, func(a, b Upload) int { return strings.Compare(a.Name+a.File, b.Name+b.File) })
	return out
}

// close ends the takes: a later chunk is refused (the studio is gone).
// Those kept for a restart (takestore.go) stay as they are, for their
// pages to go on with at the next start; the files of the others whose
// last chunk never came (a guest who closed the tab for good) are
// trimmed to whole WebM elements. A join under way is stopped (its file
// not made: the next start makes it, rejoin). Safe to call twice.
func (u *uploads) close() {
	u.mu.Lock()
	if !u.closing {
		u.closing = true
		close(u.stopJoins)
	}
	u.mu.Unlock()
	u.joins.Wait()
	u.mu.Lock()
	ts := make([]*take, 0, len(u.takes))
	for _, t := range u.takes {
		ts = append(ts, t)
	}
	u.mu.Unlock()
	for _, t := range ts {
		t.mu.Lock()
		if t.path != "" && !t.done && !t.closed && !t.kept {
			if f, err := os.OpenFile(t.path, os.O_RDWR, 0); err == nil {
				t.trim(f)
				_ = f.Close()
			}
		}
		t.stopped, t.closed = true, true
		t.mu.Unlock()
	}
}

func (t *take) upload() Upload {
	t.mu.Lock()
	defer t.mu.Unlock()
	up := Upload{Take: t.id, Participant: t.participant, Show: t.show.folder(), Name: t.name, File: t.path, Chunks: t.next, Recorded: max(t.of, t.next), Bytes: t.bytes, State: UploadRecording}
	if of := max(t.of, t.next); of > 0 {
		up.Percent = t.next * 100 / of
	}
	switch {
	case t.done:
		up.State, up.Percent = UploadComplete, 100
	case t.stopped:
		up.State = UploadUploading
	}
	return up
}

// chunkReply is the answer to every chunk request: where the take stands.
type chunkReply struct {
	Next int  `json:"next"`
	Done bool `json:"done"`
}

func (t *take) reply() chunkReply {
	return chunkReply{Next: t.next, Done: t.done}
}

// errChunkOrder refuses a chunk that is not the next one.
var errChunkOrder = errors.New("not the chunk expected next")

// write stores chunk n, data, if it is the next one: a chunk already
// stored is acknowledged again and not written twice. final ends the take.
// On a write error the file is cut back to where it was, so a retry of
// the same chunk starts clean.
func (t *take) write(n, of int, final bool, since, wall time.Duration, data []byte) (chunkReply, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n < t.next || (t.done && n == t.next && len(data) == 0) {
		return t.reply(), nil
	}
	if n > t.next || t.done {
		return t.reply(), errChunkOrder
	}
	if t.closed {
		return t.reply(), fmt.Errorf("upload: %s's local recording is closed", t.name)
	}
	var f *os.File
	switch {
	case n == 0 && len(data) > 0 && t.path == "":
		base := filepath.Join(t.show.folder(), fileName(t.name, "guest")+" local")
		path, err := createUnique(base, ".webm", &f)
		if err != nil {
			return t.reply(), fmt.Errorf("upload: %s's local recording: %w", t.name, err)
		}
		t.path = path
		t.arrived = max(t.show.now()-since, 0)
		t.start, t.wall = t.arrived, wall
	case t.path != "" && (len(data) > 0 || final):
		var err error
		if f, err = os.OpenFile(t.path, os.O_RDWR, 0); err != nil {
			return t.reply(), fmt.Errorf("upload: %s's local recording: %w", t.name, err)
		}
	}
	if f != nil {
		defer func() {
			if err := f.Close(); err != nil {
				t.log.Warn("close a local recording", "file", t.path, "err", err)
			}
		}()
	}
	if len(data) > 0 {
		// Chunk 0 makes the file: a later one has it (t.next > 0).
		if _, err := f.WriteAt(data, t.bytes); err != nil {
			_ = f.Truncate(t.bytes)
			return t.reply(), fmt.Errorf("upload: %s's local recording: %w", t.name, err)
		}
		// Safe on disk before the page forgets it.
		if err := f.Sync(); err != nil {
			_ = f.Truncate(t.bytes)
			return t.reply(), fmt.Errorf("upload: %s's local recording: %w", t.name, err)
		}
		t.bytes += int64(len(data))
		t.next++
		t.place()
		if d, ok := t.show.pictureDelay(t.participant, t.start, t.show.now()); ok {
			t.delay = d
		}
	}
	prevOf := t.of
	t.of = max(t.of, of, t.next)
	if final {
		t.done, t.stopped = true, true
	}
	// Kept for a restart before the page is told (and forgets the
	// chunk): a restarted studio must not ask for one it no longer has.
	if err := t.save(); err != nil {
		if len(data) > 0 {
			t.bytes -= int64(len(data))
			t.next--
			_ = f.Truncate(t.bytes)
		}
		t.of, t.done = prevOf, false
		return t.reply(), fmt.Errorf("upload: %s's local recording: keep it for a restart: %w", t.name, err)
	}
	if final && f != nil {
		before := t.bytes
		t.trim(f)
		if t.bytes != before {
			if err := t.save(); err != nil {
				t.log.Warn("keep a guest's local recording for a restart", "guest", t.participant, "err", err)
			}
		}
	}
	if t.path != "" {
		t.show.setLocal(t.id, showFile{Name: t.name, Role: "local", Participant: t.participant,
			File: filepath.Base(t.path), StartMS: t.placed().Milliseconds()})
	}
	return t.reply(), nil
}

// place places the take's start from the page's clock (wall), by the
// guest's sender reports as the show has them now. Under t.mu.
func (t *take) place() {
	if t.wall == 0 {
		return
	}
	at, ok := t.show.senderTime(t.participant, t.wall)
	if !ok {
		return
	}
	// By arrival the start is late by chunk 0's way here, which takes a
	// chunk's upload at most (chunkTimeout), and never early: a start
	// mapped outside that is a sender whose reports are not stamped by
	// its page's clock (a browser not seen yet), off by minutes or more.
	if at > t.arrived+time.Second || at < t.arrived-chunkTimeout {
		if !t.astray {
			t.log.Warn("a guest's sender reports are not on their page's clock: their local recording is placed by its upload's arrival",
				"guest", t.participant, "by_sender", at, "by_arrival", t.arrived)
		}
		t.astray = true
		return
	}
	if !t.mapped {
		t.log.Info("a guest's local recording placed by their sender's clock", "guest", t.participant,
			"start", at, "by_arrival", t.start)
	}
	t.start, t.mapped = max(at, 0), true
}

// placed is when the take's file begins on the show's timeline: where the
// program has its first instant. Under t.mu.
func (t *take) placed() time.Duration { return t.start + t.delay }

// trim cuts the file back to its last whole WebM element: a page that
// went away mid-recording (a reload) left its stream cut wherever its
// last chunk ended, even inside an element's header, and a player would
// stop there with an error. A recorder that stopped leaves nothing to cut.
func (t *take) trim(f *os.File) {
	whole, err := webm.Whole(f, t.bytes)
	if err != nil || whole == t.bytes || t.bytes-whole > maxChunk {
		// Unreadable, whole, or more than a chunk to cut: not a cut-off
		// tail, and what is stored stays.
		if err != nil || whole != t.bytes {
			t.log.Warn("local recording left as it is", "file", t.path, "whole", whole, "bytes", t.bytes, "err", err)
		}
		return
	}
	if err := f.Truncate(whole); err != nil {
		t.log.Warn("trim a local recording", "file", t.path, "err", err)
		return
	}
	t.log.Info("local recording cut off mid-element: trimmed", "file", t.path, "bytes", t.bytes-whole)
	t.bytes = whole
}

// createUnique makes base+ext, or "base (2)"+ext if that exists, and
// leaves it open in *f (for reading too: trim reads it).
func createUnique(base, ext string, f **os.File) (string, error) {
	return iso.Unique(base, ext, func(path string) error {
		var err error
		*f, err = os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644) // read by trim
		return err
	})
}

// SetLocalRecording switches the guests' local recording on or off for
// the shows to come and the one going on: while the show is live and
// recorded to a folder, every guest's page records its own camera and mic
// at full quality and uploads it (see upload.go).
func (s *Studio) SetLocalRecording(on bool) {
	if s.localRec.Swap(on) == on {
		return
	}
	if !on {
		s.uploads.stop("")
	}
	s.log.Info("guests' local recording", "on", on)
	s.changed()
}

// localShow is the show recording going on, if the guests' local
// recording is on, the show is recorded to a folder and not ending.
func (s *Studio) localShow() *showRecording {
	if !s.localRec.Load() || s.ending.Load() {
		return nil
	}
	if r, ok := s.cfg.Sink.(interface{ showRecording() *showRecording }); ok {
		return r.showRecording()
	}
	return nil
}

// sendRecord tells the guest's page to record (a take of the show going
// on) or to stop, when that changes, and once at the start of each
// session and socket: a page back after a studio restart may still be
// recording a take of the old one's show, which this studio does not
// record (its restored take then gets its last chunks and completes).
// On the session's loop.
func (g *guest) sendRecord(st State) {
	want := ""
	var t *take
	if rec := g.st.localShow(); rec != nil && st.Live {
		for _, p := range st.Participants {
			if p.ID == g.id {
				t = g.st.uploads.takeFor(rec, g.id, p.Name, g)
				want = t.id
			}
		}
	}
	if want == g.recTake && g.recSent {
		return
	}
	if g.recTake != "" && g.recTake != want {
		g.st.uploads.stop(g.recTake)
	}
	g.recTake, g.recSent = want, true
	if t == nil {
		g.send(signal.Message{Type: signal.TypeRecord})
		return
	}
	g.send(signal.Message{Type: signal.TypeRecord, Take: t.id, Key: t.key.Reveal()})
}

// serveChunks answers GET /upload/{take} and POST /upload/{take}/{n}.
func (s *Studio) serveChunks(w http.ResponseWriter, r *http.Request) {
	if s.tokenRefused(w, r, true) {
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	key, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	t, code := s.uploads.lookup(r.PathValue("take"), strings.TrimSpace(key))
	if t == nil {
		s.tokenFailed(r)
		writeJSONError(w, code, "not your recording, or an unknown one")
		return
	}
	if r.Method == http.MethodGet {
		t.mu.Lock()
		rep := t.reply()
		t.mu.Unlock()
		writeJSON(w, http.StatusOK, rep)
		return
	}
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 0 || n >= maxChunkNumber {
		writeJSONError(w, http.StatusBadRequest, "a chunk's number is 0 to "+strconv.Itoa(maxChunkNumber-1))
		return
	}
	q := r.URL.Query()
	of, _ := strconv.Atoi(q.Get("of"))
	sinceMS, _ := strconv.ParseInt(q.Get("since"), 10, 32)
	wallMS, _ := strconv.ParseInt(q.Get("wall"), 10, 64)
	final := q.Get("final") == "1"
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(chunkTimeout))
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxChunk))
	_ = rc.SetReadDeadline(time.Time{})
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeJSONError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("a chunk is at most %d bytes", maxChunk))
			return
		}
		writeJSONError(w, http.StatusBadRequest, "the chunk did not arrive whole")
		return
	}
	if len(data) == 0 && !final {
		writeJSONError(w, http.StatusBadRequest, "an empty chunk only ends a take (final=1)")
		return
	}
	since := time.Duration(max(sinceMS, 0)) * time.Millisecond
	var wall time.Duration
	if wallMS > 0 {
		wall = clock.NTPOfUnixMilli(wallMS)
	}
	rep, err := t.write(n, min(max(of, 0), maxChunkNumber), final, since, wall, data)
	switch {
	case errors.Is(err, errChunkOrder):
		writeJSON(w, http.StatusConflict, rep)
	case err != nil:
		s.log.Warn("local recording chunk", "guest", t.participant, "chunk", n, "err", err)
		writeJSONError(w, http.StatusInternalServerError, err.Error())
	default:
		writeJSON(w, http.StatusOK, rep)
		if final && rep.Done {
			s.uploads.join(t)
		}
	}
}
