//go:build linux

package studio_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"net"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/webrtc/v4"

	"greenroom/encode"
	"greenroom/encode/compositor"
	"greenroom/encode/decode"
	"greenroom/encode/scene"
	"greenroom/studio"
	"greenroom/studio/signal"
	"greenroom/studio/studiotest"
)

// Issue #10 item 4, "gone guests": what a gone guest may take at most.
const (
	// placeholderWithin is how soon after a guest's media stops their
	// tile shows the placeholder. The watch below sees every program
	// frame (30 fps), so a frame's interval is added to what it can
	// measure; the studio's own figure is about 0.5 s (mediaStall).
	placeholderWithin = time.Second + time.Second/previewFPS
	// leaveSlack is how late after its grace a gone guest may leave the
	// show on a loaded machine (the timer, the session's teardown).
	leaveSlack = 2 * time.Second
	// fdSlack is how many more file descriptors the process may have
	// after a guest came and went than before it came (Go's runtime and
	// net/http keep a few of their own).
	fdSlack = 2
)

// previewFPS is the rate programWatch sees the program at: every frame.
const previewFPS = 30

// programWatch follows one region of the program picture (in a 640×360
// copy of it): whether it shows the placeholder, and since when.
type programWatch struct {
	region image.Rectangle
	mu     sync.Mutex
	frames int       // seen so far
	since  time.Time // when the placeholder came; zero while it is not there
	other  int       // frames in a row without the placeholder
}

// watchTile watches cell (a tile of a 1280×720 program) through the
// pipeline's preview, which a test may set only once. It looks at the
// tile's upper left, clear of the initials in the middle of the
// placeholder and of the name tag at the bottom.
func watchTile(pipe *encode.Pipeline, cell image.Rectangle) *programWatch {
	c := image.Rect(cell.Min.X/2, cell.Min.Y/2, cell.Max.X/2, cell.Max.Y/2) // 1280×720 → 640×360
	w := &programWatch{region: image.Rect(c.Min.X+c.Dx()/10, c.Min.Y+c.Dy()/10, c.Min.X+c.Dx()*4/10, c.Min.Y+c.Dy()*3/10)}
	pipe.SetPreview(640, 360, previewFPS, func(img *image.RGBA) {
		now := time.Now()
		ph := showsPlaceholder(img, w.region)
		w.mu.Lock()
		defer w.mu.Unlock()
		w.frames++
		switch {
		case ph && w.since.IsZero():
			w.since, w.other = now, 0
		case !ph:
			w.since = time.Time{}
			w.other++
		}
	})
	return w
}

// placeholderSince is when the region began to show the placeholder
// (zero if it does not), and how many frames in a row before that it
// showed something else.
func (w *programWatch) placeholderSince() (time.Time, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.since, w.other
}

// showsPlaceholder is whether every pixel of r (every third) is the
// placeholder's colour, as swscale turns video-range BT.601 into RGB.
func showsPlaceholder(img *image.RGBA, r image.Rectangle) bool {
	want := placeholderRGB()
	near := func(a, b uint8) bool { return int(a)-int(b) <= 10 && int(b)-int(a) <= 10 }
	for y := r.Min.Y; y < r.Max.Y; y += 3 {
		for x := r.Min.X; x < r.Max.X; x += 3 {
			c := img.RGBAAt(x, y)
			if !near(c.R, want.R) || !near(c.G, want.G) || !near(c.B, want.B) {
				return false
			}
		}
	}
	return true
}

func placeholderRGB() color.RGBA {
	y, cb, cr := 1.164*(float64(compositor.Placeholder.Y)-16), float64(compositor.Placeholder.Cb)-128, float64(compositor.Placeholder.Cr)-128
	clamp := func(v float64) uint8 { return uint8(max(0, min(255, v+0.5))) }
	return color.RGBA{R: clamp(y + 1.596*cr), G: clamp(y - 0.392*cb - 0.813*cr), B: clamp(y + 2.017*cb), A: 255}
}

// guestCell is where a guest's tile is with the host beside it (grid).
func guestCell() image.Rectangle {
	cells, _ := scene.Arrange(scene.Grid, 2, 0, image.Rect(0, 0, 1280, 720))
	return cells[1]
}

// resources is what a guest who came and went must give back: goroutines,
// file descriptors and FFmpeg decoders.
type resources struct {
	goroutines, fds int
	decoders        int64
}

func countResources() resources {
	fds, _ := os.ReadDir("/proc/self/fd")
	return resources{runtime.NumGoroutine(), len(fds), decode.Live()}
}

// backTo waits (up to 15 s: pion's goroutines end a little after Close
// returns) until the process has no more goroutines than before and at
// most fdSlack more file descriptors, and fails the test otherwise,
// with the goroutines' stacks.
func backTo(t *testing.T, before resources) resources {
	t.Helper()
	var now resources
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		now = countResources()
		if now.goroutines <= before.goroutines && now.fds <= before.fds+fdSlack && now.decoders <= before.decoders {
			return now
		}
		if time.Now().After(deadline) {
			var stacks bytes.Buffer
			_ = pprof.Lookup("goroutine").WriteTo(&stacks, 1)
			t.Fatalf("after the guest left: %d goroutines (%d before), %d file descriptors (%d before), %d decoders (%d before)\n%s",
				now.goroutines, before.goroutines, now.fds, before.fds, now.decoders, before.decoders, stacks.String())
		}
	}
}

// stateGuest is a participant as /api/state shows it.
type stateGuest struct {
	ID        string    `json:"id"`
	Place     string    `json:"place"`
	Media     string    `json:"media"`
	LeavingAt time.Time `json:"leavingAt"`
	LeavingIn int       `json:"leavingIn"`
}

// apiGuest is guest id as /api/state shows it; ok is false once gone.
func apiGuest(t *testing.T, s *studio.Studio, id string) (p stateGuest, ok bool) {
	t.Helper()
	code, body := api(t, s, "GET", "/api/state", "", "")
	if code != 200 {
		t.Fatalf("/api/state: %d %v", code, body)
	}
	raw, _ := json.Marshal(body["participants"])
	var ps []stateGuest
	if err := json.Unmarshal(raw, &ps); err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if p.ID == id {
			return p, true
		}
	}
	return stateGuest{}, false
}

// countingDown waits until /api/state counts guest id down to its
// leaving, and returns the guest as it says.
func countingDown(t *testing.T, s *studio.Studio, id string) stateGuest {
	t.Helper()
	var p stateGuest
	eventually(t, "the countdown in /api/state", func() bool {
		var ok bool
		p, ok = apiGuest(t, s, id)
		return ok && !p.LeavingAt.IsZero()
	})
	return p
}

// goneGuest follows a guest on stage beside the host from the moment its
// media stopped (gone): its tile shows the placeholder within
// placeholderWithin, in its place; /api/state counts down grace; it
// leaves the show after it, its input and decoders with it.
func goneGuest(t *testing.T, s *studio.Studio, pipe *encode.Pipeline, w *programWatch, id string, gone time.Time, grace time.Duration) {
	t.Helper()
	var shown time.Time
	for deadline := gone.Add(5 * time.Second); shown.IsZero(); time.Sleep(10 * time.Millisecond) {
		if shown, _ = w.placeholderSince(); shown.IsZero() && time.Now().After(deadline) {
			t.Fatalf("no placeholder in the guest's tile 5 s after its media stopped")
		}
	}
	took := shown.Sub(gone)
	t.Logf("the placeholder came %v after the guest's media stopped", took.Round(time.Millisecond))
	if took > placeholderWithin {
		t.Errorf("the placeholder came %v after the guest's media stopped, want %v at most", took.Round(time.Millisecond), placeholderWithin)
	}
	if pipe.Input(id) == nil {
		t.Error("the guest's input left the program with its media: its tile must keep its place")
	}

	// The countdown, as the host's card and the control API show it.
	p := countingDown(t, s, id)
	t.Logf("/api/state: %+v", p)
	if p.Place != string(studio.PlaceStage) || p.Media != string(studio.MediaLost) {
		t.Errorf("counting down: place %q media %q, want stage and lost", p.Place, p.Media)
	}
	if p.LeavingIn < 1 || p.LeavingIn > int(grace/time.Second) {
		t.Errorf("leavingIn %d, want 1 to %v", p.LeavingIn, grace.Seconds())
	}
	if at := p.LeavingAt.Sub(gone); at < grace-100*time.Millisecond || at > grace+leaveSlack {
		t.Errorf("leaving %v after the guest's media stopped, want its grace (%v)", at, grace)
	}

	for {
		_, in := apiGuest(t, s, id)
		if !in {
			break
		}
		if time.Since(gone) > grace+leaveSlack {
			t.Fatalf("the guest is still in the show %v after its media stopped (grace %v)", time.Since(gone).Round(time.Millisecond), grace)
		}
		if time.Since(gone) < grace-time.Second {
			if since, _ := w.placeholderSince(); since.IsZero() {
				t.Error("the guest's tile showed something else than the placeholder while it counted down")
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	left := time.Since(gone)
	t.Logf("the guest left the show %v after its media stopped", left.Round(10*time.Millisecond))
	if left < grace-100*time.Millisecond {
		t.Errorf("the guest left %v after its media stopped, before its grace (%v)", left, grace)
	}
	eventually(t, "the guest's input and decoders to go", func() bool { return pipe.Input(id) == nil })
}

// onStageBesideHost stages guest id beside the host and waits until its
// picture, not the placeholder, has been in its tile for a second.
func onStageBesideHost(t *testing.T, s *studio.Studio, pipe *encode.Pipeline, w *programWatch, id string) {
	t.Helper()
	if code, body := api(t, s, "POST", "/api/stage", "", `{"id":"`+id+`","on":true}`); code != 200 {
		t.Fatalf("stage %s: %d %v", id, code, body)
	}
	eventually(t, "the guest in the program", func() bool {
		in := pipe.Input(id)
		return in != nil && !in.Hidden()
	})
	// Before, the region was the host's (alone, the whole picture).
	w.mu.Lock()
	w.other = 0
	w.mu.Unlock()
	eventually(t, "the guest's picture in its tile", func() bool {
		since, other := w.placeholderSince()
		return since.IsZero() && other >= previewFPS
	})
}

// A pion guest on stage whose network goes at once (its socket closes and
// its media stops), or who closes its connection (its DTLS goodbye ends
// its tracks in the studio before its grace is over): the placeholder
// within a second in its tile, which stays, the countdown, out after the
// grace, nothing left behind.
func TestGoneGuestPion(t *testing.T) {
	for _, tc := range []struct {
		name string
		gone func(*studiotest.Client)
	}{
		{"network gone", func(g *studiotest.Client) { g.BreakPath(); g.DropSignaling() }},
		{"closed", func(g *studiotest.Client) { g.Close() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkLeaks(t)
			const grace = 2 * time.Second
			s, _, pipe := startShow(t, studio.ProgramConfig{}, func(c *studio.Config) { c.ReconnectGrace = grace })
			w := watchTile(pipe, guestCell())
			time.Sleep(500 * time.Millisecond) // the host's feed and the preview settle
			before := countResources()

			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			g, err := studiotest.Join(ctx, s.GuestURL(), "Ann", studiotest.Options{VideoIVF: videoIVF, AudioOgg: audioOgg, Movable: true})
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			onStageBesideHost(t, s, pipe, w, g.ID)
			if decode.Live() <= before.decoders {
				t.Error("the guest's decoders are not counted: the leak check would see nothing")
			}

			gone := time.Now()
			tc.gone(g)
			goneGuest(t, s, pipe, w, g.ID, gone, grace)
			g.Close()
			after := backTo(t, before)
			t.Logf("goroutines %d → %d, file descriptors %d → %d, decoders %d → %d", before.goroutines, after.goroutines, before.fds, after.fds, before.decoders, after.decoders)
		})
	}
}

// The case with a real browser: a Chromium guest on stage whose
// browser is killed shows the placeholder within a second in its tile,
// counts down in /api/state, leaves the stage after the grace, and
// leaves no goroutine, file descriptor or decoder behind. Killed two
// ways: kill -9 of its browser process alone, whose renderers and
// network process end by themselves within a second, closing the page's
// socket as "going away" (the studio used to take that for a guest who
// left, off the stage at once), and SIGKILL to its whole process group
// (the socket just breaks).
func TestGoneGuestChromium(t *testing.T) {
	needChromium(t)
	for _, tc := range []struct {
		name string
		kill func(*testing.T, *studiotest.Browser)
	}{
		{"browser process", func(t *testing.T, b *studiotest.Browser) {
			if err := b.Kill(); err != nil {
				t.Fatal(err)
			}
			<-b.Exited()
		}},
		{"process group", func(_ *testing.T, b *studiotest.Browser) { b.Close() }}, // and waits for it to exit
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkLeaks(t)
			const grace = 3 * time.Second
			s, _, pipe := startShow(t, studio.ProgramConfig{}, func(c *studio.Config) { c.ReconnectGrace = grace })
			w := watchTile(pipe, guestCell())
			time.Sleep(500 * time.Millisecond)
			before := countResources()

			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			b, pages, err := studiotest.StartChromium(ctx, s.GuestURL()+"?name=Ann&join=1")
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			page := pages[0]
			defer page.Close()
			id := joined(t, page, "Ann")
			onStageBesideHost(t, s, pipe, w, id)
			if decode.Live() <= before.decoders {
				t.Error("the guest's decoders are not counted: the leak check would see nothing")
			}

			gone := time.Now()
			tc.kill(t, b)
			page.Close()
			goneGuest(t, s, pipe, w, id, gone, grace)
			b.Close()
			after := backTo(t, before)
			t.Logf("goroutines %d → %d, file descriptors %d → %d, decoders %d → %d", before.goroutines, after.goroutines, before.fds, after.fds, before.decoders, after.decoders)
		})
	}
}

// The default grace is 10 s: a pion guest whose socket breaks is
// counted down from 10.
func TestGoneGuestDefaultGrace(t *testing.T) {
	checkLeaks(t)
	s := newStudio(t, nil)
	g := join(t, s, "Ann", studiotest.Options{AudioOgg: audioOgg})
	eventually(t, "Ann's media to flow", func() bool { return connected(s, g.ID) })
	g.DropSignaling()
	gone := time.Now()
	p := countingDown(t, s, g.ID)
	if at := p.LeavingAt.Sub(gone); at < 9900*time.Millisecond || at > 11*time.Second {
		t.Errorf("leaving %v after the socket broke, want 10 s", at)
	}
	if p.LeavingIn != 10 && p.LeavingIn != 9 {
		t.Errorf("leavingIn %d, want 10 (or 9 on a slow machine)", p.LeavingIn)
	}
	if studio.DefaultReconnectGrace != 10*time.Second {
		t.Errorf("DefaultReconnectGrace %v", studio.DefaultReconnectGrace)
	}

	// The window changes it for those who go from then on; Ann's
	// countdown goes on as it was.
	if err := s.SetReconnectGrace(time.Second); err == nil {
		t.Error("a grace of 1 s was taken")
	}
	if err := s.SetReconnectGrace(4 * time.Second); err != nil {
		t.Fatal(err)
	}
	bob := join(t, s, "Bob", studiotest.Options{AudioOgg: audioOgg})
	eventually(t, "Bob's media to flow", func() bool { return connected(s, bob.ID) })
	bob.DropSignaling()
	gone = time.Now()
	p = countingDown(t, s, bob.ID)
	if at := p.LeavingAt.Sub(gone); at < 3900*time.Millisecond || at > 5*time.Second {
		t.Errorf("Bob leaving %v after his socket broke, want 4 s", at)
	}
	if ann, _ := apiGuest(t, s, g.ID); ann.LeavingIn > 10 || ann.LeavingIn < 1 {
		t.Errorf("Ann's countdown is at %d s", ann.LeavingIn)
	}
}

// The signaling socket's liveness (issue #10): a page that has answered
// no ping for 3 s (as in a blip) is still in; one silent for good is
// noticed as gone about 6 s after its last answer (pings every 2 s, pongs
// due within 6 s), where it took 40 s before.
func TestSilentPageIsNoticed(t *testing.T) {
	parallelWithLeakCheck(t)
	s := newStudio(t, nil)
	u := strings.Replace(s.GuestURL(), "http", "ws", 1) + "/ws"
	ws, _, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if err := ws.WriteJSON(signal.Message{Type: signal.TypeJoin, Name: "Ann"}); err != nil {
		t.Fatal(err)
	}
	var welcome signal.Message
	if err := ws.ReadJSON(&welcome); err != nil || welcome.Type != signal.TypeWelcome {
		t.Fatalf("welcome: %+v %v", welcome, err)
	}
	// read answers pings (gorilla does, while reading) for d.
	read := func(d time.Duration) {
		_ = ws.SetReadDeadline(time.Now().Add(d))
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
					t.Fatalf("the studio closed the socket: %v", err)
				}
				return
			}
		}
	}
	read(2500 * time.Millisecond) // answers a ping or so: the studio's clock runs from here
	// gorilla's connection is of no use after a read timed out: a blip is
	// a pause between reads. Nothing more is read from here; pings wait.
	time.Sleep(3 * time.Second)
	if p := find(s, welcome.ID); p.Media == studio.MediaLost || p.ID == "" {
		t.Fatalf("a page silent for 3 s is taken for gone: %+v", p)
	}
	silent := time.Now().Add(-3 * time.Second)
	eventually(t, "the silent page to be noticed", func() bool { return find(s, welcome.ID).Media == studio.MediaLost })
	took := time.Since(silent)
	t.Logf("a silent page noticed %v after its last answer", took.Round(10*time.Millisecond))
	if took > 8*time.Second {
		t.Errorf("a silent page noticed %v after its last answer, want about 6 s", took)
	}
	if p := find(s, welcome.ID); p.LeavingAt.IsZero() {
		t.Errorf("noticed, but no countdown: %+v", p)
	}
}

// A gone guest whose page comes back within the grace without its
// connection (reloaded: a new session with its resume key) keeps its
// place: the same participant on stage, its countdown stopped, its tile
// never out of the program (the old session's tracks end before the new
// one's come) and its picture back in it.
func TestGoneGuestComesBack(t *testing.T) {
	checkLeaks(t)
	s, _, pipe := startShow(t, studio.ProgramConfig{}, func(c *studio.Config) { c.ReconnectGrace = 10 * time.Second })
	w := watchTile(pipe, guestCell())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	av := studiotest.Options{VideoIVF: videoIVF, AudioOgg: audioOgg, Movable: true}
	g, err := studiotest.Join(ctx, s.GuestURL(), "Ann", av)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	onStageBesideHost(t, s, pipe, w, g.ID)

	// The tile must stay in the program all along: watched from here.
	var left sync.Once
	var leftAt time.Time
	stop := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			if in := pipe.Input(g.ID); in == nil || in.Hidden() {
				left.Do(func() { leftAt = time.Now() })
			}
		}
	}()
	defer func() { close(stop); <-watched }()

	g.BreakPath()
	g.DropSignaling()
	eventually(t, "the placeholder and the countdown", func() bool {
		since, _ := w.placeholderSince()
		p, _ := apiGuest(t, s, g.ID)
		return !since.IsZero() && !p.LeavingAt.IsZero()
	})
	// Its media fails meanwhile on a real network; here the page comes
	// back first, as a reloaded page does: a new connection, the old
	// session replaced.
	g.Close()
	av.ResumeID, av.ResumeKey = g.ID, g.ResumeKey
	back, err := studiotest.Join(ctx, s.GuestURL(), "Ann", av)
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close()
	if back.ID != g.ID {
		t.Fatalf("back as %s, want %s", back.ID, g.ID)
	}
	eventually(t, "its picture back in its tile", func() bool {
		since, other := w.placeholderSince()
		return since.IsZero() && other >= previewFPS
	})
	p, _ := apiGuest(t, s, g.ID)
	if p.Place != string(studio.PlaceStage) || !p.LeavingAt.IsZero() || p.LeavingIn != 0 {
		t.Errorf("back: %+v, want on stage and no countdown", p)
	}
	if !leftAt.IsZero() {
		t.Errorf("the guest's tile left the program at %v while it came back", leftAt.Format("15:04:05.000"))
	}
}

// pausableProxy forwards TCP connections to a target, and can hold
// everything in both directions while paused, as a network blip does
// (the connections stay open; what waits goes through on resume), or
// freeze the connections open now for good while new ones go through, as
// a network change does to a page's socket (the page's side never hears
// that it broke).
type pausableProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	paused bool
	gates  []*gate
	conns  []net.Conn
	wg     sync.WaitGroup
}

// gate holds one connection's traffic while shut.
type gate struct {
	mu   sync.Mutex
	open chan struct{} // closed while traffic flows
}

func newGate(open bool) *gate {
	g := &gate{open: make(chan struct{})}
	if open {
		close(g.open)
	}
	return g
}

func (g *gate) wait() {
	g.mu.Lock()
	ch := g.open
	g.mu.Unlock()
	<-ch
}

func (g *gate) set(open bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-g.open:
		if !open {
			g.open = make(chan struct{})
		}
	default:
		if open {
			close(g.open)
		}
	}
}

func newPausableProxy(t *testing.T, target string) *pausableProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &pausableProxy{ln: ln, target: target}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			g := newGate(!p.paused)
			p.gates = append(p.gates, g)
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			p.wg.Add(2)
			go p.pipe(g, c, up)
			go p.pipe(g, up, c)
		}
	}()
	t.Cleanup(p.close)
	return p
}

// pipe copies from src to dst, waiting while g is shut.
func (p *pausableProxy) pipe(g *gate, dst, src net.Conn) {
	defer p.wg.Done()
	defer dst.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		g.wait()
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// pause holds every connection's traffic, and new ones', until unpause.
func (p *pausableProxy) pause() { p.setAll(false, true) }

func (p *pausableProxy) unpause() { p.setAll(true, false) }

// freeze holds the traffic of the connections open now, for good; new
// ones go through.
func (p *pausableProxy) freeze() { p.setAll(false, false) }

func (p *pausableProxy) setAll(open, paused bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.paused = paused
	for _, g := range p.gates {
		g.set(open)
	}
}

func (p *pausableProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.unpause()
	p.wg.Wait()
}

// A page whose signaling goes quiet (a blip longer than the socket
// lets pass unseen; its media still flows) is taken for gone about 6 s
// after its last answer: the host sees the countdown. When it answers
// again over the same socket, the session simply goes on — no rejoin, no
// new socket — and the countdown stops. Quiet for good, it leaves after
// the grace.
func TestQuietPageComesBackOverItsSocket(t *testing.T) {
	parallelWithLeakCheck(t)
	const grace = 3 * time.Second
	s := newStudio(t, func(c *studio.Config) { c.ReconnectGrace = grace })
	proxy := newPausableProxy(t, s.Addr().String())
	link := strings.Replace(s.GuestURL(), s.Addr().String(), proxy.ln.Addr().String(), 1)
	ann := join2(t, link, "Ann", studiotest.Options{AudioOgg: audioOgg})
	eventually(t, "Ann's media to flow", func() bool { return connected(s, ann.ID) })

	// Each round pauses at once: the page answered a moment ago (its
	// media just connected, or its answers just came through the
	// unpaused proxy), so the studio's clock runs from about here.
	for round := range 2 {
		proxy.pause()
		quiet := time.Now()
		p := countingDown(t, s, ann.ID)
		took := time.Since(quiet)
		t.Logf("round %d: quiet page taken for gone after %v, %d s left", round, took.Round(10*time.Millisecond), p.LeavingIn)
		if took < 3*time.Second || took > 8*time.Second {
			t.Errorf("a quiet page taken for gone after %v, want about 6 s", took)
		}
		if round == 1 {
			break
		}
		proxy.unpause()
		eventually(t, "Ann to be back over her socket", func() bool {
			p := find(s, ann.ID)
			return p.Connected && p.LeavingAt.IsZero() && p.Place != ""
		})
		if bye, errs := ann.Bye(), ann.Errors(); bye != "" || len(errs) > 0 {
			t.Errorf("Ann's session: bye %q, errors %q", bye, errs)
		}
	}
	eventually(t, "Ann to leave after the grace", func() bool { return find(s, ann.ID).ID == "" })
}

// A Chromium guest whose signaling socket dies on the way without either
// end hearing it (a network change; its media goes on over ICE) notices
// on its own — the studio says "alive" every 2 s — and comes back over a
// new socket keeping its connection, within the grace: the same
// participant on stage, no countdown left, its media flowing.
func TestChromiumPageNoticesItsSocketDied(t *testing.T) {
	needChromium(t)
	checkLeaks(t)
	s := newStudio(t, func(c *studio.Config) { c.ReconnectGrace = 10 * time.Second })
	proxy := newPausableProxy(t, s.Addr().String())
	link := strings.Replace(s.GuestURL(), s.Addr().String(), proxy.ln.Addr().String(), 1)
	page := chromiumPages(t, link+"?name=Ann&join=1")[0]
	id := joined(t, page, "Ann")
	if err := s.Stage(id, true); err != nil {
		t.Fatal(err)
	}
	eventually(t, "Ann's media to flow", func() bool { return connected(s, id) })
	if err := page.Eval(`window.oldWS = greenroom.ws, window.keptPC = greenroom.pc, true`, nil); err != nil {
		t.Fatal(err)
	}

	proxy.freeze()
	frozen := time.Now()
	var replaced bool
	eventually(t, "the page on a new socket", func() bool {
		return page.Eval(`window.oldWS !== greenroom.ws && greenroom.ws.readyState === WebSocket.OPEN`, &replaced) == nil && replaced
	})
	t.Logf("the page took its socket for dead and opened another %v after it froze", time.Since(frozen).Round(10*time.Millisecond))
	eventually(t, "Ann back in her place, no countdown", func() bool {
		p := find(s, id)
		return p.Connected && p.Place == studio.PlaceStage && p.LeavingAt.IsZero()
	})
	if took := time.Since(frozen); took > 10*time.Second {
		t.Errorf("back %v after the socket froze, want within the grace (10 s)", took)
	}
	var same bool
	if err := page.Eval(`window.keptPC === greenroom.pc`, &same); err != nil || !same {
		t.Errorf("the page replaced its RTCPeerConnection (%v)", err)
	}
	if n := len(s.State().Participants); n != 2 {
		t.Errorf("%d participants, want the host and Ann", n)
	}
}

// A guest who sends nothing (a viewer in the green room, a pion receiver)
// and whose page goes quiet before the studio would call its media
// flowing (Config.MediaTimeout after the answer) keeps its place like any other:
// its path is up, so its session waits for the page. In CI such a
// receiver's socket went quiet 12 s in, in a stall of the box, and its
// session ended at once ("connection lost"); it never came back.
func TestQuietReceiverKeepsItsPlace(t *testing.T) {
	parallelWithLeakCheck(t)
	s := newStudio(t, func(c *studio.Config) { c.ReconnectGrace = 10 * time.Second })
	proxy := newPausableProxy(t, s.Addr().String())
	link := strings.Replace(s.GuestURL(), s.Addr().String(), proxy.ln.Addr().String(), 1)
	rex := join2(t, link, "Rex", studiotest.Options{})
	eventually(t, "Rex's path to be up", func() bool { return rex.ConnectionState() == webrtc.PeerConnectionStateConnected })
	proxy.pause()
	countingDown(t, s, rex.ID)
	proxy.unpause()
	eventually(t, "Rex to be back over his socket", func() bool {
		p := find(s, rex.ID)
		return p.ID != "" && p.LeavingAt.IsZero()
	})
	if bye := rex.Bye(); bye != "" {
		t.Errorf("Rex's session ended: %q", bye)
	}
}
