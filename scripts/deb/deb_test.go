package deb

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"greenroom/encode/mediatest"
)

// baseMaxAge is how long a cached Debian root is reused: apt-get update
// in it brings its package lists up to date anyway; a fresh one now and
// then keeps the upgrade small.
const baseMaxAge = 7 * 24 * time.Hour

// TestPackageInstalls builds the .deb with scripts/package (lintian with no
// error), installs it with apt-get into a clean Debian 12 root (mmdebstrap
// --variant=apt: apt and what it needs, nothing of ours), and there, with
// only what the package pulled in, runs greenroom --version, a 3 s
// recorded show that the host's ffprobe judges, and the window on a
// virtual display.
func TestPackageInstalls(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the install test needs root (chroot, mounts, mmdebstrap): run it as root, as CI does")
	}
	for _, tool := range []string{"mmdebstrap", "unshare", "chroot", "dpkg-deb"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is missing: apt-get install mmdebstrap (scripts/test installs it)", tool)
		}
	}
	repo, _ := filepath.Abs("../..") // the test runs in scripts/deb
	start := time.Now()
	cmd := exec.Command(filepath.Join(repo, "scripts/package"), t.TempDir())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("scripts/package: %v\n%s", err, &stderr)
	}
	deb := lastLine(string(out))
	t.Logf("scripts/package: %s in %.0f s", filepath.Base(deb), time.Since(start).Seconds())
	depends, err := exec.Command("dpkg-deb", "--field", deb, "Depends").Output()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(depends), "-dev") {
		t.Errorf("Depends names a -dev package: %s", depends)
	}

	start = time.Now()
	root := removedAfter(t)
	untar(t, debianBase(t), root)
	copyFile(t, "/etc/resolv.conf", filepath.Join(root, "etc/resolv.conf"))
	copyFile(t, deb, filepath.Join(root, "tmp/greenroom.deb"))
	// The package lists and the downloaded packages are kept between runs
	// (and worktrees), so that apt downloads only what changed: one apt
	// at a time in them. No fsync of every file dpkg unpacks: the root is
	// thrown away.
	cache := cacheDir(t)
	lists, archives := filepath.Join(cache, "apt-lists"), filepath.Join(cache, "apt-archives")
	os.MkdirAll(lists, 0o755)
	os.MkdirAll(archives, 0o755)
	unlock := lock(t, filepath.Join(cache, "apt.lock"))
	inRoot(t, root, []string{lists + ":/var/lib/apt/lists", archives + ":/var/cache/apt/archives"}, false,
		"apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends -o Dpkg::Options::=--force-unsafe-io /tmp/greenroom.deb")
	unlock()
	t.Logf("installed in a clean Debian 12 in %.0f s", time.Since(start).Seconds())

	describe, err := exec.Command("git", "describe", "--tags", "--always", "--dirty").Output()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := inRoot(t, root, nil, false, "greenroom --version"), "greenroom "+string(describe); got != want {
		t.Errorf("greenroom --version: %q, want %q", got, want)
	}
	// In C.UTF-8, Debian's default in a fresh root: not a word from Fyne.
	show := inRoot(t, root, nil, false, "cd /tmp && LANG=C.UTF-8 greenroom live --record x.mp4 --for 3s 2>&1")
	if strings.Contains(show, "Fyne") {
		t.Errorf("live: Fyne complains:\n%s", show)
	}
	p := mediatest.ProbeFile(t, filepath.Join(root, "tmp/x.mp4"))
	if p.Video == nil || p.Video.Codec != "h264" || p.Video.Width != 1280 || p.Audio == nil || p.Audio.Codec != "aac" ||
		p.Duration < 2.5 || p.Duration > 3.6 {
		t.Errorf("the recording probes as %+v, want ~3 s of 1280x720 H.264 and AAC; greenroom said:\n%s", p, show)
	}

	// The window, as a menu starts it: GLFW opens some X11 libraries
	// itself (dlopen), which only running it proves are there. In a
	// network namespace of its own, so its port 8443 is nobody else's.
	display := mediatest.StartXvfb(t, "1280x800")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	os.MkdirAll(filepath.Join(root, "root/.config/greenroom"), 0o700)
	os.WriteFile(filepath.Join(root, "root/.config/greenroom/settings.json"), []byte(`{"network": {"ice_servers": [], "map_ports": false}}`), 0o600)
	gui := rootCommand(ctx, root, []string{"/tmp/.X11-unix:/tmp/.X11-unix"}, true, "DISPLAY="+display+" HOME=/root exec greenroom 2>&1")
	stdout, _ := gui.StdoutPipe()
	if err := gui.Start(); err != nil {
		t.Fatal(err)
	}
	var said []string
	linked := false
	for lines := bufio.NewScanner(stdout); lines.Scan(); {
		said = append(said, lines.Text())
		if strings.HasPrefix(lines.Text(), "guest link: ") {
			linked = true
			break
		}
	}
	if !linked {
		t.Fatalf("the studio did not start:\n%s", strings.Join(said, "\n"))
	}
	// The link comes before the window: wait for the window itself.
	find := exec.CommandContext(ctx, "xdotool", "search", "--sync", "--onlyvisible", "--name", "^Greenroom$")
	find.Env = append(os.Environ(), "DISPLAY="+display)
	if out, err := find.Output(); err != nil {
		cancel()
		rest, _ := io.ReadAll(stdout)
		t.Errorf("no studio window on the display (xdotool: %v %s):\n%s\n%s", err, out, strings.Join(said, "\n"), rest)
	}
	cancel()
	gui.Wait()
}

// debianBase is a tarball of a clean Debian 12 root (--variant=apt), made
// once by mmdebstrap from the machine's Debian mirror and cached (31 s to
// make; 50 MB).
func debianBase(t *testing.T) string {
	t.Helper()
	tarball := filepath.Join(cacheDir(t), "bookworm-apt.tar.zst")
	if fi, err := os.Stat(tarball); err == nil && fi.Mode().IsRegular() && time.Since(fi.ModTime()) < baseMaxAge {
		return tarball
	}
	os.RemoveAll(tarball) // a directory an older version of this test left there
	start := time.Now()
	// mmdebstrap takes the format from the name's end: a name ending in
	// .tar.zst, or it makes a directory (it did, on a fresh machine,
	// under "bookworm-apt.tar.zst.partN", renamed onto the cache's name).
	tmp := strings.TrimSuffix(tarball, ".tar.zst") + ".part" + filepath.Base(t.TempDir()) + ".tar.zst"
	defer os.Remove(tmp)
	cmd := exec.Command("mmdebstrap", "--quiet", "--variant=apt", "bookworm", tmp,
		"deb http://deb.debian.org/debian bookworm main",
		"deb http://deb.debian.org/debian bookworm-updates main",
		"deb http://deb.debian.org/debian-security bookworm-security main")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("mmdebstrap: %v\n%s", err, out)
	}
	if err := os.Rename(tmp, tarball); err != nil {
		t.Fatal(err)
	}
	t.Logf("made a Debian 12 root in %.0f s (cached in %s)", time.Since(start).Seconds(), tarball)
	return tarball
}

func cacheDir(t *testing.T) string {
	t.Helper()
	dir, err := os.UserCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	dir = filepath.Join(dir, "greenroom")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// inRoot runs script with sh in a chroot of root and returns its output;
// a failure fails the test.
func inRoot(t *testing.T, root string, binds []string, ownNet bool, script string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := rootCommand(ctx, root, binds, ownNet, script)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("in the Debian root: %s: %v\n%s%s", script, err, out, &stderr)
	}
	return string(out)
}

// rootCommand is script run by sh in a chroot of root, in mount and PID
// namespaces of its own (so its /proc and binds, host:path pairs, go when
// it ends), and with ownNet a network namespace too.
func rootCommand(ctx context.Context, root string, binds []string, ownNet bool, script string) *exec.Cmd {
	var mounts strings.Builder
	for _, b := range binds {
		host, in, _ := strings.Cut(b, ":")
		mounts.WriteString("mkdir -p '" + root + in + "' && mount --bind '" + host + "' '" + root + in + "' && ")
	}
	// --kill-child: the context's end kills unshare, and with it what
	// runs in the root (the window would outlive it).
	args := []string{"--mount", "--pid", "--fork", "--kill-child", "--mount-proc=" + filepath.Join(root, "proc")}
	if ownNet {
		args = append(args, "--net")
	}
	args = append(args, "sh", "-c", mounts.String()+`exec chroot "$0" sh -c "$1"`, root, script)
	cmd := exec.CommandContext(ctx, "unshare", args...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"}
	return cmd
}

// removedAfter is a new directory removed at the end of the test, retried
// for a few seconds: what was killed in it may take a moment to go.
func removedAfter(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "greenroom-deb-root")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for range 50 {
			if err = os.RemoveAll(dir); err == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Errorf("removing the Debian root: %v", err)
	})
	return dir
}

func untar(t *testing.T, tarball, dir string) {
	t.Helper()
	if out, err := exec.Command("tar", "-C", dir, "--zstd", "-xf", tarball).CombinedOutput(); err != nil {
		t.Fatalf("untar %s: %v\n%s", tarball, err, out)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err == nil {
		os.Remove(to) // a symlink in the root would lead out of it
		err = os.WriteFile(to, b, 0o644)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// lock takes an exclusive lock on path, waiting for it; the returned
// function gives it back.
func lock(t *testing.T, path string) func() {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	return func() { f.Close() }
}

func lastLine(s string) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	return l[len(l)-1]
}
