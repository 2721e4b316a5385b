//go:build linux

package netlab

import (
	"context"
	"fmt"
	"net"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// Dial returns a dial function whose connections are made from inside
// namespace ns, for a test that talks to something running there (the
// studio's control API, a browser's DevTools) from the test process. A
// socket stays in the namespace it was made in, so only the making needs
// the namespace: it happens on a goroutine locked to an OS thread that
// enters ns and is never unlocked, which makes Go end that thread with the
// goroutine, so no other goroutine ever runs in ns.
func (l *Lab) Dial(ns string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		type result struct {
			c   net.Conn
			err error
		}
		ch := make(chan result, 1)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread ends with us
			if err := enter(ns); err != nil {
				ch <- result{nil, err}
				return
			}
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			ch <- result{c, err}
		}()
		r := <-ch
		return r.c, r.err
	}
}

// enter moves the calling thread into namespace ns.
func enter(ns string) error {
	f, err := os.Open("/run/netns/" + ns)
	if err != nil {
		return fmt.Errorf("netlab: namespace %s: %w", ns, err)
	}
	defer f.Close()
	if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("netlab: enter %s: %w", ns, err)
	}
	return nil
}

// InHelper says whether this process was started as a helper mode (see
// Helper): a package whose TestMain does more than Main (builds a binary)
// calls Main first thing when it is.
func InHelper() bool { return os.Getenv(helperEnv) != "" }

// Leftovers lists the namespaces of this process's labs that outlived
// their tests, for a TestMain that does not end in Main.
func Leftovers() []string { return leftovers() }
