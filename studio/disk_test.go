package studio_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"greenroom/encode/mediatest"
	"greenroom/studio"
	"greenroom/studio/studiotest"
)

// TestDiskFullStopsRecordings is issue #11 item 4 on a real small disk: a
// show recording into an 8 MB tmpfs (4 MB of it taken) while live to
// nginx-rtmp warns before going live (an hour will not fit), warns again
// under ProgramConfig.DiskLow, and when the disk is full stops the
// recordings with a sentence saying when, while the stream goes on; the
// files written (the program, the host's, a pion guest's) play to their
// end without a decoding error.
func TestDiskFullStopsRecordings(t *testing.T) {
	mnt := mediatest.SmallDisk(t, "8m")
	if err := os.WriteFile(filepath.Join(mnt, "filler"), make([]byte, 4<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	n := mediatest.StartNginx(t, mediatest.NginxOptions{})
	s, prog, _ := startShow(t, studio.ProgramConfig{
		RecordDir: mnt, ShowTitle: "Full",
		Destinations: []studio.Destination{{Name: "nginx", URL: n.URL("show")}},
		DiskLow:      3 << 20, DiskCheck: 250 * time.Millisecond,
	})
	// In the green room: everyone is recorded, backstage too. Her page is
	// asked to record locally too (a pion guest records nothing; what it
	// is told is judged).
	s.SetLocalRecording(true)
	ann := join(t, s, "Ann", studiotest.Options{VideoIVF: videoIVF, AudioOgg: audioOgg})
	events, cancel := s.Subscribe()
	defer cancel()

	start := time.Now()
	if err := s.SetLive(true); err != nil {
		t.Fatal(err)
	}
	var warnings []string
	var stopped string
	ctx, done := context.WithTimeout(context.Background(), 15*time.Second)
	defer done()
	for stopped == "" && ctx.Err() == nil {
		select {
		case ev := <-events:
			if ev.Kind != studio.EventRecording {
				continue
			}
			st := s.State().Recording
			if st.Warning != "" && (len(warnings) == 0 || warnings[len(warnings)-1] != st.Warning) {
				warnings = append(warnings, st.Warning)
				t.Logf("%.1f s: %s", time.Since(start).Seconds(), st.Warning)
			}
			stopped = st.Stopped
		case <-ctx.Done():
		}
	}
	if stopped == "" {
		t.Fatalf("no full disk within 15 s; warnings %q", warnings)
	}
	stoppedAt := time.Now()
	t.Logf("%.1f s: %s", time.Since(start).Seconds(), stopped)
	// Her page was told to record, and is told to stop with the
	// recordings (it was told only at the show's next change).
	eventually(t, "Ann's page told to stop recording locally", func() bool {
		take, at := ann.Take()
		return take == "" && at.After(start) // at the start she was told a take
	})
	_, toldAt := ann.Take()
	t.Logf("Ann's page told to stop recording %+.3f s from the recordings' stop", toldAt.Sub(stoppedAt).Seconds())
	if at := toldAt; at.Sub(stoppedAt) > time.Second {
		t.Errorf("Ann's page told to stop %v after the recordings stopped, want within 1 s", at.Sub(stoppedAt).Round(time.Millisecond))
	}
	if !strings.HasPrefix(stopped, "The disk is full: recording stopped at 0:") || !strings.HasSuffix(stopped, "; the stream goes on") {
		t.Errorf("stopped: %q", stopped)
	}
	if len(warnings) < 2 || !strings.Contains(warnings[0], "an hour of this show needs") || !strings.Contains(warnings[len(warnings)-1], "left on the disk") {
		t.Errorf("warnings %q: want one before going live and one under DiskLow", warnings)
	}

	// The stream goes on: nginx's own recording of it grows, and the
	// only output left is the stream, live.
	size := func() int64 {
		st, _ := os.Stat(n.Recording("show"))
		if st == nil {
			return 0
		}
		return st.Size()
	}
	// Within 2 s, polled (it slept the whole 2 s, then looked).
	before := size()
	for again := time.Now(); size() <= before && time.Since(again) < 2*time.Second; {
		time.Sleep(50 * time.Millisecond)
	}
	if after := size(); after <= before {
		t.Errorf("nginx's recording stayed at %d bytes for 2 s after the disk filled", after)
	}
	outs := prog.Outputs()
	if len(outs) != 1 || outs[0].Recording || outs[0].State.String() != "live" {
		t.Errorf("outputs after the disk filled: %+v, want the stream alone, live", outs)
	}
	if err := s.SetLive(false); err != nil {
		t.Errorf("end of the show: %v", err)
	}

	// Live again on the full disk: the stream goes, and the studio says
	// the show is not recorded (at once, or at its first fragment).
	if err := s.SetLive(true); err != nil {
		t.Fatalf("live again on a full disk: %v", err)
	}
	again := time.Now()
	for s.State().Recording.Stopped == "" && time.Since(again) < 5*time.Second {
		time.Sleep(50 * time.Millisecond)
	}
	if st := s.State().Recording; !strings.HasPrefix(st.Stopped, "The disk is full: ") {
		t.Errorf("live again on a full disk: %+v", st)
	} else {
		t.Logf("live again on a full disk, %.1f s: %s", time.Since(again).Seconds(), st.Stopped)
	}
	if err := s.SetLive(false); err != nil {
		t.Errorf("end of the second show: %v", err)
	}

	// What was written plays, to its end.
	// The first show's folder: the earliest name (they are named by the
	// minute the show began). The second show's is "… Full (2)" in the
	// same minute, or a later minute's when the two straddle one.
	folders, _ := filepath.Glob(filepath.Join(mnt, "* Full"))
	if len(folders) == 0 || len(folders) > 2 {
		t.Fatalf("show folders: %v", folders)
	}
	sort.Strings(folders)
	var show showJSON
	if b, err := os.ReadFile(filepath.Join(folders[0], "show.json")); err != nil || json.Unmarshal(b, &show) != nil || show.EndMS == 0 {
		t.Errorf("show.json on the full disk (%v), want its end:\n%s", err, b)
	}
	for _, f := range []string{"program.mp4", "Host.webm", "Ann.webm"} {
		path := filepath.Join(folders[0], f)
		keepRecording(path, "disk-"+f)
		frames := mediatest.VideoFrameTimes(t, path)
		out, err := exec.Command("ffmpeg", "-v", "error", "-i", path, "-f", "null", "-").CombinedOutput()
		out = decodeErrors(out)
		st, _ := os.Stat(path)
		if len(frames) == 0 || err != nil || len(out) > 0 {
			t.Errorf("%s: %d pictures; decoding: %v %s", f, len(frames), err, out)
			continue
		}
		t.Logf("%s: %d bytes, %d pictures up to %.2f s", f, st.Size(), len(frames), frames[len(frames)-1])
	}
}

// decodeErrors is ffmpeg's error output less the null muxer's complaint
// at Opus frames whose millisecond times round to the same (a person's
// file keeps the sender's 20 ms frames on a 1 ms clock): not the file's
// damage.
func decodeErrors(out []byte) []byte {
	var keep []string
	dropped := false
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		// FFmpeg's log says "Last message repeated N times" for a line it
		// held back: of a dropped line, dropped too (it failed a CI run).
		repeat := strings.Contains(l, "Last message repeated")
		if l == "" || strings.Contains(l, "non monotonically increasing dts to muxer") || repeat && dropped {
			dropped = dropped || !repeat
			continue
		}
		dropped = false
		keep = append(keep, l)
	}
	return []byte(strings.Join(keep, "\n"))
}
