//go:build unix

package studiotest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

// ChromiumPath is where the tests look for a browser; Debian's package
// installs it here.
const ChromiumPath = "/usr/bin/chromium"

// chromiumFlags make headless Chromium a guest that needs no human: a fake
// camera (a moving test pattern with a beep) granted without a prompt, media
// over loopback (the test machine may have no other interface, #4), and
// sound that plays without a click.
var chromiumFlags = []string{
	"--headless=new",
	"--no-sandbox", // tests may run as root, where the sandbox can't start
	"--no-first-run",
	"--no-default-browser-check",
	"--disable-gpu",
	"--disable-extensions",
	"--disable-background-networking",
	"--use-fake-ui-for-media-stream",
	"--use-fake-device-for-media-stream",
	"--allow-loopback-in-peer-connection",
	"--autoplay-policy=no-user-gesture-required",
	"--mute-audio",
	"--window-size=1280,800",
	"--remote-debugging-port=0",
}

// Browser is a headless Chromium with one tab per URL, driven over the
// DevTools protocol (only Runtime.evaluate: enough to read a page's state
// and its getStats).
type Browser struct {
	cmd  *exec.Cmd
	dir  string
	port string
	done chan struct{}
	tail []string // stderr until DevTools is up; read after done
	// How DevTools is reached: through ChromiumIn.Dial when set.
	http *http.Client
	wsd  *websocket.Dialer
}

// ChromiumIn says where a browser runs when not beside the test: Wrap
// goes before its command line (ip netns exec NS), and Dial reaches its
// DevTools port there (netlab's Lab.Dial). CheckCertificates makes the
// browser check every certificate against what it trusts (its built-in
// roots and the NSS database in $HOME/.pki/nssdb: NSSHome), as a real
// guest's does.
type ChromiumIn struct {
	Wrap              []string
	Dial              func(ctx context.Context, network, addr string) (net.Conn, error)
	CheckCertificates bool
}

// ignoreCertificates is the flag a browser starts with unless
// ChromiumIn.CheckCertificates: the studio's self-signed certificate, which
// a real guest clicks through once. It also covers what no warning page
// can: a TURN server's certificate over TLS (turns:), which Chromium then
// takes unchecked, wrong name and all.
const ignoreCertificates = "--ignore-certificate-errors"

// Page is one tab.
type Page struct {
	URL string
	ws  *websocket.Conn
	mu  sync.Mutex // guards ws's reads and writes, id and events
	id  int
	// events counts the DevTools events that came by name: they are
	// read while a command's answer is awaited (Call).
	events map[string]int
}

// StartChromium opens urls, one tab each, and returns once every tab is
// reachable over DevTools.
func StartChromium(ctx context.Context, urls ...string) (*Browser, []*Page, error) {
	return StartChromiumWith(ctx, nil, urls...)
}

// StartChromiumWith is StartChromium with more command-line flags, such as
// --use-file-for-fake-video-capture=FILE.y4m and
// --use-file-for-fake-audio-capture=FILE.wav for a camera and microphone
// whose pictures and sound the test knows.
func StartChromiumWith(ctx context.Context, flags []string, urls ...string) (*Browser, []*Page, error) {
	return StartChromiumIn(ctx, ChromiumIn{}, flags, urls...)
}

// StartChromiumIn is StartChromiumWith where in says.
func StartChromiumIn(ctx context.Context, in ChromiumIn, flags []string, urls ...string) (*Browser, []*Page, error) {
	dir, err := os.MkdirTemp("", "greenroom-chromium-")
	if err != nil {
		return nil, nil, err
	}
	args := append(append([]string{}, chromiumFlags...), flags...)
	if !in.CheckCertificates {
		args = append(args, ignoreCertificates)
	}
	args = append(args, "--user-data-dir="+dir)
	// Headless Chromium opens one URL from its command line; the other tabs
	// come through DevTools once it is up.
	args = append(args, urls[0])
	args = append(append(append([]string{}, in.Wrap...), ChromiumPath), args...)
	cmd := exec.Command(args[0], args[1:]...)
	// Its own process group, so Close ends the renderers with the browser.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, nil, fmt.Errorf("studiotest: start chromium: %w", err)
	}
	b := &Browser{cmd: cmd, dir: dir, done: make(chan struct{}), http: http.DefaultClient, wsd: websocket.DefaultDialer}
	if in.Dial != nil {
		b.http = &http.Client{Transport: &http.Transport{DialContext: in.Dial}}
		b.wsd = &websocket.Dialer{NetDialContext: in.Dial, HandshakeTimeout: 10 * time.Second}
	}
	portc := make(chan string, 1)
	go func() {
		// Chromium prints the DevTools address on stderr; the rest of its
		// chatter is read and dropped so it never blocks on a full pipe.
		re := regexp.MustCompile(`DevTools listening on ws://127\.0\.0\.1:(\d+)/`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				portc <- m[1]
			} else if len(b.tail) < 20 {
				b.tail = append(b.tail, sc.Text())
			}
		}
		_ = cmd.Wait()
		close(b.done)
	}()
	select {
	case b.port = <-portc:
	case <-b.done:
		b.Close()
		return nil, nil, fmt.Errorf("studiotest: chromium exited before DevTools came up: %s", strings.Join(b.tail, "\n"))
	case <-ctx.Done():
		b.Close()
		return nil, nil, ctx.Err()
	}
	for _, u := range urls[1:] {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPut, "http://127.0.0.1:"+b.port+"/json/new?"+url.QueryEscape(u), nil)
		resp, err := b.http.Do(req)
		if err != nil {
			b.Close()
			return nil, nil, fmt.Errorf("studiotest: open tab: %w", err)
		}
		resp.Body.Close()
	}
	pages, err := b.attach(ctx, urls)
	if err != nil {
		b.Close()
		return nil, nil, err
	}
	return b, pages, nil
}

// attach finds the tab of each URL and opens its DevTools socket.
func (b *Browser) attach(ctx context.Context, urls []string) ([]*Page, error) {
	type target struct {
		Type, URL            string
		WebSocketDebuggerURL string
	}
	for {
		var targets []target
		resp, err := b.http.Get("http://127.0.0.1:" + b.port + "/json/list")
		if err == nil {
			err = json.NewDecoder(resp.Body).Decode(&targets)
			resp.Body.Close()
		}
		pages := make([]*Page, len(urls))
		found := 0
		for i, u := range urls {
			for _, t := range targets {
				if t.Type == "page" && t.URL == u && t.WebSocketDebuggerURL != "" {
					pages[i] = &Page{URL: u}
					ws, _, err := b.wsd.DialContext(ctx, t.WebSocketDebuggerURL, nil)
					if err != nil {
						return nil, fmt.Errorf("studiotest: devtools: %w", err)
					}
					pages[i].ws = ws
					found++
					break
				}
			}
		}
		if found == len(urls) {
			return pages, nil
		}
		for _, p := range pages {
			if p != nil {
				p.ws.Close()
			}
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("studiotest: tabs not found in %d targets: %w", len(targets), ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// NewPage opens a tab that runs preload (JavaScript) before any script of
// the page at url, e.g. to take the camera away.
func (b *Browser) NewPage(ctx context.Context, url_, preload string) (*Page, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPut, "http://127.0.0.1:"+b.port+"/json/new?about:blank", nil)
	resp, err := b.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("studiotest: open tab: %w", err)
	}
	var target struct{ WebSocketDebuggerURL string }
	err = json.NewDecoder(resp.Body).Decode(&target)
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("studiotest: open tab: %w", err)
	}
	ws, _, err := b.wsd.DialContext(ctx, target.WebSocketDebuggerURL, nil)
	if err != nil {
		return nil, fmt.Errorf("studiotest: devtools: %w", err)
	}
	p := &Page{URL: url_, ws: ws}
	if err := p.Call("Page.enable", map[string]string{}, nil); err != nil {
		p.Close()
		return nil, err
	}
	if err := p.Call("Page.addScriptToEvaluateOnNewDocument", map[string]string{"source": preload}, nil); err != nil {
		p.Close()
		return nil, err
	}
	if err := p.Call("Page.navigate", map[string]string{"url": url_}, nil); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// NoCamera is a preload for NewPage: getUserMedia fails for video as it
// does on a machine without a camera, and the device list has none.
const NoCamera = `(() => {
  const md = navigator.mediaDevices, gum = md.getUserMedia.bind(md), enumerate = md.enumerateDevices.bind(md);
  md.getUserMedia = (c) => (c && c.video)
    ? Promise.reject(new DOMException("Requested device not found", "NotFoundError"))
    : gum(c);
  md.enumerateDevices = async () => (await enumerate()).filter((d) => d.kind !== "videoinput");
})();`

// NoICE is a preload for NewPage: the page's RTCPeerConnection never
// learns a candidate of the studio's, and the studio none of the page's
// (trickled or in a description), like a guest on a network from which
// nothing reaches the studio's ICE port: signaling works, media never
// connects (issue #16).
const NoICE = `(() => {
  const strip = (sdp) => sdp.split("\r\n").filter((l) => !/^a=(candidate|end-of-candidates)/.test(l)).join("\r\n");
  const srd = RTCPeerConnection.prototype.setRemoteDescription;
  RTCPeerConnection.prototype.setRemoteDescription = function (d) { return srd.call(this, { type: d.type, sdp: strip(d.sdp) }); };
  RTCPeerConnection.prototype.addIceCandidate = () => Promise.resolve();
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    let m = null;
    try { m = JSON.parse(data); } catch { /* not ours */ }
    if (m && m.type === "candidate") return;
    if (m && m.sdp) data = JSON.stringify({ ...m, sdp: strip(m.sdp) });
    return send.call(this, data);
  };
})();`

// EmulateNetwork takes the page offline, or back, with its uploads (its
// requests' bodies, its WebSockets' messages) paced to uploadBytes a
// second (-1: as fast as they go), through DevTools' network emulation;
// WebRTC's media is not touched.
func (p *Page) EmulateNetwork(offline bool, uploadBytes int) error {
	return p.EmulateNetworkLatency(offline, uploadBytes, 0)
}

// EmulateNetworkLatency is EmulateNetwork with each request's answer
// latencyMS late (a round trip to a studio that is not on loopback).
func (p *Page) EmulateNetworkLatency(offline bool, uploadBytes, latencyMS int) error {
	if err := p.Call("Network.enable", map[string]any{}, nil); err != nil {
		return err
	}
	return p.Call("Network.emulateNetworkConditions", map[string]any{
		"offline": offline, "latency": latencyMS, "downloadThroughput": -1, "uploadThroughput": uploadBytes}, nil)
}

// Call sends one DevTools command and decodes its result into result (if
// not nil).
func (p *Page) Call(method string, params, result any) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.id++
	id := p.id
	_ = p.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if err := p.ws.WriteJSON(map[string]any{"id": id, "method": method, "params": params}); err != nil {
		return err
	}
	_ = p.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		var resp struct {
			ID     int             `json:"id"`
			Method string          `json:"method"` // an event's
			Result json.RawMessage `json:"result"`
			Error  *struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := p.ws.ReadJSON(&resp); err != nil {
			return err
		}
		switch {
		case resp.ID != id:
			if resp.Method != "" { // an event
				if p.events == nil {
					p.events = map[string]int{}
				}
				p.events[resp.Method]++
			}
			continue
		case resp.Error != nil:
			return fmt.Errorf("devtools %s: %s", method, resp.Error.Message)
		case result == nil:
			return nil
		}
		return json.Unmarshal(resp.Result, result)
	}
}

// Events is how many DevTools events called method (e.g.
// "Page.javascriptDialogOpening", once its domain is enabled) have come
// so far, as read by Call: a call made while waiting for one reads it.
func (p *Page) Events(method string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.events[method]
}

// Eval runs a JavaScript expression in the page (awaiting it if it is a
// promise) and decodes its JSON value into v.
func (p *Page) Eval(expr string, v any) error { return p.eval(expr, v, false) }

// EvalAsUser is Eval as if the user had just clicked: what
// getDisplayMedia needs (headless Chromium with the fake devices then
// shares a fake 800x600 "screen" without asking).
func (p *Page) EvalAsUser(expr string, v any) error { return p.eval(expr, v, true) }

func (p *Page) eval(expr string, v any, gesture bool) error {
	var r struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	err := p.Call("Runtime.evaluate", map[string]any{"expression": expr, "awaitPromise": true, "returnByValue": true, "userGesture": gesture}, &r)
	switch {
	case err != nil:
		return err
	case r.ExceptionDetails != nil:
		return fmt.Errorf("page: %s %s", r.ExceptionDetails.Text, strings.TrimSpace(r.ExceptionDetails.Exception.Description))
	case v == nil:
		return nil
	}
	return json.Unmarshal(r.Result.Value, v)
}

// Screenshot returns the page as PNG.
func (p *Page) Screenshot() ([]byte, error) {
	var r struct {
		Data []byte `json:"data"` // base64 in JSON, which encoding/json decodes
	}
	if err := p.Call("Page.captureScreenshot", map[string]any{"format": "png"}, &r); err != nil {
		return nil, err
	}
	return r.Data, nil
}

// Kill sends SIGKILL to the browser's own process alone, as kill -9 PID
// does to a guest's Chromium: its renderers and utility processes are
// left to notice on their own that it is gone. It does not wait; Close
// still ends what is left of the group and removes the profile.
func (b *Browser) Kill() error {
	return b.cmd.Process.Signal(syscall.SIGKILL)
}

// Exited is closed once the browser's own process has exited.
func (b *Browser) Exited() <-chan struct{} { return b.done }

// Close ends the browser and removes its profile. Safe to call twice.
func (b *Browser) Close() {
	if b.cmd.Process != nil {
		_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
	}
	<-b.done
	os.RemoveAll(b.dir)
}

// Close closes the page's DevTools socket (not the tab).
func (p *Page) Close() { p.ws.Close() }
