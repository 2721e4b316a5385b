package stream

import (
	"context"
	"sync"
	"sync/atomic"
)

// Outbox is the part of a network output (rtmpout, srtout) that other
// goroutines touch: the queue Write pushes to, replaced on each reconnect
// (Renew), the meter, the state, and how the first connection went
// (WaitLive). The output's run loop owns everything else and drives the
// Outbox through its methods. qmu guards q; mu guards the state.
type Outbox struct {
	name string
	size int

	qmu sync.Mutex
	q   *Queue

	// Meter counts what the run loop has sent.
	Meter *Meter

	live     chan struct{} // closed by Settle
	liveOnce sync.Once

	mu         sync.Mutex
	state      State
	err        error
	liveErr    error
	reconnects int

	retired atomic.Int64 // packets dropped in queues Renew has replaced
}

// NewOutbox is the Outbox of an output named name, its queue holding
// queueSize packets.
func NewOutbox(name string, queueSize int) *Outbox {
	return &Outbox{name: name, size: queueSize, q: NewQueue(queueSize), Meter: NewMeter(0), live: make(chan struct{})}
}

// Write queues p; it never blocks.
func (b *Outbox) Write(p *Packet) {
	b.qmu.Lock()
	b.q.Push(p)
	b.qmu.Unlock()
}

// Queue is the current queue, for the run loop: only it calls Renew, so
// what it gets stays current until it does.
func (b *Outbox) Queue() *Queue {
	b.qmu.Lock()
	defer b.qmu.Unlock()
	return b.q
}

// Renew starts a fresh queue after a lost connection: what waited during
// the outage is stale, and the server needs a keyframe first (a new
// Queue waits for one). The old queue's packets count as dropped.
func (b *Outbox) Renew() {
	b.qmu.Lock()
	old := b.q
	b.q = NewQueue(b.size)
	b.qmu.Unlock()
	n := len(old.Close())
	b.retired.Add(old.Dropped() + int64(n))
}

// Dropped counts n more packets as dropped (a flush cut short).
func (b *Outbox) Dropped(n int) { b.retired.Add(int64(n)) }

// Stats is a snapshot of the output's health.
func (b *Outbox) Stats() Stats {
	q := b.Queue()
	bitRate, fps, written := b.Meter.Rates()
	b.mu.Lock()
	defer b.mu.Unlock()
	return Stats{
		Name: b.name, State: b.state, Err: b.err,
		BitRate: bitRate, FPS: fps, Written: written,
		Dropped: b.retired.Load() + q.Dropped(), Queue: q.Len(),
		Reconnects: b.reconnects,
	}
}

// SetState records the output's state and why (nil when all is well).
func (b *Outbox) SetState(s State, err error) {
	b.mu.Lock()
	b.state, b.err = s, err
	b.mu.Unlock()
}

// Live records that the output went live, again after a reconnect if
// again, and settles WaitLive.
func (b *Outbox) Live(again bool) {
	b.mu.Lock()
	b.state, b.err = Live, nil
	if again {
		b.reconnects++
	}
	b.mu.Unlock()
	b.Settle(nil)
}

// Fail ends the output after its first connection failed with err: later
// Writes are no-ops, and what waited counts as dropped.
func (b *Outbox) Fail(err error) {
	b.SetState(Failed, err)
	b.Settle(err)
	b.retired.Add(int64(len(b.Queue().Close())))
}

// Settle gives WaitLive its answer, once: nil (live) or why not.
func (b *Outbox) Settle(err error) {
	b.liveOnce.Do(func() {
		b.mu.Lock()
		b.liveErr = err
		b.mu.Unlock()
		close(b.live)
	})
}

// WaitLive waits until Settle, or ctx ends.
func (b *Outbox) WaitLive(ctx context.Context) error {
	select {
	case <-b.live:
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.liveErr
	case <-ctx.Done():
		return ctx.Err()
	}
}
