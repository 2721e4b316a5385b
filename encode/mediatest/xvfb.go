package mediatest

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// StartXvfb starts a virtual X display of size ("1280x800"), its root
// window white (-wr: a screen capture of it is easy to tell from a
// black failure), and returns its name (":N"). It ends with the test.
//
// Xvfb picks a free display itself (-displayfd) and writes its number
// once it accepts connections: guessing from /tmp/.X11-unix is racy
// and wrong on machines where those names exist but are stale.
func StartXvfb(t testing.TB, size string) string {
	t.Helper()
	if _, err := exec.LookPath("Xvfb"); err != nil {
		t.Fatal("Xvfb is missing: apt-get install xvfb (scripts/test installs it)")
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd := exec.Command("Xvfb", "-displayfd", "3", "-screen", "0", size+"x24", "-nolisten", "tcp", "-wr")
	cmd.ExtraFiles = []*os.File{w}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		w.Close()
		t.Fatal(err)
	}
	w.Close()
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	// SIGTERM, not SIGKILL: Xvfb then removes its socket and lock file.
	t.Cleanup(func() { cmd.Process.Signal(syscall.SIGTERM); <-exited })

	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(r).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	select {
	case n := <-line:
		if n == "" {
			<-exited
			t.Fatalf("mediatest: Xvfb did not start: %s", stderr.String())
		}
		return ":" + n
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-exited
		t.Fatalf("mediatest: Xvfb did not start within 10 s: %s", stderr.String())
	}
	return ""
}
