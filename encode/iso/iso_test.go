package iso_test

import (
	"bytes"
	"errors"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/pion/webrtc/v4/pkg/media/ivfreader"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"

	"greenroom/encode/iso"
	"greenroom/encode/mediatest"
	"greenroom/encode/stream"
)

// media makes 3 s of 320x240 VP8 (a keyframe a second) and of Opus, and
// returns their frames as a person's, at show time offset on.
func media(t testing.TB, offset time.Duration) []*stream.Packet {
	t.Helper()
	dir := t.TempDir()
	v, a := filepath.Join(dir, "v.ivf"), filepath.Join(dir, "a.ogg")
	for _, args := range [][]string{
		{"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-t", "3", "-c:v", "libvpx", "-g", "30", "-deadline", "realtime", v},
		{"-f", "lavfi", "-i", "sine=440:sample_rate=48000", "-t", "3", "-c:a", "libopus", "-frame_duration", "20", "-page_duration", "20000", a},
	} {
		if out, err := exec.Command("ffmpeg", append([]string{"-v", "error", "-y"}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg %v: %v\n%s", args, err, out)
		}
	}
	var video, audio []*stream.Packet
	f, _ := os.Open(v)
	defer f.Close()
	r, _, err := ivfreader.NewWith(f)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		frame, _, err := r.ParseNextFrame()
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		at := offset + time.Duration(i)*time.Second/30
		video = append(video, &stream.Packet{Kind: stream.Video, Data: frame, PTS: at, DTS: at, Key: frame[0]&1 == 0})
	}
	g, _ := os.Open(a)
	defer g.Close()
	o, _, err := oggreader.NewWith(g)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		page, _, err := o.ParseNextPage()
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		at := offset + time.Duration(i)*20*time.Millisecond
		audio = append(audio, &stream.Packet{Kind: stream.Audio, Data: page, PTS: at, DTS: at, Key: true})
	}
	// Interleaved in time order, as they come from the network.
	var out []*stream.Packet
	for len(video) > 0 || len(audio) > 0 {
		if len(audio) == 0 || (len(video) > 0 && video[0].PTS <= audio[0].PTS) {
			out, video = append(out, video[0]), video[1:]
		} else {
			out, audio = append(out, audio[0]), audio[1:]
		}
	}
	return out
}

// TestPersonsFile: a person who joined 1.5 s into the show gets a WebM
// file with their VP8 and Opus as sent, starting at 1.5 s; copied while
// it is still being written, it already plays its first seconds; a second
// file of the same name gets " (2)".
func TestPersonsFile(t *testing.T) {
	dir := t.TempDir()
	pkts := media(t, 1500*time.Millisecond)
	w := iso.New(iso.Config{Dir: dir, Stem: "Ann"})
	defer w.Close()
	for _, p := range pkts {
		w.Write("video/VP8", p)
	}
	// Written as it goes: what is on disk now plays without the file's
	// end (no trailer, no index), up to a second or so before the last
	// frame.
	time.Sleep(2 * 500 * time.Millisecond) // two flushes
	path := filepath.Join(dir, "Ann.webm")
	partial := filepath.Join(t.TempDir(), "copy.webm")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(partial, data, 0o644); err != nil {
		t.Fatal(err)
	}
	mid := mediatest.ProbeFile(t, partial)
	last := mediatest.VideoFrameTimes(t, partial)
	t.Logf("mid-way copy: %d bytes, %d frames, the last at %.2f s", len(data), len(last), last[len(last)-1])
	if len(last) == 0 || last[len(last)-1] < 1.5+3-1.2 || mid.Audio == nil {
		t.Errorf("a copy made while writing plays to %v; want up to within about a second of 4.5 s, with sound", last)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	st := w.Stats()
	p := mediatest.ProbeFile(t, path)
	t.Logf("%s: %+v %+v start %.3f duration %.3f; stats %+v", st.File, *p.Video, *p.Audio, p.StartTime, p.Duration, st)
	if st.File != "Ann.webm" || p.Video == nil || p.Video.Codec != "vp8" || p.Video.Width != 320 || p.Audio == nil || p.Audio.Codec != "opus" {
		t.Fatalf("%s: %+v", st.File, p)
	}
	if math.Abs(p.StartTime-1.5) > 0.001 || st.Start != 1500*time.Millisecond {
		t.Errorf("starts at %.3f s (stats %v), want 1.5 s: the time the person joined the show", p.StartTime, st.Start)
	}
	// Matroska's duration runs from the timeline's zero: the file ends
	// where the person's media did, on the show's time.
	if p.Duration < 4.4 || p.Duration > 4.6 {
		t.Errorf("ends at %.3f s, want 4.5", p.Duration)
	}
	if st.Written != int64(len(pkts)) || st.Dropped != 0 {
		t.Errorf("wrote %d of %d frames, dropped %d", st.Written, len(pkts), st.Dropped)
	}

	again := iso.New(iso.Config{Dir: dir, Stem: "Ann"})
	for _, p := range pkts[:100] {
		again.Write("video/VP8", p)
	}
	if err := again.Close(); err != nil {
		t.Fatal(err)
	}
	if f := again.Stats().File; f != "Ann (2).webm" {
		t.Errorf("a second Ann's file is %q, want Ann (2).webm", f)
	}
	if b, _ := os.ReadFile(path); len(b) < len(data) {
		t.Errorf("the first file shrank to %d bytes", len(b))
	}
}

// TestPersonsFileKinds: a person with a mic and no camera gets a WebM
// with their Opus alone, once HeaderWait of it came without a picture; one
// whose camera sends H.264 gets a Matroska file (.mkv) with it as sent.
func TestPersonsFileKinds(t *testing.T) {
	dir := t.TempDir()
	mic := iso.New(iso.Config{Dir: dir, Stem: "Cat", HeaderWait: time.Second})
	for _, p := range media(t, 0) {
		if p.Kind == stream.Audio {
			mic.Write("audio/opus", p)
		}
	}
	if err := mic.Close(); err != nil {
		t.Fatal(err)
	}
	if p := mediatest.ProbeFile(t, filepath.Join(dir, "Cat.webm")); p.Video != nil || p.Audio == nil || p.Audio.Codec != "opus" || p.Duration < 2.9 {
		t.Errorf("Cat.webm: %+v, want 3 s of Opus alone", p)
	}

	// 2 s of H.264 as a browser sends it (Constrained Baseline, one slice
	// a picture), an access unit per frame in Annex-B.
	h264 := filepath.Join(t.TempDir(), "v.h264")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-t", "2",
		"-c:v", "libx264", "-profile:v", "baseline", "-g", "30", "-bsf:v", "h264_mp4toannexb", h264).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	data, err := os.ReadFile(h264)
	if err != nil {
		t.Fatal(err)
	}
	cam := iso.New(iso.Config{Dir: dir, Stem: "Dan"})
	var unit []byte
	frames := 0
	for _, nal := range bytes.Split(data, []byte{0, 0, 1}) {
		nal = bytes.TrimRight(nal, "\x00") // a 4-byte start code's first zero
		if len(nal) == 0 {
			continue
		}
		unit = append(append(unit, 0, 0, 0, 1), nal...)
		if t := nal[0] & 0x1f; t == 1 || t == 5 { // a slice ends the picture
			at := time.Duration(frames) * time.Second / 30
			cam.Write("video/H264", &stream.Packet{Kind: stream.Video, Data: unit, PTS: at, DTS: at, Key: t == 5})
			unit, frames = nil, frames+1
		}
	}
	if err := cam.Close(); err != nil {
		t.Fatal(err)
	}
	p := mediatest.ProbeFile(t, filepath.Join(dir, "Dan.mkv"))
	if p.Video == nil || p.Video.Codec != "h264" || p.Video.Width != 320 || p.Audio != nil {
		t.Fatalf("Dan.mkv: %+v, want H.264 320x240 alone", p)
	}
	if n := len(mediatest.VideoFrameTimes(t, filepath.Join(dir, "Dan.mkv"))); n != frames || frames < 55 {
		t.Errorf("Dan.mkv decodes to %d pictures of the %d written", n, frames)
	}
}

// BenchmarkPersonsFile is what a person's file costs: one op is one
// frame (3 s of 320x240 VP8 at 30 fps and 20 ms Opus, muxed). A guest
// sends about 80 frames a second (30 pictures, 50 sound packets).
func BenchmarkPersonsFile(b *testing.B) {
	pkts := media(b, 0)
	dir := b.TempDir()
	b.ResetTimer()
	before := cpuTime()
	for n := 0; n < b.N; {
		w := iso.New(iso.Config{Dir: dir, Stem: "Ann"})
		for i := 0; i < len(pkts) && n < b.N; i, n = i+1, n+1 {
			w.Write("video/VP8", pkts[i])
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
	// CPU, not wall time: the file is written on its own goroutine.
	b.ReportMetric(float64(cpuTime()-before)/float64(b.N), "cpu-ns/frame")
}

// cpuTime is the CPU the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
