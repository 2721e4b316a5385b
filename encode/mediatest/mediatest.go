// Package mediatest starts real media peers for tests and judges media with
// independent tools, the way net/http/httptest does for HTTP. It is the one
// place tests in encode/..., studio/... and ui/... get them from:
//
//   - StartNginx: Debian's nginx with the RTMP module, recording every publish;
//   - StartFFmpegServer: FFmpeg's own RTMP server (ffmpeg -listen 1), for one publish;
//   - Publish and WriteTestFile: the ffmpeg CLI as a reference publisher and
//     file maker, from its lavfi test sources;
//   - ProbeFile, ProbeURL, KeyframeTimes, FrameCount, VideoFrameTimes, Frame,
//     AudioLevel: ffprobe and ffmpeg as the judge of what we produced;
//   - Speech: a speech-like test signal for loudness and speaking tests;
//   - FreeTCPPort, FreeUDPPort;
//   - CPUTime: the process's CPU time, by which benchmarks judge cost;
//   - Race and JudgedWithoutRace: what a timing test checks under -race,
//     and the skip that has scripts/test judge it again without.
//
// Every helper takes a testing.TB and fails the test with the tool's own
// words (and nginx's log tail) rather than returning errors, except
// ProbeContext, for tests that expect a probe to fail. A missing tool is a
// failure naming the apt-get command that installs it, never a skip: CI
// installs them (scripts/test).
//
// It owns no Greenroom media code and must not import any: a judge that
// shares code with the accused proves nothing.
package mediatest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// aptHint names the Debian packages that provide each external tool.
var aptHint = map[string]string{
	"ffmpeg":            "ffmpeg",
	"ffprobe":           "ffmpeg",
	"nginx":             "nginx libnginx-mod-rtmp",
	"srt-live-transmit": "srt-tools",
}

// lookTool finds an external tool, also in /usr/sbin where Debian puts
// nginx but a non-root PATH often does not look.
func lookTool(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/sbin"} {
		if p, err := exec.LookPath(dir + "/" + name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("mediatest: %s not found; install it with: sudo apt-get install -y %s (scripts/test does this)", name, aptHint[name])
}

// toolError is a failed run of an external tool.
type toolError struct {
	cmd    string
	err    error
	stderr string
}

func (e *toolError) Error() string {
	return fmt.Sprintf("%s: %v\n%s", e.cmd, e.err, tail(e.stderr, 20))
}

func (e *toolError) Unwrap() error { return e.err }

// runTool runs an external tool to completion and returns its standard
// output and standard error. A non-zero exit, a missing tool or the context
// ending are errors that quote the tail of its standard error.
func runTool(ctx context.Context, name string, args ...string) (stdout, stderr []byte, err error) {
	path, err := lookTool(name)
	if err != nil {
		return nil, nil, err
	}
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Run(); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			err = fmt.Errorf("%w (%v)", ctxErr, err)
		}
		return out.Bytes(), errb.Bytes(), &toolError{cmd: name + " " + strings.Join(args, " "), err: err, stderr: errb.String()}
	}
	return out.Bytes(), errb.Bytes(), nil
}

// mustRun is runTool for helpers that fail the test on error.
func mustRun(t testing.TB, timeout time.Duration, name string, args ...string) (stdout, stderr []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	stdout, stderr, err := runTool(ctx, name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return stdout, stderr
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	s = strings.TrimRight(s, "\n")
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("[... %d lines before]", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// seconds formats d the way ffmpeg's time options read it.
func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

// FreeTCPPort returns a TCP port on 127.0.0.1 that was free a moment ago.
// Another process may take it before the caller binds it; helpers that can
// retry (StartNginx) do.
func FreeTCPPort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("mediatest: free TCP port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// FreeUDPPort returns a UDP port on 127.0.0.1 that was free a moment ago.
func FreeUDPPort(t testing.TB) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("mediatest: free UDP port: %v", err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}
