package stream

import (
	"errors"
	"sync"
)

// The kinds of a publisher's failed first connection, shared by every
// network output (rtmpout, srtout) so that the studio, the CLI and the
// window word them once; test with errors.Is.
var (
	// ErrKeyRejected: the server refused the stream itself — the stream
	// key, an SRT streamid or passphrase. Retrying will not help.
	ErrKeyRejected = errors.New("server refused the stream key")
	// ErrRefused: the server ended the session before the publish, and
	// nothing says it was the key.
	ErrRefused = errors.New("server refused the session")
	// ErrUnreachable: no server answered (DNS, refused, timeout, TLS).
	ErrUnreachable = errors.New("server unreachable")
)

// Failure is why a publisher's first connection failed: Kind is
// ErrUnreachable, ErrRefused or ErrKeyRejected (errors.Is sees it),
// Reason a sentence for a person, naming the step, with no secret in it.
type Failure struct {
	Output string // the package that failed, "rtmpout", "srtout"
	URL    string // redacted
	Kind   error
	Reason string
}

func (f *Failure) Error() string { return f.Output + ": publish to " + f.URL + ": " + f.Reason }
func (f *Failure) Unwrap() error { return f.Kind }

// Reason is err in a sentence for a person, without the "rtmpout: publish
// to URL" prefix: a *Failure's Reason, else the error's text.
func Reason(err error) string {
	var f *Failure
	if errors.As(err, &f) {
		return f.Reason
	}
	return err.Error()
}

// AllAtOnce runs check(i) for i in [0, n) at once and returns their
// results in order: a preflight of four destinations takes as long as the
// slowest (rtmpout.CheckAll, publish.CheckAll).
func AllAtOnce(n int, check func(i int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = check(i) })
	}
	wg.Wait()
	return errs
}
