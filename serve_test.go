package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"greenroom/encode/mediatest"
	"greenroom/studio/settings"
	"greenroom/studio/studiotest"
)

func TestServeBadICEFlags(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "--ice", "turn:ann:pa55@"},
		{"serve", "--nat-ip", "my-router"},
	} {
		r := greenroom(t, 10*time.Second, args...)
		if r.code != 2 || len(lines(r.stderr)) != 1 || strings.Contains(r.stderr, "pa55") {
			t.Errorf("greenroom %v: exit %d, stderr %q; want 2 and one line without the password", args, r.code, r.stderr)
		}
	}
}

// --domain with a certificate of one's own, or without a domain the CA
// flags, is refused before anything starts; a domain that cannot have a
// certificate fails with one line.
func TestServeDomainBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"serve", "--domain", "studio.example.com", "--plain-http", "--listen", "127.0.0.1:0"}, 2, "drop --cert"},
		{[]string{"serve", "--domain", "studio.example.com", "--cert", "c.pem", "--key", "k.pem"}, 2, "drop --cert"},
		{[]string{"serve", "--acme-ca", "https://ca.example/dir"}, 2, "go with --domain"},
		{[]string{"serve", "--acme-http", ":80"}, 2, "go with --domain"},
		{[]string{"serve", "--domain", "192.0.2.7", "--listen", "127.0.0.1:0"}, 1, "not an address"},
	} {
		r := greenroom(t, 20*time.Second, tc.args...)
		if r.code != tc.code || len(lines(r.stderr)) != 1 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("greenroom %v: exit %d, stderr %q; want %d and one line with %q", tc.args, r.code, r.stderr, tc.code, tc.want)
		}
	}
}

// The guest limits, the upload cap and the loudness target out of range,
// or not numbers, are refused in one line that says the range.
func TestServeBadGuestLimits(t *testing.T) {
	for _, tc := range []struct{ flag, v, want string }{
		{"--max-on-stage", "17", "the guests on stage must be 1 to 16, not 17"},
		{"--max-in-green-room", "0", "the guests in the green room must be 1 to 50, not 0"},
		{"--max-in-green-room", "many", `--max-in-green-room "many": want a whole number`},
		{"--guest-kbps", "100", "the most a guest may send must be 800 to 20000 kb/s, not 100"},
		{"--loudness", "-20", `--loudness: loudness target -20 LUFS: a loudness target is -14, -16 or -23 LUFS, or "off"`},
		{"--loudness", "loud", `--loudness: loudness target "loud": a loudness target is`},
	} {
		r := greenroom(t, 10*time.Second, "serve", tc.flag, tc.v)
		if r.code != 2 || len(lines(r.stderr)) != 1 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%s %s: exit %d, stderr %q; want 2 and one line with %q", tc.flag, tc.v, r.code, r.stderr, tc.want)
		}
	}
}

// --guest-grace out of range, or not a number, is refused in one line
// that says the range.
func TestServeBadGuestGrace(t *testing.T) {
	for _, tc := range []struct{ v, want string }{
		{"1", "must be 2 to 600 seconds, not 1"},
		{"601", "must be 2 to 600 seconds, not 601"},
		{"ten", "want a number of seconds"},
	} {
		r := greenroom(t, 10*time.Second, "serve", "--guest-grace", tc.v)
		if r.code != 2 || len(lines(r.stderr)) != 1 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("--guest-grace %s: exit %d, stderr %q; want 2 and one line with %q", tc.v, r.code, r.stderr, tc.want)
		}
	}
}

// TestServeKilledMidShow: `serve --recordings DIR` killed with SIGKILL 4 s
// into a show (a crash, a power cut) leaves its show folder with a
// program and every person's own file (the host's, a pion guest's) that
// play at least as far as they did a second before (on a machine that
// keeps up, to a second or so before the end), and show.json naming the
// people's files.
func TestServeKilledMidShow(t *testing.T) {
	home, dir := t.TempDir(), t.TempDir()
	// Settings as the window leaves them: a crash must not harm them.
	st, err := settings.Open(filepath.Join(home, ".config", "greenroom"))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Update(func(s *settings.Settings) { s.RecordingDir, s.Ticker = dir, "Back soon" }); err != nil {
		t.Fatal(err)
	}
	saved, err := os.ReadFile(st.Path())
	if err != nil {
		t.Fatal(err)
	}
	cmd, u := startServe(t, home, "--recordings", dir, "--title", "Cut short")
	// A guest in the green room: everyone is recorded, backstage too.
	u.Path = "/api/rotate"
	resp, err := http.Post(u.String(), "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	var link struct {
		GuestURL string `json:"guest_url"`
	}
	err = json.NewDecoder(resp.Body).Decode(&link)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("POST /api/rotate: %s, %v", resp.Status, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	ann, err := studiotest.Join(ctx, link.GuestURL, "Ann", studiotest.Options{VideoIVF: "studio/testdata/video.ivf", AudioOgg: "studio/testdata/audio.ogg"})
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	defer ann.Close()
	u.Path = "/api/live"
	resp, err = http.Post(u.String(), "application/json", strings.NewReader(`{"on":true}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /api/live: %s", resp.Status)
	}
	live := time.Now()
	time.Sleep(3 * time.Second)
	folders, _ := filepath.Glob(filepath.Join(dir, "* Cut short"))
	if len(folders) != 1 {
		t.Fatalf("recordings folder: %v", folders)
	}
	files := []string{"program.mp4", "Host.webm", "Ann.webm"}
	// How far each plays a second before the kill: what it had written
	// then is never lost.
	before := map[string]float64{}
	for _, f := range files {
		if frames := mediatest.VideoFrameTimes(t, filepath.Join(folders[0], f)); len(frames) > 0 {
			before[f] = frames[len(frames)-1]
		}
	}
	time.Sleep(time.Second)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	cut := killed.Sub(live).Seconds()
	cmd.Wait()

	b, err := os.ReadFile(filepath.Join(folders[0], "show.json"))
	if err != nil || !strings.Contains(string(b), `"file": "Host.webm"`) || !strings.Contains(string(b), `"file": "Ann.webm"`) ||
		!strings.Contains(string(b), `"end_ms": 0,`) {
		t.Errorf("show.json (%v), want the host's and the guest's files and no end:\n%s", err, b)
	}
	for _, f := range files {
		frames := mediatest.VideoFrameTimes(t, filepath.Join(folders[0], f))
		if len(frames) == 0 {
			t.Errorf("%s: no pictures", f)
			continue
		}
		last := frames[len(frames)-1]
		t.Logf("%s, killed %.2f s into the show: %d pictures, the last at %.2f s (%.2f s a second before)", f, cut, len(frames), last, before[f])
		// On a machine that keeps up, within about a second of the kill
		// (measured 3.0 s of 4.0); a loaded one may lag more in making
		// the program, which is not the file's doing.
		if last < before[f] || last < 1.5 {
			t.Errorf("%s plays to %.2f s of the %.2f s recorded (%.2f s a second before the kill)", f, last, cut, before[f])
		}
	}

	// The next start says so (issue #14 item 6), once, and ends the show's
	// show.json; the settings are as they were.
	if left := time.Until(killed.Add(6 * time.Second)); left > 0 {
		time.Sleep(left) // show.json written last over 5 s ago: not live elsewhere
	}
	again, u := startServe(t, home, "--recordings", dir)
	var state struct {
		Recording struct {
			CutShort *struct{ Title, Folder, Message string } `json:"cutShort"`
		} `json:"recording"`
		Loudness struct{ Target float64 } `json:"loudness"`
	}
	getJSON(t, u, "/api/state", &state)
	if state.Loudness.Target != -14 {
		t.Errorf("serve without --loudness: the program's loudness target %g LUFS, want the default -14", state.Loudness.Target)
	}
	if c := state.Recording.CutShort; c == nil || c.Title != "Cut short" || c.Folder != folders[0] || !strings.Contains(c.Message, folders[0]) {
		t.Errorf("/api/state after the restart: recording.cutShort %+v, want the show and its folder %s", c, folders[0])
	} else {
		t.Logf("after the restart: %s", c.Message)
	}
	// The Recordings tab and /api/recordings still call it cut short,
	// now that its show.json has an end.
	var recs struct {
		Shows []struct {
			Path     string `json:"path"`
			CutShort bool   `json:"cut_short"`
		} `json:"shows"`
	}
	getJSON(t, u, "/api/recordings", &recs)
	if len(recs.Shows) != 1 || recs.Shows[0].Path != folders[0] || !recs.Shows[0].CutShort {
		t.Errorf("/api/recordings after the restart: %+v, want %s cut short", recs.Shows, folders[0])
	}
	again.Process.Signal(os.Interrupt)
	again.Wait()
	b, _ = os.ReadFile(filepath.Join(folders[0], "show.json"))
	if !strings.Contains(string(b), `"cut_short": true`) || strings.Contains(string(b), `"end_ms": 0,`) {
		t.Errorf("show.json after the restart, want its end and cut_short:\n%s", b)
	}
	if now, err := os.ReadFile(st.Path()); err != nil || string(now) != string(saved) {
		t.Errorf("settings after the crash and restart (%v):\n%s\nwant\n%s", err, now, saved)
	}
	if _, err := settings.Open(filepath.Dir(st.Path())); err != nil {
		t.Errorf("settings after the crash and restart: %v", err)
	}
}

// startServe starts `greenroom serve` on loopback with HOME home and
// args, and returns it and its control URL; it is killed when the test
// ends.
func startServe(t *testing.T, home string, args ...string) (*exec.Cmd, *url.URL) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--plain-http", "--listen", "127.0.0.1:0", "--no-default-stun", "--no-port-mapping"}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	control := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "control: "); ok {
				control <- v
			}
		}
	}()
	select {
	case v := <-control:
		u, err := url.Parse(v)
		if err != nil {
			t.Fatal(err)
		}
		return cmd, u
	case <-time.After(30 * time.Second):
		t.Fatal("serve printed no control URL within 30 s")
	}
	return nil, nil
}

// getJSON GETs path of the control URL u into v.
func getJSON(t *testing.T, u *url.URL, path string, v any) {
	t.Helper()
	g := *u
	g.Path = path
	resp, err := http.Get(g.String())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}
