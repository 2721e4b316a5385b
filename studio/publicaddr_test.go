package studio_test

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/pion/webrtc/v4"

	"greenroom/studio"
	"greenroom/studio/studiotest"
)

// With a STUN server, the studio asks it for the media port's public
// address from the media port itself, and every candidate it offers a
// guest is on that one UDP port (or ICE-TCP on the web port): pion's own
// server-reflexive gathering, on a fresh socket per guest, is not used
// (issue #16). A STUN server on loopback sees the port as it is.
func TestMediaPortLearnsItsAddressFromSTUN(t *testing.T) {
	stunSrv := startTURN(t, "nobody", "unused") // pion's TURN server answers STUN binding requests
	s := newStudio(t, func(c *studio.Config) {
		c.ICEServers = []webrtc.ICEServer{{URLs: []string{"stun:" + stunSrv.addr}}}
	})
	udpPort := s.ICEAddr().(*net.UDPAddr).Port
	eventually(t, "the studio to learn its media port's address", func() bool {
		_, ok := s.PublicMediaAddr()
		return ok
	})
	pa, _ := s.PublicMediaAddr()
	if !pa.IP.Equal(net.IPv4(127, 0, 0, 1)) || pa.Port != udpPort || !pa.Local || pa.PortChanged || pa.Via != "stun:"+stunSrv.addr {
		t.Errorf("public address %+v, want 127.0.0.1:%d (local) via stun:%s", pa, udpPort, stunSrv.addr)
	}

	ann := join(t, s, "Ann", studiotest.Options{VideoIVF: videoIVF})
	bob := join(t, s, "Bob", studiotest.Options{VideoIVF: videoIVF})
	if err := s.Stage(ann.ID, true); err != nil {
		t.Fatal(err)
	}
	eventually(t, "Bob to receive Ann", func() bool { return bob.Packets(ann.ID, "video") > 20 })
	cands := bob.RemoteCandidates()
	if len(cands) == 0 {
		t.Fatal("Bob knows no candidate of the studio")
	}
	webPort := s.Addr().(*net.TCPAddr).Port
	for _, c := range cands {
		proto, hostPort, _ := strings.Cut(c, " ")
		hostPort, _, _ = strings.Cut(hostPort, " ")
		_, port, _ := net.SplitHostPort(hostPort)
		want := udpPort
		if proto == "tcp" {
			want = webPort
		}
		if port != strconv.Itoa(want) {
			t.Errorf("the studio offered %q: want every %s candidate on port %d", c, proto, want)
		}
	}
	t.Logf("studio candidates: %v", cands)
}

// ICE over TCP shares the web port: a guest whose network drops UDP
// connects through it while the same port serves the guest page.
func TestICETCPOnTheWebPort(t *testing.T) {
	checkLeaks(t)
	s := newStudio(t, nil)
	if s.ICETCPAddr() == nil || s.ICETCPAddr().String() != s.Addr().String() {
		t.Fatalf("ICE-TCP on %v, want the web port %v", s.ICETCPAddr(), s.Addr())
	}
	iceTCPPair(t, s, studiotest.Options{VideoIVF: videoIVF})
	// The page is still served on the port.
	resp, err := http.Get(fmt.Sprintf("http://%s/join/nobody", s.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("GET a wrong link on the shared port: %s, want 403", resp.Status)
	}
}

// Behind a TLS front on this machine (the web port on loopback, the public
// URL elsewhere) the media port listens on every interface: guests' media
// comes straight to the studio, not through the front.
func TestMediaPortBehindAFront(t *testing.T) {
	for _, tc := range []struct {
		public string
		wantIP string
	}{
		{"https://studio.example.com", "::"},
		{"", "127.0.0.1"},
		{"http://localhost:9000", "127.0.0.1"},
	} {
		s := newStudio(t, func(c *studio.Config) { c.PublicURL = tc.public; c.ICEUDPListen = "" })
		if ip := s.ICEAddr().(*net.UDPAddr).IP.String(); ip != tc.wantIP && !(tc.wantIP == "::" && ip == "0.0.0.0") {
			t.Errorf("public URL %q: the media port listens on %s, want %s", tc.public, s.ICEAddr(), tc.wantIP)
		}
		s.Close()
	}
}
