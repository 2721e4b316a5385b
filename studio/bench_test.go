package studio_test

import (
	"encoding/binary"
	"slices"
	"testing"
	"time"

	"github.com/pion/rtp"

	"greenroom/studio/studiotest"
)

// BenchmarkForwardLatency measures RTP in → RTP out through the studio: a
// pion guest writes a packet stamped with the time, another guest reads it
// after the studio forwarded it (two SRTP legs on loopback and the SFU in
// between). One packet in flight at a time, so it is the path's latency,
// not queueing. Reported: p50 and p99 in milliseconds.
func BenchmarkForwardLatency(b *testing.B) {
	s := newStudio(b, nil)
	arrived := make(chan time.Duration, 16)
	pub := join(b, s, "Pub", studiotest.Options{RTPVideo: true})
	_ = join(b, s, "Sub", studiotest.Options{OnRTP: func(_, kind string, pkt *rtp.Packet) {
		if kind == "video" && len(pkt.Payload) == 9 {
			sent := time.Unix(0, int64(binary.BigEndian.Uint64(pkt.Payload[1:])))
			select {
			case arrived <- time.Since(sent):
			default:
			}
		}
	}})
	if err := s.Stage(pub.ID, true); err != nil {
		b.Fatal(err)
	}
	seq := uint16(0)
	send := func() {
		seq++
		payload := make([]byte, 9)
		payload[0] = 0x10 // VP8 payload descriptor: start of a partition
		binary.BigEndian.PutUint64(payload[1:], uint64(time.Now().UnixNano()))
		_ = pub.RTPVideo.WriteRTP(&rtp.Packet{
			Header:  rtp.Header{Version: 2, Marker: true, SequenceNumber: seq, Timestamp: uint32(seq) * 3000},
			Payload: payload,
		})
	}
	// Until the subscription is negotiated nothing arrives.
	deadline := time.Now().Add(15 * time.Second)
	for warm := false; !warm; {
		send()
		select {
		case <-arrived:
			warm = true
		case <-time.After(20 * time.Millisecond):
			if time.Now().After(deadline) {
				b.Fatal("nothing forwarded")
			}
		}
	}
	var lat []time.Duration
	b.ResetTimer()
	for range b.N {
		send()
		select {
		case d := <-arrived:
			lat = append(lat, d)
		case <-time.After(time.Second):
			b.Fatal("a packet was not forwarded within 1 s")
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2])/1e6, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100])/1e6, "p99-ms")
}
