package netlab

import (
	"container/heap"
	"math/rand/v2"
	"net"
	"sync"
	"time"
)

// Delay in user space, for the lab's relay and for in-process peers
// (studiotest): portable, unlike the rest of the lab.

// DelayPacketConn is a PacketConn whose writes leave after Delay, plus or
// minus up to Jitter (uniformly at random, per packet), as over a long,
// busy path. Packets may leave in another order than they were written:
// with 20 ms of jitter, packets 5 ms apart often swap, as on a real path
// whose queues change. Reads are untouched.
//
// One goroutine sends them, in the order they are due. A timer per
// packet (time.AfterFunc) sent them from whichever processor's timers
// ran first: on the loaded 2-core box a stalled thread held some back
// while later ones left, and bursts of packets came out of order by
// 100 ms and more, far beyond the jitter asked for (a relay's own
// hiccup, not the path it stands for; issue #10's lab saw it as dozens
// of audio packets at once given up by the studio's jitter buffer).
type DelayPacketConn struct {
	net.PacketConn
	Delay, Jitter time.Duration

	mu      sync.Mutex // guards the fields below
	closed  bool
	queue   delayQueue
	n       uint64        // packets written, to keep ties in order
	wake    chan struct{} // nil until the first write; capacity 1
	stopped chan struct{} // closed when the sender has ended
}

// delayed is a packet waiting to leave.
type delayed struct {
	due  time.Time
	n    uint64
	p    []byte
	addr net.Addr
}

// delayQueue is a heap of packets by the time they are due
// (container/heap).
type delayQueue []delayed

func (q delayQueue) Len() int { return len(q) }
func (q delayQueue) Less(i, j int) bool {
	if !q[i].due.Equal(q[j].due) {
		return q[i].due.Before(q[j].due)
	}
	return q[i].n < q[j].n
}
func (q delayQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *delayQueue) Push(x any)   { *q = append(*q, x.(delayed)) }
func (q *delayQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

// WriteTo sends b to addr later; it returns at once.
func (c *DelayPacketConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0, net.ErrClosed
	}
	if c.wake == nil {
		c.wake, c.stopped = make(chan struct{}, 1), make(chan struct{})
		go c.send()
	}
	d := c.Delay
	if c.Jitter > 0 {
		d += time.Duration(rand.Int64N(int64(2*c.Jitter)+1)) - c.Jitter
	}
	heap.Push(&c.queue, delayed{due: time.Now().Add(max(d, 0)), n: c.n, p: append([]byte(nil), b...), addr: addr})
	c.n++
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return len(b), nil
}

// SetDelay holds back each packet written from now on by d instead of
// Delay: a path that gets slower mid-test. (What waits already leaves
// when it was due.)
func (c *DelayPacketConn) SetDelay(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.Delay = d
}

// send sends each packet when it is due, until Close.
func (c *DelayPacketConn) send() {
	defer close(c.stopped)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return
		}
		now := time.Now()
		for len(c.queue) > 0 && !c.queue[0].due.After(now) {
			d := heap.Pop(&c.queue).(delayed)
			_, _ = c.PacketConn.WriteTo(d.p, d.addr)
		}
		wait := time.Hour
		if len(c.queue) > 0 {
			wait = c.queue[0].due.Sub(now)
		}
		c.mu.Unlock()
		timer.Reset(wait)
		select {
		case <-timer.C:
		case <-c.wake:
		}
	}
}

// Close closes the socket; packets still waiting are dropped. Safe to call
// twice; it waits for the sender to end.
func (c *DelayPacketConn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	wake, stopped := c.wake, c.stopped
	c.mu.Unlock()
	if wake != nil {
		select {
		case wake <- struct{}{}:
		default:
		}
		<-stopped
	}
	return c.PacketConn.Close()
}
