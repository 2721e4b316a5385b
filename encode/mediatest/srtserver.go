package mediatest

import (
	"bytes"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// SRTServer is Haivision's srt-live-transmit (Debian's srt-tools), the
// reference SRT implementation, listening on 127.0.0.1 and writing what a
// caller sends (MPEG-TS) to Recording: an SRT ingest independent of
// FFmpeg's libsrt, which Greenroom publishes through. With a Passphrase it
// rejects a caller whose passphrase differs (or who has none).
type SRTServer struct {
	Port       int
	Passphrase string
	// Recording is the file it writes: complete once Stop returns.
	Recording string

	cmd    *exec.Cmd
	out    *os.File
	stderr bytes.Buffer // written by cmd until done is closed
	done   chan struct{}
}

// StartSRTServer starts srt-live-transmit on a free UDP port of 127.0.0.1
// and returns once it listens. It is stopped when the test ends; if the
// test failed, the tail of its log is written to the test log.
func StartSRTServer(t testing.TB, passphrase string) *SRTServer {
	t.Helper()
	return StartSRTServerOn(t, FreeUDPPort(t), passphrase)
}

// StartSRTServerOn is StartSRTServer on a given port: a receiver that
// comes back where it was, writing a new Recording.
func StartSRTServerOn(t testing.TB, port int, passphrase string) *SRTServer {
	t.Helper()
	bin, err := lookTool("srt-live-transmit")
	if err != nil {
		t.Fatal(err)
	}
	s := &SRTServer{Port: port, Passphrase: passphrase, done: make(chan struct{})}
	s.Recording = filepath.Join(t.TempDir(), fmt.Sprintf("srt-%d.ts", time.Now().UnixNano()))
	if s.out, err = os.Create(s.Recording); err != nil {
		t.Fatal(err)
	}
	listen := fmt.Sprintf("srt://127.0.0.1:%d?mode=listener", port)
	if passphrase != "" {
		listen += "&passphrase=" + url.QueryEscape(passphrase)
	}
	// file://con is its standard output; -a yes (its default) listens
	// again after a caller leaves, as an ingest does.
	s.cmd = exec.Command(bin, "-loglevel", "note", listen, "file://con")
	s.cmd.Stdout, s.cmd.Stderr = s.out, &s.stderr
	s.cmd.WaitDelay = 2 * time.Second
	if err := s.cmd.Start(); err != nil {
		s.out.Close()
		t.Fatalf("mediatest: start srt-live-transmit: %v", err)
	}
	go func() {
		_ = s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("mediatest: srt-live-transmit log:\n%s", tail(s.stderr.String(), 30))
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for !listening("udp", port) {
		select {
		case <-s.done:
			t.Fatalf("mediatest: srt-live-transmit exited:\n%s", tail(s.stderr.String(), 20))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("mediatest: srt-live-transmit does not listen on port %d after 10s", port)
		}
	}
	return s
}

// URL is the address to publish to, caller mode, with the server's
// passphrase unless another is given ("" for the server's).
func (s *SRTServer) URL(streamid, passphrase string) string {
	if passphrase == "" {
		passphrase = s.Passphrase
	}
	u := fmt.Sprintf("srt://127.0.0.1:%d?streamid=%s", s.Port, url.QueryEscape(streamid))
	if passphrase != "" {
		u += "&passphrase=" + url.QueryEscape(passphrase)
	}
	return u
}

// Stop ends the server (SIGINT, then a kill after 2 s) and closes its
// Recording. Safe to call twice.
func (s *SRTServer) Stop() {
	select {
	case <-s.done:
	default:
		_ = s.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-s.done:
		case <-time.After(2 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.done
		}
	}
	s.out.Close()
}

// Log is what the server wrote to stderr; complete after Stop.
func (s *SRTServer) Log() string {
	select {
	case <-s.done:
		return s.stderr.String()
	default:
		return ""
	}
}
