package studio

import (
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"

	"greenroom/encode/clock"
)

// reports is the outermost interceptor of each guest's PeerConnection
// (last in the registry): it reads every RTCP stream of the connection
// itself, from the moment pion binds it, gives the guest's clock
// (clock.Sender) the sender reports it finds and its round trip
// (roundTrips) the reception reports, and passes each packet on
// to whoever reads the stream (an RTPSender's drainRTCP) through a small
// queue.
//
// The sender reports used to be read through the RTPReceiver, one
// reader per simulcast layer (ReadSimulcast(rid)). But pion v4 holds a
// receiver's rids twice when a renegotiation comes before its transport
// started (configureRTPReceivers sets up a receiver not started yet once
// more: behind a slow relay, every time the studio offered a guest the
// others' tracks at once), binds only the first copy at the layer's first
// packet, and ReadSimulcast reads the last: "no trackStreams found for
// RID". The layers' reports then went unread all show, and the program
// placed those layers by arrival (issue #12). Here nothing depends on
// that bookkeeping: every stream pion binds is read, and reading is also
// what runs the interceptors inside this one on it (the receiver
// reports' LSR/DLSR, the NACK responder, the send-side estimate's
// feedback), whether or not the program reads it.
//
// Close does not wait for the readers: each ends when pion closes its
// stream, which PeerConnection.Close does for every stream of a
// transceiver before it closes the interceptors; a stream pion itself
// leaves open (an SSRC it probed and could not place) keeps its reader
// as it keeps the stream.
type reports struct {
	interceptor.NoOp
	// Both nil until the guest takes the connection.
	sender atomic.Pointer[clock.Sender]
	rtts   atomic.Pointer[roundTrips] // from the reception reports (roundtrip.go)
}

// reportsFactory makes each connection's reports interceptor and files
// it by the PeerConnection's ID, for its guest to take (takeReports).
type reportsFactory struct{ byPC *sync.Map }

func (f reportsFactory) NewInterceptor(id string) (interceptor.Interceptor, error) {
	r := &reports{}
	f.byPC.Store(id, r)
	return r, nil
}

// rtcpQueueLen bounds what waits for a stream's reader: a receiver's
// stream has none now, and RTCP is a few packets a second, so a reader
// that reads at all never falls this far behind.
const rtcpQueueLen = 32

// rtcpMTU is the largest RTCP packet read: pion's receive MTU (1460) and
// then some.
const rtcpMTU = 1500

// BindRTCPReader reads in from now on, in a goroutine of its own.
func (r *reports) BindRTCPReader(in interceptor.RTCPReader) interceptor.RTCPReader {
	q := &rtcpQueue{ready: make(chan struct{}, 1)}
	go r.pump(in, q)
	return q
}

// pump reads in until its stream ends, noting the sender and reception
// reports.
func (r *reports) pump(in interceptor.RTCPReader, q *rtcpQueue) {
	for {
		buf := make([]byte, rtcpMTU) // queued: not reused
		n, a, err := in.Read(buf, nil)
		if err != nil {
			q.end(err)
			return
		}
		at := time.Now()
		if a == nil {
			a = interceptor.Attributes{}
		}
		if s, rtts := r.sender.Load(), r.rtts.Load(); s != nil && rtts != nil {
			if pkts, err := a.GetRTCPPackets(buf[:n]); err == nil {
				for _, p := range pkts {
					switch p := p.(type) {
					case *rtcp.SenderReport:
						s.Report(p.SSRC, p.NTPTime, p.RTPTime, at)
						rtts.report(p.Reports, at)
					case *rtcp.ReceiverReport:
						rtts.report(p.Reports, at)
					}
				}
			}
		}
		q.put(rtcpItem{b: buf[:n], a: a})
	}
}

// rtcpQueue is what one stream's pump read and its reader has not: the
// pump puts, the reader (one at a time, as pion's are) takes. mu guards
// items and err.
type rtcpQueue struct {
	mu    sync.Mutex
	items []rtcpItem
	err   error         // the stream's end, once read to it
	ready chan struct{} // a put or the end since the reader last looked
}

type rtcpItem struct {
	b []byte
	a interceptor.Attributes
}

// put queues it, dropping the oldest when full: the pump never waits.
func (q *rtcpQueue) put(it rtcpItem) {
	q.mu.Lock()
	if len(q.items) == rtcpQueueLen {
		q.items = append(q.items[:0], q.items[1:]...)
	}
	q.items = append(q.items, it)
	q.mu.Unlock()
	q.wake()
}

// end notes that the stream ended with err.
func (q *rtcpQueue) end(err error) {
	q.mu.Lock()
	q.err = err
	q.mu.Unlock()
	q.wake()
}

func (q *rtcpQueue) wake() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// Read is the stream's next packet, as pion's reader would give it; the
// stream's error once every packet before its end was read.
func (q *rtcpQueue) Read(b []byte, _ interceptor.Attributes) (int, interceptor.Attributes, error) {
	for {
		q.mu.Lock()
		if len(q.items) > 0 {
			it := q.items[0]
			q.items = q.items[1:]
			q.mu.Unlock()
			if len(b) < len(it.b) {
				return 0, nil, io.ErrShortBuffer
			}
			return copy(b, it.b), it.a, nil
		}
		err := q.err
		q.mu.Unlock()
		if err != nil {
			return 0, nil, err
		}
		<-q.ready
	}
}
