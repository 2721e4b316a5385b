package mediatest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FFmpegServer is FFmpeg's own RTMP server, `ffmpeg -listen 1 -i
// rtmp://127.0.0.1:PORT/live/KEY -c copy out.flv`: a second, independent
// implementation of the server side of RTMP (libavformat/rtmpproto.c),
// stricter than nginx-rtmp in places and looser in others. It takes one
// publish, writes what it receives to Recording, and exits when the
// publisher goes away.
type FFmpegServer struct {
	Port int
	Key  string
	// Recording is the FLV file it writes: complete once Wait returns.
	Recording string

	cmd    *exec.Cmd
	cancel context.CancelFunc
	stderr bytes.Buffer // written by cmd until done is closed
	done   chan struct{}
	err    error // set before done is closed
}

// StartFFmpegServer starts FFmpeg's RTMP server for one publish to key on
// a free port of 127.0.0.1 and returns once it listens. It is killed when
// the test ends if it is still running; if the test failed, the tail of
// its log is written to the test log.
func StartFFmpegServer(t testing.TB, key string) *FFmpegServer {
	t.Helper()
	bin, err := lookTool("ffmpeg")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &FFmpegServer{Port: FreeTCPPort(t), Key: key, cancel: cancel, done: make(chan struct{})}
	s.Recording = filepath.Join(t.TempDir(), "ffmpeg-server.flv")
	// -loglevel debug: when a client is dropped, the reason is in the
	// debug lines (see Log).
	s.cmd = exec.CommandContext(ctx, bin, "-hide_banner", "-nostdin", "-loglevel", "debug",
		"-listen", "1", "-i", s.URL(), "-c", "copy", "-y", s.Recording)
	s.cmd.Stderr = &s.stderr
	s.cmd.WaitDelay = 2 * time.Second
	if err := s.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("mediatest: start ffmpeg's RTMP server: %v", err)
	}
	go func() {
		s.err = s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("mediatest: ffmpeg RTMP server log:\n%s", tail(s.stderr.String(), 40))
		}
	})
	// -listen 1 takes exactly one connection, so a probe dial would be
	// the publish: watch the kernel's socket table for the listener.
	deadline := time.Now().Add(10 * time.Second)
	for !listening("tcp", s.Port) {
		select {
		case <-s.done:
			t.Fatalf("mediatest: ffmpeg's RTMP server exited: %v\n%s", s.err, tail(s.stderr.String(), 20))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("mediatest: ffmpeg's RTMP server does not listen on port %d after 10s", s.Port)
		}
	}
	return s
}

// listening reports whether a socket listens on 127.0.0.1:port, from
// /proc/net/tcp (state 0A is LISTEN) or /proc/net/udp (any bound socket:
// UDP has no listen state).
func listening(proto string, port int) bool {
	b, err := os.ReadFile("/proc/net/" + proto)
	if err != nil {
		return false
	}
	want := fmt.Sprintf("0100007F:%04X", port)
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 3 && f[1] == want && (proto == "udp" || f[3] == "0A") {
			return true
		}
	}
	return false
}

// URL is the address to publish to.
func (s *FFmpegServer) URL() string {
	return fmt.Sprintf("rtmp://127.0.0.1:%d/live/%s", s.Port, s.Key)
}

// Wait waits (at most timeout) for the server to finish the recording
// after the publisher left, and fails the test if it did not exit cleanly.
func (s *FFmpegServer) Wait(t testing.TB, timeout time.Duration) {
	t.Helper()
	select {
	case <-s.done:
	case <-time.After(timeout):
		t.Fatalf("mediatest: ffmpeg's RTMP server still running %v after the publish", timeout)
	}
	if s.err != nil {
		t.Fatalf("mediatest: ffmpeg's RTMP server: %v\n%s", s.err, tail(s.stderr.String(), 20))
	}
}

// Log is what the server wrote to stderr so far; complete after Wait.
func (s *FFmpegServer) Log() string {
	select {
	case <-s.done:
		return s.stderr.String()
	default:
		return "" // still being written
	}
}

func (s *FFmpegServer) stop() {
	s.cancel()
	<-s.done
}
