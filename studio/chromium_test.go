//go:build unix

package studio_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"greenroom/encode/mediatest"
	"greenroom/studio"
	"greenroom/studio/studiotest"
)

// screenshot saves the page into $GREENROOM_SCREENSHOTS, if set.
func screenshot(t *testing.T, p *studiotest.Page, name string) {
	dir := os.Getenv("GREENROOM_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := p.Screenshot()
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, name), png, 0o644)
	}
	if err != nil {
		t.Errorf("screenshot: %v", err)
	}
}

// needChromium skips a test that starts a browser in -short mode, or
// without one.
func needChromium(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a browser")
	}
	if _, err := os.Stat(studiotest.ChromiumPath); err != nil {
		t.Skip("no chromium:", err)
	}
}

// chromiumPages opens urls in a headless Chromium, one tab each, closed at
// the end of the test. It skips the test with -short or without a browser.
func chromiumPages(t testing.TB, urls ...string) []*studiotest.Page {
	t.Helper()
	_, pages := chromium(t, urls...)
	return pages
}

// chromium is chromiumPages with the browser, for more tabs.
func chromium(t testing.TB, urls ...string) (*studiotest.Browser, []*studiotest.Page) {
	t.Helper()
	return chromiumWith(t, nil, urls...)
}

// chromiumWith is chromium with more command-line flags for the browser
// (fakeAVFlags for a camera that flashes as the microphone beeps).
func chromiumWith(t testing.TB, flags []string, urls ...string) (*studiotest.Browser, []*studiotest.Page) {
	t.Helper()
	needChromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, pages, err := studiotest.StartChromiumWith(ctx, flags, urls...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	for _, p := range pages {
		t.Cleanup(p.Close)
	}
	return b, pages
}

// stats is what the guest page reports about what it receives.
type stats struct {
	State         string   `json:"state"`
	Place         string   `json:"place"`
	Tiles         int      `json:"tiles"`
	FramesDecoded int      `json:"framesDecoded"`
	FrameWidth    int      `json:"frameWidth"`
	FrameHeight   int      `json:"frameHeight"`
	AudioEnergy   float64  `json:"audioEnergy"`
	Errors        []string `json:"errors"`
}

const statsJS = `(async () => {
  const g = window.greenroom, out = {state: g.pc ? g.pc.connectionState : "", place: g.place,
    tiles: g.tiles.size, framesDecoded: 0, frameWidth: 0, frameHeight: 0, audioEnergy: 0, errors: g.errors};
  if (g.pc) (await g.pc.getStats()).forEach(r => {
    if (r.type !== "inbound-rtp") return;
    if (r.kind === "video") { out.framesDecoded += r.framesDecoded || 0;
      out.frameWidth = Math.max(out.frameWidth, r.frameWidth || 0); out.frameHeight = Math.max(out.frameHeight, r.frameHeight || 0); }
    if (r.kind === "audio") out.audioEnergy += r.totalAudioEnergy || 0;
  });
  return out;
})()`

// Two headless Chromium guests open the real guest link (HTTPS, name= and
// join=1), are put on stage, and each page decodes the other's video and
// audio; the media side (Sink) gets both.
func TestChromiumGuests(t *testing.T) {
	needChromium(t)
	checkLeaks(t)
	sink := newCountingSink()
	// Over HTTPS with the self-signed certificate, as real guests join.
	s := newStudio(t, func(c *studio.Config) { c.Sink = sink; c.ReconnectGrace = 3 * time.Second; c.PlainHTTP = false })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, pages, err := studiotest.StartChromium(ctx, s.GuestURL()+"?name=Ann&join=1", s.GuestURL()+"?name=Bob&join=1")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	defer func() {
		for _, p := range pages {
			p.Close()
		}
	}()

	var ids []string
	eventually(t, "two guests in the green room", func() bool {
		ids = ids[:0]
		for _, p := range s.State().Participants {
			if p.Role == studio.RoleGuest && p.Place == studio.PlaceGreenRoom {
				ids = append(ids, p.ID)
			}
		}
		return len(ids) == 2
	})
	if os.Getenv("GREENROOM_SCREENSHOTS") != "" {
		time.Sleep(time.Second) // let the page settle
		screenshot(t, pages[0], "guest0-greenroom.png")
	}
	for _, id := range ids {
		if err := s.Stage(id, true); err != nil {
			t.Fatal(err)
		}
	}
	for i, p := range pages {
		var st stats
		eventually(t, "page "+p.URL+" to decode the other guest", func() bool {
			if err := p.Eval(statsJS, &st); err != nil {
				t.Logf("stats: %v", err)
				return false
			}
			return st.FramesDecoded > 30 && st.AudioEnergy > 0 && st.Place == "stage"
		})
		t.Logf("guest %d: %+v", i, st)
		screenshot(t, p, fmt.Sprintf("guest%d-stage.png", i))
		if len(st.Errors) > 0 {
			t.Errorf("page errors: %q", st.Errors)
		}
	}
	for _, id := range ids {
		if sink.count(id+"-video") == 0 || sink.count(id+"-audio") == 0 {
			t.Errorf("the sink got nothing from %s", id)
		}
	}
	if m := sink.mimeOf(ids[0] + "-video"); m != "video/VP8" && m != "video/H264" {
		t.Errorf("browser video arrives as %q", m)
	}

	// Bob off stage and back, twice: Ann's page drops his tile and shows it
	// again on a reused transceiver (inactive, then sendonly with his
	// stream ID again).
	var bobID string
	if err := pages[1].Eval(`greenroom.id`, &bobID); err != nil {
		t.Fatal(err)
	}
	tileJS := `(() => { const t = greenroom.tiles.get(` + strconv.Quote(bobID) + `);
		return t ? {class: t.el.className, name: t.name.textContent, audio: t.stream.getAudioTracks().length, width: t.video.videoWidth} : {} })()`
	for range 2 {
		if err := s.Stage(bobID, false); err != nil {
			t.Fatal(err)
		}
		eventually(t, "Ann's page to drop Bob's tile", func() bool {
			var tile struct{ Name string }
			return pages[0].Eval(tileJS, &tile) == nil && tile.Name == ""
		})
		if err := s.Stage(bobID, true); err != nil {
			t.Fatal(err)
		}
		eventually(t, "Ann's page to show Bob again", func() bool {
			var tile struct {
				Class, Name  string
				Audio, Width int
			}
			return pages[0].Eval(tileJS, &tile) == nil && tile.Name == "Bob" && tile.Audio == 1 && tile.Width > 0 && !strings.Contains(tile.Class, "audio-only")
		})
	}

	// A blip: Ann's page loses its signaling socket. It reconnects with its
	// resume key and is back on stage under the same ID, and Bob's page
	// decodes her again.
	var before stats
	if err := pages[1].Eval(statsJS, &before); err != nil {
		t.Fatal(err)
	}
	var annID string
	if err := pages[0].Eval(`(() => { const id = greenroom.id; greenroom.ws.close(); return id; })()`, &annID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "Ann's page to come back", func() bool {
		var st stats
		if err := pages[1].Eval(statsJS, &st); err != nil {
			return false
		}
		return connected(s, annID) && place(s, annID) == studio.PlaceStage && st.FramesDecoded > before.FramesDecoded+30
	})
	if n := len(s.State().Participants); n != 3 {
		t.Errorf("%d participants after the blip, want the host and two guests", n)
	}

	// A guest without a camera joins with audio only, is told so, and the
	// others show a tile with the name's initial and hear her.
	cat, err := b.NewPage(ctx, s.GuestURL()+"?name=Cat&join=1", studiotest.NoCamera)
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	catID := joined(t, cat, "Cat")
	var note string
	if err := cat.Eval(`document.getElementById("media-note").textContent`, &note); err != nil || !strings.Contains(note, "audio only") {
		t.Errorf("Cat's page says %q (%v); want it to say she joins with audio only", note, err)
	}
	if err := s.Stage(catID, true); err != nil {
		t.Fatal(err)
	}
	var tile struct {
		Class, Name string
		Audio       int
	}
	eventually(t, "Ann's page to show Cat as an audio tile", func() bool {
		err := pages[0].Eval(`(() => { const t = greenroom.tiles.get(`+strconv.Quote(catID)+`);
			return t ? {class: t.el.className, name: t.name.textContent, audio: t.stream.getAudioTracks().length} : {} })()`, &tile)
		return err == nil && strings.Contains(tile.Class, "audio-only") && tile.Name == "Cat" && tile.Audio == 1
	})
	screenshot(t, pages[0], "guest0-audio-only-guest.png")
	eventually(t, "the sink to get Cat's audio", func() bool { return sink.count(catID+"-audio") > 20 })

	if os.Getenv("GREENROOM_SCREENSHOTS") != "" {
		// The setup screen: a fresh visit, not Ann's reload (which takes
		// her place back).
		if err := pages[0].Eval(`sessionStorage.clear()`, nil); err != nil {
			t.Fatal(err)
		}
		if err := pages[0].Call("Page.navigate", map[string]string{"url": s.GuestURL() + "?name=Cat"}, nil); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Second)
		screenshot(t, pages[0], "guest-setup.png")
	}

	b.Close()
	eventually(t, "the studio to notice the browser died", func() bool { return held(s, ids[0]) && held(s, ids[1]) })
}

// Issue #16 in a browser: a page whose media can't reach the studio (the
// NoICE preload drops every candidate both ways) is "connecting", then
// "failed" with the reason in the studio's state; after two failed
// attempts the page says it can't reach the studio and why, instead of
// "Reconnecting…", and keeps trying in the same place. The studio waits
// 3 s for the media, not 10, and the page (told so in "welcome") starts
// its second attempt after 6 s, not 20: the page says so some 12 s in,
// not 40.
func TestChromiumGuestCantConnect(t *testing.T) {
	needChromium(t)
	checkLeaks(t)
	s := newStudio(t, func(c *studio.Config) {
		c.PlainHTTP = false
		c.MediaTimeout = 3 * time.Second
	})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	b, _, err := studiotest.StartChromium(ctx, "about:blank")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	page, err := b.NewPage(ctx, s.GuestURL()+"?name=Ann&join=1", studiotest.NoICE)
	if err != nil {
		t.Fatal(err)
	}
	defer page.Close()

	id := joined(t, page, "Ann")
	if p := find(s, id); p.Connected || (p.Media != studio.MediaConnecting && p.Media != studio.MediaLost) {
		t.Errorf("just joined: connected %v media %q", p.Connected, p.Media)
	}
	eventually(t, "the studio to call Ann's media failed", func() bool { return find(s, id).Media == studio.MediaFailed })
	port := fmt.Sprintf("port %d/udp", s.ICEAddr().(*net.UDPAddr).Port)
	if p := find(s, id); !strings.Contains(p.MediaProblem, port) {
		t.Errorf("problem %q, want it to name %s", p.MediaProblem, port)
	}
	type view struct {
		Status, Note string
		Shown        bool
		Fails        int
		Timeout      int // the page's patience for an attempt, in ms
	}
	const viewJS = `({status: document.getElementById("status").textContent, note: document.getElementById("unreachable").textContent,
	  shown: !document.getElementById("unreachable").hidden, fails: greenroom.mediaFails, timeout: greenroom.attemptTimeout})`
	var v view
	deadline := time.Now().Add(45 * time.Second)
	for page.Eval(viewJS, &v) != nil || !v.Shown {
		if time.Now().After(deadline) {
			t.Fatalf("the page still doesn't say it can't reach the studio: %+v", v)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !strings.Contains(v.Status, "Can't reach the studio") || !strings.Contains(v.Note, port) || !strings.Contains(v.Note, "keeps trying") || v.Timeout != 6000 {
		t.Errorf("page: %+v (timeout: want twice the studio's 3 s)", v)
	}
	if os.Getenv("GREENROOM_SCREENSHOTS") != "" {
		screenshot(t, page, "guest-cant-connect.png")
	}
	var again string
	if err := page.Eval(`greenroom.id`, &again); err != nil || again != id || find(s, id).Place == "" {
		t.Errorf("the page didn't keep its place: id %q then %q (%v)", id, again, err)
	}
}

// Issue #9 in a browser: Chromium answers the ICE-restart offer the studio
// makes when the page asks ("restart", as it does when its path breaks),
// and the media goes on over the new ICE session in the same
// RTCPeerConnection: the same participant, Bob's video still decoding on
// Ann's page, Ann's still reaching Bob. Then the same when the page's
// signaling socket breaks and it comes back over another.
func TestChromiumGuestICERestart(t *testing.T) {
	checkLeaks(t)
	s := newStudio(t, nil)
	ann := chromiumPages(t, s.GuestURL()+"?name=Ann&join=1")[0]
	id := joined(t, ann, "Ann")
	bob := join(t, s, "Bob", studiotest.Options{VideoIVF: videoIVF})
	for _, g := range []string{id, bob.ID} {
		if err := s.Stage(g, true); err != nil {
			t.Fatal(err)
		}
	}
	var st stats
	flowing := func(frames int, packets int64) func() bool {
		return func() bool {
			return ann.Eval(statsJS, &st) == nil && st.FramesDecoded > frames && bob.Packets(id, "video") > packets
		}
	}
	eventually(t, "media both ways", flowing(30, 20))
	const ufragJS = `(window.keptPC = window.keptPC || greenroom.pc, greenroom.pc.remoteDescription.sdp.match(/a=ice-ufrag:(\S+)/)[1])`
	var ufrag string
	if err := ann.Eval(ufragJS, &ufrag); err != nil {
		t.Fatal(err)
	}
	// As the page asks when nothing arrives over a path its browser calls
	// connected (a plain "restart" over a working path is declined).
	if err := ann.Eval(`greenroom.ws.send(JSON.stringify({type: "restart", stalled: true}))`, nil); err != nil {
		t.Fatal(err)
	}
	var now string
	eventually(t, "a new ICE session", func() bool {
		return ann.Eval(ufragJS, &now) == nil && now != ufrag && ann.Eval(statsJS, &st) == nil && st.State == "connected"
	})
	eventually(t, "the media to go on", flowing(st.FramesDecoded+30, bob.Packets(id, "video")+30))
	var same bool
	if err := ann.Eval(`window.keptPC === greenroom.pc`, &same); err != nil || !same {
		t.Errorf("the page replaced its RTCPeerConnection (%v)", err)
	}
	if p := find(s, id); !p.Connected || p.Place != studio.PlaceStage || len(s.State().Participants) != 3 {
		t.Errorf("after the restart: %+v, %d participants", p, len(s.State().Participants))
	}

	// The signaling socket breaks (as a new network breaks it): the page
	// comes back over another asking to keep its RTCPeerConnection, and
	// the studio carries the session on with another ICE restart.
	ufrag = now
	if err := ann.Eval(`greenroom.ws.close()`, nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the session to carry on over a new socket", func() bool {
		return ann.Eval(ufragJS, &now) == nil && now != ufrag && ann.Eval(statsJS, &st) == nil && st.State == "connected" && connected(s, id)
	})
	eventually(t, "the media to go on", flowing(st.FramesDecoded+30, bob.Packets(id, "video")+30))
	if err := ann.Eval(`window.keptPC === greenroom.pc`, &same); err != nil || !same {
		t.Errorf("the page replaced its RTCPeerConnection after its socket broke (%v)", err)
	}
	if len(st.Errors) > 0 {
		t.Errorf("page errors: %q", st.Errors)
	}
}

// joined waits for page's guest, who, to be welcomed into the studio and
// returns her id. It gives the browser 30 s (90 under -race): on a busy
// box Chromium took 8-12 s to open its fake camera with two others
// running, and the page asks the studio only then. A page never welcomed
// says how far it got: its camera, its signaling socket, its status and
// errors (a browser slow to start and a studio that never answered read
// apart). One welcomed after 3 s logs when its camera and socket were
// ready.
func joined(t testing.TB, page *studiotest.Page, who string) string {
	t.Helper()
	type progress struct {
		ID     string   `json:"id"`
		Media  bool     `json:"media"`
		Socket string   `json:"socket"`
		Status string   `json:"status"`
		Errors []string `json:"errors"`
	}
	const progressJS = `(() => {
  const g = window.greenroom || {}, status = document.getElementById("status");
  return {id: g.id || "", media: !!g.stream, socket: g.ws ? ["connecting", "open", "closing", "closed"][g.ws.readyState] : "none",
    status: status ? status.textContent : "", errors: g.errors || []};
})()`
	wait := 30 * time.Second
	if mediatest.Race {
		wait *= 3
	}
	start := time.Now()
	var media, open time.Duration // when the page had its camera, its socket open
	for {
		var p progress
		err := page.Eval(progressJS, &p)
		now := time.Since(start)
		if err == nil {
			if p.ID != "" {
				if now > 3*time.Second {
					seen := func(d time.Duration) string {
						if d == 0 {
							return "between two looks"
						}
						return d.Round(100 * time.Millisecond).String()
					}
					t.Logf("%s welcomed after %v (camera after %s, socket open after %s)", who,
						now.Round(100*time.Millisecond), seen(media), seen(open))
				}
				return p.ID
			}
			if media == 0 && p.Media {
				media = now
			}
			if open == 0 && p.Socket == "open" {
				open = now
			}
		}
		if now > wait {
			t.Fatalf("%s not welcomed into the studio after %v: her page says %+v (%v)", who, wait, p, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
