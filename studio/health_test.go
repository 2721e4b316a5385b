package studio_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4/pkg/media/ivfreader"

	"greenroom/studio"
	"greenroom/studio/studiotest"
)

// Real loss, measured by the studio from pion peers: Bob loses every
// fourth video packet he receives (below NACK), so his receiver reports
// say so and his level goes red for his downlink — in /api/state and in
// the "health" his page is sent; Dan's sender drops every other video
// packet on the wire, which the studio sees as loss on his uplink (what
// NACK didn't mend: a few %; the retransmissions also show as jitter). Ann,
// who sends her camera in layers over loopback, stays green: her uplink
// has a bit rate, no loss and no freeze. Each downlink estimate is the one
// the receiver's layers of Ann are chosen by, and says which: Bob sends no
// transport-cc (his loss reports), Dan sends REMB as well (his REMB, not
// our send-side estimate), Eve transport-cc alone (the send-side one).
func TestHealthFromRealLoss(t *testing.T) {
	parallelWithLeakCheck(t)
	s := newStudio(t, nil)
	ann := join(t, s, "Ann", studiotest.Options{Simulcast: simulcastLayers, AudioOgg: audioOgg})
	bob := join(t, s, "Bob", studiotest.Options{LoseEvery: 4, NoTWCC: true})
	dan := join(t, s, "Dan", studiotest.Options{VideoIVF: videoIVF, DropEvery: 2, REMB: danREMB})
	eve := join(t, s, "Eve", studiotest.Options{})
	if err := s.Stage(ann.ID, true); err != nil {
		t.Fatal(err)
	}
	health := func(id string) studio.Health {
		if h := find(s, id).Health; h != nil {
			return *h
		}
		return studio.Health{}
	}
	eventually(t, "Bob's level to go red for his downlink", func() bool {
		h := health(bob.ID)
		return h.Level == studio.LevelRed && h.Down.Loss >= 0.08
	})
	h := health(bob.ID)
	t.Logf("Bob: %+v", h)
	if want := "weak downlink"; len(h.Reason) < len(want) || h.Reason[:len(want)] != want {
		t.Errorf("Bob's reason %q, want it to start %q", h.Reason, want)
	}
	if h.Down.Kbps == 0 || h.Down.EstimateKbps == 0 || h.Down.EstimateFrom != studio.EstimateLoss {
		t.Errorf("Bob's downlink %+v: want a bit rate and the estimate from his loss reports", h.Down)
	}
	eventually(t, "Bob's page to be told", func() bool {
		level, reason := bob.Health()
		return level == "red" && reason == health(bob.ID).Reason
	})
	eventually(t, "Dan's uplink loss to show", func() bool {
		h := health(dan.ID)
		return h.Up.Loss > 0 && h.Up.Kbps > 0 && (h.Level == studio.LevelAmber || h.Level == studio.LevelRed)
	})
	t.Logf("Dan: %+v", health(dan.ID))
	eventually(t, "Dan's downlink estimate to be his REMB", func() bool {
		d := health(dan.ID).Down
		return d.EstimateFrom == studio.EstimateREMB && d.EstimateKbps == danREMB/1000
	})
	eventually(t, "Ann to be measured", func() bool { return health(ann.ID).Up.Kbps > 0 })
	eventually(t, "Eve's downlink estimate to be the send-side one", func() bool {
		d := health(eve.ID).Down
		return d.EstimateFrom == studio.EstimateTransportCC && d.EstimateKbps > 0
	})
	t.Logf("Eve: %+v", health(eve.ID))
	if h := health(ann.ID); h.Level != studio.LevelGreen || h.Freezes.Count != 0 || h.Up.Loss != 0 {
		t.Errorf("Ann: %+v, want green without loss or freezes", h)
	}
}

// danREMB is the downlink Dan's REMBs state in TestHealthFromRealLoss,
// bits/s: a REMB for Ann's camera alone, which is all the estimate his
// layers of it are chosen by.
const danREMB = 2_000_000

// A camera that stops sending frames for 3 s while it is on is a freeze
// the studio sees in the SFU: red while it goes on ("video frozen"), then
// counted in the last minute with its length, and amber for 30 s after.
func TestHealthSeesAFreeze(t *testing.T) {
	parallelWithLeakCheck(t)
	s := newStudio(t, nil)
	c := join(t, s, "Ann", studiotest.Options{RTPVideo: true})
	var paused atomic.Bool
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		payload := []byte{0x10, 0x9d, 0x01, 0x2a}
		tick := time.NewTicker(33 * time.Millisecond)
		defer tick.Stop()
		for seq := uint16(0); ; seq++ {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			if paused.Load() {
				continue
			}
			_ = c.RTPVideo.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, Marker: true, SequenceNumber: seq, Timestamp: uint32(seq) * 3000}, Payload: payload})
		}
	}()
	defer func() { close(done); <-stopped }()
	health := func() studio.Health {
		if h := find(s, c.ID).Health; h != nil {
			return *h
		}
		return studio.Health{}
	}
	eventually(t, "Ann to be rated green", func() bool { return health().Level == studio.LevelGreen })
	paused.Store(true)
	eventually(t, "Ann's video to be frozen, red", func() bool {
		h := health()
		return h.Level == studio.LevelRed && strings.HasPrefix(h.Reason, "video frozen for")
	})
	time.Sleep(time.Second)
	paused.Store(false)
	eventually(t, "the freeze to be over and counted", func() bool {
		h := health()
		return h.Freezes.Count == 1 && h.Freezes.LastMinuteMs >= 2500 && !strings.HasPrefix(h.Reason, "video frozen for")
	})
	eventually(t, "amber for the freeze after the hold", func() bool {
		h := health()
		return h.Level == studio.LevelAmber && strings.HasPrefix(h.Reason, "video froze once in the last minute")
	})
	t.Logf("after: %+v", health())
}

// A camera whose frames all reach the SFU whole can still freeze in the
// program: one frame's packets never came (no NACK can bring them), and
// the program's decoder holds the last good picture until a keyframe —
// which this sender, unlike a browser, sends only when its file starts
// over, 1.5 s later. The studio counts that freeze in ProgramFreezes, not
// in Freezes (the SFU's), and names it "in the program".
func TestHealthSeesAFreezeInTheProgram(t *testing.T) {
	parallelWithLeakCheck(t)
	s, _, _ := startShowAt(t, smallShow, studio.ProgramConfig{})
	c := join(t, s, "Ann", studiotest.Options{RTPVideo: true})
	if err := s.Stage(c.ID, true); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(videoIVF)
	if err != nil {
		t.Fatal(err)
	}
	r, _, err := ivfreader.NewWith(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var frames [][]byte
	for {
		f, _, err := r.ParseNextFrame()
		if err != nil {
			break
		}
		frames = append(frames, f)
	}
	// lose: 1 loses the next frame (its file's second or later: a delta
	// frame); until: no keyframe is sent before then (unix ns).
	var lose, until atomic.Int64
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		pay := rtp.NewPacketizer(1200, 96, 0, &codecs.VP8Payloader{EnablePictureID: true}, rtp.NewRandomSequencer(), 90000)
		tick := time.NewTicker(33 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			f := frames[i%len(frames)]
			if key := f[0]&1 == 0; key && time.Now().UnixNano() < until.Load() {
				// Not sent, as a paused encoder: no sequence numbers
				// missing, no loss on the uplink.
				pay.SkipSamples(3000)
				continue
			}
			lost := lose.CompareAndSwap(1, 0) // numbered and never sent: a gap NACK can't fill
			for _, pkt := range pay.Packetize(f, 3000) {
				if !lost {
					_ = c.RTPVideo.WriteRTP(pkt)
				}
			}
		}
	}()
	defer func() { close(done); <-stopped }()
	health := func() studio.Health {
		if h := find(s, c.ID).Health; h != nil {
			return *h
		}
		return studio.Health{}
	}
	eventually(t, "Ann to be rated green, her pictures in the program", func() bool {
		return health().Level == studio.LevelGreen && time.Since(find(s, c.ID).Joined) > 3*time.Second
	})
	until.Store(time.Now().Add(1500 * time.Millisecond).UnixNano())
	lose.Store(1)
	var reasons []string
	eventually(t, "the freeze in the program to be over and counted", func() bool {
		h := health()
		if len(reasons) == 0 || reasons[len(reasons)-1] != h.Reason {
			reasons = append(reasons, h.Reason)
		}
		return h.ProgramFreezes.Count > 0 && strings.HasPrefix(h.Reason, "video froze in the program")
	})
	h := health()
	t.Logf("after: %+v; reasons %q", h, reasons)
	// The freeze lasts from the picture before the lost frame to the
	// first keyframe sent, 1.5 s after the loss or more (1.5–2.0 s in
	// runs at loads 10–15), less what a loaded box delays the decoding
	// of the picture before.
	if p, sfu := h.ProgramFreezes.LastMinuteMs, h.Freezes.LastMinuteMs; p < 1200 || p < sfu+1000 {
		t.Errorf("frozen %d ms in the program, %d ms in the SFU: want 1.2 s or more in the program, at least 1 s more than in the SFU", p, sfu)
	}
}

// The round trip the studio shows for a guest is its real one, and the
// one its media takes, measured anew every interval: Ann's path holds
// back every packet she sends by pathDelay (STUN, RTP and RTCP alike, on
// her socket), so her round trip with the studio is that much longer
// than loopback's; Bob is on loopback alone. The median of five
// measurements of hers, qualityInterval apart, is within 20 % + 10 ms of
// the delay (one alone may be a stalled thread's: 129 ms at load 20), and
// Bob's well under it, both from their receiver reports on what the
// studio forwards them, each the other's media on stage (rttFrom "rtcp"). So is the round trip Ann reckons
// from the studio's receiver reports (their DLSR: the studio's hold of
// her sender report), as a browser does. Then her path gets slower
// (slowerDelay), and within two intervals the studio shows that.
func TestHealthRoundTripThroughADelay(t *testing.T) {
	parallelWithLeakCheck(t)
	const pathDelay, slowerDelay = 80 * time.Millisecond, 200 * time.Millisecond
	s := newStudio(t, nil)
	ann := join(t, s, "Ann", studiotest.Options{VideoIVF: videoIVF, AudioOgg: audioOgg, PathDelay: pathDelay})
	bob := join(t, s, "Bob", studiotest.Options{VideoIVF: videoIVF, AudioOgg: audioOgg})
	for _, c := range []*studiotest.Client{ann, bob} { // on stage, each receives the other's media
		if err := s.Stage(c.ID, true); err != nil {
			t.Fatal(err)
		}
	}
	up := func(id string) studio.Uplink {
		if h := find(s, id).Health; h != nil {
			return h.Up
		}
		return studio.Uplink{}
	}
	rtt := func(id string) time.Duration { return time.Duration(up(id).RTTMs) * time.Millisecond }
	eventually(t, "Ann's and Bob's round trips to be measured from their reports", func() bool {
		return up(ann.ID).RTTFrom == studio.RTTFromReports && up(bob.ID).RTTFrom == studio.RTTFromReports && ann.RoundTrip() > 0
	})
	var shown, own, bobs []time.Duration
	var from []studio.RTTFrom
	for range 5 {
		shown, own, bobs = append(shown, rtt(ann.ID)), append(own, ann.RoundTrip().Round(time.Millisecond)), append(bobs, rtt(bob.ID))
		from = append(from, up(ann.ID).RTTFrom, up(bob.ID).RTTFrom)
		time.Sleep(2 * time.Second)
	}
	t.Logf("Ann's round trip through a path %v slower: the studio's %v, her own by its reports %v; Bob's on loopback %v; from %v", pathDelay, shown, own, bobs, from)
	margin := func(d time.Duration) time.Duration { return d/5 + 10*time.Millisecond }
	median := func(ds []time.Duration) time.Duration { return slices.Sorted(slices.Values(ds))[len(ds)/2] }
	if m := median(shown); m < pathDelay-margin(pathDelay) || m > pathDelay+margin(pathDelay) {
		t.Errorf("the studio shows Ann's round trip as %v (median), through a path %v slower: want %v ± %v", m, pathDelay, pathDelay, margin(pathDelay))
	}
	if m := median(own); m < pathDelay-margin(pathDelay) || m > pathDelay+margin(pathDelay) {
		t.Errorf("Ann reckons her round trip from the studio's receiver reports as %v (median), through a path %v slower: want %v ± %v", m, pathDelay, pathDelay, margin(pathDelay))
	}
	if m := median(bobs); m >= pathDelay/2 {
		t.Errorf("the studio shows Bob's round trip on loopback as %v (median), want under %v", m, pathDelay/2)
	}
	for _, f := range from {
		if f != studio.RTTFromReports {
			t.Errorf("the round trips shown came from %v, want all from %q: Ann and Bob receive each other's media", from, studio.RTTFromReports)
			break
		}
	}

	ann.SetPathDelay(slowerDelay)
	changed := time.Now()
	var later []time.Duration
	for time.Since(changed) < 2*qualityEvery+time.Second && rtt(ann.ID) < slowerDelay-margin(slowerDelay) {
		later = append(later, rtt(ann.ID))
		time.Sleep(qualityEvery / 4)
	}
	took := time.Since(changed)
	t.Logf("Ann's path %v slower from now: the studio showed %v after %v (%v before)", slowerDelay, rtt(ann.ID), took.Round(time.Millisecond), slices.Compact(later))
	if r := rtt(ann.ID); r < slowerDelay-margin(slowerDelay) || r > slowerDelay+margin(slowerDelay) {
		t.Errorf("%v after Ann's path became %v slower, the studio shows her round trip as %v: want %v ± %v within two intervals (%v)",
			took.Round(time.Millisecond), slowerDelay, r, slowerDelay, margin(slowerDelay), 2*qualityEvery)
	}
}

// A guest's lost sound is filled in by the program's decoder, and Health
// says how much (programAudio): Ann's Opus carries in-band FEC, as a
// browser's voice does on useinbandfec=1 once it sees loss, Bob's none;
// both lose 10 % of their packets on the wire, at random. The program
// recovers some of Ann's from the next packets' FEC and conceals the
// rest, while all of Bob's is concealed, none recovered. Their level is
// the loss's ("weak uplink"), which names the sound it cost: the share
// of each interval's sound concealed without FEC is about Bob's loss,
// enough for amber by itself, but the reason is never the sound. Ann's
// share is smaller: what FEC recovered is not counted.
func TestHealthCountsConcealedSound(t *testing.T) {
	parallelWithLeakCheck(t)
	s := soundShow(t, []string{"Ann", "Bob"},
		studiotest.Options{AudioOgg: voiceOgg(t, true, true), Loss: 10}, studiotest.Options{AudioOgg: voiceOgg(t, false, true), Loss: 10})
	ann, bob := s.guests[0], s.guests[1]
	eventually(t, "some of Ann's sound recovered from FEC, some of Bob's concealed", func() bool {
		return s.health(ann.ID).ProgramAudio.RecoveredMs >= 100 && s.health(bob.ID).ProgramAudio.ConcealedMs >= 100
	})
	a, b := s.health(ann.ID).ProgramAudio, s.health(bob.ID).ProgramAudio
	t.Logf("Ann (FEC): %+v; Bob (none): %+v", a, b)
	if a.RecoveredMs > a.ConcealedMs {
		t.Errorf("Ann: %d ms recovered of %d ms concealed: recovered is part of concealed", a.RecoveredMs, a.ConcealedMs)
	}
	if b.RecoveredMs != 0 {
		t.Errorf("Bob, who sends no FEC: %d ms recovered from it", b.RecoveredMs)
	}
	// And as /api/state says it.
	if h, pa := s.programAudio(t, ann.ID); pa["recoveredMs"] == nil || pa["recoveredMs"].(float64) < 100 {
		t.Errorf("/api/state: Ann's health %v: want programAudio.recoveredMs ≥ 100", h)
	}

	// The shares of five intervals, each rated of the interval before
	// it: their medians, a share being a few packets' worth at random.
	shares, reasons := s.intervals(5)
	t.Logf("concealed without FEC, of each interval: Ann %.3f, Bob %.3f; reasons %q", shares[0], shares[1], reasons)
	median := func(fs []float64) float64 { return slices.Sorted(slices.Values(fs))[len(fs)/2] }
	if m := median(shares[1]); m < 0.05 {
		t.Errorf("Bob, who loses 10 %% of his sound without FEC: %.3f of it concealed (median), want 0.05 or more", m)
	}
	if a, b := median(shares[0]), median(shares[1]); a >= b {
		t.Errorf("Ann, whose lost sound FEC recovers but for runs: %.3f of her sound concealed without it (median), want less than Bob's %.3f", a, b)
	}
	for _, r := range slices.Concat(reasons...) {
		if strings.HasPrefix(r, "sound") {
			t.Errorf("reasons %q: the loss's level names the loss, not the sound it cost", reasons)
			break
		}
	}
}

// soundShow is a show with a program and a pion guest on stage for each
// of opts, called by names, in that order.
func soundShow(t *testing.T, names []string, opts ...studiotest.Options) soundGuests {
	t.Helper()
	s, _, _ := startShowAt(t, smallShow, studio.ProgramConfig{})
	sg := soundGuests{s: s}
	for i, o := range opts {
		c := join(t, s, names[i], o)
		if err := s.Stage(c.ID, true); err != nil {
			t.Fatal(err)
		}
		sg.guests = append(sg.guests, c)
	}
	return sg
}

// soundGuests are soundShow's studio and guests.
type soundGuests struct {
	s      *studio.Studio
	guests []*studiotest.Client
}

// health is guest id's, zero until rated.
func (sg soundGuests) health(id string) studio.Health {
	if h := find(sg.s, id).Health; h != nil {
		return *h
	}
	return studio.Health{}
}

// programAudio is guest id's health in /api/state, and its programAudio
// (nil if none).
func (sg soundGuests) programAudio(t *testing.T, id string) (health, pa map[string]any) {
	t.Helper()
	_, st := api(t, sg.s, "GET", "/api/state", "", "")
	ps, _ := st["participants"].([]any)
	for _, p := range ps {
		if p := p.(map[string]any); p["id"] == id {
			health, _ = p["health"].(map[string]any)
			pa, _ = health["programAudio"].(map[string]any)
			return health, pa
		}
	}
	t.Fatalf("/api/state: no %s in %v", id, ps)
	return nil, nil
}

// intervals reads each guest's share of their sound concealed without
// FEC, and their reason, once an interval for n intervals.
func (sg soundGuests) intervals(n int) (shares [][]float64, reasons [][]string) {
	shares, reasons = make([][]float64, len(sg.guests)), make([][]string, len(sg.guests))
	for range n {
		time.Sleep(qualityEvery)
		for i, c := range sg.guests {
			h := sg.health(c.ID)
			shares[i], reasons[i] = append(shares[i], h.ProgramAudio.UnrecoveredShare), append(reasons[i], h.Reason)
		}
	}
	return shares, reasons
}

// voiceOgg is libopus's test recording of speech (on a tone, libopus
// codes FEC only for its first half second: it takes it for music),
// coded as a browser sends a voice: 32 kb/s, 20 ms packets, in-band FEC
// on or off, 10 % loss expected. Without pauses, its 3.9 s of them (of
// 10.8 s) are cut out: libopus codes no FEC where the voice pauses.
func voiceOgg(t *testing.T, fec, pauses bool) string {
	t.Helper()
	dir, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "gopkg.in/hraban/opus.v2").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	speech := filepath.Join(strings.TrimSpace(string(dir)), "testdata", "speech_8.wav")
	f, on := filepath.Join(t.TempDir(), "voice.ogg"), "0"
	if fec {
		on = "1"
	}
	args := []string{"-v", "error", "-i", speech}
	if !pauses {
		args = append(args, "-af", "silenceremove=stop_periods=-1:stop_duration=0.05:stop_threshold=-40dB")
	}
	args = append(args, "-ac", "1", "-c:a", "libopus", "-b:a", "32k", "-application", "voip", "-fec", on, "-packet_loss", "10",
		"-frame_duration", "20", "-page_duration", "20000", f)
	out, err := exec.Command("ffmpeg", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	return f
}

// A guest whose sound comes late, not lost, is rated by it: Cat's and
// Dan's paths hold each of their packets back 0–140 ms at random, so many
// come after later ones, past the 40 ms the program's decoder waits for a
// reordered packet (rtpframe.AudioReorder), and it conceals them. No
// packet is lost, so their uplinks' loss says nothing. Cat's Opus has no
// FEC: her level goes amber (or red) for her sound, and /api/state has
// the share it rated. Dan's, the same speech without its pauses, carries
// FEC (coded for 10 % loss expected): the packet after a late one
// recovers most of it (74–77 % in two runs at load 6; libopus codes
// none on some frames, and two late in a row lose one), and that is not
// rated: his share is well under Cat's (means 0.022–0.031 against
// 0.090–0.112). Not always under goodSound: 0–7 % an interval in those
// runs (Cat's 6–17 %), so now and then his level says his sound breaks
// up too.
func TestHealthRatesLateSound(t *testing.T) {
	// What the decoder conceals of late sound depends on when each packet
	// reaches it: under -race one run in four missed.
	judgesRealTime(t)
	parallelWithLeakCheck(t)
	late := func(fec bool) studiotest.Options {
		return studiotest.Options{AudioOgg: voiceOgg(t, fec, false), AudioDelay: 70 * time.Millisecond, Jitter: 70 * time.Millisecond}
	}
	s := soundShow(t, []string{"Cat", "Dan"}, late(false), late(true))
	cat, dan := s.guests[0], s.guests[1]
	eventually(t, "Cat's level to say her sound breaks up", func() bool {
		return strings.HasPrefix(s.health(cat.ID).Reason, "sound breaking up: ")
	})
	h := s.health(cat.ID)
	t.Logf("Cat: %+v", h)
	if h.Level != studio.LevelAmber && h.Level != studio.LevelRed {
		t.Errorf("Cat's level %q for %q", h.Level, h.Reason)
	}
	if h.Up.Loss >= 0.02 {
		t.Errorf("Cat's uplink loss %.3f: her packets come late, none is lost", h.Up.Loss)
	}
	if a := h.ProgramAudio; a.UnrecoveredShare < 0.05 || a.RecoveredMs != 0 {
		t.Errorf("Cat's sound in the program %+v: want 0.05 or more concealed without FEC in the interval rated, none from it", a)
	}
	if h, pa := s.programAudio(t, cat.ID); pa["unrecoveredShare"] == nil {
		t.Errorf("/api/state: Cat's health %v: want programAudio.unrecoveredShare", h)
	}

	// Six intervals more of both.
	shares, reasons := s.intervals(6)
	d := s.health(dan.ID)
	t.Logf("Dan: %+v; concealed without FEC, of each interval: Cat %.3f, Dan %.3f; Dan's reasons %q", d, shares[0], shares[1], reasons[1])
	if d.ProgramAudio.RecoveredMs == 0 {
		t.Errorf("Dan's sound in the program %+v: none of his late packets' sound recovered from FEC", d.ProgramAudio)
	}
	mean := func(fs []float64) float64 {
		var sum float64
		for _, f := range fs {
			sum += f
		}
		return sum / float64(len(fs))
	}
	if c, d := mean(shares[0]), mean(shares[1]); c < 0.05 || d > 0.6*c {
		t.Errorf("concealed without FEC (means): Cat %.3f, Dan %.3f; want Cat's 0.05 or more, Dan's 0.6 of hers at most", c, d)
	}
}
