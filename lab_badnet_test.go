//go:build linux

package main

import (
	"fmt"
	"image"
	"math"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"greenroom/encode/mediatest"
	"greenroom/studio/studiotest"
	"greenroom/studio/studiotest/netlab"
)

// Issue #10's bounds for a guest on a bad network, judged in the recorded
// program.
const (
	// badNetworkFor is how long the guest's network is bad while the
	// show is live: the minute, long enough for a few loss
	// bursts of several packets (5 % random loss gives a run of three
	// about once a minute at 100 packets a second).
	badNetworkFor = 60 * time.Second
	// The targets, asserted: the guest's picture never stands
	// still longer than targetFreeze, nor its sound falls silent longer
	// than targetSilence, nor a corruption (grey frames in a row) lasts
	// longer than maxGreyRun, with loss and jitter; on the slow uplink
	// the same. Measured with the keyframe's reordered packets kept at a
	// simulcast switch and a whole keyframe taken at once behind a gap:
	// see the README (Testing → Bad networks). Before those, a switch
	// between the guest's layers cost 0.4–0.53 s still; before the
	// jitter buffer waited on the clock of arrival, 1.03 s and 146 ms at
	// load 17–21, the box starving the browser and the pipeline.
	targetFreeze  = time.Second
	targetSilence = 60 * time.Millisecond
	maxGreyRun    = time.Second
	// maxFreeze is the longest still the downlink and probe tests allow
	// a receiver's picture (lab_downlink_test.go, lab_probe_test.go).
	maxFreeze = 2500 * time.Millisecond
	// maxGreyFrames is how many frames of the guest may be grey (see
	// maxGrey) in all before the test fails; the target is none.
	maxGreyFrames = 15
	// slowUplinkFor is how long the capped guest is live: half the
	// issue's minute, as the cap's effect (the browser's estimate
	// settling under it) shows within seconds and holds; the lossy case
	// keeps the full minute for its rare bursts.
	slowUplinkFor = 30 * time.Second
	// maxGrey is the share of a frame of the guest's picture that may be
	// colourless: Chromium's fake camera draws in greens alone, so grey
	// there is a decoder's smear of a picture it lacked the references
	// for (or black).
	maxGrey = 0.02
)

// TestLabGuestOnBadNetwork is issue #10's first impairment test: a
// Chromium guest behind a router that drops 5 % of what it sends, at
// random, whose media goes through a TURN relay that delays every packet
// by 50 ± 20 ms on its way to the studio (what it relays to the guest
// leaves at once: each round trip takes the delay once). Its fake
// camera's picture moves every frame and its fake microphone plays a
// voice over a steady tone (voiceFile), so in the recording of the
// program (the guest alone on screen, the host muted) any stretch of
// identical pictures is a freeze and any digital silence is a gap.
func TestLabGuestOnBadNetwork(t *testing.T) {
	// The relay is the guest's only path (case (c)); it delays what it
	// relays.
	lab, ls, gb := relayedLab(t, "delay=50ms", "jitter=20ms")
	gb.Flags = append(gb.Flags, "--use-file-for-fake-audio-capture="+voiceFile(t))
	page := ls.guestJoins(t, lab, "relayed", gb)
	ls.post(t, "/api/mute", `{"id":"host","on":true}`) // only the guest's sound in the mix
	guest := ""
	for _, p := range ls.state(t).Participants {
		if p.Role == "guest" && p.Place == "stage" {
			guest = p.ID
		}
	}
	seenBy := watchTheCall(t, lab, ls)

	if err := lab.Loss(lab.GuestRouter, netlab.Up, 5); err != nil {
		t.Fatal(err)
	}
	before := senderStats(t, page)
	time.Sleep(3 * time.Second) // the browser's first reaction to the loss is not what we judge
	judged := time.Now()
	ls.post(t, "/api/live", `{"on":true}`)
	rtts := ls.roundTrips(t, badNetworkFor)
	ls.post(t, "/api/live", `{"on":false}`)
	after := senderStats(t, page)
	t.Logf("the guest's sender over the test: %s", after.since(before))
	judgeRoundTrip(t, page, rtts, 50*time.Millisecond, 20*time.Millisecond)

	judgeGuest(t, ls)
	judgeConcealment(t, ls, page, guest)
	// In the call: what another guest, on a clean link, could show of
	// the lossy guest's camera (the studio repairs its uplink's losses
	// with NACKs, and forwards the repair).
	seen := seenBy()[guest]
	// The 1 s is the program's; in the call a still over it is
	// logged as its target missed and fails past maxFreeze, as the
	// other receivers' (the downlink and probe tests): one of 1.048 s
	// came in a CI run whose program's longest was 333 ms.
	var stills []string
	for _, st := range seen.stills {
		if st.From.Add(st.Took).Before(judged) {
			continue
		}
		// What the receiver saw: a hole nobody filled ends at a
		// keyframe, a stream that paused without one.
		stills = append(stills, st.String())
		if st.Took > maxFreeze {
			t.Errorf("in the call, another guest's picture of the lossy guest stood still from %s for %v, want at most %v", st.From.Format("15:04:05.000"), st.Took, maxFreeze)
		}
	}
	t.Logf("in the call, another guest's picture of the lossy guest: shown %v, stills over 1 s %q", seen.shown, stills)
	if len(stills) > 0 {
		t.Logf("issue #10's target not met: in the call, another guest's picture of the lossy guest stood still over %v: %q", targetFreeze, stills)
	}
	if !seen.shown {
		t.Errorf("in the call, another guest on a clean link never could show the lossy guest's camera")
	}
}

// judgeConcealment checks that the program's decoder filled in the lossy
// guest's lost sound, some of it from the in-band FEC Chromium's Opus
// encoder adds once the studio's answer says useinbandfec=1 and its
// receiver reports say loss (Health.ProgramAudio).
func judgeConcealment(t *testing.T, ls *labStudio, page *studiotest.Page, guest string) {
	t.Helper()
	var fmtp string
	if err := page.Eval(`(window.greenroom.pc.remoteDescription.sdp.match(/a=fmtp:\d+ .*useinbandfec.*/) || [""])[0]`, &fmtp); err != nil {
		t.Fatal(err)
	}
	for _, p := range ls.state(t).Participants {
		if p.ID != guest || p.Health == nil {
			continue
		}
		a := p.Health.ProgramAudio
		t.Logf("the lossy guest's sound in the program: %d ms concealed, %d ms of it recovered from FEC; the studio's answer: %q", a.ConcealedMs, a.RecoveredMs, fmtp)
		if a.RecoveredMs <= 0 {
			t.Errorf("none of the lossy guest's lost sound (%d ms concealed) was recovered from Opus's in-band FEC", a.ConcealedMs)
		}
		return
	}
	t.Errorf("no health for the lossy guest %s in /api/state", guest)
}

// watchTheCall joins a pion receiver to the lab's studio from the
// creator's LAN (a clean link), a guest in the green room who gets the
// stage's cameras as a guest in the call does, and returns what it saw
// of each (studiotest.Pictures: what a decoder could show).
func watchTheCall(t *testing.T, lab *netlab.Lab, ls *labStudio) func() map[string]seenPictures {
	t.Helper()
	link, err := url.Parse(ls.guestURL)
	if err != nil {
		t.Fatal(err)
	}
	link.Host = net.JoinHostPort(netlab.StudioIP.String(), "8443")
	p, err := lab.StartHelper(lab.CreatorRouter, "probeguest", "receive", link.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stdin.Close() })
	helperSays(t, p, "receiver ")
	return followPictures(p)
}

// judgeGuest judges the recorded program, the guest alone on screen and
// in the mix, against issue #10's targets: its picture never stands
// still longer than targetFreeze; it is never grey in places (a smear, or
// the initials card of a picture gone) for longer than maxGreyRun in a
// row (the "no corruption beyond 1 s after a loss burst"), nor
// in more than maxGreyFrames frames in all; and its tone never falls
// silent longer than targetSilence.
func judgeGuest(t *testing.T, ls *labStudio) {
	t.Helper()
	// The first and the last second of the recording are the pipeline
	// starting and stopping: its last audio block may be cut short.
	tile := mediatest.DecodeTile(t, ls.rec, image.Rect(320, 180, 960, 540), 30)
	from, to := time.Second, tile.Duration()-time.Second
	stills := tile.FreezesAt(from, to, 0.5)
	freezes := mediatest.Lengths(stills)
	off := tile.Greyed(from, to, maxGrey)
	greyRuns := tile.GreyRuns(from, to, maxGrey)
	gaps := mediatest.SilencesAt(t, ls.rec, from, to, 20*time.Millisecond)
	silences := mediatest.Lengths(gaps)
	t.Logf("%.0f s recorded, judged from 1 s to 1 s before the end; picture frozen ≥ 2 frames: %s; frames with grey: %d, in runs of %s; silences ≥ 20 ms: %s",
		float64(len(tile.Y))/tile.FPS, mediatest.Durations(freezes), len(off), mediatest.Durations(greyRuns), mediatest.Durations(silences))
	// Where in the recording (its 0 is about the studio's "live on=true"
	// in the -v log), to lay beside the studio's log.
	t.Logf("the longest stills: %v; silences: %v", stills[:min(len(stills), 3)], gaps[:min(len(gaps), 3)])
	t.Cleanup(func() {
		if t.Failed() { // to look at: testdata/failed/ is not committed
			_ = os.MkdirAll("testdata/failed", 0o755)
			_ = exec.Command("cp", ls.rec, "testdata/failed/"+strings.ReplaceAll(t.Name(), "/", "-")+".mp4").Run()
		}
	})
	if len(freezes) > 0 && freezes[0] > targetFreeze {
		t.Errorf("the guest's picture stood still for %v, want at most %v (issue #10)", freezes[0].Round(time.Millisecond), targetFreeze)
	}
	if len(greyRuns) > 0 && greyRuns[0] > maxGreyRun {
		t.Errorf("the guest's green picture was grey in places for %v in a row (the first grey frame at %v: a corrupted picture, or the initials card of a picture gone), want at most %v (issue #10)",
			greyRuns[0].Round(time.Millisecond), off[0], maxGreyRun)
	}
	if len(off) > maxGreyFrames {
		t.Errorf("%d frames with more than %.0f%% grey in the guest's green picture (first at %v), want at most %d: a corrupted picture, or the initials card of a picture gone", len(off), maxGrey*100, off[0], maxGreyFrames)
	}
	if len(silences) > 0 && silences[0] > targetSilence {
		t.Errorf("the guest's sound fell silent for %v, want at most %v (issue #10)", silences[0].Round(time.Millisecond), targetSilence)
	}
}

// TestLabGuestOnSlowUplink is issue #10's bandwidth case: the guest's
// router lets out 600 kb/s (tc tbf on its WAN link), less than Chromium
// sends a 720p camera at. The guest must stay in the program with a
// moving picture: the browser adapts only if the studio tells it what
// gets through (transport-wide congestion control feedback, which the
// studio's answer must offer), else its queue in the router overflows.
func TestLabGuestOnSlowUplink(t *testing.T) {
	lab, ls := upnpLab(t)
	if _, err := exec.LookPath("tc"); err != nil {
		t.Skip("no tc (Debian's iproute2):", err)
	}
	page := ls.guestJoins(t, lab, "direct", guestBrowser{Flags: []string{"--use-file-for-fake-audio-capture=" + toneFile(t)}})
	var sdp string
	if err := page.Eval(`window.greenroom.pc.remoteDescription.sdp`, &sdp); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sdp, "a=rtcp-fb:96 transport-cc") || !strings.Contains(sdp, "transport-wide-cc-extensions") {
		t.Errorf("the studio's answer offers no transport-wide congestion control for VP8: the browser can't adapt\n%s", sdp)
	}
	ls.post(t, "/api/mute", `{"id":"host","on":true}`)
	if err := lab.Cap(lab.GuestRouter, "wan", "600kbit"); err != nil {
		t.Fatal(err)
	}
	before := senderStats(t, page)
	time.Sleep(5 * time.Second) // the browser finds the cap
	ls.post(t, "/api/live", `{"on":true}`)
	time.Sleep(slowUplinkFor)
	ls.post(t, "/api/live", `{"on":false}`)
	after := senderStats(t, page)
	t.Logf("the guest's sender over the test: %s", after.since(before))
	onStage := false
	for _, p := range ls.state(t).Participants {
		onStage = onStage || p.Role == "guest" && p.Place == "stage" && p.Connected
	}
	if !onStage {
		t.Errorf("the guest is no longer on stage with its media connected: %+v", ls.state(t).Participants)
	}
	judgeGuest(t, ls)
}

// roundTrips waits d, reading every 2 s (the studio's own interval) the
// round trip /api/state shows for the guest on stage (health.up.rttMs),
// and where it came from (rttFrom).
func (ls *labStudio) roundTrips(t *testing.T, d time.Duration) []shownRTT {
	t.Helper()
	var rtts []shownRTT
	for end := time.Now().Add(d); time.Now().Before(end); {
		time.Sleep(min(2*time.Second, time.Until(end)))
		for _, p := range ls.state(t).Participants {
			if p.Role == "guest" && p.Place == "stage" && p.Health != nil && p.Health.Up.RTTMs > 0 {
				rtts = append(rtts, shownRTT{time.Duration(p.Health.Up.RTTMs) * time.Millisecond, p.Health.Up.RTTFrom})
			}
		}
	}
	return rtts
}

// shownRTT is one round trip the studio showed, and where from.
type shownRTT struct {
	rtt  time.Duration
	from string
}

// judgeRoundTrip logs the round trips the studio showed for a guest
// behind the lab's delaying relay (rtts) beside the relay's delay ±
// jitter, the path the guest's browser says its media takes, and the
// browser's own round trip (the studio's receiver reports), and fails
// unless their mean is at least delay − jitter: the relay delays each
// packet it relays, once on the round trip (the relay's socket delays
// what it sends to the studio; what it sends the guest leaves at once).
// Each must come from the guest's reports on the host's feed it
// receives (rttFrom "rtcp"), measured anew every interval: ICE's, before,
// showed the same value for up to 14 s (roundtrip.go in studio).
func judgeRoundTrip(t *testing.T, page *studiotest.Page, rtts []shownRTT, delay, jitter time.Duration) {
	t.Helper()
	var sum time.Duration
	var shown []time.Duration
	froms := map[string]int{}
	same, longest := 1, 0 // readings in a row the same
	for i, r := range rtts {
		sum += r.rtt
		shown = append(shown, r.rtt)
		froms[r.from]++
		if i > 0 && r.rtt == rtts[i-1].rtt {
			same++
		} else {
			same = 1
		}
		longest = max(longest, same)
	}
	pair := selectedPair(t, page)
	t.Logf("the round trip the studio showed for the guest through the relay's %v ± %v: %v, from %v, at most %d readings in a row the same (the guest's path %s %s → %s %s, whose ICE checks: the studio's %d, answered %d, the browser's %d, answered %d; the browser's own round trip %.0f ms)",
		delay, jitter, shown, froms, longest, pair.LocalType, pair.Local, pair.RemoteType, pair.Remote,
		pair.Received, pair.Responded, pair.Sent, pair.Answered, senderStats(t, page).RTT*1000)
	if len(rtts) == 0 {
		t.Errorf("the studio showed no round trip for the guest")
		return
	}
	if mean := sum / time.Duration(len(rtts)); mean < delay-jitter {
		t.Errorf("the studio showed the guest's round trip as %v on average, want at least the relay's %v − %v", mean, delay, jitter)
	}
	if n := froms["rtcp"]; n < len(rtts) {
		t.Errorf("%d of the %d round trips shown came from the guest's reports (%v), want all: it receives the host's feed", n, len(rtts), froms)
	}
}

// toneFile writes a steady 440 Hz tone for Chromium's fake microphone:
// 10 s, a whole number of periods, so its loop has no seam.
func toneFile(t *testing.T) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "tone.wav")
	out, err := exec.Command("ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=10",
		"-ac", "1", "-c:a", "pcm_s16le", f).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	return f
}

// voiceFile writes a voice over a steady 440 Hz tone for Chromium's fake
// microphone: libopus's own test recording of speech (10.8 s, in its Go
// binding's module), the tone under it at about −44 dBFS (a twentieth of
// ffmpeg's) so that the sound never falls silent. On a tone alone the lab measured 20 ms and 0 ms
// recovered from FEC of 6 s and 3.8 s concealed, on this voice 3.5 s of
// 5.2 s: libopus, Chromium's Opus encoder, takes a steady tone for music
// and codes it CELT, which carries no in-band FEC (the studio got 19
// hybrid packets from Chromium, then 2981 CELT ones, config 27, none
// with FEC's LBRR flag, 5 % loss or not), and speech SILK, with FEC
// (ffmpeg's libopus at 5 % loss expected: about two packets in three).
func voiceFile(t *testing.T) string {
	t.Helper()
	dir, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "gopkg.in/hraban/opus.v2").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	speech := filepath.Join(strings.TrimSpace(string(dir)), "testdata", "speech_8.wav")
	f := filepath.Join(t.TempDir(), "voice.wav")
	out, err := exec.Command("ffmpeg", "-v", "error", "-y", "-i", speech, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-filter_complex", "[1]volume=0.05[tone];[0][tone]amix=inputs=2:duration=first:normalize=0",
		"-ac", "1", "-ar", "48000", "-c:a", "pcm_s16le", f).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	return f
}

// rtpSenderStats is what the guest's browser says of what it sent.
type rtpSenderStats struct {
	VideoPackets, AudioPackets, Retransmitted, NACKs, PLIs, Frames, KeyFrames int64
	LostVideo, LostAudio                                                      int64   // as the studio's receiver reports say
	RTT                                                                       float64 // seconds, the last reported
	Width, Height                                                             int64
	// LimitedBy is, per reason (cpu, bandwidth), for how many seconds
	// the browser held its video back (qualityLimitationDurations).
	LimitedBy map[string]float64
}

func (s rtpSenderStats) since(b rtpSenderStats) string {
	limited := map[string]float64{}
	for k, v := range s.LimitedBy {
		if d := v - b.LimitedBy[k]; k != "none" && d >= 0.5 {
			limited[k] = math.Round(d)
		}
	}
	held := "never held back"
	if len(limited) > 0 {
		held = fmt.Sprintf("held back for %v s", limited)
	}
	return fmt.Sprintf("video %d packets (%d lost, %d retransmitted, %d NACKs, %d PLIs), %d frames (%d key) at %dx%d, %s; audio %d packets (%d lost); RTT %.0f ms",
		s.VideoPackets-b.VideoPackets, s.LostVideo-b.LostVideo, s.Retransmitted-b.Retransmitted, s.NACKs-b.NACKs, s.PLIs-b.PLIs,
		s.Frames-b.Frames, s.KeyFrames-b.KeyFrames, s.Width, s.Height, held, s.AudioPackets-b.AudioPackets, s.LostAudio-b.LostAudio, s.RTT*1000)
}

func senderStats(t *testing.T, page *studiotest.Page) rtpSenderStats {
	t.Helper()
	var s rtpSenderStats
	err := page.Eval(`(async () => {
  const out = {VideoPackets: 0, AudioPackets: 0, Retransmitted: 0, NACKs: 0, PLIs: 0, Frames: 0, KeyFrames: 0,
    LostVideo: 0, LostAudio: 0, RTT: 0, Width: 0, Height: 0, LimitedBy: {}};
  (await window.greenroom.pc.getStats()).forEach(r => {
    if (r.type === "outbound-rtp" && r.kind === "video") {
      out.VideoPackets += r.packetsSent || 0; out.Retransmitted += r.retransmittedPacketsSent || 0;
      out.NACKs += r.nackCount || 0; out.PLIs += r.pliCount || 0;
      out.Frames += r.framesEncoded || 0; out.KeyFrames += r.keyFramesEncoded || 0;
      out.Width = r.frameWidth || out.Width; out.Height = r.frameHeight || out.Height;
      out.LimitedBy = r.qualityLimitationDurations || {};
    }
    if (r.type === "outbound-rtp" && r.kind === "audio") out.AudioPackets += r.packetsSent || 0;
    if (r.type === "remote-inbound-rtp") {
      if (r.kind === "video") out.LostVideo += r.packetsLost || 0; else out.LostAudio += r.packetsLost || 0;
      out.RTT = r.roundTripTime || out.RTT;
    }
  });
  return out;
})()`, &s)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
