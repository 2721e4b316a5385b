//go:build linux

package netlab

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Go code runs in a namespace as a helper mode of the test binary itself:
// the test re-executes os.Args[0] under "ip netns exec" with helperEnv
// naming the mode, and Main runs that mode instead of the tests. Setting a
// namespace from inside the test process (runtime.LockOSThread and setns)
// would also work for one socket, but anything that starts goroutines —
// an HTTP client, a resolver, a library's retries — may continue on a
// thread in another namespace; a process has one namespace throughout.
const helperEnv = "GREENROOM_NETLAB_HELPER"

var (
	helpersMu sync.Mutex
	helpers   = map[string]func(args []string) error{}
)

// Helper registers a helper mode: fn runs as the whole process, with the
// arguments given to StartHelper, when the test binary is started as that
// helper. Register in TestMain (before Main) or in an init function.
func Helper(name string, fn func(args []string) error) {
	helpersMu.Lock()
	defer helpersMu.Unlock()
	helpers[name] = fn
}

// Main is the TestMain of a package that uses the lab:
//
//	func TestMain(m *testing.M) { netlab.Main(m) }
//
// It runs the helper mode the process was started as, or else the tests,
// and then fails the run if a lab's namespace outlived its test.
func Main(m *testing.M) {
	name := os.Getenv(helperEnv)
	if name == "" {
		code := m.Run()
		if left := leftovers(); len(left) > 0 {
			fmt.Fprintf(os.Stderr, "netlab: namespaces left behind: %s\n", strings.Join(left, " "))
			code = 1
		}
		os.Exit(code)
	}
	helpersMu.Lock()
	fn := helpers[name]
	helpersMu.Unlock()
	if fn == nil {
		fmt.Fprintf(os.Stderr, "netlab: no helper %q\n", name)
		os.Exit(2)
	}
	var args []string
	if a := os.Getenv(helperEnv + "_ARGS"); a != "" {
		args = strings.Split(a, "\x1f")
	}
	if err := fn(args); err != nil {
		fmt.Fprintf(os.Stderr, "netlab: helper %s: %v\n", name, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// Proc is a process the lab started in a namespace. The lab stops it at
// teardown; Stop stops it earlier.
type Proc struct {
	Cmd *exec.Cmd
	// Stdin feeds the process.
	Stdin io.WriteCloser
	// Lines carries the process's standard output, a line at a time; it
	// is closed when the output ends. Stop drains what nobody read.
	Lines <-chan string

	name     string
	done     chan struct{} // closed when the process has been waited for
	waitErr  error
	stopOnce sync.Once
}

// Start starts a background command (name and arguments) in namespace ns. Its standard error
// goes to the test log (prefixed with its name); its standard output to
// Lines.
func (l *Lab) Start(ns string, cmd ...string) (*Proc, error) {
	return l.StartCommand(l.Command(ns, cmd...))
}

// StartCommand starts cmd, made with Command and then given its own
// environment or directory (a studio binary with flags, a browser), as a
// lab process: its standard error goes to the test log, its standard
// output to Lines, and the lab stops it at teardown. Leave cmd's Stdin,
// Stdout and Stderr unset.
func (l *Lab) StartCommand(cmd *exec.Cmd) (*Proc, error) {
	name := filepath.Base(cmd.Path)
	if len(cmd.Args) > 4 && cmd.Args[1] == "netns" {
		name = filepath.Base(cmd.Args[4]) // ip netns exec NS NAME …
	}
	return l.startWatch(cmd, name, nil)
}

// StartHelper starts the test binary in namespace ns as helper mode
// helper (see Helper and Main) with args.
func (l *Lab) StartHelper(ns, helper string, args ...string) (*Proc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := l.Command(ns, exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+helper, helperEnv+"_ARGS="+strings.Join(args, "\x1f"))
	return l.startWatch(cmd, helper, nil)
}

// startWatch starts cmd; watch, if not nil, sees each line of its
// standard error.
func (l *Lab) startWatch(cmd *exec.Cmd, name string, watch func(line string)) (*Proc, error) {
	l.mu.Lock()
	closed := l.closed
	l.mu.Unlock()
	if closed {
		return nil, fmt.Errorf("netlab: start %s: lab is closed", name)
	}
	p := &Proc{Cmd: cmd, name: name, done: make(chan struct{})}
	var err error
	if p.Stdin, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	// An os.Pipe rather than StdoutPipe: Wait may then run while the
	// reader still reads, and the reader sees every line to EOF.
	stdout, stdoutW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout = stdoutW
	cmd.Stderr = &logWriter{t: l.t, prefix: name, watch: watch}
	// Our own process group, so a signal the test runner sends to its
	// group doesn't reach the lab's processes before teardown does.
	// Pdeathsig: should the test binary die before its cleanup (killed
	// by a timeout), its lab processes die with it rather than hold the
	// namespaces.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = processStopDeadline
	err = cmd.Start()
	stdoutW.Close()
	if err != nil {
		stdout.Close()
		return nil, fmt.Errorf("netlab: start %s: %w", name, err)
	}
	lines := make(chan string, 64)
	p.Lines = lines
	go func() {
		defer close(lines)
		defer stdout.Close()
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	l.mu.Lock()
	l.procs = append(l.procs, p)
	l.mu.Unlock()
	return p, nil
}

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Err is the process's exit error, once Done is closed.
func (p *Proc) Err() error {
	<-p.done
	return p.waitErr
}

// Stop ends the process: SIGTERM, then SIGKILL after a few seconds. It
// waits for it to exit and is safe to call twice.
func (p *Proc) Stop() {
	p.stopOnce.Do(func() {
		_ = p.Stdin.Close()
		// Drain unread output, or a chatty process blocks on a full
		// pipe instead of exiting.
		go func() {
			for range p.Lines {
			}
		}()
		select {
		case <-p.done:
			return
		default:
		}
		_ = p.Cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(processStopDeadline):
			_ = p.Cmd.Process.Kill()
			<-p.done
		}
	})
	<-p.done
}

// logWriter sends a process's standard error to the test log, a line at a
// time, folding a run of identical lines into one and a count: miniupnpd
// in debug mode logs a line per port it considers, and 65535 of them
// through the test log would slow it down enough to time its clients out.
type logWriter struct {
	t      testing.TB
	prefix string
	watch  func(line string)
	mu     sync.Mutex
	buf    []byte
	last   string
	repeat int
}

func (w *logWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, b...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		line := string(w.buf[:i])
		w.buf = w.buf[i+1:]
		if w.watch != nil {
			w.watch(line)
		}
		// miniupnpd prefixes its pid; compare what follows.
		key := line
		if _, rest, ok := strings.Cut(line, "]: "); ok {
			key = rest
		}
		if key == w.last {
			w.repeat++
			continue
		}
		if w.repeat > 0 {
			w.t.Logf("%s: (the line before, %d more times)", w.prefix, w.repeat)
		}
		w.last, w.repeat = key, 0
		w.t.Logf("%s: %s", w.prefix, line)
	}
	return len(b), nil
}
