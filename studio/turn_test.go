package studio_test

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
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

// TestSetICEServersForNewGuests: servers set while the studio runs reach
// the guests who join after — in "welcome", and in use: a relay-only guest
// joining then connects through the TURN server — while a guest already in
// keeps what it joined with. A bad server is refused whole, and the log
// never shows a TURN password.
func TestSetICEServersForNewGuests(t *testing.T) {
	var log bytes.Buffer
	var logMu sync.Mutex
	s := newStudio(t, func(c *studio.Config) {
		c.Logger = slog.New(slog.NewTextHandler(lockedWriter{&logMu, &log}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	av := studiotest.Options{VideoIVF: videoIVF, AudioOgg: audioOgg}
	ann := join(t, s, "Ann", av)
	if len(ann.ICEServers) != 0 {
		t.Fatalf("Ann was given %v before any were set", ann.ICEServers)
	}

	relayed := startTURN(t, "guest", "s3cret")
	turnURL := fmt.Sprintf("turn:%s?transport=udp", relayed.addr)
	for _, bad := range [][]webrtc.ICEServer{
		{{URLs: []string{"turn:" + relayed.addr}}}, // no credentials
		{{URLs: []string{"stun:"}}},
		{{URLs: []string{"turn:guest:s3cret@" + relayed.addr}}}, // typed by hand, unparsed
	} {
		err := s.SetICEServers(bad)
		if err == nil {
			t.Errorf("SetICEServers(%v) succeeded", bad)
		} else if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("SetICEServers's error shows the password: %v", err)
		}
	}
	srv, err := studio.ParseICEServer("turn:guest:s3cret@" + relayed.addr + "?transport=udp")
	if err != nil {
		t.Fatal(err)
	}
	servers := []webrtc.ICEServer{srv}
	if err := s.SetICEServers(servers); err != nil {
		t.Fatal(err)
	}
	servers[0].URLs[0] = "stun:changed.invalid" // the studio kept a copy

	relayOnly := av
	relayOnly.RelayOnly = true
	bob := join(t, s, "Bob", relayOnly)
	if len(bob.ICEServers) != 1 || bob.ICEServers[0].URLs[0] != turnURL || bob.ICEServers[0].Username != "guest" {
		t.Fatalf("Bob was given %+v, want the TURN server %s", bob.ICEServers, turnURL)
	}
	for _, c := range []*studiotest.Client{ann, bob} {
		if err := s.Stage(c.ID, true); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "Ann and Bob to receive each other (Bob relayed)", func() bool {
		return ann.Packets(bob.ID, "video") > 30 && bob.Packets(ann.ID, "video") > 30
	})
	if typ := bob.LocalCandidateType(); typ != "relay" {
		t.Errorf("Bob's candidate in use is %q, want relay", typ)
	}
	if n := relayed.bytes.Load(); n < 20_000 {
		t.Errorf("the TURN server relayed %d bytes, want the media (≥ 20 kB)", n)
	}
	logMu.Lock()
	defer logMu.Unlock()
	if strings.Contains(log.String(), "s3cret") {
		t.Errorf("the log shows the TURN password:\n%s", log.String())
	}
	if !strings.Contains(log.String(), relayed.addr) {
		t.Errorf("the log does not say which servers were set:\n%s", log.String())
	}
}

// lockedWriter serializes writes to w.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
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
