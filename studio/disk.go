package studio

import (
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/asticode/go-astiav"
	"golang.org/x/sys/unix"

	"greenroom/encode/stream"
)

// RecordingStatus is what the studio has to say about the recordings
// (issue #11 item 4, #14 item 6): the window shows it as notices and
// /api/state as "recording". Each field is "" (or nil) when there is
// nothing to say.
type RecordingStatus struct {
	// Warning: the recordings' disk is short of space — before going live,
	// for an hour of the show at its bit rates, or while live, under
	// ProgramConfig.DiskLow. A warning, not a refusal: the show goes on.
	Warning string `json:"warning,omitempty"`
	// Stopped: the recordings stopped while the stream goes on, and why
	// (the disk is full).
	Stopped string `json:"stopped,omitempty"`
	// CutShort is the last show, when the studio found at its start that
	// it had been cut short (a crash, a power cut, a kill).
	CutShort *CutShort `json:"cutShort,omitempty"`
}

// CutShort is a show whose recording never ended: its show.json still
// said end_ms 0 when the next studio started.
type CutShort struct {
	Title   string `json:"title"`
	Start   string `json:"start"`  // RFC 3339, from show.json
	Folder  string `json:"folder"` // the show's folder
	Message string `json:"message"`
}

// EventRecording: the RecordingStatus changed.
const EventRecording EventKind = "recording"

// Disk checks' defaults.
const (
	// DefaultDiskLow is the free space under which a live show warns.
	DefaultDiskLow = 2 << 30
	// DefaultDiskCheck is how often a live show checks its disk: the free
	// space, and whether a recording met a full disk.
	DefaultDiskCheck = 2 * time.Second
	// diskHorizon is how much of the show the space before going live
	// should hold.
	diskHorizon = time.Hour
	// personKbps is the rate reckoned for a person whose rate the studio
	// does not measure (the host's own feed, a guest not yet measured).
	personKbps = 1500
)

// freeSpace is the free space of dir's file system for an unprivileged
// writer, in bytes.
func freeSpace(dir string) (uint64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, fmt.Errorf("studio: free space of %s: %w", dir, err)
	}
	return st.Bavail * uint64(st.Bsize), nil
}

// diskFull says whether err is a write that found the disk full, from Go
// or from FFmpeg (AVERROR(ENOSPC)).
func diskFull(err error) bool {
	var av astiav.Error
	return errors.Is(err, syscall.ENOSPC) || (errors.As(err, &av) && int(av) == -int(syscall.ENOSPC))
}

// recordingBitRate is the bits a second a show records: the program's
// video and sound, and each person's own file at the rate they send now.
func recordingBitRate(info stream.Info, st State) int64 {
	bps := int64(info.Video.BitRate + info.Audio.BitRate)
	for _, pt := range st.Participants {
		kbps := personKbps
		if pt.Health != nil && pt.Health.Up.Kbps > 0 {
			kbps = pt.Health.Up.Kbps
		}
		bps += int64(kbps) * 1000
	}
	return bps
}

// bytesWords says n bytes for a person: "1.2 GB", "350 MB".
func bytesWords(n uint64) string {
	if n >= 1<<30 {
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	}
	return fmt.Sprintf("%d MB", n>>20)
}

// showClock says d as the show's clock: "12:34", or "1:02:03".
func showClock(d time.Duration) string {
	s := int(d.Round(time.Second) / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// checkSpace is the warning before going live, "" if dir holds an hour
// of the show at bps.
func checkSpace(dir string, bps int64) (string, error) {
	free, err := freeSpace(dir)
	if err != nil {
		return "", err
	}
	need := uint64(bps/8) * uint64(diskHorizon/time.Second)
	if free >= need {
		return "", nil
	}
	return fmt.Sprintf("Only %s free for recordings: an hour of this show needs about %s (about %s of recording fits)",
		bytesWords(free), bytesWords(need), showClock(time.Duration(free*8/uint64(max(bps, 1)))*time.Second)), nil
}

// diskWatch is a live show's disk check: every ProgramConfig.DiskCheck it
// looks at the free space and at the recordings' errors, off the media
// path, and stops the recordings (not the stream) when the disk is full.
type diskWatch struct {
	stop chan struct{}
	done chan struct{}
}

// watchDisk starts watching dir for the show gone live at start.
func (p *Program) watchDisk(dir string, start time.Time) *diskWatch {
	w := &diskWatch{stop: make(chan struct{}), done: make(chan struct{})}
	every := p.cfg.DiskCheck
	if every <= 0 {
		every = DefaultDiskCheck
	}
	low := p.cfg.DiskLow
	if low <= 0 {
		low = DefaultDiskLow
	}
	go func() {
		defer close(w.done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		warned := false
		for {
			select {
			case <-w.stop:
				return
			case <-tick.C:
			}
			if err := p.recordingError(); diskFull(err) {
				p.stopRecordings(fmt.Sprintf("The disk is full: recording stopped at %s into the show; the stream goes on", showClock(time.Since(start))), err)
				return
			}
			free, err := freeSpace(dir)
			if err != nil {
				p.log.Warn("disk check", "err", err)
				continue
			}
			if free < uint64(low) && !warned {
				warned = true
				p.log.Warn("little disk space left for the recordings", "free", free)
				p.setRecordingStatus(func(st *RecordingStatus) {
					st.Warning = fmt.Sprintf("Only %s left on the disk for recordings", bytesWords(free))
				})
			}
		}
	}()
	return w
}

// close stops the watch and waits for it. Safe to call twice, and on nil.
func (w *diskWatch) close() {
	if w == nil {
		return
	}
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
}

// recordingError is the first error a recording met (the program's or a
// person's file), nil if none.
func (p *Program) recordingError() error {
	p.mu.Lock()
	outs := p.outputs
	p.mu.Unlock()
	for _, o := range outs {
		if o.recording {
			if err := o.Stats().Err; err != nil {
				return err
			}
		}
	}
	if r := p.rec.Load(); r != nil {
		return r.err()
	}
	return nil
}

// stopRecordings ends the program's recording and every person's file,
// keeping what they wrote (the stream goes on), and says why.
func (p *Program) stopRecordings(why string, cause error) {
	p.mu.Lock()
	var recs []liveOutput
	kept := p.outputs[:0:0]
	for _, o := range p.outputs {
		if o.recording {
			recs = append(recs, o)
		} else {
			kept = append(kept, o)
		}
	}
	p.outputs = kept
	people := p.rec.Swap(nil)
	p.mu.Unlock()
	if people != nil {
		people.end()
	}
	for _, o := range recs {
		p.pipe.RemoveOutput(o.Output) // its error is cause
	}
	if people != nil {
		people.close()
	}
	p.log.Error("recordings stopped; the stream goes on", "why", why, "err", cause)
	p.setRecordingStatus(func(st *RecordingStatus) { st.Stopped = why })
}

// Recording is what the studio has to say about the recordings.
func (p *Program) Recording() RecordingStatus {
	p.news.Lock()
	defer p.news.Unlock()
	st := p.status
	if st.CutShort != nil {
		c := *st.CutShort
		st.CutShort = &c
	}
	return st
}

// setRecordingStatus changes the status and tells the studio's
// subscribers.
func (p *Program) setRecordingStatus(change func(*RecordingStatus)) {
	p.news.Lock()
	change(&p.status)
	tell := p.tell
	p.news.Unlock()
	if tell != nil {
		tell()
	}
}

// checkSpace warns, before going live, when dir will not hold an hour of
// the show at its bit rates (recordingBitRate).
func (p *Program) checkSpace(dir string, info stream.Info) {
	p.mu.Lock()
	state := p.state
	p.mu.Unlock()
	var st State
	if state != nil {
		st = state()
	}
	warn, err := checkSpace(dir, recordingBitRate(info, st))
	if err != nil {
		p.log.Warn("disk check", "err", err)
		return
	}
	if warn != "" {
		p.log.Warn("little disk space for the recordings", "warning", warn)
		p.setRecordingStatus(func(st *RecordingStatus) { st.Warning = warn })
	}
}

// attachRecording makes State carry rec's status.
func (s *Studio) attachRecording(rec func() RecordingStatus) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recording = rec
}

// recordingChanged tells the subscribers the RecordingStatus changed, and
// each guest's session: recordings stopped on a full disk end the show's
// folder, and with it the guests' local recording, whose pages are told
// to stop now (sendRecord), not at the show's next change.
func (s *Studio) recordingChanged() {
	s.show.notify(EventRecording)
	for _, c := range s.show.conns() {
		c.changed()
	}
}
