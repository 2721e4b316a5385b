//go:build unix

package studio_test

import (
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"

	"greenroom/encode"
	"greenroom/encode/mediatest"
	"greenroom/studio"
)

// processingJS is what the page's mic track says of its processing
// (getSettings), as a string: "echo noise gain" with a dash for each off.
const processingJS = `(() => { const t = window.greenroom.stream.getAudioTracks()[0]; if (!t) return "no mic";
  const s = t.getSettings();
  return [s.echoCancellation ? "echo" : "-", s.noiseSuppression ? "noise" : "-", s.autoGainControl ? "gain" : "-"].join(" "); })()`

// targetJS is the bit rate the page's Opus encoder aims at (getStats):
// the studio receives less of a sound with pauses (Opus is VBR).
const targetJS = `(async () => { let b = 0; (await greenroom.pc.getStats()).forEach((r) => {
  if (r.type === "outbound-rtp" && r.kind === "audio") b = r.targetBitrate || 0; }); return b; })()`

// opusMeter is a Sink that measures the Opus a participant sends, as the
// studio receives it: its bit rate (RTP payload) and how many packets are
// coded in stereo (the TOC byte's s bit, RFC 6716 §3.1) since reset.
type opusMeter struct {
	mu                    sync.Mutex
	id                    string // whose
	since                 time.Time
	bytes, stereo, others int
}

func (o *opusMeter) WriteRTP(t studio.TrackInfo, pkt *rtp.Packet) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if t.ParticipantID != o.id || t.Kind != "audio" || len(pkt.Payload) == 0 {
		return
	}
	o.bytes += len(pkt.Payload)
	if pkt.Payload[0]&0x04 != 0 {
		o.stereo++
	} else {
		o.others++
	}
}

func (o *opusMeter) EndTrack(studio.TrackInfo) {}

// measure listens for d and returns the kb/s and the share of stereo
// packets.
func (o *opusMeter) measure(id string, d time.Duration) (kbps, stereo float64) {
	o.mu.Lock()
	o.id, o.since, o.bytes, o.stereo, o.others = id, time.Now(), 0, 0, 0
	o.mu.Unlock()
	time.Sleep(d)
	o.mu.Lock()
	defer o.mu.Unlock()
	kbps = float64(o.bytes) * 8 / time.Since(o.since).Seconds() / 1000
	if n := o.stereo + o.others; n > 0 {
		stereo = float64(o.stereo) / float64(n)
	}
	return kbps, stereo
}

// TestChromiumGuestMusicMode: a Chromium guest's mic is processed for a
// voice — echo cancellation, noise suppression and auto gain on, as the
// page asks by name — and sends mono Opus. Music mode, switched on the
// page, turns all three off and the studio receives stereo Opus at
// 96 kb/s or more (128 asked for); the host switches it off and on again
// (POST /api/musicmode) and the page follows and says so (issue #12).
func TestChromiumGuestMusicMode(t *testing.T) {
	checkLeaks(t)
	opus := &opusMeter{}
	s := newStudio(t, func(c *studio.Config) { c.Sink = opus })
	link := s.GuestURL() + "?name=Ann&join=1"
	page := chromiumPages(t, link)[0]
	id := joined(t, page, "Ann")
	eventually(t, "Ann's media", func() bool { return find(s, id).Connected })
	processing := func() string {
		t.Helper()
		var got string
		if err := page.Eval(processingJS, &got); err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := processing(); got != "echo noise gain" {
		t.Errorf("the mic's processing by default: %q, want echo noise gain", got)
	}
	// opusBecomes measures what the studio receives over 2 s windows
	// until one is a voice's (mono, about 32 kb/s) or music's (stereo at
	// 96 kb/s or more; 128 asked for): the encoder takes new parameters
	// only once the studio's offer is answered. Five windows at most.
	opusBecomes := func(music bool, what string) {
		t.Helper()
		var kbps, stereo float64
		for range 5 {
			kbps, stereo = opus.measure(id, 2*time.Second)
			if music && kbps >= 96 && stereo == 1 || !music && kbps > 0 && kbps <= 64 && stereo == 0 {
				t.Logf("%s: %.1f kb/s, %.0f %% of packets stereo", what, kbps, stereo*100)
				return
			}
		}
		want := "mono at about 32 kb/s"
		if music {
			want = "stereo at 96 kb/s or more"
		}
		t.Errorf("%s: %.1f kb/s, %.0f %% of packets stereo; want %s", what, kbps, stereo*100, want)
	}
	opusBecomes(false, "a voice by default")
	// sendsMusic waits for the page's processing off and music's Opus,
	// its encoder set to 128 kb/s.
	sendsMusic := func(by string) {
		t.Helper()
		eventually(t, "the mic's processing off ("+by+")", func() bool { return processing() == "- - -" })
		opusBecomes(true, "music mode ("+by+")")
		var target float64
		if err := page.Eval(targetJS, &target); err != nil {
			t.Fatal(err)
		}
		if target != 128000 {
			t.Errorf("music mode (%s): the page's Opus encoder targets %v b/s (getStats), want 128000", by, target)
		}
	}
	note := func() string {
		var n struct {
			Shown bool
			Text  string
		}
		if err := page.Eval(`({shown: !document.getElementById("music-note").hidden,
		  text: document.getElementById("music-note").textContent})`, &n); err != nil {
			t.Fatal(err)
		}
		if !n.Shown {
			return ""
		}
		return n.Text
	}

	// The guest's own switch.
	if err := page.EvalAsUser(`document.getElementById("music-toggle").click()`, nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the studio to say Ann is in music mode", func() bool { return find(s, id).MusicMode })
	sendsMusic("the guest")
	if n := note(); !strings.HasPrefix(n, "Music mode:") {
		t.Errorf("the page's note in music mode: %q", n)
	}

	// The host's: off, and on again.
	if code, out := api(t, s, "POST", "/api/musicmode", "", `{"id":"`+id+`","on":false}`); code != http.StatusOK {
		t.Fatalf("musicmode off: %d %v", code, out)
	}
	eventually(t, "the mic's processing back on (the host)", func() bool { return processing() == "echo noise gain" })
	eventually(t, "the page to say the host turned it off", func() bool {
		return strings.HasPrefix(note(), "The host turned off music mode")
	})
	opusBecomes(false, "a voice again (the host)")
	if code, _ := api(t, s, "POST", "/api/musicmode", "", `{"id":"`+id+`","on":true}`); code != http.StatusOK {
		t.Fatalf("musicmode on: %d", code)
	}
	sendsMusic("the host")
	if n := note(); !strings.HasPrefix(n, "The host turned on music mode for you") {
		t.Errorf("the page's note after the host's switch: %q", n)
	}
	screenshot(t, page, "guest-music-mode.png")
	// The studio's description as the page applied it: music mode's Opus
	// parameters, and the VP8 hints set beside them.
	var sdp string
	if err := page.Eval(`greenroom.pc.remoteDescription.sdp`, &sdp); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`a=fmtp:\d+ .*[ ;]stereo=1\b`, `sprop-stereo=1\b`, `maxaveragebitrate=128000\b`, `x-google-start-bitrate=1500\b`} {
		if !regexp.MustCompile(want).MatchString(sdp) {
			t.Errorf("the studio's description on the page lacks %s:\n%s", want, sdp)
		}
	}
	var pressed string
	if err := page.Eval(`document.getElementById("music-toggle").getAttribute("aria-pressed")`, &pressed); err != nil || pressed != "true" {
		t.Errorf("the page's switch after the host's: aria-pressed %q (%v)", pressed, err)
	}
	var errs []string
	if err := page.Eval(`greenroom.errors`, &errs); err != nil || len(errs) > 0 {
		t.Errorf("the page's errors: %v (%v)", errs, err)
	}

	// A reloaded tab takes its place back in music mode.
	if err := page.Eval(`window.oldPage = true`, nil); err != nil {
		t.Fatal(err)
	}
	if err := page.Call("Page.navigate", map[string]any{"url": link}, nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the reloaded page back, in music mode", func() bool {
		var back struct {
			ID    string
			Fresh bool
			Music bool
		}
		err := page.Eval(`({id: greenroom.id, fresh: !window.oldPage, music: greenroom.music})`, &back)
		return err == nil && back.Fresh && back.ID == id && back.Music && find(s, id).Connected
	})
	if !find(s, id).MusicMode {
		t.Error("the studio took Ann out of music mode when her tab reloaded")
	}
	sendsMusic("after a reload")

	// The control API's refusals.
	for _, c := range []struct {
		body string
		want int
	}{
		{`{"id":"host","on":true}`, http.StatusNotFound},
		{`{"id":"nobody","on":true}`, http.StatusNotFound},
		{`{"id":"` + id + `"}`, http.StatusBadRequest},
	} {
		if code, _ := api(t, s, "POST", "/api/musicmode", "", c.body); code != c.want {
			t.Errorf("musicmode %s: %d, want %d", c.body, code, c.want)
		}
	}
}

// heardJS measures the sound of participant ID as the page receives it,
// each channel's RMS over a second (a mono stream up-mixed to both).
const heardJS = `(async () => {
  const tile = greenroom.tiles.get("ID"); const tr = tile && tile.stream.getAudioTracks()[0];
  if (!tr) return {left: 0, right: 0};
  const ctx = new AudioContext(); await ctx.resume();
  const src = ctx.createMediaStreamSource(new MediaStream([tr]));
  const up = ctx.createGain(); up.channelCount = 2; up.channelCountMode = "explicit"; up.channelInterpretation = "speakers";
  const split = ctx.createChannelSplitter(2); src.connect(up); up.connect(split);
  const an = [ctx.createAnalyser(), ctx.createAnalyser()]; split.connect(an[0], 0); split.connect(an[1], 1);
  const sum = [0, 0]; let n = 0; const buf = new Float32Array(an[0].fftSize);
  for (let i = 0; i < 20; i++) { await new Promise((r) => setTimeout(r, 50));
    an.forEach((a, c) => { a.getFloatTimeDomainData(buf); for (const v of buf) sum[c] += v * v; }); n += buf.length; }
  ctx.close();
  return {left: Math.sqrt(sum[0] / n), right: Math.sqrt(sum[1] / n)};
})()`

// TestChromiumGuestMusicInStereo: a Chromium guest in music mode whose
// mic is stereo (a file: a 440 Hz tone on the left, silence on the
// right) is stereo in the program's recording and in their own file
// (the decoder, the mix and the ISO file keep the two channels apart),
// and to another Chromium guest, whose page measures what it receives.
// (As a voice, the same file came out mono, both channels at −46.5 dB
// against music mode's −21.1 on the left: noise suppression took the
// steady tone for noise.)
func TestChromiumGuestMusicInStereo(t *testing.T) {
	needChromium(t)
	dir := t.TempDir()
	wav := filepath.Join(dir, "left.wav")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "sine=f=440:r=48000:d=30",
		"-af", "pan=stereo|c0=c0|c1=0*c0", "-c:a", "pcm_s16le", wav).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	rec := filepath.Join(dir, "show.mp4")
	s, _, _, page, id := chromiumGuestInProgram(t, encode.Config{Width: 320, Height: 180, FPS: 15},
		studio.ProgramConfig{RecordFile: rec}, "Ann", []string{"--use-file-for-fake-audio-capture=" + wav})
	if err := s.SetMusicMode(id, true); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the mic's processing off", func() bool {
		var got string
		return page.Eval(processingJS, &got) == nil && got == "- - -"
	})
	var channels int
	if err := page.Eval(`greenroom.stream.getAudioTracks()[0].getSettings().channelCount || 0`, &channels); err != nil {
		t.Fatal(err)
	}
	if channels != 2 {
		t.Errorf("the mic in music mode has %d channels, want 2 (channelCount asked for)", channels)
	}
	time.Sleep(time.Second) // the renegotiation
	bob := chromiumPages(t, s.GuestURL()+"?name=Bob&join=1")[0]
	var lr struct{ Left, Right float64 }
	eventually(t, "Bob to hear Ann", func() bool {
		err := bob.Eval(strings.ReplaceAll(heardJS, "ID", id), &lr)
		return err == nil && lr.Left > 0.01
	})
	t.Logf("Bob hears Ann: left %.3f, right %.3f RMS", lr.Left, lr.Right)
	if lr.Right > lr.Left/10 {
		t.Errorf("Bob hears Ann at %.3f left, %.3f right RMS: want the right 20 dB or more under the left", lr.Left, lr.Right)
	}
	if err := s.SetLive(true); err != nil {
		t.Fatal(err)
	}
	time.Sleep(4 * time.Second)
	if err := s.SetLive(false); err != nil {
		t.Fatal(err)
	}
	show, _ := readShow(t, strings.TrimSuffix(rec, ".mp4"))
	files := map[string]string{"program": rec}
	for _, f := range show.Files {
		if f.Participant == id && f.Role == "guest" {
			files["Ann's file"] = filepath.Join(strings.TrimSuffix(rec, ".mp4"), f.File)
		}
	}
	if len(files) != 2 {
		t.Fatalf("want the program and Ann's file; have %v", files)
	}
	for what, path := range files {
		// The file's last 2 s: the program's start may precede her sound.
		left := mediatest.ChannelLevel(t, path, 0, time.Second, 3*time.Second)
		right := mediatest.ChannelLevel(t, path, 1, time.Second, 3*time.Second)
		t.Logf("%s: left %.1f dB, right %.1f dB", what, left, right)
		if left < -40 || left-right < 20 {
			t.Errorf("%s: left %.1f dB, right %.1f dB; want the tone on the left, 20 dB or more over the right", what, left, right)
		}
	}
}
