package mediatest

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The tests run in parallel: each one mostly waits for a real-time publish.

func TestNginxRecordsPublish(t *testing.T) {
	t.Parallel()
	n := StartNginx(t, NginxOptions{})
	// The reference publish: ffmpeg -re testsrc2 1280x720@30 + 1 kHz sine, -g 60, 5 s.
	pub := Publish(t, n.URL("cam"), Source{})
	if err := pub.Wait(); err != nil {
		t.Fatalf("publish: %v", err)
	}
	n.WaitUnpublished(t, "cam", 5*time.Second)
	rec := n.Recording("cam")

	p := ProbeFile(t, rec)
	if p.Format != "flv" {
		t.Errorf("format %q, want flv", p.Format)
	}
	if v := p.Video; v == nil || v.Codec != "h264" || v.Width != 1280 || v.Height != 720 || v.PixFmt != "yuv420p" || math.Abs(v.FPS-30) > 1 {
		t.Errorf("video %+v, want h264 1280x720 yuv420p ~30 fps", v)
	}
	if a := p.Audio; a == nil || a.Codec != "aac" || a.SampleRate != 48000 || a.Channels != 2 {
		t.Errorf("audio %+v, want aac 48000 Hz 2 channels", a)
	}
	if math.Abs(p.Duration-5) > 0.3 {
		t.Errorf("duration %.3f s, want 5 s", p.Duration)
	}

	keys := KeyframeTimes(t, rec)
	if len(keys) != 3 {
		t.Errorf("keyframes at %v, want 3 (0, 2, 4 s)", keys)
	}
	for i := 1; i < len(keys); i++ {
		if d := keys[i] - keys[i-1]; math.Abs(d-2) > 0.05 {
			t.Errorf("keyframes at %v: %.3f s apart, want 2 s", keys, d)
		}
	}
	if c := FrameCount(t, rec); c < 145 || c > 151 {
		t.Errorf("%d frames, want 150", c)
	}
	if ts := VideoFrameTimes(t, rec); len(ts) < 145 || !slices.IsSorted(ts) {
		t.Errorf("%d frame times, want 150 increasing", len(ts))
	}

	img := Frame(t, rec, 2500*time.Millisecond)
	if b := img.Bounds(); b.Dx() != 1280 || b.Dy() != 720 {
		t.Errorf("frame is %v, want 1280x720", b)
	}
	// testsrc2 is colourful: a frame of one colour would mean a broken decode.
	if c0, c1 := img.At(10, 10), img.At(640, 360); c0 == c1 {
		t.Errorf("frame corners and centre are the same colour %v", c0)
	}

	if l := AudioLevel(t, rec, time.Second, 4*time.Second); l < -30 || l > -10 {
		t.Errorf("sine at %.1f dBFS, want about -21", l)
	}
	if calls := n.HookCalls(); len(calls) != 2 || calls[0].Call != "publish" || calls[1].Call != "publish_done" {
		t.Errorf("hook calls %+v, want publish then publish_done", calls)
	}
}

func TestProbeURLWhilePublishing(t *testing.T) {
	t.Parallel()
	n := StartNginx(t, NginxOptions{})
	pub := Publish(t, n.URL("live1"), Source{Width: 640, Height: 360, Silent: true, Duration: 8 * time.Second})
	n.WaitPublishing(t, "live1", 5*time.Second)
	start := time.Now()
	p := ProbeURL(t, n.URL("live1"), 7*time.Second) // GOP 2 s + analysis: 3.5 s

	t.Logf("live probe took %v", time.Since(start).Round(time.Millisecond))
	select {
	case <-pub.Done():
		t.Fatalf("publish ended before the probe answered: %v", pub.Wait())
	default:
	}
	if v := p.Video; v == nil || v.Codec != "h264" || v.Width != 640 || v.Height != 360 {
		t.Errorf("live video %+v, want h264 640x360", v)
	}
	if a := p.Audio; a == nil || a.Codec != "aac" || a.SampleRate != 48000 {
		t.Errorf("live audio %+v, want aac 48000 Hz", a)
	}
	if err := pub.Wait(); err != nil {
		t.Fatalf("publish: %v", err)
	}
	n.WaitUnpublished(t, "live1", 5*time.Second)
	if l := AudioLevel(t, n.Recording("live1"), time.Second, 7*time.Second); l > -80 {
		t.Errorf("silence at %.1f dBFS, want below -80", l)
	}
}

func TestProbeURLNothingPublished(t *testing.T) {
	t.Parallel()
	n := StartNginx(t, NginxOptions{})
	ctx, cancel := context.WithTimeout(t.Context(), 1500*time.Millisecond)
	defer cancel()
	start := time.Now()
	if p, err := ProbeContext(ctx, n.URL("nobody")); err == nil {
		t.Fatalf("probe of an unpublished stream answered %+v", p)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("probe took %v to give up, want about 1.5 s", d)
	}
}

func TestRefusedPublish(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		opt     NginxOptions
		key     string
		refused bool
		logs    string // in nginx's log when refused
	}{
		{"deny publish all", NginxOptions{DenyPublish: true}, "any", true, "access forbidden by rule"},
		{"rejected key", NginxOptions{RejectKeys: []string{"bad", "worse"}}, "bad", true, "notify: publish"},
		{"other key accepted", NginxOptions{RejectKeys: []string{"bad"}}, "good", false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			n := StartNginx(t, tc.opt)
			start := time.Now()
			err := Publish(t, n.URL(tc.key), Source{Width: 320, Height: 240, Duration: 2 * time.Second}).Wait()
			took := time.Since(start)
			if !tc.refused {
				if err != nil {
					t.Fatalf("publish refused: %v", err)
				}
				n.WaitUnpublished(t, tc.key, 5*time.Second)
				return
			}
			if err == nil {
				t.Fatalf("publish of %q succeeded", tc.key)
			}
			t.Logf("refused after %v: %v", took.Round(time.Millisecond), err)
			if took > 1500*time.Millisecond {
				t.Errorf("ffmpeg took %v to fail, want well under the 2 s it would publish for", took)
			}
			if !strings.Contains(n.Log(), tc.logs) {
				t.Errorf("nginx log lacks %q", tc.logs)
			}
			// DenyPublish leaves an empty file: see Nginx.Recording.
			if fi, err := os.Stat(n.Recording(tc.key)); err == nil && fi.Size() > 0 {
				t.Errorf("a refused publish was recorded: %d bytes", fi.Size())
			}
		})
	}
}

func TestWriteTestFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "src.mp4")
	WriteTestFile(t, path, Source{Width: 320, Height: 240, FPS: 25, Duration: time.Second, NoAudio: true})
	p := ProbeFile(t, path)
	if p.Video == nil || p.Video.Width != 320 || math.Abs(p.Video.FPS-25) > 0.01 || p.Audio != nil {
		t.Errorf("probe %+v video %+v, want 320x240 at 25 fps without audio", p, p.Video)
	}
	if c := FrameCount(t, path); c != 25 {
		t.Errorf("%d frames, want 25", c)
	}
}

func TestFreePorts(t *testing.T) {
	if p := FreeTCPPort(t); p <= 0 || p > 65535 {
		t.Errorf("TCP port %d", p)
	}
	if p := FreeUDPPort(t); p <= 0 || p > 65535 {
		t.Errorf("UDP port %d", p)
	}
}

// FreezesAt says where each run of repeated pictures began (the frame
// repeated) and how long it was shown, longest first.
func TestFreezesAt(t *testing.T) {
	tl := Tile{FPS: 10, Y: make([]float64, 8), Diff: []float64{0, 9, 0, 0, 9, 0, 9, 9}}
	got := tl.FreezesAt(0, 0, 0.5)
	want := []Span{{At: 100 * time.Millisecond, Len: 300 * time.Millisecond}, {At: 400 * time.Millisecond, Len: 200 * time.Millisecond}}
	if !slices.Equal(got, want) {
		t.Errorf("FreezesAt = %v, want %v", got, want)
	}
}

// GreyRuns measures runs of consecutive grey frames, longest first, and
// only between from and to.
func TestGreyRuns(t *testing.T) {
	tl := Tile{FPS: 10, Y: make([]float64, 11), Grey: []float64{0.5, 0, 0.3, 0.3, 0.3, 0, 0.01, 0.4, 0, 0.9, 0.9}}
	got := tl.GreyRuns(100*time.Millisecond, 900*time.Millisecond, 0.02)
	want := []time.Duration{300 * time.Millisecond, 100 * time.Millisecond}
	if !slices.Equal(got, want) {
		t.Errorf("GreyRuns = %v, want %v", got, want)
	}
}
