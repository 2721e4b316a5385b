package studio_test

import (
	"fmt"
	"net"
	"sync/atomic"
	"testing"

	"github.com/pion/turn/v5"
	"github.com/pion/webrtc/v4"

	"greenroom/studio"
	"greenroom/studio/studiotest"
)

// TestGuestThroughTURN: a guest whose network allows nothing but a TURN
// relay (relay-only ICE, with the TURN server the studio hands out in
// "welcome") joins, and media flows both ways with another guest — through
// a real TURN server on loopback, which counts what it relayed.
func TestGuestThroughTURN(t *testing.T) {
	relayed := startTURN(t, "guest", "s3cret")
	turnURL := fmt.Sprintf("turn:%s?transport=udp", relayed.addr)
	s := newStudio(t, func(c *studio.Config) {
		c.ICEServers = []webrtc.ICEServer{{URLs: []string{turnURL}, Username: "guest", Credential: "s3cret"}}
	})
	av := studiotest.Options{VideoIVF: videoIVF, AudioOgg: audioOgg}
	relayOnly := av
	relayOnly.RelayOnly = true
	ann, bob := join(t, s, "Ann", relayOnly), join(t, s, "Bob", av)
	for _, c := range []*studiotest.Client{ann, bob} {
		if err := s.Stage(c.ID, true); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "Bob to receive Ann (relayed)", func() bool {
		return bob.Packets(ann.ID, "video") > 30 && bob.Packets(ann.ID, "audio") > 30
	})
	eventually(t, "Ann to receive Bob (relayed)", func() bool {
		return ann.Packets(bob.ID, "video") > 30 && ann.Packets(bob.ID, "audio") > 30
	})
	if typ := ann.LocalCandidateType(); typ != "relay" {
		t.Errorf("Ann's candidate in use is %q, want relay", typ)
	}
	if n := relayed.bytes.Load(); n < 20_000 { // ICE checks alone are a few kB
		t.Errorf("the TURN server relayed %d bytes, want the media (≥ 20 kB)", n)
	}
	t.Logf("relayed %d bytes", relayed.bytes.Load())
}

// turnServer is a pion TURN server on 127.0.0.1 with one user.
type turnServer struct {
	addr  string
	bytes atomic.Int64 // relayed to and from peers
}

func startTURN(t *testing.T, user, pass string) *turnServer {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := &turnServer{addr: conn.LocalAddr().String()}
	const realm = "greenroom.test"
	key := turn.GenerateAuthKey(user, realm, pass)
	srv, err := turn.NewServer(turn.ServerConfig{
		Realm: realm,
		AuthHandler: func(ra *turn.RequestAttributes) (string, []byte, bool) {
			if ra.Username == user {
				return user, key, true
			}
			return "", nil, false
		},
		PacketConnConfigs: []turn.PacketConnConfig{{
			PacketConn: conn,
			RelayAddressGenerator: &countingRelay{
				RelayAddressGeneratorStatic: &turn.RelayAddressGeneratorStatic{RelayAddress: net.ParseIP("127.0.0.1"), Address: "127.0.0.1"},
				n:                           &ts.bytes,
			},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return ts
}

// countingRelay makes relay sockets that count the bytes they carry.
type countingRelay struct {
	*turn.RelayAddressGeneratorStatic
	n *atomic.Int64
}

func (r *countingRelay) AllocatePacketConn(cfg turn.AllocateListenerConfig) (net.PacketConn, net.Addr, error) {
	c, a, err := r.RelayAddressGeneratorStatic.AllocatePacketConn(cfg)
	if err != nil {
		return nil, nil, err
	}
	return &countingConn{PacketConn: c, n: r.n}, a, nil
}

type countingConn struct {
	net.PacketConn
	n *atomic.Int64
}

func (c *countingConn) ReadFrom(p []byte) (int, net.Addr, error) {
	n, a, err := c.PacketConn.ReadFrom(p)
	c.n.Add(int64(n))
	return n, a, err
}

func (c *countingConn) WriteTo(p []byte, a net.Addr) (int, error) {
	n, err := c.PacketConn.WriteTo(p, a)
	c.n.Add(int64(n))
	return n, err
}
