package studio

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"greenroom/encode/clock"
	"greenroom/encode/iso"
	"greenroom/encode/rtpframe"
	"greenroom/encode/stream"
)

// TestRecTrackHold: a guest's frames wait for their sender's first
// report, and all go once it came; without one they go after holdFor, or
// at holdFrames; a track without a sender (the host's) never waits.
func TestRecTrackHold(t *testing.T) {
	ms := time.Millisecond
	frame := func(at time.Duration) heldFrame {
		return heldFrame{fr: rtpframe.Frame{Data: []byte{0xf8}, Timestamp: uint32(at / ms * 48), Key: true}, ssrc: 7, at: at}
	}
	for _, c := range []struct {
		name   string
		sender bool
		report int             // frames before the report comes (-1: none)
		at     []time.Duration // when each frame came
		held   []int           // frames held after each
	}{
		{"report after two", true, 2, []time.Duration{0, 20 * ms, 40 * ms, 60 * ms}, []int{1, 2, 0, 0}},
		{"no report: a second", true, -1, []time.Duration{0, 500 * ms, 999 * ms, time.Second}, []int{1, 2, 3, 0}},
		{"no sender", false, -1, []time.Duration{0, 20 * ms}, []int{0, 0}},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := iso.New(iso.Config{Dir: t.TempDir(), Stem: "x", Logger: slog.Default()})
			defer w.Close()
			r := &showRecording{clock: clock.New()}
			tr := &recTrack{kind: stream.Audio, mime: "audio/opus", rate: 48000}
			if c.sender {
				tr.sender = clock.NewSender()
			}
			for i, at := range c.at {
				if i == c.report {
					tr.sender.Report(7, 1<<32, 0, time.Now())
				}
				r.hold(&recFile{w: w}, tr, frame(at))
				if len(tr.held) != c.held[i] {
					t.Errorf("after frame %d: %d held, want %d", i, len(tr.held), c.held[i])
				}
			}
		})
	}
	// However fast they come, no more than holdFrames wait.
	w := iso.New(iso.Config{Dir: t.TempDir(), Stem: "x", Logger: slog.Default()})
	defer w.Close()
	r := &showRecording{clock: clock.New()}
	tr := &recTrack{kind: stream.Audio, mime: "audio/opus", rate: 48000, sender: clock.NewSender()}
	for range holdFrames + 1 {
		r.hold(&recFile{w: w}, tr, frame(0))
	}
	if len(tr.held) != 0 || !tr.decided {
		t.Errorf("%d frames held after holdFrames + 1", len(tr.held))
	}
}

// TestRecTrackShowTime: a track's first frame is placed when it came, the
// next at their RTP time from there (not the network's jitter), across
// RTP's wrap; a frame that strays more than a second from when it came (a
// pause the sender's clock stood still over, a restarted clock) is placed
// anew, so a gap stays a gap. Once the sender reported, a frame goes
// where its sender's clock says (sr), unless that is more than a second
// from when it came (RTP times renumbered at a simulcast layer switch).
func TestRecTrackShowTime(t *testing.T) {
	ms := time.Millisecond
	const none = -time.Hour // not reported
	for _, c := range []struct {
		name string
		ts   []uint32        // RTP, 90 kHz
		now  []time.Duration // when each came, show time
		sr   []time.Duration // by the sender's clock; nil: no reports
		want []time.Duration
	}{
		{"paced by RTP", []uint32{1000, 4000, 7000}, []time.Duration{500 * ms, 560 * ms, 570 * ms}, nil, []time.Duration{500 * ms, 533333333, 566666666}},
		{"wraps", []uint32{0xffffff00, 9000 - 0x100}, []time.Duration{ms, 101 * ms}, nil, []time.Duration{ms, 101 * ms}},
		{"clock stood still over a pause", []uint32{9000, 9000 + 3000}, []time.Duration{0, 5 * time.Second}, nil, []time.Duration{0, 5 * time.Second}},
		{"before the show", []uint32{9000}, []time.Duration{-40 * ms}, nil, []time.Duration{0}},
		{"by the sender's clock", []uint32{1000, 4000, 7000}, []time.Duration{500 * ms, 560 * ms, 570 * ms},
			[]time.Duration{440 * ms, 473 * ms, 507 * ms}, []time.Duration{440 * ms, 473 * ms, 507 * ms}},
		{"reported from the second frame", []uint32{1000, 4000}, []time.Duration{500 * ms, 530 * ms},
			[]time.Duration{none, 470 * ms}, []time.Duration{500 * ms, 470 * ms}},
		{"renumbered: arrival anchors anew", []uint32{1000, 4000, 7000}, []time.Duration{2 * time.Second, 2033 * ms, 2066 * ms},
			[]time.Duration{1980 * ms, 9 * time.Hour, 9 * time.Hour}, []time.Duration{1980 * ms, 2033 * ms, 2066333333}},
		{"captured before the show", []uint32{1000}, []time.Duration{20 * ms}, []time.Duration{-30 * ms}, []time.Duration{0}},
	} {
		t.Run(c.name, func(t *testing.T) {
			tr := &recTrack{rate: 90000}
			for i, ts := range c.ts {
				sr, reported := none, false
				if c.sr != nil && c.sr[i] != none {
					sr, reported = c.sr[i], true
				}
				if got := tr.showTime(ts, c.now[i], sr, reported); got != c.want[i] {
					t.Errorf("frame %d: at %v, want %v", i, got, c.want[i])
				}
			}
		})
	}
}

// TestShowFolderNames: a show's folder is named for its minute and title,
// made safe for any desktop's file system; one of that name that exists
// gets " (2)", then " (3)", and is never touched.
func TestShowFolderNames(t *testing.T) {
	dir := t.TempDir()
	at := time.Date(2026, 12, 4, 15, 30, 59, 0, time.UTC)
	var got []string
	for range 3 {
		p, err := showFolder(dir, ` Q&A: "us/them" `, at)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, filepath.Base(p))
		os.WriteFile(filepath.Join(p, "program.mp4"), []byte("x"), 0o644)
	}
	want := []string{"2026-12-04 15.30 Q&A_ _us_them_", "2026-12-04 15.30 Q&A_ _us_them_ (2)", "2026-12-04 15.30 Q&A_ _us_them_ (3)"}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("folder %d is %q, want %q", i+1, got[i], want[i])
		}
	}
	if p, _ := showFolder(dir, "...", at); filepath.Base(p) != "2026-12-04 15.30 Show" {
		t.Errorf("a title of dots makes %q", filepath.Base(p))
	}
}

// TestShowEndIsWhenItEnded: show.json's end is when the program called
// end, not when the files were finished (the program finishes its own
// outputs in between: seconds on a loaded machine), and a person's file
// takes nothing past it.
func TestShowEndIsWhenItEnded(t *testing.T) {
	dir := t.TempDir()
	names := func() State {
		return State{Participants: []Participant{{ID: HostID, Name: "Host", Role: RoleHost}}}
	}
	r := newShowRecording(dir, showMeta{Title: "End"}, clock.New(), 0, names, func(string) {}, slog.Default())
	// The host's sound, a 20 ms frame every 20 ms (a silent Opus frame).
	speak := func(d time.Duration) {
		for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
			r.writeHost(HostID, "audio/opus", []byte{0xf8, 0xff, 0xfe})
		}
	}
	speak(400 * time.Millisecond)
	before := r.now()
	r.end()
	ended := r.now()
	speak(400 * time.Millisecond) // the outputs being finished
	if err := r.close(); err != nil {
		t.Fatal(err)
	}
	m := r.snapshot()
	t.Logf("ended at %v; show.json: end %d ms, files %+v", ended.Round(time.Millisecond), m.EndMS, m.Files)
	if at := time.Duration(m.EndMS) * time.Millisecond; at < before-time.Millisecond || at > ended {
		t.Errorf("show.json's end is %d ms, the show ended at %v", m.EndMS, ended.Round(time.Millisecond))
	}
	if len(m.Files) != 1 || m.Files[0].EndMS > m.EndMS || m.Files[0].EndMS < m.EndMS-100 {
		t.Errorf("the host's file %+v, want it to end by the show's end, %d ms", m.Files, m.EndMS)
	}
}

// TestRecTrackEndsHoldingFrames: a camera that ends while its first
// frames wait for their sender's report, the report having come since,
// has them written by its sender's clock, and the recording goes on (it
// deadlocked: endTrack flushed them under the lock that placing a
// picture takes).
func TestRecTrackEndsHoldingFrames(t *testing.T) {
	w := iso.New(iso.Config{Dir: t.TempDir(), Stem: "x", Logger: slog.Default()})
	defer w.Close()
	r := &showRecording{clock: clock.New(), files: map[string]*recFile{}}
	sender := clock.NewSender()
	tr := &recTrack{kind: stream.Video, mime: "video/VP8", rate: 90000, sender: sender}
	f := &recFile{w: w, id: "g1", tracks: map[string]*recTrack{"cam": tr}}
	r.files["g1"] = f
	for i := range 3 {
		r.hold(f, tr, heldFrame{fr: rtpframe.Frame{Data: []byte{0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a}, Timestamp: uint32(i * 3000), Key: i == 0}, ssrc: 7, at: r.now()})
	}
	if len(tr.held) != 3 {
		t.Fatalf("%d frames held before the sender's report, want 3", len(tr.held))
	}
	sender.Report(7, 1<<32, 0, time.Now())
	ended := make(chan struct{})
	go func() {
		r.endTrack(TrackInfo{ParticipantID: "g1", TrackID: "cam", Kind: "video"})
		close(ended)
	}()
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("endTrack never returned (deadlocked)")
	}
	if len(tr.held) != 0 || len(f.delays) == 0 {
		t.Errorf("after the end: %d frames still held, %d delays noted; want 0 held, their delay noted (placed by the sender's clock)", len(tr.held), len(f.delays))
	}
	if _, ok := f.tracks["cam"]; ok {
		t.Error("the ended track is still in the file's tracks")
	}
}
