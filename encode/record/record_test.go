package record_test

import (
	"context"
	"math"
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
	p := smallProgram(t)
	// Neither Matroska nor fragmented MP4 writes its header at once (MP4:
	// delay_moov): the disk fills up mid-show, at the first cluster or
	// fragment, for both.
	var fulls []*record.Recorder
	for _, name := range []string{"full.mkv", "full.mp4"} {
		path := filepath.Join(t.TempDir(), name)
		if err := os.Symlink("/dev/full", path); err != nil {
			t.Fatal(err)
		}
		full, err := record.New(record.Config{Path: path, Info: p.Info()})
		if err != nil {
			t.Fatal(err)
		}
		p.AddOutput(full)
		fulls = append(fulls, full)
	}
	okPath := filepath.Join(t.TempDir(), "ok.mkv")
	ok, err := record.New(record.Config{Path: okPath, Info: p.Info()})
	if err != nil {
		t.Fatal(err)
	}
	p.AddOutput(ok)
	deadline := time.Now().Add(10 * time.Second)
	for _, full := range fulls {
		for full.Stats().State != stream.Failed && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		st := full.Stats()
		if st.State != stream.Failed || st.Err == nil || !strings.Contains(st.Err.Error(), "space") {
			t.Fatalf("recording to a full disk (%s): %s %v, want failed with 'no space left'", full.Name(), st.State, st.Err)
		}
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
	p := smallProgram(t)
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

// Start is the program time of the file's time 0, whatever the format and
// however long the program ran before the recording: a picture the
// program made at time T is at T − Start in the file (issue #11: the
// show's other files take that zero).
func TestStartIsTheFilesZero(t *testing.T) {
	p := smallProgram(t)
	time.Sleep(700 * time.Millisecond) // the program's clock is past 0
	dir := t.TempDir()
	var outs []*firstVideo
	for _, name := range []string{"a.mp4", "b.mkv"} {
		r, err := record.New(record.Config{Path: filepath.Join(dir, name), Info: p.Info()})
		if err != nil {
			t.Fatal(err)
		}
		o := &firstVideo{Recorder: r, at: -1}
		outs = append(outs, o)
		p.AddOutput(o)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	starts := make([]time.Duration, len(outs))
	for i, o := range outs {
		var err error
		if starts[i], err = o.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(time.Second)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	for i, o := range outs {
		frames := mediatest.VideoFrameTimes(t, o.Name())
		if len(frames) == 0 {
			t.Fatalf("%s: no pictures", o.Name())
		}
		want := (o.at - starts[i]).Seconds()
		t.Logf("%s: start %v, first picture at %v in the program, %.3f s in the file", filepath.Base(o.Name()), starts[i], o.at, frames[0])
		if starts[i] < 500*time.Millisecond || math.Abs(frames[0]-want) > 0.002 {
			t.Errorf("%s: first picture at %.3f s in the file, want %.3f (program time %v − Start %v)", filepath.Base(o.Name()), frames[0], want, o.at, starts[i])
		}
	}
}

// firstVideo notes the program time of the first picture it records.
type firstVideo struct {
	*record.Recorder
	at time.Duration // -1 until then; written by the pipeline's video encoder only
}

func (f *firstVideo) Write(p *stream.Packet) {
	if p.Kind == stream.Video && f.at < 0 {
		f.at = p.PTS
	}
	f.Recorder.Write(p)
}

// smallProgram is a 320x180 program of the test pattern, closed at the
// test's end (Close is safe twice: the tests close it to finish files).
func smallProgram(t *testing.T) *encode.Pipeline {
	t.Helper()
	p, err := encode.New(encode.Config{Width: 320, Height: 180, FPS: 30})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	if _, err := p.AddTestPattern("host", 320, 180); err != nil {
		t.Fatal(err)
	}
	return p
}
