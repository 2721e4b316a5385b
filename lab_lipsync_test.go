//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"greenroom/encode/mediatest"
)

// TestLabGuestLipSyncThroughJitter is issue #10's "the lip-sync test still
// holds on the impaired link" and issue #12's "a Chromium guest behind a
// 100 ms jitter relay stays within EBU R37": a Chromium guest whose fake
// camera flashes as its fake mic beeps (mediatest.FlashBeep), behind a
// symmetric NAT with the lab's TURN relay as its only path, which delays
// every packet to the studio by 100 ± 50 ms (so packets reorder by up to
// 100 ms), and the NACKs and retransmissions that reordering brings. Live
// for 12 s; in the program's recording the beeps start within R37's
// −40…+60 ms (audio early negative) of their flashes, counted from where
// the browser itself put them (the median of the flashes, as the studio's
// lip-sync tests judge; see below).
//
// What the browser itself sent: Chromium's fake devices drift apart under
// load (TestChromiumRecordingsAlign, sentSync), so the program is judged on
// what it adds. Here the studio is a process of its own, so the judge of
// what was sent is the guest's own file in the show's folder (--recordings):
// their packets as received, not decoded, each placed by the guest's
// sender reports (their capture instant), which is sentSync's reckoning,
// and which no jitter or loss of the path moves (TestChromiumRecordingsAlign
// holds that file to sentSync: 0 ms).
func TestLabGuestLipSyncThroughJitter(t *testing.T) {
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
	before := senderStats(t, page)
	time.Sleep(settle) // past the browser's first seconds and its first reports
	ls.post(t, "/api/live", `{"on":true}`)
	rtts := ls.roundTrips(t, live)
	ls.post(t, "/api/live", `{"on":false}`)
	t.Logf("the guest's sender over the test: %s", senderStats(t, page).since(before))
	judgeRoundTrip(t, page, rtts, 100*time.Millisecond, 50*time.Millisecond)

	program, guest := showFiles(t, dir)
	got, sent := mediatest.FileSync(t, program), mediatest.FileSync(t, guest)
	added := got.Added(sent)
	t.Logf("the program adds to what the guest sent, per flash: %.3f", added)
	if len(added) < 6 {
		t.Fatalf("%d flashes of the program paired with their beeps and with the same flash in the guest's file, want ≥ 6 of %.0f s",
			len(added), live.Seconds())
	}
	// EBU R37 on the median, as the studio's lip-sync tests hold it:
	// flash by flash the program adds −32…+48 ms in the runs with steady
	// browsers, but at load 20+ Chromium's fake camera jumps (its own
	// offset moved by 285 ms, and once from −165 to +423 to −405 ms in
	// four flashes), and the flashes around a jump, where the playout
	// delay moves and the guest's file shows the jump at once while the
	// sound slips after it, were up to 0.75 s apart. Each is logged.
	// Before the guest's camera layer's reports were read (both streams
	// by arrival), the medians were −71, +26, +148 and +262 ms.
	var outside []string
	for i, d := range added {
		if d < early || d > late {
			outside = append(outside, fmt.Sprintf("flash %d: %+.0f ms", i+1, d*1000))
		}
	}
	if len(outside) > 0 {
		t.Logf("outside EBU R37 (%+.0f…%+.0f ms): %s", early*1000, late*1000, strings.Join(outside, ", "))
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
