package record_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"greenroom/encode"
	"greenroom/encode/mediatest"
	"greenroom/encode/record"
	"greenroom/encode/stream"
)

// A full disk fails that recording, with the reason in words, and nothing
// else: the other recording goes on and is whole.
func TestFullDisk(t *testing.T) {
	p, err := encode.New(encode.Config{Width: 320, Height: 180, FPS: 30})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.AddTestPattern("host", 320, 180); err != nil {
		t.Fatal(err)
	}
	// Fragmented MP4 writes its header at once: a full disk is an error
	// before the show starts.
	if _, err := record.New(record.Config{Path: "/dev/full", Info: p.Info()}); err == nil || !strings.Contains(err.Error(), "space") {
		t.Fatalf("recording to a full disk: %v, want 'no space left'", err)
	}
	// Matroska buffers its header: the disk fills up mid-show.
	fullMKV := filepath.Join(t.TempDir(), "full.mkv")
	if err := os.Symlink("/dev/full", fullMKV); err != nil {
		t.Fatal(err)
	}
	full, err := record.New(record.Config{Path: fullMKV, Info: p.Info()})
	if err != nil {
		t.Fatal(err)
	}
	p.AddOutput(full)
	okPath := filepath.Join(t.TempDir(), "ok.mkv")
	ok, err := record.New(record.Config{Path: okPath, Info: p.Info()})
	if err != nil {
		t.Fatal(err)
	}
	p.AddOutput(ok)
	deadline := time.Now().Add(10 * time.Second)
	for full.Stats().State != stream.Failed && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	st := full.Stats()
	if st.State != stream.Failed || st.Err == nil || !strings.Contains(st.Err.Error(), "space") {
		t.Fatalf("recording to a full disk: %s %v, want failed with 'no space left'", st.State, st.Err)
	}
	time.Sleep(time.Second)
	if s := ok.Stats(); s.State != stream.Live || s.Dropped != 0 {
		t.Fatalf("the other recording: %+v", s)
	}
	if err := p.Close(); err == nil || !strings.Contains(err.Error(), "space") {
		t.Errorf("Close: %v, want the full disk reported", err)
	}
	if pr := mediatest.ProbeFile(t, okPath); pr.Video == nil || pr.Duration < 1 {
		t.Errorf("the other recording probes as %+v", pr)
	}
}

func TestFormats(t *testing.T) {
	p, err := encode.New(encode.Config{Width: 320, Height: 180, FPS: 30})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.AddTestPattern("host", 320, 180)
	dir := t.TempDir()
	want := map[string]string{"a.mp4": "mov,mp4", "b.mkv": "matroska", "c.flv": "flv", "d.mov": "mov,mp4"}
	for name := range want {
		r, err := record.New(record.Config{Path: filepath.Join(dir, name), Info: p.Info()})
		if err != nil {
			t.Fatal(err)
		}
		p.AddOutput(r)
	}
	time.Sleep(2500 * time.Millisecond)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	for name, format := range want {
		pr := mediatest.ProbeFile(t, filepath.Join(dir, name))
		if !strings.HasPrefix(pr.Format, format) || pr.Video == nil || pr.Audio == nil || pr.Duration < 2 {
			t.Errorf("%s: %+v, want %s with video and audio", name, pr, format)
		}
	}
}
