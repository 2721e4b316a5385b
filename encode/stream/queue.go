package stream

import (
	"sync"
	"time"
)

// Queue is the bounded packet queue in front of one output. Push never
// blocks. When the queue is full the output is too slow for the program:
// everything queued is dropped and video is skipped up to the next keyframe,
// because a decoder cannot use frames that reference dropped ones. Audio
// resumes at once. Every dropped packet is counted.
//
// Queue is safe for one producer and one consumer; its state is guarded by mu.
type Queue struct {
	mu       sync.Mutex
	buf      []*Packet
	max      int
	waitKey  bool
	started  bool // a keyframe has been accepted: skips from now on are drops
	dropped  int64
	closed   bool
	notEmpty chan struct{} // capacity 1: a wake-up for the consumer
}

// NewQueue returns a queue that holds at most max packets. The first
// packets it accepts start at a video keyframe; the frames skipped to get
// there are not counted as dropped.
func NewQueue(max int) *Queue {
	return &Queue{max: max, waitKey: true, notEmpty: make(chan struct{}, 1)}
}

// Push adds p, dropping as described on Queue. It reports whether p was kept.
func (q *Queue) Push(p *Packet) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return false
	}
	if p.Kind == Video {
		if q.waitKey && !p.Key {
			// Before the first keyframe the output is joining mid-GOP:
			// nothing is lost that it could have used. After an overflow
			// the skipped frames are the cost of being slow.
			if q.started {
				q.dropped++
			}
			return false
		}
		q.waitKey, q.started = false, true
	}
	if len(q.buf) >= q.max {
		q.dropped += int64(len(q.buf))
		clear(q.buf)
		q.buf = q.buf[:0]
		if p.Kind == Video && !p.Key {
			q.waitKey = true
			q.dropped++
			return false
		}
		q.waitKey = p.Kind != Video
	}
	q.buf = append(q.buf, p)
	select {
	case q.notEmpty <- struct{}{}:
	default:
	}
	return true
}

// Pop returns the oldest packet, or nil if the queue is empty.
func (q *Queue) Pop() *Packet {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.buf) == 0 {
		return nil
	}
	p := q.buf[0]
	q.buf[0] = nil
	q.buf = q.buf[1:]
	if len(q.buf) == 0 {
		q.buf = q.buf[:0:0]
	}
	return p
}

// Ready is signalled after a Push; the consumer selects on it and then
// Pops until nil.
func (q *Queue) Ready() <-chan struct{} { return q.notEmpty }

// Len is the number of packets waiting.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.buf)
}

// Dropped is the number of packets dropped so far.
func (q *Queue) Dropped() int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.dropped
}

// Close makes later Pushes no-ops and returns what was still queued, so an
// output can flush it.
func (q *Queue) Close() []*Packet {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	rest := q.buf
	q.buf = nil
	return rest
}

// Meter measures bit rate and video frame rate over a sliding window of
// whole seconds. It is guarded by its own mutex: the output's writer updates
// it and Stats reads it from another goroutine.
type Meter struct {
	mu      sync.Mutex
	now     func() time.Time
	window  time.Duration
	samples []meterSample
	written int64
}

type meterSample struct {
	at    time.Time
	bytes int
	video bool
}

// NewMeter returns a meter over the given window (3 s if zero).
func NewMeter(window time.Duration) *Meter {
	if window <= 0 {
		window = 3 * time.Second
	}
	return &Meter{now: time.Now, window: window}
}

// Add records one written packet.
func (m *Meter) Add(p *Packet) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	m.written++
	m.samples = append(m.samples, meterSample{at: now, bytes: len(p.Data), video: p.Kind == Video})
	m.trim(now)
}

func (m *Meter) trim(now time.Time) {
	i := 0
	for i < len(m.samples) && now.Sub(m.samples[i].at) > m.window {
		i++
	}
	if i > 0 {
		m.samples = append(m.samples[:0], m.samples[i:]...)
	}
}

// Rates returns bits per second, video packets per second and the total
// number of packets written.
func (m *Meter) Rates() (bitRate, fps float64, written int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.trim(m.now())
	var bytes, frames int
	for _, s := range m.samples {
		bytes += s.bytes
		if s.video {
			frames++
		}
	}
	secs := m.window.Seconds()
	return float64(bytes*8) / secs, float64(frames) / secs, m.written
}
