package studiotest

import (
	"encoding/binary"
	mathrand "math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"

	"greenroom/studio/studiotest/netlab"
)

// path is a Client's ICE over UDP (Options.Movable, Options.PathDelay),
// which a test can break — every packet lost both ways, as when Wi-Fi
// drops — and move: the network comes back at a new address, as when a
// guest walks over to a phone's hotspot. It is an ice.UDPMux over one
// socket at a time: pion gathers its host candidate from the current one
// (a new candidate after an ICE restart), and a move closes the old
// socket, so what the studio still sends there is gone. A test can also
// rebind it: the guest's router maps it anew, so its packets leave from
// another address while pion keeps its candidate. The signaling
// WebSocket is not touched. A path with a delay sends each packet that
// much later (setDelay changes it). A path with a loss loses that many
// percent of the video packets it receives at random (Options.LoseReceived),
// their retransmissions too. mu guards delay, delayed, broken and muxes.
type path struct {
	mu      sync.Mutex
	delay   time.Duration
	delayed *netlab.DelayPacketConn // the current socket, if a delay was set at the start
	nat     *natConn                // the current socket, under the delay
	broken  bool
	muxes   []*ice.UDPMuxDefault // the current one last

	lose  int                            // percent
	video atomic.Pointer[map[uint8]bool] // the payload types of video (setVideo); nil: none yet
	lost  atomic.Int64                   // video packets lost so far
	burst atomic.Int64                   // how many of the next video packets to lose (loseNext)
	// came, if not nil, sees each video packet the path lets through
	// (SSRC and sequence number, read in the clear): what reached the
	// client's socket, whether SRTP takes it or not.
	came func(ssrc uint32, seq uint16)
}

func newPath(delay time.Duration, lose int, came func(ssrc uint32, seq uint16)) (*path, error) {
	p := &path{delay: delay, lose: lose, came: came}
	return p, p.move()
}

// lossyConn is one socket of a path, which loses everything while the path
// is broken.
type lossyConn struct {
	net.PacketConn
	p *path
}

func (c lossyConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(b)
		if err != nil || !c.p.isBroken() && !c.p.loses(b[:n]) {
			return n, addr, err
		}
	}
}

func (c lossyConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	if c.p.isBroken() {
		return len(b), nil
	}
	return c.PacketConn.WriteTo(b, addr)
}

// loses says whether packet b, received, is lost to the path's loss: an
// RTP packet (RFC 7983: first byte 128–191; RFC 5761: its second byte not
// RTCP's 192–223) of one of the video payload types, at random. The RTP
// header is in the clear under SRTP, so the loss comes before SRTP and
// the NACK generator, as on a real link.
func (p *path) loses(b []byte) bool {
	if p.lose <= 0 || len(b) < 12 || b[0] < 128 || b[0] > 191 || b[1] >= 192 && b[1] <= 223 {
		return false
	}
	video := p.video.Load()
	if video == nil || !(*video)[b[1]&0x7f] {
		return false
	}
	if p.burst.Load() > 0 && p.burst.Add(-1) >= 0 || mathrand.IntN(100) < p.lose {
		p.lost.Add(1)
		return true
	}
	if p.came != nil {
		p.came(binary.BigEndian.Uint32(b[8:12]), binary.BigEndian.Uint16(b[2:4]))
	}
	return false
}

// loseNext loses the next n video packets received, retransmissions
// included.
func (p *path) loseNext(n int) { p.burst.Store(int64(n)) }

// setVideo says which payload types are video, as the last description
// applied says.
func (p *path) setVideo(types map[uint8]bool) { p.video.Store(&types) }

func (p *path) isBroken() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.broken
}

// cut loses every packet from now on, both ways.
func (p *path) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.broken = true
}

// move brings the path back on a new socket (a new address), and closes
// the old one.
func (p *path) move() error {
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		return err
	}
	nat := &natConn{cur: c, first: c.LocalAddr()}
	c = nat
	p.mu.Lock()
	p.nat = nat
	if p.delay > 0 {
		p.delayed = &netlab.DelayPacketConn{PacketConn: c, Delay: p.delay}
		c = p.delayed
	}
	mux := ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: lossyConn{c, p}})
	old := p.muxes
	p.muxes, p.broken = []*ice.UDPMuxDefault{mux}, false
	p.mu.Unlock()
	for _, m := range old {
		_ = m.Close()
	}
	return nil
}

// rebind makes the path's packets leave from a new port, as when the
// guest's NAT maps its socket anew: pion's agent, its candidate and its
// socket as it sees it stay; what the studio sends to the old port is
// lost. It returns the new address.
func (p *path) rebind() (net.Addr, error) {
	p.mu.Lock()
	nat := p.nat
	p.mu.Unlock()
	return nat.rebind()
}

// addr is where the path's packets come from now.
func (p *path) addr() net.Addr {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.nat.current().LocalAddr()
}

// natConn is a path's socket as pion sees it, behind a NAT that may map it
// anew: its address stays the first socket's (pion's host candidate),
// while its packets come and go through the current one. mu guards cur.
type natConn struct {
	mu    sync.Mutex
	cur   net.PacketConn
	first net.Addr
}

func (c *natConn) current() net.PacketConn {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cur
}

func (c *natConn) rebind() (net.Addr, error) {
	n, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	old := c.cur
	c.cur = n
	c.mu.Unlock()
	_ = old.Close() // the reader goes on with the new socket
	return n.LocalAddr(), nil
}

// ReadFrom reads from the current socket, from the new one after a
// rebind closed the one it was reading.
func (c *natConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		cur := c.current()
		n, addr, err := cur.ReadFrom(b)
		if err != nil && c.current() != cur {
			continue
		}
		return n, addr, err
	}
}

func (c *natConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	return c.current().WriteTo(b, addr)
}

func (c *natConn) Close() error                       { return c.current().Close() }
func (c *natConn) LocalAddr() net.Addr                { return c.first }
func (c *natConn) SetDeadline(t time.Time) error      { return c.current().SetDeadline(t) }
func (c *natConn) SetReadDeadline(t time.Time) error  { return c.current().SetReadDeadline(t) }
func (c *natConn) SetWriteDeadline(t time.Time) error { return c.current().SetWriteDeadline(t) }

// setDelay holds back each packet sent from now on by d instead; on a
// path that had a delay from the start.
func (p *path) setDelay(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.delay = d
	if p.delayed != nil {
		p.delayed.SetDelay(d)
	}
}

func (p *path) current() *ice.UDPMuxDefault {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.muxes[len(p.muxes)-1]
}

// GetConn, RemoveConnByUfrag, GetListenAddresses and Close make a path an
// ice.UDPMux.
func (p *path) GetConn(ufrag string, addr net.Addr) (net.PacketConn, error) {
	return p.current().GetConn(ufrag, addr)
}

func (p *path) RemoveConnByUfrag(ufrag string) { p.current().RemoveConnByUfrag(ufrag) }

func (p *path) GetListenAddresses() []net.Addr { return p.current().GetListenAddresses() }

func (p *path) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range p.muxes {
		_ = m.Close()
	}
	return nil
}
