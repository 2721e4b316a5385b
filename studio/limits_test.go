package studio_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/webrtc/v4"

	"greenroom/studio"
	"greenroom/studio/signal"
	"greenroom/studio/studiotest"
)

// clientFrom is an HTTP client whose connections come from the local
// address ip: on Linux every address of 127.0.0.0/8 reaches lo, so each
// stands for another machine.
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}, Timeout: 10 * time.Second}
}

// do sends a request and returns its status, Retry-After and body.
func do(t *testing.T, c *http.Client, method, url, auth string, hdr ...string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Retry-After"), string(b)
}

// 1,000 wrong guest links and control tokens from one address: the first
// ten get 403 and 401, the rest 429 with Retry-After, the right link from
// that address too (else the answer would tell a right guess); from every
// other address the right link and token work at once.
func TestWrongTokensAreLimited(t *testing.T) {
	checkLeaks(t)
	s := newStudio(t, nil)
	base := "http://" + s.Addr().String()
	link := s.GuestURL()
	guestTok := strings.TrimPrefix(link, base+"/join/")
	ctlTok := s.ControlToken().Reveal()
	bad := clientFrom("127.0.0.2")
	codes := map[int]int{}
	first429 := -1
	for i := range 1000 {
		var code int
		var retry, body string
		switch i % 3 {
		case 0:
			code, retry, body = do(t, bad, "GET", base+"/join/wrong"+strconv.Itoa(i), "")
		case 1:
			code, retry, body = do(t, bad, "GET", base+"/api/state", "wrong"+strconv.Itoa(i))
		case 2:
			code, retry, body = do(t, bad, "GET", base+"/join/wrong/ws", "")
		}
		codes[code]++
		if code != http.StatusTooManyRequests {
			continue
		}
		if first429 < 0 {
			first429 = i
		}
		if n, err := strconv.Atoi(retry); err != nil || n < 1 || n > 6 {
			t.Fatalf("request %d: 429 with Retry-After %q", i, retry)
		}
		if strings.Contains(body, "wrong"+strconv.Itoa(i)) || strings.Contains(body, guestTok) || strings.Contains(body, ctlTok) {
			t.Fatalf("request %d: the 429 speaks of the token: %q", i, body)
		}
	}
	t.Logf("from 127.0.0.2: %v; the first 429 was request %d", codes, first429)
	if first429 != 10 || codes[http.StatusTooManyRequests] != 990 || codes[http.StatusForbidden]+codes[http.StatusUnauthorized] != 10 {
		t.Errorf("codes %v, first 429 at %d; want 10 refusals then 990 × 429", codes, first429)
	}
	for _, tc := range []struct{ url, auth string }{{link, ""}, {base + "/api/state", ctlTok}} {
		if code, _, _ := do(t, bad, "GET", tc.url, tc.auth); code != http.StatusTooManyRequests {
			t.Errorf("the right token from the limited address: %d, want 429 like a wrong one", code)
		}
	}
	good := clientFrom("127.0.0.3")
	if code, _, _ := do(t, good, "GET", link, ""); code != http.StatusOK {
		t.Errorf("the guest link from another address: %d", code)
	}
	if code, _, _ := do(t, good, "GET", base+"/api/state", ctlTok); code != http.StatusOK {
		t.Errorf("the control API from another address: %d", code)
	}
	ann := join(t, s, "Ann", studiotest.Options{}) // from 127.0.0.1
	if place(s, ann.ID) != studio.PlaceGreenRoom {
		t.Errorf("a guest from another address could not join")
	}
}

// Behind the studio's own TLS front (a public URL, requests from
// loopback), the address is the last of X-Forwarded-For: one guesser is
// limited, not everyone behind the front. Without a public URL the header
// is anyone's to write, and ignored.
func TestWrongTokensBehindAFront(t *testing.T) {
	checkLeaks(t)
	s := newStudio(t, func(c *studio.Config) { c.PublicURL = "https://studio.example.com" })
	base := "http://" + s.Addr().String()
	path := strings.TrimPrefix(s.GuestURL(), "https://studio.example.com")
	c := clientFrom("127.0.0.1")
	for i := range 12 {
		// The guesser writes its own X-Forwarded-For; the front appends
		// the address it saw.
		code, _, _ := do(t, c, "GET", base+"/join/wrong", "", "X-Forwarded-For", "203.0.113."+strconv.Itoa(i)+", 198.51.100.7")
		if want := http.StatusForbidden; i >= 10 {
			if code != http.StatusTooManyRequests {
				t.Fatalf("guess %d through the front: %d, want 429", i, code)
			}
		} else if code != want {
			t.Fatalf("guess %d through the front: %d, want %d", i, code, want)
		}
	}
	if code, _, _ := do(t, c, "GET", base+path, "", "X-Forwarded-For", "198.51.100.8"); code != http.StatusOK {
		t.Errorf("another guest through the front: %d", code)
	}
	if code, _, _ := do(t, c, "GET", base+path, "", "X-Forwarded-For", "198.51.100.7"); code != http.StatusTooManyRequests {
		t.Errorf("the guesser with the right link: %d, want 429", code)
	}

	direct := newStudio(t, nil)
	base = "http://" + direct.Addr().String()
	c = clientFrom("127.0.0.4")
	for i := range 11 {
		code, _, _ := do(t, c, "GET", base+"/join/wrong", "", "X-Forwarded-For", "203.0.113."+strconv.Itoa(i))
		if i == 10 && code != http.StatusTooManyRequests {
			t.Errorf("a forged X-Forwarded-For got around the limit: %d", code)
		}
	}
}

// A 20 MB control body is refused with 413 after the first 4 KiB; 64 KiB
// of request headers with 431.
func TestRequestLimits(t *testing.T) {
	checkLeaks(t)
	s := newStudio(t, nil)
	body := append(bytes.Repeat([]byte(" "), 20<<20), "{}"...)
	req, _ := http.NewRequest("POST", "http://"+s.Addr().String()+"/api/stage", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+s.ControlToken().Reveal())
	resp, err := noKeepAlive.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("20 MB body: %d, want 413", resp.StatusCode)
	}
	code, _, _ := do(t, noKeepAlive, "GET", "http://"+s.Addr().String()+"/api/state", s.ControlToken().Reveal(), "X-Padding", strings.Repeat("x", 64<<10))
	if code != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("64 KiB of headers: %d, want 431", code)
	}
}

// Nothing outside the guest page's own files is served, however the path
// climbs: 404.
func TestGuestAssetsTraversal(t *testing.T) {
	checkLeaks(t)
	s := newStudio(t, nil)
	base := "http://" + s.Addr().String()
	for _, p := range []string{
		"/assets/guest/../../go.mod",
		"/assets/guest/..%2f..%2fgo.mod",
		"/assets/guest/%2e%2e/%2e%2e/studio/web.go",
		"/assets/guest/..%5c..%5cgo.mod",
		"/assets/guest/....//....//go.mod",
		"/assets/guest/%252e%252e/%252e%252e/go.mod",
		"/assets/guest/guest.js/../../assets.go",
		"/assets/guest/../../../../../../etc/passwd",
		"/assets/guest/..",
	} {
		code, _, body := do(t, noKeepAlive, "GET", base+p, "")
		if code != http.StatusNotFound || strings.Contains(body, "module greenroom") || strings.Contains(body, "package ") || strings.Contains(body, "root:") {
			t.Errorf("GET %s: %d %.60q, want 404", p, code, body)
		}
	}
	if code, _, _ := do(t, noKeepAlive, "GET", base+"/assets/guest/guest.js", ""); code != http.StatusOK {
		t.Errorf("guest.js: %d", code)
	}
}

// rawGuest is a guest page's signaling alone, over a bare WebSocket: it
// joins, then keeps reading what the studio sends until the socket closes.
type rawGuest struct {
	ws   *websocket.Conn
	id   string
	done chan struct{}

	mu     sync.Mutex
	msgs   []signal.Message
	closed error // why reading ended
}

func dialGuest(t *testing.T, s *studio.Studio, name string) *rawGuest {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(s.GuestURL(), "http")+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	if err := ws.WriteJSON(signal.Message{Type: signal.TypeJoin, Name: name}); err != nil {
		t.Fatal(err)
	}
	var welcome signal.Message
	if err := ws.ReadJSON(&welcome); err != nil || welcome.Type != signal.TypeWelcome {
		t.Fatalf("no welcome: %+v %v", welcome, err)
	}
	g := &rawGuest{ws: ws, id: welcome.ID, done: make(chan struct{})}
	go func() {
		defer close(g.done)
		for {
			var m signal.Message
			err := ws.ReadJSON(&m)
			g.mu.Lock()
			if err != nil {
				g.closed = err
				g.mu.Unlock()
				return
			}
			g.msgs = append(g.msgs, m)
			g.mu.Unlock()
		}
	}()
	return g
}

// closeError waits for the studio to close the socket and returns its
// close frame.
func (g *rawGuest) closeError(t *testing.T) *websocket.CloseError {
	t.Helper()
	select {
	case <-g.done:
	case <-time.After(15 * time.Second):
		t.Fatal("the studio did not close the socket")
	}
	var ce *websocket.CloseError
	if !errors.As(g.closed, &ce) {
		t.Fatalf("socket ended without a close frame: %v", g.closed)
	}
	return ce
}

// answers sends a second join and waits for the studio's "already
// joined": the session is up and its loop keeps up.
func (g *rawGuest) answers(t *testing.T) bool {
	t.Helper()
	n := func() int {
		g.mu.Lock()
		defer g.mu.Unlock()
		c := 0
		for _, m := range g.msgs {
			if m.Type == signal.TypeError && m.Error == "already joined" {
				c++
			}
		}
		return c
	}
	before := n()
	if err := g.ws.WriteJSON(signal.Message{Type: signal.TypeJoin, Name: "again"}); err != nil {
		return false
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if n() > before {
			return true
		}
	}
	return false
}

// Three floods of a guest's signaling — 10,000 messages, 5,000
// candidates, a 1 MB frame — each end that guest's session, with a close
// code (and reason) its page shows, while another guest's connection
// stays up and answered.
func TestSignalingFloods(t *testing.T) {
	checkLeaks(t)
	s := newStudio(t, nil)
	other := dialGuest(t, s, "Other")
	candidate := []byte(`{"type":"candidate","candidate":{"candidate":"candidate:1 1 udp 2122260223 192.0.2.1 5000 typ host","sdpMid":"0"}}`)
	for _, tc := range []struct {
		name   string
		n      int
		msg    []byte
		code   int
		reason string
	}{
		{"10,000 messages", 10000, []byte(`{"type":"share","sharing":false}`), websocket.ClosePolicyViolation, "too many messages"},
		{"5,000 candidates", 5000, candidate, websocket.ClosePolicyViolation, "too many ICE candidates"},
		{"a 1 MB frame", 1, bytes.Repeat([]byte("x"), 1<<20), websocket.CloseMessageTooBig, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := dialGuest(t, s, "Flood")
			sent := 0
			_ = g.ws.SetWriteDeadline(time.Now().Add(15 * time.Second))
			for ; sent < tc.n; sent++ {
				if err := g.ws.WriteMessage(websocket.TextMessage, tc.msg); err != nil {
					break
				}
			}
			ce := g.closeError(t)
			t.Logf("closed after %d of %d sent: %d %q", sent, tc.n, ce.Code, ce.Text)
			if ce.Code != tc.code || !strings.Contains(ce.Text, tc.reason) {
				t.Errorf("close %d %q, want %d %q", ce.Code, ce.Text, tc.code, tc.reason)
			}
			eventually(t, "the flooder out of the show", func() bool { return find(s, g.id).ID == "" })
			if place(s, other.id) != studio.PlaceGreenRoom || !other.answers(t) {
				t.Errorf("the other guest was disturbed: place %q, closed %v", place(s, other.id), other.closed)
			}
		})
	}
}

// A green room of two takes two guests; a third is refused with
// signal.CloseStudioFull and the sentence its page shows, and the two stay.
// A stage of one takes one of them: the other is refused with 409 and why,
// and stays in the green room. Ann on stage has left the green room, so a
// third guest gets in then; a bigger stage (SetLimits) takes Bob at once.
func TestGuestLimits(t *testing.T) {
	checkLeaks(t)
	s := newStudio(t, func(c *studio.Config) { c.Limits = studio.Limits{Stage: 1, GreenRoom: 2} })
	ann := join(t, s, "Ann", studiotest.Options{})
	bob := join(t, s, "Bob", studiotest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := studiotest.Join(ctx, s.GuestURL(), "Cat", studiotest.Options{})
	if err == nil {
		c.Close()
	}
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != signal.CloseStudioFull || !strings.Contains(ce.Text, "The studio is full") {
		t.Fatalf("a third guest in a green room of two: %v; want close %d, the studio is full", err, signal.CloseStudioFull)
	}
	t.Logf("refused: %d %q", ce.Code, ce.Text)
	if n := len(s.State().Participants); n != 3 {
		t.Errorf("%d participants after the refusal, want the host and two guests", n)
	}

	stage := func(id string) (int, map[string]any) {
		return api(t, s, "POST", "/api/stage", "", `{"id": "`+id+`", "on": true}`)
	}
	if code, out := stage(ann.ID); code != http.StatusOK {
		t.Fatalf("Ann on a stage of one: %d %v", code, out)
	}
	code, out := stage(bob.ID)
	if msg, _ := out["error"].(string); code != http.StatusConflict || !strings.Contains(msg, "the stage is full") {
		t.Errorf("Bob on a full stage: %d %v; want 409, the stage is full", code, out)
	}
	t.Logf("refused: %d %v", code, out["error"])
	if place(s, bob.ID) != studio.PlaceGreenRoom || place(s, ann.ID) != studio.PlaceStage {
		t.Errorf("after the refusal: Ann %s, Bob %s", place(s, ann.ID), place(s, bob.ID))
	}
	join(t, s, "Cat", studiotest.Options{}) // Ann's place in the green room
	if err := s.SetLimits(studio.Limits{Stage: 2, GreenRoom: 2}); err != nil {
		t.Fatal(err)
	}
	if code, out := stage(bob.ID); code != http.StatusOK {
		t.Errorf("Bob on a stage of two: %d %v", code, out)
	}
	if err := s.SetLimits(studio.Limits{Stage: 0, GreenRoom: 2}); err == nil {
		t.Errorf("a stage of none was taken")
	}
}

// Each bad candidate a guest trickles after its offer gets an error reply
// — those pion would drop quietly too (an unknown type, a transport
// other than UDP or TCP) — and the session goes on; a good one gets none.
func TestBadCandidatesAnswered(t *testing.T) {
	checkLeaks(t)
	s := newStudio(t, nil)
	c := join(t, s, "Ann", studiotest.Options{})
	eventually(t, "the studio's answer", func() bool { return c.RemoteSDP() != "" })
	bad := []string{
		"candidate:1 1 udp 2122260223 192.0.2.1 5000 typ bogus",
		"candidate:1 1 sctp 2122260223 192.0.2.1 5000 typ host",
		"candidate:1 1 udp notanumber 192.0.2.1 5000 typ host",
		"candidate:1 1 udp 2122260223 192.0.2.1 99999 typ host",
		"candidate:garbage",
	}
	for _, cand := range append(bad, "candidate:1 1 udp 2122260223 192.0.2.1 5000 typ host") {
		b, _ := json.Marshal(signal.Message{Type: signal.TypeCandidate, Candidate: &webrtc.ICECandidateInit{Candidate: cand}})
		if err := c.WriteRaw(b); err != nil {
			t.Fatal(err)
		}
	}
	// The session's loop answers in order: once "already joined" is back,
	// every candidate has had its answer.
	b, _ := json.Marshal(signal.Message{Type: signal.TypeJoin, Name: "again"})
	if err := c.WriteRaw(b); err != nil {
		t.Fatal(err)
	}
	count := func(prefix string) int {
		n := 0
		for _, e := range c.Errors() {
			if strings.HasPrefix(e, prefix) {
				n++
			}
		}
		return n
	}
	eventually(t, "the session to answer", func() bool { return count("already joined") == 1 })
	if n := count("bad candidate: "); n != len(bad) {
		t.Errorf("%d errors for %d bad candidates and a good one: %q", n, len(bad), c.Errors())
	}
	if place(s, c.ID) != studio.PlaceGreenRoom || c.Bye() != "" {
		t.Errorf("the session ended: place %q, bye %q", place(s, c.ID), c.Bye())
	}
}
