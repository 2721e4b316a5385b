package studio

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/pion/rtp"

	"greenroom/encode/clock"
	"greenroom/encode/iso"
	"greenroom/encode/keyframe"
	"greenroom/encode/rtpframe"
	"greenroom/encode/stream"
)

// showRecording is one show's recording besides the program (issue #11):
// a file of each person's own media as it came (package iso) — every
// guest's camera and mic, every shared screen, the host's own feed — on
// the show's timeline, and show.json saying who is in which file, from
// when to when, and the layout changes. The Program starts it when the
// show goes live and ends it with the show.
//
// Files are by program input name (a participant ID, or ScreenInput of
// one). A person's file is finished when they leave the show for good
// (follow: after the grace a gone guest has to come back, not at a blip),
// not at the show's end: a show of many comings and goings would
// otherwise keep a file, its fd and its writer's goroutine open for each
// guest who ever came (issue #14's soak). One who comes back later is a
// new participant, with a new file ("Ann (2).webm").
//
// mu guards meta, files, ended, left, made, endErrs and layouts; each recTrack is used
// only by the goroutine that feeds its track (the studio's, per track),
// and run owns the writing of show.json. ending counts the goroutines
// finishing the files of those who left; close waits for them.
type showRecording struct {
	dir     string // where the people's files and show.json go
	meta    showMeta
	clock   clock.Clock
	origin  time.Duration // the program clock at the show's start
	names   func() State
	askKey  func(id string)
	log     *slog.Logger
	mu      sync.Mutex
	files   map[string]*recFile // open, by input name
	ended   []*recFile          // finished: their people left the show
	left    map[string]bool     // participants who left: never recorded again
	made    uint64              // files made so far; recFile.seq
	ending  sync.WaitGroup
	endErrs []error // what finishing the files of those who left met
	layouts []layoutChange
	locals  map[string]showFile // the guests' own recordings, by take (upload.go)
	closed  bool
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
	// over is the show time the show ended at, plus one; 0 while it
	// runs (end).
	over atomic.Int64
}

// showMeta is show.json: what an editor (or a later Greenroom) needs to
// put the show's files on one timeline. Times are milliseconds from the
// show's start, the program's first instant.
type showMeta struct {
	Title string `json:"title"`
	Start string `json:"start"` // wall clock, RFC 3339
	// EndMS is the show's length once it ended; 0 while it runs (or if
	// the studio never finished it).
	EndMS int64 `json:"end_ms"`
	// CutShort: the show was not ended by its studio (a crash, a power
	// cut); EndMS was set at the next start from how far the files had
	// been written (cutshort.go).
	CutShort bool `json:"cut_short,omitempty"`
	// Program is the program's file, relative to show.json's folder.
	Program string `json:"program"`
	// ProgramVertical is the vertical (9:16) program's file, likewise,
	// when a vertical destination was live (issue #13); "" otherwise.
	ProgramVertical string         `json:"program_vertical,omitempty"`
	Files           []showFile     `json:"files"`
	Layouts         []layoutChange `json:"layouts"`
}

// showFile is one person's file.
type showFile struct {
	Name        string `json:"name"`
	Role        string `json:"role"` // "host", "guest", "screen", "local" or "joined"
	Participant string `json:"participant"`
	File        string `json:"file"`
	StartMS     int64  `json:"start_ms"`
	EndMS       int64  `json:"end_ms"`
	// Dropped frames: the disk did not keep up.
	Dropped int64 `json:"dropped,omitempty"`
	// Takes is how many takes a joined file ("role": "joined") holds:
	// the next start makes a join again when its guest has more complete
	// takes than that (a restart cut it short; takejoin.go).
	Takes int `json:"takes,omitempty"`
}

type layoutChange struct {
	AtMS   int64  `json:"at_ms"`
	Layout string `json:"layout"`
}

// recFile is one person's file and the tracks that go into it.
type recFile struct {
	w       *iso.Writer
	name    string
	role    string
	id      string
	tracks  map[string]*recTrack // by TrackID
	seq     uint64               // showRecording.made when it was made
	lastAsk time.Time            // under showRecording.mu
	keyed   atomic.Bool          // the host's feed: a keyframe came
	// shift is the person's Delay, as the program has it for their
	// camera and mic (none for a screen): a camera that lags is corrected
	// in their file as in the program, which it lines up with.
	shift delayShift
	// delays is their picture's delay after capture as its frames were
	// placed by their sender's clock, at each change (under
	// showRecording.mu): what their local recording, placed by one
	// offset, takes the median of (pictureDelay).
	delays []delayAt
}

// delayAt is a change of a file's picture delay: from show time at on, d.
type delayAt struct{ at, d time.Duration }

// maxDelayChanges bounds a file's delays: the playout delay moves in 10
// ms steps, a few times a minute under load; the older half goes when
// full, a take then weighing what is left.
const maxDelayChanges = 1024

// recTrack maps one track's frames onto the show's timeline. A guest's
// track is placed by its sender's clock (clock.Sender, from its RTCP
// sender reports): a frame goes where the guest captured it, so one
// person's camera and mic line up with each other and with the program
// however differently the network delayed them. Until the sender's first
// report (Chromium's come within a second), frames are held, up to
// holdFor or holdFrames, then placed by arrival: the first frame at the
// show time it arrived, the frames after it at their RTP time from there
// (the sender's pace, not the network's jitter). Arrival placement is
// also what a track without reports gets (the host's), and a frame whose
// mapped time strays from its arrival by more than reanchorAfter (RTP
// times renumbered at a simulcast layer switch, a sender whose clock
// restarted): one that strays from its arrival anchor by as much is
// placed anew, so gaps stay gaps.
type recTrack struct {
	asm     *rtpframe.Assembler
	kind    stream.Kind
	mime    string
	rate    uint32
	frames  []rtpframe.Frame
	based   bool
	base    uint32
	baseAt  time.Duration
	waitKey bool
	sender  *clock.Sender  // nil: placed by arrival
	playout *clock.Playout // the program's delay for the sender
	wrote   bool           // a frame was written, at last
	last    time.Duration
	held    []heldFrame // before the sender's first report
	decided bool        // held no more: a report came, or the wait ended
}

// heldFrame is a frame waiting for its sender's first report.
type heldFrame struct {
	fr   rtpframe.Frame
	ssrc uint32
	at   time.Duration // the show time it arrived
}

// programDelay is how long after a guest captured a picture or a sound the
// program shows or plays it when placed by arrival, with the guest on a
// LAN: their encoder and the network (about 15 ms), the program's 50 ms
// picture wait (guestVideoDelay) or the mixer's 60 ms buffer, decoding
// and the next tick. Measured 88 ms (picture) and 100 ms (sound) with a
// Chromium guest (TestChromiumRecordingsAlign). Once the program places
// the guest by their sender's clock, their file takes the program's
// delay for them instead (recTrack.delay), so that on an editor's
// timeline it lines up with the program wherever the guest is.
const programDelay = 94 * time.Millisecond

const (
	holdFor    = time.Second
	holdFrames = 256 // 1 s of 30 fps video or 50 Opus packets a second, with room
)

const reanchorAfter = time.Second

// showFolder makes the show's folder in dir, "2026-12-04 15.30 <title>",
// or "… (2)" if that exists: a name that exists is never reused.
func showFolder(dir, title string, at time.Time) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("studio: recordings folder: %w", err)
	}
	base := filepath.Join(dir, at.Format("2006-01-02 15.04")+" "+fileName(title, "Show"))
	path, err := iso.Unique(base, "", func(p string) error { return os.Mkdir(p, 0o755) })
	if err != nil {
		return "", fmt.Errorf("studio: show folder: %w", err)
	}
	return path, nil
}

// fileName makes s safe as a file name on every desktop system: no path
// separators, no characters Windows refuses, no leading dot, not too long;
// def if nothing is left.
func fileName(s, def string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || strings.ContainsRune(`/\:*?"<>|`, r) {
			return '_'
		}
		return r
	}, s)
	s = strings.Trim(strings.TrimSpace(s), ".")
	if r := []rune(s); len(r) > 80 {
		s = string(r[:80])
	}
	if s == "" {
		return def
	}
	return s
}

// newShowRecording starts recording the people of the show into dir, at
// show time 0 = origin on clk.
func newShowRecording(dir string, meta showMeta, clk clock.Clock, origin time.Duration, names func() State, askKey func(string), log *slog.Logger) *showRecording {
	r := &showRecording{
		dir: dir, meta: meta, clock: clk, origin: origin, names: names, askKey: askKey,
		log:   log.With("component", "recording", "folder", dir),
		files: map[string]*recFile{},
		left:  map[string]bool{},
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	r.writeMeta()
	go r.run()
	return r
}

// setOrigin makes program time origin the show's zero: the program
// file's first instant (Program.fileStart). Call it before anyone has r
// but its own run goroutine, which does not read origin.
func (r *showRecording) setOrigin(origin time.Duration) { r.origin = origin }

// begin asks everyone's video for a keyframe: whoever is sending already
// starts their file now, not at their next one. Call it once the frames
// reach writeRTP and writeHost.
func (r *showRecording) begin() {
	for _, pt := range r.names().Participants {
		r.askKey(pt.ID)
	}
}

// folder is where the show's files go.
func (r *showRecording) folder() string { return r.dir }

// now is the show time.
func (r *showRecording) now() time.Duration { return r.clock.Now() - r.origin }

// file returns the file of input name, making it if its owner is in the
// show and the show has not ended (nil otherwise: nobody new is recorded
// after the end, and nobody again after they left).
func (r *showRecording) file(name string) *recFile {
	id := owner(name)
	r.mu.Lock()
	f, closed, left := r.files[name], r.closed, r.left[id]
	r.mu.Unlock()
	if f != nil || closed || left {
		return f
	}
	// Who it is, from the show (not under mu: the studio's own locks).
	f = &recFile{id: id, role: "guest", name: id, tracks: map[string]*recTrack{}}
	in := false
	st := r.names()
	for _, pt := range st.Participants {
		if pt.ID == id {
			in, f.name = true, pt.Name
			_, _, _, _, d := shown(st, name)
			f.shift.set(d)
			if pt.Role == RoleHost {
				f.role = "host"
			}
		}
	}
	if !in {
		return nil // a late packet of someone who left
	}
	stem := fileName(f.name, "guest")
	screen := id != name
	if screen {
		f.role, f.name, stem = "screen", f.name+"'s screen", stem+" screen"
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || r.left[id] {
		return nil
	}
	if had := r.files[name]; had != nil {
		return had // another of their tracks made it meanwhile
	}
	r.made++
	f.seq = r.made
	f.w = iso.New(iso.Config{Dir: r.dir, Stem: stem, VideoOnly: screen, Logger: r.log})
	r.files[name] = f
	return f
}

// mark is how many files were made so far: take it before reading the
// show that follow is given, so that follow tells a file made since (of a
// newcomer the show it read may not have yet) from one of somebody who
// left.
func (r *showRecording) mark() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.made
}

// follow makes the files follow the show st: each takes its person's
// Delay, and follow finishes the files, made by mark made, of the people
// no longer in the show: each becomes a whole file that plays to their
// last frame and stays in show.json with its end. Their writers finish on a
// goroutine of their own (the trailer is a disk write; the studio's
// changes must not wait on the disk); close waits for it. A packet of
// theirs still on its way is dropped (iso.Writer takes none after Close).
// A file made after made of someone who left meanwhile (a packet racing
// their leaving) goes at the next change, or at the show's end.
func (r *showRecording) follow(made uint64, st State) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	var gone []*recFile
	for name, f := range r.files {
		if f.seq <= made && !inShow(st, f.id) {
			delete(r.files, name)
			r.left[f.id] = true
			r.ended = append(r.ended, f)
			gone = append(gone, f)
			continue
		}
		_, _, _, _, d := shown(st, name)
		f.shift.set(d)
	}
	if len(gone) == 0 {
		return
	}
	r.ending.Add(1)
	go func() {
		defer r.ending.Done()
		for _, f := range gone {
			err := f.w.Close()
			st := f.w.Stats()
			r.log.Info("finished the file of someone who left", "participant", f.id, "file", st.File, "end", st.End, "err", err)
			r.mu.Lock()
			r.endErrs = append(r.endErrs, err)
			r.mu.Unlock()
		}
	}()
}

// writeRTP records one packet of a guest's track t.
func (r *showRecording) writeRTP(t TrackInfo, pkt *rtp.Packet) {
	f := r.file(inputName(t))
	if f == nil {
		return
	}
	r.mu.Lock()
	tr := f.tracks[t.TrackID]
	if tr == nil {
		wait := rtpframe.AudioReorder
		kind := stream.Audio
		if t.Kind == "video" {
			wait, kind = rtpframe.VideoWait, stream.Video
		}
		asm, err := rtpframe.New(t.MimeType, t.ClockRate, wait)
		if err != nil {
			r.mu.Unlock()
			return // the program says so too (decode)
		}
		tr = &recTrack{asm: asm, kind: kind, mime: t.MimeType, rate: t.ClockRate, waitKey: kind == stream.Video, sender: t.Sender, playout: t.Playout}
		f.tracks[t.TrackID] = tr
	}
	r.mu.Unlock()
	tr.frames = tr.asm.Push(pkt, tr.frames[:0])
	for _, fr := range tr.frames {
		if fr.Lost > 0 && tr.kind == stream.Video {
			tr.waitKey = true // the frames after it refer to what was lost
		}
		if fr.Broken || (tr.waitKey && !fr.Key) {
			r.askKeyframe(f)
			continue
		}
		tr.waitKey = false
		r.hold(f, tr, heldFrame{fr: fr, ssrc: pkt.SSRC, at: r.now()})
	}
	clear(tr.frames)
}

// hold writes frame h of track tr to f, once its sender's first report
// came, or holdFor after the first frame held (holdFrames at most): then
// with every frame held before it.
func (r *showRecording) hold(f *recFile, tr *recTrack, h heldFrame) {
	if !tr.decided && tr.sender != nil {
		_, reported := tr.sender.Wall(h.ssrc, h.fr.Timestamp, tr.rate)
		if !reported && len(tr.held) < holdFrames && (len(tr.held) == 0 || h.at-tr.held[0].at < holdFor) {
			tr.held = append(tr.held, h)
			return
		}
	}
	tr.decided = true
	r.flushHeld(f, tr)
	r.place(f, tr, h)
}

// flushHeld writes the frames tr holds.
func (r *showRecording) flushHeld(f *recFile, tr *recTrack) {
	for _, h := range tr.held {
		r.place(f, tr, h)
	}
	clear(tr.held)
	tr.held = tr.held[:0]
}

// place writes frame h of track tr to f at its show time.
func (r *showRecording) place(f *recFile, tr *recTrack, h heldFrame) {
	mapped, ok := time.Duration(0), false
	if tr.sender != nil {
		var wall time.Time
		if wall, ok = tr.sender.Wall(h.ssrc, h.fr.Timestamp, tr.rate); ok {
			d := tr.delay() + f.shift.of(tr.kind == stream.Video)
			mapped = r.clock.Of(wall) - r.origin + d
			if tr.kind == stream.Video {
				r.noteDelay(f, mapped, d)
			}
		}
	}
	at := tr.showTime(h.fr.Timestamp, h.at, mapped, ok)
	if tr.kind == stream.Audio && tr.wrote && at < tr.last {
		// The program's delay for the guest came down: it skipped as
		// much of their sound (in a pause), and so does their file,
		// rather than stack packets on one time.
		return
	}
	if r.past(at) {
		return
	}
	tr.wrote, tr.last = true, at
	f.w.Write(tr.mime, &stream.Packet{Kind: tr.kind, Data: h.fr.Data, PTS: at, DTS: at, Key: h.fr.Key})
}

// delay is how long after its capture the program's file has the
// track's frames: its sender's playout delay (clock.Playout), or
// programDelay until the program has placed one of them. The show's zero
// is the program file's first instant (Program.fileStart), so the
// program's time for a frame is the file's.
func (tr *recTrack) delay() time.Duration {
	if d := tr.playout.Delay(); d > 0 {
		return d
	}
	return programDelay
}

// noteDelay notes that f's picture placed at show time at had delay d.
func (r *showRecording) noteDelay(f *recFile, at, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n := len(f.delays); n > 0 && f.delays[n-1].d == d {
		return
	}
	if len(f.delays) == maxDelayChanges {
		f.delays = append(f.delays[:0], f.delays[maxDelayChanges/2:]...)
	}
	f.delays = append(f.delays, delayAt{at: at, d: d})
}

// pictureDelay is how long after its capture participant id's ISO file
// (and so the program) had their picture between show times from and to
// (the show's end at most), its median over that time: their camera
// track's delay plus their Delay's shift of it, as their frames were
// placed. Their local
// recording, placed by one offset, takes it (take.write). ok is false
// until a picture of theirs was placed by their sender's clock.
func (r *showRecording) pictureDelay(id string, from, to time.Duration) (d time.Duration, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f := r.files[id]
	if f == nil || len(f.delays) == 0 {
		return 0, false
	}
	if r.meta.EndMS > 0 {
		to = min(to, time.Duration(r.meta.EndMS)*time.Millisecond)
	}
	return medianHeld(f.delays, from, to), true
}

// medianHeld is the median over time between from and to of the delay
// that changes give (in time order, each holding until the next, the
// last until to): the one offset that puts as much of a file placed by
// it early as late against one that follows every change. The last
// one's if none held there.
func medianHeld(changes []delayAt, from, to time.Duration) time.Duration {
	held, total := map[time.Duration]time.Duration{}, time.Duration(0)
	for i, c := range changes {
		end := to
		if i+1 < len(changes) {
			end = changes[i+1].at
		}
		if s, e := max(c.at, from), min(end, to); e > s {
			held[c.d] += e - s
			total += e - s
		}
	}
	seen := time.Duration(0)
	for _, d := range slices.Sorted(maps.Keys(held)) {
		if seen += held[d]; 2*seen >= total {
			return d
		}
	}
	return changes[len(changes)-1].d
}

// senderTime is the show time at which participant id's sender's own
// clock read ntp (clock.Sender.WallOfNTP): the instant of their page's
// clock that it stands for, placed as their ISO file's frames are before
// the program's delay. ok is false until their file has a track whose
// sender reported.
func (r *showRecording) senderTime(id string, ntp time.Duration) (time.Duration, bool) {
	var s *clock.Sender
	r.mu.Lock()
	if f := r.files[id]; f != nil {
		for _, tr := range f.tracks {
			if s = tr.sender; s != nil {
				break // one sender for all of a guest's tracks
			}
		}
	}
	r.mu.Unlock()
	if s == nil {
		return 0, false
	}
	wall, ok := s.WallOfNTP(ntp)
	if !ok {
		return 0, false
	}
	return r.clock.Of(wall) - r.origin, true
}

// showTime places RTP time ts of the track on the show's timeline, now
// being the show time it arrived and mapped its time by the sender's
// clock if reported. Nothing goes before the show's start.
func (tr *recTrack) showTime(ts uint32, now, mapped time.Duration, reported bool) time.Duration {
	if reported && mapped-now <= reanchorAfter && mapped-now >= -reanchorAfter {
		tr.based = false // should the mapping fail, arrival anchors anew
		return max(mapped, 0)
	}
	if tr.based {
		at := tr.baseAt + time.Duration(int32(ts-tr.base))*time.Second/time.Duration(tr.rate)
		if d := at - now; d <= reanchorAfter && d >= -reanchorAfter {
			return at
		}
	}
	tr.based, tr.base, tr.baseAt = true, ts, max(now, 0)
	return tr.baseAt
}

// askKeyframe asks the person's sender for a keyframe, at most three
// times a second (the studio's own limit is per track).
func (r *showRecording) askKeyframe(f *recFile) {
	r.mu.Lock()
	ask := time.Since(f.lastAsk) >= 300*time.Millisecond
	if ask {
		f.lastAsk = time.Now()
	}
	r.mu.Unlock()
	if ask {
		go r.askKey(f.id) // sends RTCP: not on the media goroutine
	}
}

// writeHost records one encoded frame of the host's input name (their
// camera and mic, or their screen), from the feed the guests get.
func (r *showRecording) writeHost(name, mime string, data []byte) {
	f := r.file(name)
	if f == nil {
		return
	}
	kind := stream.Audio
	key := true
	if strings.HasPrefix(strings.ToLower(mime), "video/") {
		kind, key = stream.Video, keyframe.Frame(mime, data)
		if key {
			f.keyed.Store(true)
		} else if !f.keyed.Load() {
			r.askKeyframe(f) // the file starts at one
		}
	}
	at := max(r.now(), 0)
	if r.past(at) {
		return
	}
	// The feed's buffer is its own again after this call.
	f.w.Write(mime, &stream.Packet{Kind: kind, Data: bytes.Clone(data), PTS: at, DTS: at, Key: key})
}

// endTrack forgets track t, writing what it held (a track that ended
// within its first second); the person's file goes on (they may come
// back within their grace, on new tracks) until they leave the show
// (follow). The track's writer's goroutine, as writeRTP: the frames go
// out without r.mu, which placing a picture by its sender's clock takes
// (noteDelay). Flushed under it, a camera that ended with frames held
// after its sender's first report came deadlocked the recording, and
// with it the studio's every change of state (a CI run on 2026-12-06,
// TestDepartedGuestsFilesClose; TestRecTrackEndsHoldingFrames).
func (r *showRecording) endTrack(t TrackInfo) {
	r.mu.Lock()
	f := r.files[inputName(t)]
	var tr *recTrack
	if f != nil {
		tr = f.tracks[t.TrackID]
		delete(f.tracks, t.TrackID)
	}
	r.mu.Unlock()
	if tr != nil {
		r.flushHeld(f, tr)
	}
}

// layout notes a change of layout.
func (r *showRecording) layout(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n := len(r.layouts); n > 0 && r.layouts[n-1].Layout == name {
		return
	}
	r.layouts = append(r.layouts, layoutChange{AtMS: max(r.now(), 0).Milliseconds(), Layout: name})
}

// run keeps show.json up to date as people's files are made and grow.
func (r *showRecording) run() {
	defer close(r.done)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-tick.C:
			r.writeMeta()
		}
	}
}

// snapshot is show.json as things stand.
func (r *showRecording) snapshot() showMeta {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.meta
	m.Layouts = append([]layoutChange{}, r.layouts...)
	m.Files = []showFile{}
	for _, f := range r.locals {
		m.Files = append(m.Files, f)
	}
	for _, f := range r.people() {
		st := f.w.Stats()
		if st.File == "" {
			continue
		}
		m.Files = append(m.Files, showFile{Name: f.name, Role: f.role, Participant: f.id, File: st.File,
			StartMS: st.Start.Milliseconds(), EndMS: st.End.Milliseconds(), Dropped: st.Dropped})
	}
	// The host first, then in the order they came.
	slices.SortFunc(m.Files, func(a, b showFile) int {
		host := func(f showFile) int {
			if f.Role == "host" {
				return 0
			}
			return 1
		}
		return cmp.Or(cmp.Compare(host(a), host(b)), cmp.Compare(a.StartMS, b.StartMS), cmp.Compare(a.File, b.File))
	})
	return m
}

// writeMeta writes show.json: to a temporary file, then renamed over the
// last one, so a reader (or a crash) never sees half of it.
func (r *showRecording) writeMeta() {
	if err := writeShowJSON(r.dir, r.snapshot()); err != nil {
		r.log.Warn("show.json", "err", err)
	}
}

// writeShowJSON writes m as dir's show.json: to a temporary file, then
// renamed over the last one, so a reader (or a crash) never sees half of
// it. On a full disk, where the temporary file finds no room, it is
// written over the last one instead, in the room that one frees: its end
// is worth the small risk.
func writeShowJSON(dir string, m showMeta) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	tmp, path := filepath.Join(dir, ".show.json.tmp"), filepath.Join(dir, "show.json")
	if err = os.WriteFile(tmp, b, 0o644); err == nil {
		return os.Rename(tmp, path)
	}
	os.Remove(tmp)
	if diskFull(err) {
		return os.WriteFile(path, b, 0o644)
	}
	return err
}

// people is every person's file, open or finished. Call with mu held.
func (r *showRecording) people() []*recFile {
	fs := slices.Clone(r.ended)
	for _, f := range r.files {
		fs = append(fs, f)
	}
	return fs
}

// err is the first error a person's file met, nil if none.
func (r *showRecording) err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, f := range r.people() {
		if err := f.w.Stats().Err; err != nil {
			return err
		}
	}
	return nil
}

// setVerticalProgram lists the vertical program's file, rel to the
// folder, in show.json (run writes it at its next tick).
func (r *showRecording) setVerticalProgram(rel string) {
	r.mu.Lock()
	r.meta.ProgramVertical = rel
	r.mu.Unlock()
}

// setLocal lists a guest's own recording, take id, in show.json; after
// the show's end it writes show.json at once (run no longer does).
func (r *showRecording) setLocal(id string, f showFile) {
	r.mu.Lock()
	if r.locals == nil {
		r.locals = map[string]showFile{}
	}
	r.locals[id] = f
	closed := r.closed
	r.mu.Unlock()
	if closed {
		r.writeMeta()
	}
}

// end marks the show's end now, once: show.json's end_ms, and the last
// instant the people's files take. The program calls it as the show ends,
// before it finishes its own outputs (seconds of disk writes on a loaded
// machine; end_ms was read after them, that much past the program's
// end), and close does if it was not called.
func (r *showRecording) end() {
	r.over.CompareAndSwap(0, int64(max(r.now(), 0))+1)
}

// endedAt is the show time end marked, and whether it was.
func (r *showRecording) endedAt() (time.Duration, bool) {
	v := r.over.Load()
	return time.Duration(v - 1), v != 0
}

// past says whether a frame at show time at comes after the show's end:
// it is left out of the people's files, as it is of the program's.
func (r *showRecording) past(at time.Duration) bool {
	end, ok := r.endedAt()
	return ok && at > end
}

// close ends every person's file and writes show.json with the show's
// end. Safe to call twice.
func (r *showRecording) close() error {
	var errs []error
	r.once.Do(func() {
		r.end()
		end, _ := r.endedAt()
		close(r.stop)
		<-r.done
		r.mu.Lock()
		r.closed = true
		files := make([]*recFile, 0, len(r.files))
		for _, f := range r.files {
			files = append(files, f)
		}
		r.mu.Unlock()
		for _, f := range files {
			errs = append(errs, f.w.Close())
		}
		r.ending.Wait() // the files of those who left
		r.mu.Lock()
		errs = append(errs, r.endErrs...)
		r.meta.EndMS = end.Milliseconds()
		r.mu.Unlock()
		r.writeMeta()
	})
	return errors.Join(errs...)
}
