//go:build linux

package netlab

import (
	"encoding/binary"
	"net"
	"testing"
	"time"
)

// A DelayPacketConn sends packets in the order they are due: without
// jitter, in the order they were written, a burst of them too (a timer
// per packet sent a burst out of order on a loaded box). Close waits for
// its sender and is safe twice. No lab, no root: loopback.
func TestDelayPacketConnKeepsDueOrder(t *testing.T) {
	raw, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	slow := &DelayPacketConn{PacketConn: raw, Delay: 30 * time.Millisecond}
	defer slow.Close()
	dst, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	const n = 200
	start := time.Now()
	for i := range uint32(n) {
		if _, err := slow.WriteTo(binary.BigEndian.AppendUint32(nil, i), dst.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 16)
	for i := range uint32(n) {
		_ = dst.SetReadDeadline(time.Now().Add(2 * time.Second))
		k, _, err := dst.ReadFrom(buf)
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		if got := binary.BigEndian.Uint32(buf[:k]); got != i {
			t.Fatalf("packet %d came as the %dth", got, i)
		}
		if i == 0 && time.Since(start) < 30*time.Millisecond {
			t.Fatalf("the first packet came after %v, want the delay of 30 ms", time.Since(start))
		}
	}
	if err := slow.Close(); err != nil {
		t.Fatal(err)
	}
	if err := slow.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := slow.WriteTo([]byte("late"), dst.LocalAddr()); err == nil {
		t.Error("a write after Close was taken")
	}
}
