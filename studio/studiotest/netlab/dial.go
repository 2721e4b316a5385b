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
// the namespace: it happens on a goroutine locked to its OS thread, which
// enters ns, dials, and goes back to the namespace it came from before it
// is unlocked (inNamespace).
func (l *Lab) Dial(ns string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (c net.Conn, err error) {
		if nerr := inNamespace(ns, func() { c, err = (&net.Dialer{}).DialContext(ctx, network, addr) }); nerr != nil {
			return nil, nerr
		}
		return c, err
	}
}

// Listen listens on addr inside namespace ns, for a server in the test
// process that the lab's hosts reach (a CA on the lab's internet): as for
// Dial, the socket stays in ns, and accepting needs no namespace.
func (l *Lab) Listen(ns, network, addr string) (ln net.Listener, err error) {
	if nerr := inNamespace(ns, func() { ln, err = net.Listen(network, addr) }); nerr != nil {
		return nil, nerr
	}
	return ln, err
}

// inNamespace runs f on a goroutine locked to its OS thread, which enters
// ns, runs f, and goes back to the namespace it came from before it is
// unlocked, so no other goroutine ever runs in ns.
//
// The thread must live on: the lab starts its processes with Pdeathsig,
// which Linux sends when the *thread* that forked them ends, and Go
// forks from any thread. A locked thread left in ns (ended with its
// goroutine) killed lab processes at random.
func inNamespace(ns string, f func()) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		home, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("netlab: this thread's namespace: %w", err)
			return
		}
		defer home.Close()
		if err := enter(ns); err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		f()
		errc <- nil
		if unix.Setns(int(home.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		} // else the thread stays locked, and ends with this goroutine
	}()
	return <-errc
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
