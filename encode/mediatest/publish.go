package mediatest

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// Source describes the test signal the ffmpeg CLI makes from its lavfi
// sources: a testsrc2 picture (moving, colourful, with a frame counter) and
// a 1 kHz sine, encoded as H.264 and AAC. The zero value means the
// defaults noted on each field.
type Source struct {
	Width, Height int           // 1280x720
	FPS           int           // 30
	GOP           int           // frames between keyframes; 2 s worth
	Duration      time.Duration // 5 s
	Silent        bool          // digital silence instead of the sine
	NoAudio       bool          // no audio stream at all
}

func (s Source) withDefaults() Source {
	if s.Width == 0 || s.Height == 0 {
		s.Width, s.Height = 1280, 720
	}
	if s.FPS == 0 {
		s.FPS = 30
	}
	if s.GOP == 0 {
		s.GOP = 2 * s.FPS
	}
	if s.Duration == 0 {
		s.Duration = 5 * time.Second
	}
	return s
}

// args returns ffmpeg's input and encoding arguments for s; realtime reads
// the input at its native rate (-re), as a live publisher does.
func (s Source) args(realtime bool) []string {
	s = s.withDefaults()
	args := []string{"-hide_banner", "-nostats", "-v", "error"}
	if realtime {
		args = append(args, "-re")
	}
	args = append(args, "-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%dx%d:rate=%d", s.Width, s.Height, s.FPS))
	switch {
	case s.NoAudio:
	case s.Silent:
		args = append(args, "-f", "lavfi", "-i", "anullsrc=sample_rate=48000:channel_layout=stereo")
	default:
		args = append(args, "-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000")
	}
	args = append(args, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", strconv.Itoa(s.GOP))
	if !s.NoAudio {
		args = append(args, "-c:a", "aac", "-ac", "2")
	}
	return append(args, "-t", seconds(s.Duration))
}

// Publisher is an ffmpeg CLI publishing a Source to an RTMP URL.
type Publisher struct {
	cmd    *exec.Cmd
	cancel context.CancelFunc
	stderr bytes.Buffer // written by cmd until done is closed
	done   chan struct{}
	err    error // set before done is closed
}

// Publish starts ffmpeg publishing src to url in real time and returns at
// once; Wait reports how it went. It is killed when the test ends if it is
// still running.
func Publish(t testing.TB, url string, src Source) *Publisher {
	t.Helper()
	bin, err := lookTool("ffmpeg")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Publisher{cancel: cancel, done: make(chan struct{})}
	args := append(src.args(true), "-f", "flv", url)
	p.cmd = exec.CommandContext(ctx, bin, args...)
	p.cmd.Stderr = &p.stderr
	p.cmd.WaitDelay = 2 * time.Second
	if err := p.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("mediatest: publish to %s: %v", url, err)
	}
	go func() {
		err := p.cmd.Wait()
		if err != nil {
			err = &toolError{cmd: "ffmpeg publish to " + url, err: err, stderr: p.stderr.String()}
		}
		p.err = err
		close(p.done)
	}()
	t.Cleanup(p.Stop)
	return p
}

// Wait waits for ffmpeg to exit and returns nil if it published the whole
// source, or an error quoting ffmpeg's complaints.
func (p *Publisher) Wait() error {
	<-p.done
	return p.err
}

// Done is closed when ffmpeg has exited.
func (p *Publisher) Done() <-chan struct{} { return p.done }

// Stop kills ffmpeg if it is still running and waits for it to exit. It is
// safe to call more than once.
func (p *Publisher) Stop() {
	p.cancel()
	<-p.done
}

// WriteTestFile encodes src into path as fast as it can; the container
// follows path's extension (.mp4, .flv, .mkv, ...).
func WriteTestFile(t testing.TB, path string, src Source) {
	t.Helper()
	mustRun(t, toolTimeout, "ffmpeg", append(src.args(false), "-y", path)...)
}

// WriteTone writes a d long sine at hz into path (the format follows its
// extension: .wav, .mp3, .ogg…), mono at 44.1 kHz, a rate the mix must
// convert, at ffmpeg's sine's amplitude (1/8, −18 dBFS): a music file
// for the player whose every part can be told in the program by its band.
func WriteTone(t testing.TB, path string, hz int, d time.Duration) {
	t.Helper()
	mustRun(t, toolTimeout, "ffmpeg", "-hide_banner", "-nostats", "-v", "error",
		"-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=%d:sample_rate=44100:duration=%s", hz, seconds(d)), "-y", path)
}
