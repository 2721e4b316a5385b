package studiotest

import (
	"encoding/binary"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
)

// Repairs is what a Client's NACKs did for the video it receives
// (Options.LoseReceived).
type Repairs struct {
	Lost     int64 // video packets its socket lost, retransmissions included
	Asked    int   // packets its NACKs asked for (each once, however often asked)
	Repaired int   // of those, how many came after they were first asked for
	// Unrepaired is how many were first asked for over NeverAfter ago
	// and never came: lost for good, as no NACK repairs them later.
	// Refused is how many of those reached the client's socket after
	// they were asked for, and were refused above it (by SRTP's replay
	// window: too far behind the newest packet).
	Unrepaired, Refused int
	// Slowest is the longest a repaired packet came after it was first
	// asked for.
	Slowest time.Duration
}

// NeverAfter is how long after it was first asked for a packet that has
// not come counts as never repaired (Repairs.Unrepaired): the NACK
// generator asks again every 100 ms, so each lost retransmission costs
// that much more, and a loaded machine some more.
const NeverAfter = time.Second

// Repairs says what the client's NACKs asked for and what came; zero
// without Options.LoseReceived.
func (c *Client) Repairs() Repairs {
	if c.repairs == nil {
		return Repairs{}
	}
	r := c.repairs.count()
	r.Lost = c.path.lost.Load()
	return r
}

// LoseReceivedBurst loses the next n video packets the client receives,
// retransmissions included, as a downlink that drops out for a moment
// (Options.LoseReceived must be set).
func (c *Client) LoseReceivedBurst(n int) { c.path.loseNext(n) }

// repairs follows the NACKs a Client sends and the packets that answer
// them: its interceptor is first in the client's registry, nearest the
// network, so that it sees each packet before the NACK generator does and
// each NACK the generator writes. mu guards asked.
type repairs struct {
	mu    sync.Mutex
	asked map[streamSeq]asked
}

// streamSeq is one packet of one stream.
type streamSeq struct {
	ssrc uint32
	seq  uint16
}

// asked is when a packet was first asked for, how long it took to come
// (0: not yet), and whether it reached the socket since.
type asked struct {
	at      time.Time
	took    time.Duration
	reached bool
}

func (r *repairs) count() Repairs {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := Repairs{Asked: len(r.asked)}
	for _, a := range r.asked {
		switch {
		case a.took > 0:
			out.Repaired++
			out.Slowest = max(out.Slowest, a.took)
		case time.Since(a.at) > NeverAfter:
			out.Unrepaired++
			if a.reached {
				out.Refused++
			}
		}
	}
	return out
}

// reached notes a packet that reached the client's socket.
func (r *repairs) reached(ssrc uint32, seq uint16) {
	k := streamSeq{ssrc, seq}
	r.mu.Lock()
	defer r.mu.Unlock()
	if a, ok := r.asked[k]; ok && !a.reached {
		a.reached = true
		r.asked[k] = a
	}
}

// repairsFactory hands the one PeerConnection of a Client its repairs.
type repairsFactory struct{ r *repairs }

func (f repairsFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &repairsInterceptor{r: f.r}, nil
}

type repairsInterceptor struct {
	interceptor.NoOp
	r *repairs
}

// BindRTCPWriter notes the packets each NACK asks for.
func (i *repairsInterceptor) BindRTCPWriter(w interceptor.RTCPWriter) interceptor.RTCPWriter {
	return interceptor.RTCPWriterFunc(func(pkts []rtcp.Packet, a interceptor.Attributes) (int, error) {
		now := time.Now()
		i.r.mu.Lock()
		for _, p := range pkts {
			nack, ok := p.(*rtcp.TransportLayerNack)
			if !ok {
				continue
			}
			for _, pair := range nack.Nacks {
				for _, seq := range pair.PacketList() {
					k := streamSeq{nack.MediaSSRC, seq}
					if _, ok := i.r.asked[k]; !ok {
						i.r.asked[k] = asked{at: now}
					}
				}
			}
		}
		i.r.mu.Unlock()
		return w.Write(pkts, a)
	})
}

// BindRemoteStream notes the packets asked for that came.
func (i *repairsInterceptor) BindRemoteStream(_ *interceptor.StreamInfo, rd interceptor.RTPReader) interceptor.RTPReader {
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, a, err := rd.Read(b, a)
		if err != nil || n < 12 {
			return n, a, err
		}
		k := streamSeq{binary.BigEndian.Uint32(b[8:12]), binary.BigEndian.Uint16(b[2:4])}
		i.r.mu.Lock()
		if p, ok := i.r.asked[k]; ok && p.took == 0 {
			p.took = max(time.Since(p.at), time.Nanosecond)
			i.r.asked[k] = p
		}
		i.r.mu.Unlock()
		return n, a, err
	})
}
