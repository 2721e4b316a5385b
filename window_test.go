package main

import (
	"bufio"
	"context"
	"image"
	"image/png"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"greenroom/encode/mediatest"
	"greenroom/studio/settings"
	"greenroom/studio/studiotest"
)

// screenshot grabs the whole virtual screen with ffmpeg's x11grab.
func screenshot(t *testing.T, display string) image.Image {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-v", "error", "-f", "x11grab", "-video_size", "1280x800", "-i", display,
		"-frames:v", "1", "-f", "image2pipe", "-vcodec", "png", "-").Output()
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	img, err := png.Decode(strings.NewReader(string(out)))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func changedShare(a, b image.Image, r image.Rectangle) float64 {
	var changed, n float64
	for y := r.Min.Y; y < r.Max.Y; y += 4 {
		for x := r.Min.X; x < r.Max.X; x += 4 {
			r1, g1, b1, _ := a.At(x, y).RGBA()
			r2, g2, b2, _ := b.At(x, y).RGBA()
			if math.Abs(float64(r1)-float64(r2))+math.Abs(float64(g1)-float64(g2))+math.Abs(float64(b1)-float64(b2)) > 30*257 {
				changed++
			}
			n++
		}
	}
	return changed / n
}

// TestWindowWithGuest is what a person sees: the real binary's window on a
// virtual display, a headless Chromium guest joining by the printed link,
// brought on stage, and the program preview moving. The screenshot is kept
// in testdata/out/window.png.
func TestWindowWithGuest(t *testing.T) {
	if testing.Short() {
		t.Skip("a real browser and the real binary's window")
	}
	display := mediatest.StartXvfb(t, "1280x800")
	home := t.TempDir()
	// No STUN server and no port mapping: the test machine reaches nothing
	// outside (a new user's default STUN servers are public ones, and the
	// router is asked to forward ports).
	noSTUN(t, home)
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "DISPLAY="+display, "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"), "LANG=en_US.UTF-8")
	stdout, _ := cmd.StdoutPipe()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := bufio.NewScanner(stdout)
	var guestURL, controlURL string
	for (guestURL == "" || controlURL == "") && lines.Scan() {
		if v, ok := strings.CutPrefix(lines.Text(), "guest link: "); ok {
			guestURL = v
		}
		if v, ok := strings.CutPrefix(lines.Text(), "control: "); ok {
			controlURL = v
		}
	}
	if guestURL == "" || controlURL == "" {
		t.Fatalf("no guest link and control URL printed; stderr:\n%s", stderr.String())
	}
	go io.Copy(io.Discard, stdout)
	// The link names this machine's LAN address; the browser is on the
	// same machine.
	gu, _ := url.Parse(guestURL)
	gu.Host = "127.0.0.1:" + gu.Port()
	cu, _ := url.Parse(controlURL)
	cu.Host = gu.Host

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	browser, pages, err := studiotest.StartChromium(ctx, gu.String()+"?name=Ann&join=1")
	if err != nil {
		t.Fatal(err)
	}
	defer browser.Close()

	client := &http.Client{Transport: &http.Transport{TLSClientConfig: insecureTLS()}, Timeout: 10 * time.Second}
	guest := waitGuest(t, client, cu)
	stage := *cu
	stage.Path = "/api/stage"
	resp, err := client.Post(stage.String(), "application/json", strings.NewReader(`{"id":"`+guest+`","on":true}`))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("stage the guest: %v %v", err, resp)
	}
	resp.Body.Close()
	time.Sleep(4 * time.Second) // the guest's video reaches the program

	// The guest sees and hears the host (the test pattern, as VP8 + Opus).
	var host struct {
		Frames, Width int
		Energy        float64
	}
	if err := pages[0].Eval(hostStatsJS, &host); err != nil {
		t.Fatal(err)
	}
	t.Logf("the guest decoded %d frames of the host at width %d, audio energy %.3f", host.Frames, host.Width, host.Energy)
	if host.Frames < 30 || host.Width != 640 || host.Energy <= 0 {
		t.Errorf("the guest does not see and hear the host: %+v", host)
	}

	a := screenshot(t, display)
	time.Sleep(500 * time.Millisecond)
	b := screenshot(t, display)
	os.MkdirAll("testdata/out", 0o755)
	if f, err := os.Create("testdata/out/window.png"); err == nil {
		png.Encode(f, b)
		f.Close()
	}
	// The preview fills the left of the window below the top bar.
	preview := image.Rect(20, 80, 850, 540)
	if c := changedShare(a, b, preview); c < 0.02 {
		t.Errorf("the program preview changed in %.1f%% of its pixels in 0.5 s: not moving", c*100)
	}
	if cmd.ProcessState != nil {
		t.Fatalf("the studio exited: %s", stderr.String())
	}
}

// waitGuest polls the control API until a guest has joined, and returns
// its ID.
func waitGuest(t *testing.T, client *http.Client, control *url.URL) string {
	t.Helper()
	deadline := time.Now().Add(40 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := client.Get(control.String())
		if err == nil {
			var st struct {
				Participants []struct{ ID, Role string }
			}
			err = jsonDecode(resp.Body, &st)
			resp.Body.Close()
			for _, p := range st.Participants {
				if p.Role == "guest" {
					return p.ID
				}
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatal("no guest joined within 40 s")
	return ""
}

// hostStatsJS sums what a guest page decodes from the others (here, the
// host alone).
const hostStatsJS = `(async () => {
  const out = {Frames: 0, Width: 0, Energy: 0};
  (await window.greenroom.pc.getStats()).forEach(r => {
    if (r.type !== "inbound-rtp") return;
    if (r.kind === "video") { out.Frames += r.framesDecoded || 0; out.Width = Math.max(out.Width, r.frameWidth || 0); }
    if (r.kind === "audio") out.Energy += r.totalAudioEnergy || 0;
  });
  return out;
})()`

// noSTUN writes the settings of a user who removed every STUN/TURN server
// and turned port mapping off into home's config folder.
func noSTUN(t *testing.T, home string) {
	t.Helper()
	dir := filepath.Join(home, ".config", "greenroom")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, settings.FileName), []byte(`{"network": {"ice_servers": [], "map_ports": false}}`), 0o600); err != nil {
		t.Fatal(err)
	}
}
