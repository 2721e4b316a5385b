package stream

import (
	"context"
	"time"
)

// Backoff is how long a network output waits before reconnecting: 1, 2,
// 4… s, at most 10 s, and 1 s again after a session that held for 30 s.
// The output's run loop alone uses it.
type Backoff struct{ d time.Duration }

const (
	firstBackoff = time.Second
	maxBackoff   = 10 * time.Second
	// stableSession: a session that lasted this long resets the backoff.
	stableSession = 30 * time.Second
)

// Next is the wait before the next try.
func (b *Backoff) Next() time.Duration {
	if b.d == 0 {
		b.d = firstBackoff
	}
	return b.d
}

// Held notes a session that lasted d: a long one starts the waits over.
func (b *Backoff) Held(d time.Duration) {
	if d >= stableSession {
		b.d = firstBackoff
	}
}

// Wait waits Next (or until ctx ends) and doubles the next wait; false if
// ctx ended.
func (b *Backoff) Wait(ctx context.Context) bool {
	d := b.Next()
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
	b.d = min(2*d, maxBackoff)
	return ctx.Err() == nil
}
