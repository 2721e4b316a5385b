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

// Send writes what q holds, in order, through write, metering each, until
// q is empty (nil), ctx ends (nil) or a write fails (its error).
func (b *Outbox) Send(ctx context.Context, q *Queue, write func(*Packet) error) error {
	for ctx.Err() == nil {
		p := q.Pop()
		if p == nil {
			break
		}
		if err := write(p); err != nil {
			return err
		}
		b.Meter.Add(p)
	}
	return nil
}

// Flush closes the current queue and writes what it held through write,
// metering each. A write that fails ends it, the packets not written
// counting as dropped, and Flush returns its error.
func (b *Outbox) Flush(write func(*Packet) error) error {
	rest := b.Queue().Close()
	for i, p := range rest {
		if err := write(p); err != nil {
			b.Dropped(len(rest) - i)
			return err
		}
		b.Meter.Add(p)
	}
	return nil
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

// Front is what a network output shows of its Outbox to other
// goroutines; outputs embed it for Write, Stats and WaitLive.
type Front struct{ box *Outbox }

// Front is b's public face.
func (b *Outbox) Front() Front { return Front{b} }

// Write queues p; it never blocks. p must not be modified afterwards.
func (f Front) Write(p *Packet) { f.box.Write(p) }

// Stats is a snapshot of the output's health; Err never holds the URL's
// secrets.
func (f Front) Stats() Stats { return f.box.Stats() }

// WaitLive waits until the output first goes Live (nil), its first
// connection fails (a *Failure), it is closed (the output's ErrClosed) or
// ctx ends.
func (f Front) WaitLive(ctx context.Context) error { return f.box.WaitLive(ctx) }
