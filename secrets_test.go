package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"greenroom/encode/mediatest"
	"greenroom/studio/settings"
	"greenroom/studio/studiotest"
)

// TestSecretsNeverLeak runs a whole show through serve, in process, with
// every secret it knows — a stream key, a TURN password, the guest link's
// and the control API's tokens — and everything going wrong on purpose: a
// destination that refuses its key, one that is not there, a TURN server
// that does not answer, a bad --ice URL with a password in it, wrong
// tokens and bad control requests. It captures all that a person or a log
// collector could see (serve's stdout and stderr with slog at debug level,
// pion's and FFmpeg's logs routed into it; /api/state and /api/events;
// the failed outputs' errors as the window shows them; what the settings
// package says about a file holding the same secrets) and fails if any
// secret is in it, as it is or URL-, hex- or base64-encoded. The tokens
// may appear only where they are meant to: the two links serve prints.
func TestSecretsNeverLeak(t *testing.T) {
	if testing.Short() {
		t.Skip("a whole show: encodes 720p and goes live")
	}
	const (
		streamKey   = "sk-live-Q7xT2pV9mZ4wR8yK"
		refusedKey  = "sk-refused-N5cM2bV8xZ1q"
		deadKey     = "sk-dead-H3nB6cJ1fL5gD0sA"
		turnPass    = "tp-Zk8Wq3Ym6Xr1Vn4B"
		badICEPass  = "tp-bad-Lr7Hs2Kd9Pf4"
		settingsKey = "sk-settings-W4eR6tY8uI0o"
		// An SRT destination's streamid and passphrase, and a passphrase
		// its listener rejects (issue #13).
		srtStream    = "srt-sid-P3oW8eR5tYu1"
		srtPass      = "srt-pp-Jd7Kq2Lm9Xc4"
		srtWrongPass = "srt-wrong-Bn4Vc7Xz1Q"
	)
	secrets := []string{streamKey, refusedKey, deadKey, turnPass, badICEPass, settingsKey, srtStream, srtPass, srtWrongPass}
	var seen capture // everything the test saw, by where

	// A --ice URL that does not parse, with a password in it: serve
	// refuses it in words.
	{
		var out, errb bytes.Buffer
		code := runServe(t.Context(), []string{"--ice", "turn:ann:" + badICEPass + "@[::1"}, &out, &errb)
		if code != 2 {
			t.Errorf("serve with a bad --ice: exit %d, want 2", code)
		}
		seen.add("serve --ice (bad) stdout", out.String())
		seen.add("serve --ice (bad) stderr", errb.String())
	}

	t.Setenv("HOME", t.TempDir())
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	n := mediatest.StartNginx(t, mediatest.NginxOptions{RejectKeys: []string{refusedKey}})
	dead := fmt.Sprintf("rtmp://127.0.0.1:%d/live/%s", mediatest.FreeTCPPort(t), deadKey)
	srt := mediatest.StartSRTServer(t, srtPass)
	port := mediatest.FreeTCPPort(t)
	turn := fmt.Sprintf("turn:ann:%s@127.0.0.1:%d?transport=udp", turnPass, mediatest.FreeUDPPort(t))

	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	stdout, stderr := &lockedBuffer{}, &lockedBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- runServe(ctx, []string{"-v", "--plain-http", "--listen", "127.0.0.1:" + strconv.Itoa(port),
			"--no-default-stun", "--no-port-mapping", "--ice", turn,
			"--to", n.URL(streamKey), "--to", n.URL(refusedKey), "--to", dead,
			"--to", srt.URL(srtStream, ""), "--to", srt.URL(srtStream, srtWrongPass)}, stdout, stderr)
	}()
	var guestURL, controlURL string
	for deadline := time.Now().Add(30 * time.Second); guestURL == "" || controlURL == ""; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("serve printed no links in 30 s\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited (%d)\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		default:
		}
		for _, l := range lines(stdout.String()) {
			if v, ok := strings.CutPrefix(l, "guest link: "); ok {
				guestURL = v
			} else if v, ok := strings.CutPrefix(l, "control: "); ok {
				controlURL = v
			}
		}
	}
	gu, err := url.Parse(guestURL)
	if err != nil {
		t.Fatal(err)
	}
	cu, err := url.Parse(controlURL)
	if err != nil {
		t.Fatal(err)
	}
	guestToken := gu.Path[strings.LastIndex(gu.Path, "/")+1:]
	controlToken := cu.Query().Get("token")
	if guestToken == "" || controlToken == "" {
		t.Fatalf("no tokens in %s and %s", guestURL, controlURL)
	}
	secrets = append(secrets, guestToken, controlToken)
	base := cu.Scheme + "://" + cu.Host

	// api sends a control request and keeps the answer.
	api := func(method, path, token, body string) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, method, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			seen.add(method+" "+path+" error", err.Error())
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		seen.add(fmt.Sprintf("%s %s (%d)", method, path, resp.StatusCode), string(b))
	}

	// The event stream, from before the first guest to the end.
	events := &lockedBuffer{}
	evDone := make(chan struct{})
	go func() {
		defer close(evDone)
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/events", nil)
		req.Header.Set("Authorization", "Bearer "+controlToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return
		}
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			events.Write(append(sc.Bytes(), '\n'))
		}
	}()

	// Guests: one that joins and sends media, one with a wrong link.
	ann, err := studiotest.Join(ctx, guestURL, "Ann", studiotest.Options{VideoIVF: "studio/testdata/video.ivf", AudioOgg: "studio/testdata/audio.ogg"})
	if err != nil {
		t.Fatalf("join: %v", err)
	}
	defer ann.Close()
	if _, err := studiotest.Join(ctx, strings.Replace(guestURL, guestToken, guestToken+"x", 1), "Eve", studiotest.Options{}); err == nil {
		t.Error("a wrong guest link joined")
	} else {
		seen.add("join with a wrong link", err.Error())
	}

	// Wrong tokens and bad requests, the right token's answers too.
	api("GET", "/api/state", controlToken+"x", "")
	api("GET", "/api/state?token="+url.QueryEscape(controlToken+"x"), "", "")
	api("POST", "/api/live", controlToken, `{"on": "yes"}`)
	api("POST", "/api/kick", controlToken, `{"id": "nobody"}`)
	api("POST", "/api/stage", controlToken, `{"id": "nobody", "on": true}`)
	api("POST", "/api/nothing", controlToken, `{}`)

	// Live: nginx takes one key and refuses the other, the third server is
	// not there; the SRT listener takes its passphrase and rejects the
	// wrong one.
	api("POST", "/api/live", controlToken, `{"on": true}`)
	n.WaitPublishing(t, streamKey, 20*time.Second)
	// The failed outputs' errors, logged as the window's cards show them
	// (OutputStats.Err).
	for deadline := time.Now().Add(20 * time.Second); strings.Count(stderr.String(), "publish failed") < 3; time.Sleep(250 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Errorf("want the refused, the unreachable and the SRT-rejected destinations' failures logged; stderr:\n%s", stderr)
			break
		}
	}
	api("GET", "/api/state", controlToken, "")
	time.Sleep(2 * time.Second) // some show: media, stats, retries
	api("POST", "/api/live", controlToken, `{"on": false}`)
	ann.Leave()
	time.Sleep(500 * time.Millisecond)
	stop()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("serve exit %d", code)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop in 30 s")
	}
	<-evDone
	// The SRT destination that took its passphrase was live: its
	// listener got the stream.
	srt.Stop()
	if p := mediatest.ProbeFile(t, srt.Recording); p.Video == nil || p.Duration < 1 {
		t.Errorf("the SRT listener got %+v: want the show", p)
	}

	// serve prints the links, with their tokens, on purpose; nowhere else.
	out := stdout.String()
	out = strings.Replace(out, "guest link: "+guestURL+"\n", "", 1)
	out = strings.Replace(out, "control: "+controlURL+"\n", "", 1)
	seen.add("serve stdout (without its two links)", out)
	seen.add("serve stderr (slog at debug level, pion, FFmpeg)", stderr.String())
	seen.add("/api/events", events.String())
	seen.add("the guest's errors", strings.Join(ann.Errors(), "\n"))
	if !strings.Contains(stderr.String(), "level=DEBUG") {
		t.Error("no debug logs from serve -v: the test looked at too little")
	}

	// What the settings package says and shows of a file with keys, an SRT
	// passphrase and a TURN password in it: a field out of range, then the file damaged.
	dir := t.TempDir()
	file := `{"destinations": [{"id": "d1", "service": "custom", "name": "Mine", "url": "rtmp://127.0.0.1/live", "stream_key": "` + settingsKey +
		`", "enabled": true}, {"id": "d2", "service": "custom", "name": "SRT", "url": "srt://127.0.0.1:9000", "stream_key": "` + srtStream +
		`", "passphrase": "` + srtPass + `", "enabled": true}], "network": {"ice_servers": ["turn:ann:` + turnPass + `@127.0.0.1:3478", "turn:bob:` + turnPass + `@["]}, "output": {"fps": 500}`
	if err := os.WriteFile(filepath.Join(dir, settings.FileName), []byte(file+"}"), 0o600); err != nil {
		t.Fatal(err)
	}
	store, err := settings.Open(dir)
	if store == nil || err == nil {
		t.Fatalf("settings.Open: %v, %v", store, err)
	}
	seen.add("settings: a field out of range", err.Error())
	set := store.Get()
	seen.add("settings: printed", fmt.Sprintf("%v\n%+v\n%#v", set, set, set))
	if b, err := json.Marshal(set); err == nil {
		seen.add("settings: as JSON", string(b))
	}
	for _, d := range set.Destinations {
		seen.add("settings: destination checked", fmt.Sprint(d.Validate()))
	}
	seen.add("settings: servers checked", fmt.Sprint(set.Network.Validate()))
	if err := os.WriteFile(filepath.Join(dir, settings.FileName), []byte(file), 0o600); err != nil { // not JSON
		t.Fatal(err)
	}
	_, err = settings.Open(dir)
	var damaged *settings.DamagedError
	if !errors.As(err, &damaged) {
		t.Fatalf("settings.Open of a damaged file: %v", err)
	}
	seen.add("settings: damaged file", err.Error())

	seen.check(t, secrets)
}

// capture is what a test saw, by where it saw it.
type capture struct {
	where, text []string
}

func (c *capture) add(where, text string) {
	c.where = append(c.where, where)
	c.text = append(c.text, text)
}

// check fails the test for every secret found, in any of its encodings.
func (c *capture) check(t *testing.T, secrets []string) {
	t.Helper()
	total := 0
	for i, text := range c.text {
		total += len(text)
		for _, s := range secrets {
			for _, form := range encodings(s) {
				if j := strings.Index(text, form); j >= 0 {
					t.Errorf("a secret is in %s (%q):\n…%s…", c.where[i], form, text[max(j-200, 0):min(j+len(form)+200, len(text))])
				}
			}
		}
	}
	t.Logf("looked for %d secrets in %d captures, %d bytes", len(secrets), len(c.text), total)
}

// encodings are the forms a secret could leak in: as it is, in a URL
// (query or path escaped), hex, and base64 (a basic-auth header, a data
// URL), with and without padding.
func encodings(s string) []string {
	b := []byte(s)
	var forms []string
	for _, f := range []string{s, url.QueryEscape(s), url.PathEscape(s), fmt.Sprintf("%x", b),
		base64.RawStdEncoding.EncodeToString(b), base64.RawURLEncoding.EncodeToString(b)} {
		if !slices.Contains(forms, f) {
			forms = append(forms, f)
		}
	}
	return forms
}

// lockedBuffer is a bytes.Buffer that serve's goroutines and the test
// share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
