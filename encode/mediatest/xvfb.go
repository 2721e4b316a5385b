package mediatest

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"
)

// StartXvfb starts a virtual X display of size ("1280x800"), its root
// window white (-wr: a screen capture of it is easy to tell from a
// black failure), and returns its name (":N"). It ends with the test.
func StartXvfb(t testing.TB, size string) string {
	t.Helper()
	if _, err := exec.LookPath("Xvfb"); err != nil {
		t.Fatal("Xvfb is missing: apt-get install xvfb (scripts/test installs it)")
	}
	for n := 110; n < 140; n++ {
		sock := fmt.Sprintf("/tmp/.X11-unix/X%d", n)
		if _, err := os.Stat(sock); err == nil {
			continue
		}
		d := fmt.Sprintf(":%d", n)
		cmd := exec.Command("Xvfb", d, "-screen", "0", size+"x24", "-nolisten", "tcp", "-wr")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		for range 50 {
			if _, err := os.Stat(sock); err == nil {
				return d
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("mediatest: Xvfb %s did not start", d)
	}
	t.Fatal("mediatest: no free X display")
	return ""
}
