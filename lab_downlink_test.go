//go:build linux

package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"image"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"

	"greenroom/encode/mediatest"
	"greenroom/encode/scene"
	"greenroom/studio"
	"greenroom/studio/studiotest"
	"greenroom/studio/studiotest/netlab"
)

// Issue #10's thin-downlink case: what a receiving guest whose downlink is
// capped must still get, and what the others must keep.
const (
	// downlinkCap is the capped guest's downlink: the 1.5 Mb/s,
	// less than the three senders' top layers (3 × 0.9 Mb/s), more
	// than their middle ones with the host and the sound.
	downlinkCap     = "1500kbit"
	downlinkCapKbps = 1500
	// cappedFor is how long the test watches under the cap; settleCap
	// is how long after the cap is set before it judges: the estimate
	// finds the cap (GCC sees the queue grow, then loss) and the
	// layers move down in that time.
	cappedFor = 20 * time.Second
	settleCap = 4 * time.Second
	// statsEvery is how often the test reads the capped browser's
	// getStats: a sender's video standing still is measured to within
	// it. The target for the longest is targetFreeze (~1 s);
	// the test logs a miss and fails beyond maxFreeze, as the
	// bad-network tests did before they asserted it: a try one layer up that the cap can't carry
	// (its keyframe, a burst from a pion sender, overflows the router's
	// queue) froze a sender for 1.2–1.3 s in 2 runs of 6 here.
	statsEvery = 200 * time.Millisecond
	// keptShare is how much of its uncapped bit rate from each sender
	// the uncapped receiver must keep while the other one is capped.
	// Dragged down to the capped one's layers he would keep a third
	// (m) or a ninth (l); he loses packets himself on this loaded box
	// at times, and his receiver reports then move him down (see
	// redLoss).
	keptShare = 0.6
	// redLoss is the loss health calls red (README: 8 %).
	redLoss = 0.08
	// climbFor bounds the wait, before the cap, for Rex's top layers and
	// for Ann to get more than the cap lets through. She has them at
	// once (0 s in two runs) since her page tells the studio the size of
	// a tile still waiting for its first picture; while it said [0, 0]
	// she started on every sender's lowest layer and climbed toward her
	// tiles a track at a time, each after a probe of her link passed
	// (studio/probe.go): 3-18 s in three runs, 0-29 s in three before a
	// probe's padding filled what the media left, over 30 s once in CI.
	climbFor = 45 * time.Second
	// bigTiles is the capped guest's page's stage, laid out wide: its grid
	// of four lays each tile out 724x407, taller than the middle layers
	// (360p), so it asks for every top layer. In her 1280x800 window
	// most of that lies off screen, where Chromium paints nothing: a
	// 3200x1900 window showing it all cost the loaded box its CPU (the
	// program's tiles then stood still 0.8-1.3 s in 3 runs of 6). Set
	// through the CSSOM: the page's Content-Security-Policy refuses a
	// <style> element.
	bigTiles = `Object.assign(document.getElementById("stage").style,
    {gridTemplateColumns: "repeat(4, 724px)", width: "max-content", maxWidth: "none"})`
)

// The capped-downlink lab's senders and uncapped receiver are pion guests
// (CPU: a Chromium guest costs ~40 % of a core at 720p), run as this
// helper mode in the studio's namespace.
func init() { netlab.Helper("pionguests", pionGuestsHelper) }

// TestLabGuestOnSlowDownlink is issue #10's thin-downlink receiver: three
// guests on stage send their cameras in three layers (pion, about
// Chromium's sizes and rates: studiotest.CameraLayers); a headless
// Chromium guest in the green room (it watches the stage) is behind a
// router whose LAN link lets 1.5 Mb/s through to it (tc tbf), less than
// the three top layers. It must keep seeing everyone: the studio forwards
// it lower layers (/api/state's forwarded, its downlink estimate), and its
// browser's getStats shows every sender's video decoded on (and the
// host's), never still over maxFreeze (the issue's ~1 s is logged when
// missed). A pion
// receiver beside the studio keeps receiving every sender at about the
// bit rate it had before the cap, and the program's sender tiles never
// stand still over 1 s.
func TestLabGuestOnSlowDownlink(t *testing.T) {
	lab, ls := upnpLab(t)
	if _, err := exec.LookPath("tc"); err != nil {
		t.Skip("no tc (Debian's iproute2):", err)
	}
	pg := startPionGuests(t, lab, ls)
	for _, id := range pg.senders {
		ls.post(t, "/api/stage", `{"id":"`+id+`","on":true}`)
	}
	ls.post(t, "/api/scene", `{"layout":"grid"}`)

	// Ann's page draws the four people (the three senders and the host)
	// in tiles over 360 px tall (bigTiles), and says so ("view"): her
	// tiles need every sender's top layer, so what she gets under the
	// cap is her downlink's choice, not her tiles'. (In its own 1280x800
	// layout her green-room tiles are 168 px tall and keep her on 180p
	// whatever the link.)
	page := labGuest(t, lab, ls.guestURL, guestBrowser{})
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var styled bool
		err := page.Eval(`(() => {
  if (!window.greenroom || !document.getElementById("stage")) return false; // the guest page, not the blank one before it
  `+bigTiles+`;
  return true;
})()`, &styled)
		if err == nil && styled {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Ann's page took no style in 15 s: %v", err)
		}
	}
	var ann string
	for deadline := time.Now().Add(30 * time.Second); ann == ""; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the Chromium guest's media did not connect within 30 s")
		}
		for _, p := range ls.state(t).Participants {
			if p.Name == "Ann" && p.Connected {
				ann = p.ID
			}
		}
	}
	var sizes map[string][2]int
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		sizes = nil
		_ = page.Eval(`JSON.parse(greenroom.view.sent || "{}")`, &sizes)
		if allTaller(sizes, pg.senders, 360) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Ann's page says it shows the senders at %v 15 s after joining, want every one over 360 px tall", sizes)
		}
	}
	// Before the cap: Rex gets every top layer (his estimate climbs a
	// layer at a time), and Ann, whose tiles need them too, more than the
	// cap will let through: the cap must bite.
	start := time.Now()
	var before labState
	for deadline := start.Add(climbFor); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		before = ls.state(t)
		if allOn(before, pg.receiver, pg.senders, "h") && forwardedKbps(before, ann, pg.senders) > downlinkCapKbps {
			break
		}
	}
	t.Logf("before the cap, after %v: Ann's page shows %v; Rex gets %v, Ann %v (%d kb/s of layers), her estimate %s",
		time.Since(start).Round(100*time.Millisecond), sizes, forwardedOf(before, pg.receiver), forwardedOf(before, ann),
		forwardedKbps(before, ann, pg.senders), estimateOf(before, ann))
	for _, p := range before.Participants {
		t.Logf("%s %s gets %v, downlink %s", p.ID, p.Name, p.Forwarded, estimateOf(before, p.ID))
	}
	if !allOn(before, pg.receiver, pg.senders, "h") {
		t.Fatalf("Rex, uncapped, does not get every sender's top layer %v after Ann's page drew big tiles: %v", climbFor, forwardedOf(before, pg.receiver))
	}
	if kbps := forwardedKbps(before, ann, pg.senders); kbps <= downlinkCapKbps {
		t.Fatalf("Ann, uncapped, whose tiles need every top layer, gets %v (%d kb/s) %v after her page drew them big, want over the %d kb/s cap", forwardedOf(before, ann), kbps, climbFor, downlinkCapKbps)
	}
	// Rex's bit rate before the cap, over 3 s on the top layers (a
	// layer he was just moved to starts at its next keyframe).
	time.Sleep(4 * time.Second)
	rexBefore := pg.rateSince(t, 3*time.Second)

	if err := lab.Cap(lab.GuestRouter, "lan", downlinkCap); err != nil {
		t.Fatal(err)
	}
	capped := time.Now()
	judged := capped.Add(settleCap)
	watch := newDecodeWatch()
	var lowered time.Duration // when Ann was first on no top layer
	// Under the cap, once a second: Ann's layers and downlink (logged),
	// any time after settleCap she lacked a sender or had every top
	// layer, her estimates then, and Rex's layers when not all top.
	var timeline, annWrong, rexOff []string
	var estimates []int
	var rexLost float64 // the most Rex's own receiver reports said he lost
	live := false
	for time.Since(capped) < cappedFor {
		watch.see(t, page, judged)
		if time.Since(capped) >= settleCap && !live {
			ls.post(t, "/api/live", `{"on":true}`)
			live = true
		}
		if watch.polls%5 != 0 { // /api/state once a second
			time.Sleep(statsEvery)
			continue
		}
		st := ls.state(t)
		f := forwardedOf(st, ann)
		at := fmt.Sprintf("%.0fs", time.Since(capped).Seconds())
		timeline = append(timeline, fmt.Sprintf("%s %s%s%s %s", at, f[pg.senders[0]], f[pg.senders[1]], f[pg.senders[2]], estimateOf(st, ann)))
		if lowered == 0 && noneOn(st, ann, pg.senders, "h") {
			lowered = time.Since(capped)
		}
		if time.Now().After(judged) {
			if !allOn(st, ann, pg.senders, "") || allOn(st, ann, pg.senders, "h") {
				annWrong = append(annWrong, fmt.Sprint(at, " ", f))
			}
			if h := healthOf(st, ann); h != nil {
				estimates = append(estimates, h.Down.EstimateKbps)
			}
			if h := healthOf(st, pg.receiver); h != nil {
				rexLost = max(rexLost, h.Down.Loss)
			}
			if !allOn(st, pg.receiver, pg.senders, "h") {
				rexOff = append(rexOff, fmt.Sprint(at, " ", forwardedOf(st, pg.receiver), " ", estimateOf(st, pg.receiver)))
			}
		}
		time.Sleep(statsEvery)
	}
	ls.post(t, "/api/live", `{"on":false}`)
	rexAfter := pg.rateSince(t, cappedFor-settleCap)
	if err := lab.Cap(lab.GuestRouter, "lan", ""); err != nil {
		t.Fatal(err)
	}

	// The studio's side: Ann was moved off the top layers within the
	// first seconds, and from then on got a layer of every sender, never
	// all three top ones, and an estimate that found the cap. (Her
	// health goes red at times: a try one layer up that the cap can't
	// carry is lost, and her receiver reports say so.)
	t.Logf("Ann under the cap, each second: her layers of the three senders, her downlink:\n%s", strings.Join(timeline, "\n"))
	slices.Sort(estimates)
	t.Logf("capped at %s: Ann off every top layer after %v; her estimates from %v on (kb/s, sorted) %v",
		downlinkCap, lowered.Round(100*time.Millisecond), settleCap, estimates)
	if lowered == 0 || lowered > settleCap {
		t.Errorf("Ann was not moved off every top layer within %v of the cap (after %v)", settleCap, lowered.Round(100*time.Millisecond))
	}
	if len(annWrong) > 0 {
		t.Errorf("under the cap Ann lacked a sender, or got every top layer: %q", annWrong)
	}
	if len(estimates) == 0 || estimates[len(estimates)/2] > downlinkCapKbps*5/4 {
		t.Errorf("Ann's downlink estimates under the cap %v kb/s, want a median within a quarter above her %d kb/s", estimates, downlinkCapKbps)
	}
	if len(rexOff) > 0 {
		// Not Ann's doing: Rex sends no transport-cc, so only his own
		// receiver reports' loss (his process starved of CPU on this
		// box) moves him; his bit rate below is what must hold.
		t.Logf("Rex, uncapped, was off a top layer at times: %q", rexOff)
	}
	// The browser's side: every sender's video kept being decoded, and
	// the host's. (The host's is one encoding for every guest, which
	// follows the least share of anyone's estimate, opened anew at each
	// change: it stood still up to 3 s under the cap here, an interim
	// the README describes; only that it moves is asserted.)
	t.Logf("Ann's browser, from %v after the cap: %s", settleCap, watch)
	for _, id := range append(slices.Clone(pg.senders), studio.HostID) {
		v := watch.of[id]
		if v == nil || v.frames-v.first < 30 {
			t.Errorf("Ann's browser decoded %v of %s's video under the cap, want it moving", v, id)
			continue
		}
		if id == studio.HostID {
			continue
		}
		if v.longest > targetFreeze+statsEvery {
			t.Logf("issue #10's target not met: sender %s's video stood still in Ann's browser for %v, the target is %v", id, v.longest.Round(10*time.Millisecond), targetFreeze)
		}
		if v.longest > maxFreeze {
			t.Errorf("sender %s's video stood still in Ann's browser for %v, want at most %v", id, v.longest.Round(10*time.Millisecond), maxFreeze)
		}
	}
	// Rex's own count of what he received. Where his own receiver reports
	// said he lost much (redLoss: his process starved of CPU on this
	// loaded box, reading his socket too late), they moved him down, not
	// Ann's cap: the test says so and does not fail. Dragged down by Ann
	// he would lose nothing and still fall.
	t.Logf("Rex received (kb/s) before the cap %v, under it %v; his reports said he lost up to %.0f %%", rexBefore, rexAfter, rexLost*100)
	for _, id := range pg.senders {
		switch {
		case rexAfter[id] >= keptShare*rexBefore[id]:
		case rexLost >= redLoss:
			t.Logf("Rex got sender %s at %.0f kb/s under Ann's cap, %.0f before, having lost up to %.0f %% himself", id, rexAfter[id], rexBefore[id], rexLost*100)
		default:
			t.Errorf("Rex got sender %s at %.0f kb/s under Ann's cap, %.0f before, without losing packets himself", id, rexAfter[id], rexBefore[id])
		}
	}
	// The program: each sender's tile moves (the host's is the first).
	cells, _ := scene.Arrange(scene.Grid, 4, 0, image.Rect(0, 0, 1280, 720))
	for i, cell := range cells[1:] {
		tile := mediatest.DecodeTile(t, ls.rec, cell, 30)
		from, to := time.Second, tile.Duration()-time.Second
		freezes := tile.Freezes(from, to, 0.5)
		t.Logf("the program's tile %d: %.0f s, frozen ≥ 2 frames: %s", i+1, tile.Duration().Seconds(), mediatest.Durations(freezes))
		if len(freezes) > 0 && freezes[0] > targetFreeze {
			t.Errorf("the program's tile %d stood still for %v, want at most %v", i+1, freezes[0].Round(time.Millisecond), targetFreeze)
		}
	}
}

// pionGuests is the pionguests helper as the test sees it.
type pionGuests struct {
	senders  []string
	receiver string

	mu   sync.Mutex // guards seen
	seen []received // each line "received" the helper printed
}

// received is what the uncapped receiver had received of each sender's
// video (bytes) at a time.
type received struct {
	at    time.Time
	bytes map[string]int64
}

// startPionGuests starts the pionguests helper in the studio's namespace,
// three senders of studiotest.CameraLayers and the receiver Rex, and
// follows what Rex says he received.
func startPionGuests(t *testing.T, lab *netlab.Lab, ls *labStudio) *pionGuests {
	t.Helper()
	layers := studiotest.CameraLayers(t, t.TempDir())
	audio, err := filepath.Abs("studio/testdata/audio.ogg")
	if err != nil {
		t.Fatal(err)
	}
	// From inside the studio's namespace, over its loopback: the pion
	// client offers only loopback candidates.
	link, _ := url.Parse(ls.guestURL)
	link.Host = "127.0.0.1:8443"
	args := []string{link.String(), audio}
	for _, l := range layers {
		args = append(args, l.RID+"="+l.IVF)
	}
	p, err := lab.StartHelper(lab.Studio, "pionguests", args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stdin.Close() })
	pg := &pionGuests{}
	timeout := time.After(30 * time.Second)
	for pg.receiver == "" {
		select {
		case line, ok := <-p.Lines:
			if !ok {
				t.Fatalf("the pion guests ended before joining: %v", p.Err())
			}
			if id, ok := strings.CutPrefix(line, "sender "); ok {
				pg.senders = append(pg.senders, id)
			} else if id, ok := strings.CutPrefix(line, "receiver "); ok {
				pg.receiver = id
			}
		case <-timeout:
			t.Fatal("the pion guests did not join within 30 s")
		}
	}
	go func() {
		for line := range p.Lines {
			fields := strings.Fields(line)
			if len(fields) < 1 || fields[0] != "received" {
				continue
			}
			r := received{at: time.Now(), bytes: map[string]int64{}}
			for _, f := range fields[1:] {
				id, n, _ := strings.Cut(f, "=")
				r.bytes[id], _ = strconv.ParseInt(n, 10, 64)
			}
			pg.mu.Lock()
			pg.seen = append(pg.seen, r)
			pg.mu.Unlock()
		}
	}()
	return pg
}

// rateSince is the bit rate (kb/s) at which Rex received each sender's
// video over the last d.
func (pg *pionGuests) rateSince(t *testing.T, d time.Duration) map[string]float64 {
	t.Helper()
	pg.mu.Lock()
	defer pg.mu.Unlock()
	if len(pg.seen) < 2 {
		t.Fatalf("Rex reported what he received %d times", len(pg.seen))
	}
	last := pg.seen[len(pg.seen)-1]
	first := pg.seen[0]
	for _, r := range pg.seen {
		if !r.at.Before(last.at.Add(-d)) {
			first = r
			break
		}
	}
	rates := map[string]float64{}
	for id, n := range last.bytes {
		rates[id] = float64(n-first.bytes[id]) * 8 / 1000 / last.at.Sub(first.at).Seconds()
	}
	return rates
}

// pionGuestsHelper runs "pionguests LINK AUDIO RID=IVF…" in a namespace:
// three guests join LINK sending their camera in those layers and AUDIO,
// then Rex, who sends nothing and counts what he receives; it prints "sender ID" for each and
// "receiver ID", then every second "received ID=BYTES…", the video Rex
// received of each participant so far, until its standard input closes.
func pionGuestsHelper(args []string) error {
	if len(args) < 3 {
		return fmt.Errorf("usage: pionguests LINK AUDIO RID=IVF…")
	}
	link, audio := args[0], args[1]
	var layers []studiotest.Layer
	for _, a := range args[2:] {
		rid, ivf, _ := strings.Cut(a, "=")
		layers = append(layers, studiotest.Layer{RID: rid, IVF: ivf})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	selfSigned := &tls.Config{InsecureSkipVerify: true} // the studio's, as a guest clicks through it
	var clients []*studiotest.Client
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	for _, name := range []string{"Bob", "Cat", "Dan"} {
		c, err := studiotest.Join(ctx, link, name, studiotest.Options{Simulcast: layers, AudioOgg: audio, TLS: selfSigned})
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		clients = append(clients, c)
		fmt.Println("sender", c.ID)
	}
	// Rex sends no transport-cc feedback, so the studio forwards him
	// every top layer whatever his own estimate: what he receives is what
	// the SFU sends an uncapped guest, which a capped one must not take
	// from him. (With feedback, a pion receiver in this process, behind
	// three senders on a loaded box, climbed to 1.6 Mb/s in 30 s: its
	// reads come late, which GCC takes for a queue.)
	var mu sync.Mutex
	got := map[string]int64{}
	rex, err := studiotest.Join(ctx, link, "Rex", studiotest.Options{TLS: selfSigned, NoTWCC: true, OnRTP: func(from, kind string, pkt *rtp.Packet) {
		if kind == "video" {
			mu.Lock()
			got[from] += int64(pkt.MarshalSize())
			mu.Unlock()
		}
	}})
	if err != nil {
		return fmt.Errorf("Rex: %w", err)
	}
	clients = append(clients, rex)
	fmt.Println("receiver", rex.ID)
	everyUntilStdinCloses(time.Second, func() {
		mu.Lock()
		line := "received"
		for id, n := range got {
			line += fmt.Sprintf(" %s=%d", id, n)
		}
		mu.Unlock()
		fmt.Println(line)
	})
	return nil
}

// everyUntilStdinCloses calls f every d until the helper's standard input
// closes (the test is done with it).
func everyUntilStdinCloses(d time.Duration, f func()) {
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(done)
	}()
	tick := time.NewTicker(d)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case <-tick.C:
			f()
		}
	}
}

// decodeWatch follows what a guest's browser decodes of each participant's
// video (getStats' inbound-rtp, told apart by the studio's msid: the
// sender's ID), and the longest time each stood still.
type decodeWatch struct {
	polls int
	of    map[string]*decoded
}

type decoded struct {
	first, frames   int64     // framesDecoded at the first look after the judging began, and now
	changed         time.Time // when framesDecoded last moved on, by the browser's clock
	longest         time.Duration
	heights         []int64 // the frame heights seen, in order, once each in a row
	freezes         int64   // Chromium's own freezeCount, since the first look
	firstFreezes    int64
	frozen, frozen0 float64 // Chromium's totalFreezesDuration (s), now and at the first look
}

func (d *decoded) String() string {
	return fmt.Sprintf("%d frames, heights %v, longest still %v, Chromium's freezes %d (%.1f s)",
		d.frames-d.first, d.heights, d.longest.Round(10*time.Millisecond), d.freezes-d.firstFreezes, d.frozen-d.frozen0)
}

func newDecodeWatch() *decodeWatch { return &decodeWatch{of: map[string]*decoded{}} }

func (w *decodeWatch) String() string {
	var parts []string
	for id, d := range w.of {
		parts = append(parts, id+": "+d.String())
	}
	slices.Sort(parts)
	return strings.Join(parts, "; ")
}

// see looks at the page's getStats once; stillness counts from judged on.
func (w *decodeWatch) see(t *testing.T, page *studiotest.Page, judged time.Time) {
	t.Helper()
	w.polls++
	var rs []struct {
		From                    string
		Frames, Height, Freezes int64
		Frozen, At              float64 // s; ms since the epoch
	}
	err := page.Eval(`(async () => {
  const pc = window.greenroom.pc, who = {}, out = [];
  for (const sec of pc.remoteDescription.sdp.split("\r\nm=").slice(1)) {
    const mid = (sec.match(/a=mid:(\S+)/) || [])[1], msid = (sec.match(/a=msid:(\S+)/) || [])[1];
    if (mid && msid) who[mid] = msid;
  }
  (await pc.getStats()).forEach(r => {
    if (r.type === "inbound-rtp" && r.kind === "video" && who[r.mid])
      out.push({From: who[r.mid], Frames: r.framesDecoded || 0, Height: r.frameHeight || 0,
        Freezes: r.freezeCount || 0, Frozen: r.totalFreezesDuration || 0, At: r.timestamp});
  });
  return out;
})()`, &rs)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		at := time.UnixMilli(int64(r.At))
		if at.Before(judged) {
			continue
		}
		d := w.of[r.From]
		if d == nil {
			d = &decoded{first: r.Frames, frames: r.Frames, changed: at, firstFreezes: r.Freezes, frozen0: r.Frozen}
			w.of[r.From] = d
		}
		if r.Frames != d.frames {
			d.longest = max(d.longest, at.Sub(d.changed))
			d.frames, d.changed = r.Frames, at
		} else {
			d.longest = max(d.longest, at.Sub(d.changed)) // a freeze going on
		}
		if n := len(d.heights); r.Height > 0 && (n == 0 || d.heights[n-1] != r.Height) {
			d.heights = append(d.heights, r.Height)
		}
		d.freezes, d.frozen = r.Freezes, r.Frozen
	}
}

// forwardedOf is what participant id receives of each simulcast sender.
func forwardedOf(st labState, id string) map[string]string {
	for _, p := range st.Participants {
		if p.ID == id {
			return p.Forwarded
		}
	}
	return nil
}

// allOn says whether id receives layer rid of every sender (with rid "",
// some layer of every sender); noneOn whether rid of none.
func allOn(st labState, id string, senders []string, rid string) bool {
	f := forwardedOf(st, id)
	for _, s := range senders {
		if f[s] == "" || rid != "" && f[s] != rid {
			return false
		}
	}
	return true
}

func noneOn(st labState, id string, senders []string, rid string) bool {
	f := forwardedOf(st, id)
	for _, s := range senders {
		if f[s] == rid || f[s] == "" {
			return false
		}
	}
	return true
}

// allTaller says whether a page's view (signal "view": [width, height]
// by stream ID) draws every one of ids over px tall.
func allTaller(sizes map[string][2]int, ids []string, px int) bool {
	for _, id := range ids {
		if sizes[id][1] <= px {
			return false
		}
	}
	return true
}

// forwardedKbps is the sum of the measured bit rates of the layers id
// receives.
func forwardedKbps(st labState, id string, senders []string) int {
	f := forwardedOf(st, id)
	sum := 0
	for _, p := range st.Participants {
		if slices.Contains(senders, p.ID) {
			for _, l := range p.Layers {
				if l.RID == f[p.ID] {
					sum += l.Kbps
				}
			}
		}
	}
	return sum
}

// healthOf is participant id's health (nil until measured).
func healthOf(st labState, id string) *labHealth {
	for _, p := range st.Participants {
		if p.ID == id {
			return p.Health
		}
	}
	return nil
}

// estimateOf says what the studio measures of id's downlink.
func estimateOf(st labState, id string) string {
	h := healthOf(st, id)
	if h == nil {
		return "not measured"
	}
	return fmt.Sprintf("%d kb/s sent, %.0f %% lost, estimate %d kb/s (%s %s)", h.Down.Kbps, h.Down.Loss*100, h.Down.EstimateKbps, h.Level, h.Reason)
}
