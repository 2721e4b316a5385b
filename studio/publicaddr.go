package studio

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/pion/stun/v4"
	"github.com/pion/webrtc/v4"
)

// The guests' media all goes through one UDP port (Config.ICEUDPListen),
// with or without STUN (issue #16). pion would gather a server-reflexive
// candidate on a fresh socket per guest, on a random port; instead the
// studio asks the STUN servers itself, from the media port's own socket,
// which address and port the internet sees it as, and offers that address
// beside the port's local ones. A router that keeps the port (Linux
// masquerade, most home routers: RFC 4787 endpoint-independent mapping)
// then lets a guest's checks through once the studio has sent its own
// towards the guest (hole punching), and a port mapped on the router
// (UPnP, NAT-PMP, by hand) is that same port. The studio's side of a
// connection therefore gets the TURN servers only (studioSide).

// PublicAddr is the ICE UDP port as guests on the internet reach it.
type PublicAddr struct {
	IP   net.IP `json:"ip"`
	Port int    `json:"port"`
	// Via says how it was learned: the STUN server's URL.
	Via string `json:"via"`
	// Local is true when the address is this machine's own (no NAT in
	// between): guests reach the port as it is.
	Local bool `json:"local"`
	// PortChanged is true when the router shows the port under another
	// number: it maps each destination anew (a symmetric NAT), so guests
	// outside can reach the studio only through a TURN server or a port
	// forwarded by hand.
	PortChanged bool `json:"portChanged"`
}

func (a PublicAddr) String() string { return net.JoinHostPort(a.IP.String(), strconv.Itoa(a.Port)) }

const (
	publicAddrEvery   = 5 * time.Minute // an ISP may change the address
	publicAddrTimeout = 3 * time.Second // per STUN server
)

// PublicMediaAddr is the ICE UDP port's public address, as the studio's
// STUN servers see it; false until one answered.
func (s *Studio) PublicMediaAddr() (PublicAddr, bool) {
	if a := s.sfu.public.Load(); a != nil {
		return *a, true
	}
	return PublicAddr{}, false
}

// watchPublicAddr learns the media port's public address at start, every
// publicAddrEvery, and when the STUN servers change (reprobe).
func (s *Studio) watchPublicAddr() {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		case <-s.reprobe:
			if !t.Stop() {
				select {
				case <-t.C:
				default:
				}
			}
		}
		s.probePublicAddr()
		t.Reset(publicAddrEvery)
	}
}

// probePublicAddr asks the STUN servers in turn until one answers.
func (s *Studio) probePublicAddr() {
	servers := stunURLs(s.sfu.currentICEServers())
	if len(servers) == 0 {
		return
	}
	local := s.sfu.udpAddr().(*net.UDPAddr)
	for _, u := range servers {
		addr, err := s.sfu.askSTUN(s.ctx, u)
		if err != nil {
			if s.ctx.Err() != nil {
				return
			}
			s.log.Debug("STUN server did not answer", "server", u.String(), "err", err)
			continue
		}
		pa := PublicAddr{IP: addr.IP, Port: addr.Port, Via: u.String(), Local: isLocalIP(addr.IP),
			PortChanged: addr.Port != local.Port}
		s.sfu.setPublic(pa)
		return
	}
	s.log.Warn("no STUN server answered: guests outside this network may not reach the studio", "servers", len(servers))
}

// stunURLs are the servers the studio can ask for its address from the
// media port: STUN over UDP. (A TURN server answers STUN too, but it is
// there to relay.)
func stunURLs(servers []webrtc.ICEServer) []*stun.URI {
	var out []*stun.URI
	for _, srv := range servers {
		for _, raw := range srv.URLs {
			u, err := stun.ParseURI(raw)
			if err == nil && u.Scheme == stun.SchemeTypeSTUN && u.Proto == stun.ProtoTypeUDP {
				out = append(out, u)
			}
		}
	}
	return out
}

// askSTUN sends a binding request to u from the media port's socket.
func (f *sfu) askSTUN(ctx context.Context, u *stun.URI) (*stun.XORMappedAddress, error) {
	ctx, cancel := context.WithTimeout(ctx, publicAddrTimeout)
	defer cancel()
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip4", u.Host)
	if err != nil {
		return nil, err
	}
	if len(ips) == 0 {
		return nil, fmt.Errorf("%s has no IPv4 address", u.Host)
	}
	server := net.UDPAddrFromAddrPort(netip.AddrPortFrom(ips[0], uint16(u.Port)))
	deadline, _ := ctx.Deadline()
	return f.udpMux.GetXORMappedAddrContext(ctx, server, time.Until(deadline))
}

// setPublic records the media port's public address, and offers it to the
// guests who connect from now on when they could not reach the port
// otherwise.
func (f *sfu) setPublic(pa PublicAddr) {
	old := f.public.Swap(&pa)
	if old != nil && old.IP.Equal(pa.IP) && old.Port == pa.Port {
		return
	}
	switch {
	case pa.Local:
		f.log.Info("the media port is reachable as it is: no NAT", "addr", pa.String())
	case pa.PortChanged:
		// Offering the address with our own port would send guests to a
		// port the router does not forward.
		f.log.Warn("the router changes the media port's number for each destination (symmetric NAT): guests outside this network need a TURN server or a port forward",
			"local_port", f.udpAddr().(*net.UDPAddr).Port, "public", pa.String())
	default:
		f.log.Info("public address of the media port", "addr", pa.String(), "via", pa.Via)
	}
	offer := &pa
	if pa.Local || pa.PortChanged {
		offer = nil
	}
	api, err := f.newAPI(offer)
	if err != nil {
		f.log.Warn("public address not offered", "err", err)
		return
	}
	f.api.Store(api)
}

// studioSide is what the studio's side of a guest's connection uses of the
// servers the guest was given: the TURN servers. STUN is asked from the
// media port itself (see above), never from a socket of its own.
func studioSide(servers []webrtc.ICEServer) []webrtc.ICEServer {
	var out []webrtc.ICEServer
	for _, srv := range servers {
		var urls []string
		for _, u := range srv.URLs {
			if p, err := stun.ParseURI(u); err == nil && (p.Scheme == stun.SchemeTypeTURN || p.Scheme == stun.SchemeTypeTURNS) {
				urls = append(urls, u)
			}
		}
		if len(urls) > 0 {
			srv.URLs = urls
			out = append(out, srv)
		}
	}
	return out
}

// isLocalIP says whether ip is one of this machine's addresses.
func isLocalIP(ip net.IP) bool {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.Equal(ip) {
			return true
		}
	}
	return false
}
