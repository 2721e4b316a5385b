package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"greenroom/encode/mediatest"
	"greenroom/studio/studiotest"
)

// TestServeKilledMidUpload: `serve --recordings DIR` killed with SIGKILL
// while a Chromium guest's local recording is still uploading (its
// uploads slowed to 30 kB/s, so chunks wait in its IndexedDB), and
// started again on the same config folder and address. The page, whose
// socket broke without a word, is back in the call by itself within
// rejoinWithin (the link is kept: its media flows to the new studio),
// told not to record (the new studio's show isn't recorded), and
// finishes the upload into the same file: complete (the studio's count
// of chunks is the page's), its pictures in order, decoding to its end.
// After New link, the old one is refused and the new one works.
func TestServeKilledMidUpload(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	if _, err := os.Stat(studiotest.ChromiumPath); err != nil {
		t.Skip("no chromium:", err)
	}
	home, dir := t.TempDir(), t.TempDir()
	cmd, u := startServe(t, home, "--recordings", dir, "--title", "Crash")
	call := func(u_ *url.URL, path, body string, v any) {
		t.Helper()
		g := *u_
		g.Path = path
		resp, err := http.Post(g.String(), "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST %s: %s", path, resp.Status)
		}
		if v != nil {
			_ = json.NewDecoder(resp.Body).Decode(v)
		}
	}
	var link struct {
		GuestURL string `json:"guest_url"`
	}
	call(u, "/api/rotate", `{}`, &link)
	call(u, "/api/localrec", `{"on":true}`, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	b, pages, err := studiotest.StartChromium(ctx, link.GuestURL+"?name=Ann&join=1")
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	page := pages[0]
	type upload struct {
		Take     string `json:"take"`
		File     string `json:"file"`
		State    string `json:"state"`
		Chunks   int    `json:"chunks"`
		Recorded int    `json:"recorded"`
		Bytes    int64  `json:"bytes"`
	}
	var state struct {
		Participants []struct {
			ID        string `json:"id"`
			Name      string `json:"name"`
			Connected bool   `json:"connected"`
			Place     string `json:"place"`
		} `json:"participants"`
		Uploads []upload `json:"uploads"`
	}
	until := func(what string, wait time.Duration, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(wait)
		for !cond() {
			if time.Now().After(deadline) {
				var errs []string
				_ = page.Eval(`window.greenroomLocal ? greenroomLocal.status.errors : []`, &errs)
				t.Fatalf("%s: not within %v (state %+v; page errors %q)", what, wait, state, errs)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	ann := ""
	until("Ann in the show", 20*time.Second, func() bool {
		getJSON(t, u, "/api/state", &state)
		for _, p := range state.Participants {
			if p.Name == "Ann" {
				ann = p.ID
			}
		}
		return ann != ""
	})
	call(u, "/api/stage", `{"id":"`+ann+`","on":true}`, nil)
	call(u, "/api/live", `{"on":true}`, nil)
	until("Ann's first chunk stored", 20*time.Second, func() bool {
		getJSON(t, u, "/api/state", &state)
		return len(state.Uploads) == 1 && state.Uploads[0].Chunks >= 1
	})
	throttle := func(bytesPerSecond int) {
		if err := page.EmulateNetwork(false, bytesPerSecond); err != nil {
			t.Fatal(err)
		}
	}
	throttle(30_000)
	time.Sleep(4 * time.Second)
	getJSON(t, u, "/api/state", &state)
	before := state.Uploads[0]
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	t.Logf("killed with %d chunks stored", before.Chunks)

	restarted := time.Now()
	_, u = startServe(t, home, "--recordings", dir, "--listen", u.Host)
	throttle(-1)
	// The page retries every 2 s at most, then joins as a new guest, put
	// back on stage (she was there: issue #11, studio/stagekeep.go), and
	// connects its media.
	const rejoinWithin = 15 * time.Second
	place := ""
	until("Ann back in the call", rejoinWithin, func() bool {
		getJSON(t, u, "/api/state", &state)
		for _, p := range state.Participants {
			if p.Name == "Ann" && p.Connected {
				place = p.Place
				return true
			}
		}
		return false
	})
	t.Logf("Ann's media flowed to the restarted studio %.1f s after it started; her place %q", time.Since(restarted).Seconds(), place)
	if place != "stage" {
		t.Errorf("Ann, on stage when the studio was killed, is back in %q", place)
	}
	until("Ann's upload complete after the restart", 40*time.Second, func() bool {
		getJSON(t, u, "/api/state", &state)
		return len(state.Uploads) == 1 && state.Uploads[0].State == "complete"
	})
	up := state.Uploads[0]
	var seen struct{ Total int }
	_ = page.Eval(`greenroomLocal.status.takes["`+before.Take+`"]`, &seen)
	var note string
	_ = page.Eval(`document.getElementById("ended-reason") ? document.getElementById("ended-reason").textContent : ""`, &note)
	t.Logf("after the restart: %+v; the page recorded %d chunks and says %q", up, seen.Total, note)
	if note != "" {
		t.Errorf("the page ended its session: %q", note)
	}
	if up.Take != before.Take || up.Chunks != seen.Total || up.Chunks != up.Recorded || up.Chunks <= before.Chunks {
		t.Errorf("take %s: %d chunks stored of %d, %d before the kill; the page recorded %d of take %s",
			up.Take, up.Chunks, up.Recorded, before.Chunks, seen.Total, before.Take)
	}
	if st, _ := os.Stat(up.File); st == nil || st.Size() != up.Bytes {
		t.Errorf("%s: %v on disk, %d bytes stored", up.File, st, up.Bytes)
	}
	frames := mediatest.PlaysThrough(t, up.File)
	if len(frames) == 0 {
		t.Fatalf("%s: no pictures", up.File)
	}
	t.Logf("%s: %d pictures over %.2f s", filepath.Base(up.File), len(frames), frames[len(frames)-1]-frames[0])

	var fresh struct {
		GuestURL string `json:"guest_url"`
	}
	call(u, "/api/rotate", `{}`, &fresh)
	for _, c := range []struct {
		what, link string
		want       int
	}{{"old", link.GuestURL, http.StatusForbidden}, {"new", fresh.GuestURL, http.StatusOK}} {
		resp, err := http.Head(c.link)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("after New link, HEAD of the %s link: %s, want %d", c.what, resp.Status, c.want)
		}
	}
}
