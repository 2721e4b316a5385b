package studio

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"greenroom/studio/portmap"
)

// Reach is how guests outside this network reach the studio, as the window
// and /api/state show it (issue #9): the way in, the public address, what
// the router forwards, and what stands in the way, in words.
type Reach struct {
	// Via is how guests on the internet open the link.
	Via ReachVia `json:"via"`
	// PublicIP is the address guests on the internet reach the studio
	// at, when known: the router's (from the port mapping or STUN), or the
	// one given (Config.NAT1To1IPs).
	PublicIP string `json:"publicIP,omitempty"`
	// Media is the media port as the internet sees it (see PublicAddr).
	Media *PublicAddr `json:"media,omitempty"`
	// Mapped lists what the router forwards to the studio, e.g.
	// "TCP 8443→8443".
	Mapped []string `json:"mapped,omitempty"`
	// Pending is true while the studio is still asking the router.
	Pending bool `json:"pending,omitempty"`
	// Problem says what keeps guests outside this network from joining
	// and what to do about it; "" when nothing does that the studio knows.
	Problem string `json:"problem,omitempty"`
}

// ReachVia names how guests from the internet get in.
type ReachVia string

const (
	ReachUPnP   ReachVia = "upnp"   // the router forwards the ports: mapped by UPnP
	ReachNATPMP ReachVia = "natpmp" // mapped by NAT-PMP
	ReachManual ReachVia = "manual" // forwarded by hand (Config.NAT1To1IPs)
	ReachProxy  ReachVia = "proxy"  // a reverse proxy or tunnel (Config.PublicURL)
	ReachDirect ReachVia = "direct" // this machine's own address is public
	ReachLAN    ReachVia = "lan"    // only from this network, as far as the studio knows
)

// Words are how the window says it.
func (v ReachVia) Words() string {
	switch v {
	case ReachUPnP:
		return "your router forwards the studio's ports (UPnP)"
	case ReachNATPMP:
		return "your router forwards the studio's ports (NAT-PMP)"
	case ReachManual:
		return "through a port you forwarded by hand"
	case ReachProxy:
		return "through your public URL (a reverse proxy or tunnel)"
	case ReachDirect:
		return "directly: this computer has a public address"
	}
	return "only from this network"
}

// grantedPorts are the external ports the router gave each of the
// studio's forwards; 0 where it gave none.
type grantedPorts struct {
	// https is the router's 443 to the web port, with a Domain: the CA
	// checks the name there (TLS-ALPN-01), and a link without a port
	// lands there.
	https int
	web   int // the web port as itself (TCP)
	media int // the media port (UDP)
	// http01 is the router's 80 to the HTTP-01 challenge's port, with
	// Config.ACMEHTTPListen: the CA asks on port 80.
	http01 int
}

// granted reads st's mappings as startMapping asked for them: the
// Optional ones are the name's (443 and 80), told apart by their internal
// port.
func (s *Studio) granted(st portmap.Status) grantedPorts {
	var g grantedPorts
	for _, m := range st.Mapped {
		switch {
		case m.Protocol == "udp":
			g.media = m.ExternalPort
		case !m.Optional:
			g.web = m.ExternalPort
		case m.InternalPort == s.webPort:
			g.https = m.ExternalPort
		default:
			g.http01 = m.ExternalPort
		}
	}
	return g
}

// startMapping asks the router to forward the web port (TCP) and the
// media port (UDP), with a Domain also its 443 to the web port (and its 80
// to the HTTP-01 port, http01Port when not 0), and follows what it says
// until Close.
func (s *Studio) startMapping(webPort, mediaPort, http01Port int) {
	var ms []portmap.Mapping
	// The router's 443 (and 80) are Optional: many routers keep ports
	// below 1024 from UPnP (miniupnpd does by default), and guests still
	// reach the studio on its own port then. 443 comes first: NAT-PMP
	// keys a mapping by its internal port (RFC 6886 §3.3), and a router
	// that does so answers a second request for the same internal port
	// with the mapping it already has, so the first request is the one
	// whose wish counts.
	if s.acme != nil {
		ms = append(ms, portmap.Mapping{Protocol: "tcp", InternalPort: webPort, ExternalPort: 443, Optional: true})
	}
	ms = append(ms, portmap.Mapping{Protocol: "tcp", InternalPort: webPort}, portmap.Mapping{Protocol: "udp", InternalPort: mediaPort})
	if s.acme != nil && http01Port != 0 {
		ms = append(ms, portmap.Mapping{Protocol: "tcp", InternalPort: http01Port, ExternalPort: 80, Optional: true})
	}
	s.mapper = portmap.Start(s.ctx, portmap.Config{Mappings: ms, Logger: s.cfg.Logger})
	s.life.spawn(func() {
		for st := range s.mapper.Changes() { // closed after the mapper's Close
			s.mapped(st)
		}
	})
}

// mapped takes in a change of the router's forwards: the guest link names
// the router's address (or, with a Domain, the name, with the port when
// the router's 443 is not the studio's), and the media port is offered at
// it.
func (s *Studio) mapped(st portmap.Status) {
	s.mu.Lock()
	first := !s.mapKnown
	s.mapStatus, s.mapKnown = st, true
	s.mu.Unlock()
	if first {
		defer close(s.mapFirst) // after the guest link is set below
	}
	if st.Err != nil {
		s.log.Warn("the router does not forward the studio's ports", "err", st.Err, "advice", st.Advice)
	} else if st.Advice != "" {
		s.log.Warn("guests outside this network may not reach the studio", "advice", st.Advice)
	}
	g := s.granted(st)
	if st.ExternalIP == nil || g.web == 0 {
		return
	}
	if g.media != 0 {
		local := s.sfu.udpAddr().(*net.UDPAddr).Port
		s.sfu.setPublic(PublicAddr{IP: st.ExternalIP, Port: g.media, Via: string(st.Method), PortChanged: g.media != local})
	}
	switch {
	case s.cfg.PublicURL != "":
	case s.acme != nil:
		// The name, on 443 when the router forwards it here; else on
		// the port it does forward (a router that gave 443 to another
		// device, or chose another port over NAT-PMP: Reach says so).
		port := g.https
		if port != 443 {
			port = g.web
		}
		s.mu.Lock()
		s.guestBase = httpsBase(s.acme.domain, port)
		s.mu.Unlock()
		s.log.Info("guests reach the studio's name through the router", "address", st.ExternalIP, "port", port, "method", st.Method)
	default:
		s.mu.Lock()
		s.guestBase = s.scheme + "://" + net.JoinHostPort(st.ExternalIP.String(), strconv.Itoa(g.web))
		s.mu.Unlock()
		s.log.Info("guests reach the studio through the router", "address", st.ExternalIP, "method", st.Method)
	}
}

// httpsBase is https://host with the port, unless it is 443.
func httpsBase(host string, port int) string {
	if port == 443 {
		return "https://" + host
	}
	return "https://" + net.JoinHostPort(host, strconv.Itoa(port))
}

// ReachKnown is closed once the router has answered the studio's first
// request to forward its ports, or failed to (a few seconds at most), and
// at once without Config.MapPorts: the guest link is then the one to give.
func (s *Studio) ReachKnown() <-chan struct{} { return s.mapFirst }

// Reach says how guests outside this network reach the studio now.
func (s *Studio) Reach() Reach {
	s.mu.Lock()
	st, known := s.mapStatus, s.mapKnown
	s.mu.Unlock()
	var r Reach
	if pa := s.sfu.public.Load(); pa != nil {
		r.Media, r.PublicIP = pa, pa.IP.String()
	}
	for _, m := range st.Mapped {
		r.Mapped = append(r.Mapped, m.String())
	}
	g := s.granted(st)
	web, media := g.web, g.media
	switch {
	case s.cfg.PublicURL != "":
		r.Via = ReachProxy
	case len(s.cfg.NAT1To1IPs) > 0:
		r.Via, r.PublicIP = ReachManual, s.cfg.NAT1To1IPs[0]
	case web != 0 && st.ExternalIP != nil:
		r.Via, r.PublicIP = reachViaMethod(st.Method), st.ExternalIP.String()
		if media == 0 {
			r.Problem = "The router forwards the page but not the media port: guests may join without picture or sound. Add a TURN server in Settings → Network, or forward UDP " + strconv.Itoa(s.sfu.udpAddr().(*net.UDPAddr).Port) + " by hand."
		}
	case r.Media != nil && r.Media.Local:
		r.Via = ReachDirect
	default:
		r.Via = ReachLAN
		r.Pending = s.mapper != nil && !known
		if !r.Pending {
			r.Problem = s.lanProblem(st)
		}
	}
	if r.Problem == "" && (r.Via == ReachUPnP || r.Via == ReachNATPMP) && s.acme != nil {
		r.Problem = s.domainProblem(g, st.RefusedErr)
	}
	if r.Problem == "" && st.Advice != "" && r.Via != ReachProxy && r.Via != ReachManual {
		r.Problem = st.Advice
	}
	if r.Media != nil && r.Media.PortChanged && media == 0 && r.Problem == "" {
		r.Problem = "Your router gives the studio's media a new port for each guest (a symmetric NAT), so guests outside this network need a TURN server (Settings → Network) or UDP " +
			strconv.Itoa(s.sfu.udpAddr().(*net.UDPAddr).Port) + " forwarded by hand."
	}
	return r
}

// domainProblem is what keeps the studio's name from working as the
// Domain wants it, from the ports the router gave (and why it refused
// one): Let's Encrypt checks the name on 443 (TLS-ALPN-01) or, with
// HTTP-01, on 80, and a link without a port lands on 443. "" when the
// router gave those.
func (s *Studio) domainProblem(g grantedPorts, refused error) string {
	want, got, to := 443, g.https, s.webPort
	if s.cfg.ACMEHTTPListen != "" {
		want, got, to = 80, g.http01, s.acmeHTTPPort
	}
	if got == want {
		return ""
	}
	gave := fmt.Sprintf("Your router forwards port %d, not %d, to the studio", got, want)
	if got == 0 {
		gave = fmt.Sprintf("Your router did not forward its port %d to the studio", want)
		if refused != nil {
			gave += " (" + strings.TrimPrefix(strings.TrimSuffix(refused.Error(), "."), "portmap: ") + ")"
		}
	}
	p := fmt.Sprintf("%s, and Let's Encrypt checks %s on port %d: forward TCP %d to this computer's port %d by hand, or the certificate can't be had.", gave, s.acme.domain, want, want, to)
	if want == 443 {
		p += fmt.Sprintf(" Until then the guest link names port %d.", g.web)
	}
	return p
}

// lanProblem is what to do when guests can only join from this network.
func (s *Studio) lanProblem(st portmap.Status) string {
	port := s.sfu.udpAddr().(*net.UDPAddr).Port
	what := "The studio did not ask your router to forward its ports"
	if s.mapper != nil && st.Err != nil {
		what = "Your router did not forward the studio's ports (" + strings.TrimSuffix(st.Err.Error(), ".") + ")"
	}
	return fmt.Sprintf("%s, so guests outside this network can't open the link. Forward TCP and UDP %d to this computer by hand, or put the studio behind a reverse proxy or tunnel with a public URL.", what, port)
}

// reachViaMethod is how a port mapping made by method lets guests in.
func reachViaMethod(m portmap.Method) ReachVia {
	switch m {
	case portmap.UPnP:
		return ReachUPnP
	case portmap.NATPMP:
		return ReachNATPMP
	}
	return ReachLAN
}

// portOpen says whether the media port is open to the internet: mapped
// on the router, forwarded by hand, or on a public address.
func (s *Studio) portOpen() bool {
	switch s.Reach().Via {
	case ReachUPnP, ReachNATPMP, ReachManual, ReachDirect:
		return true
	}
	return false
}
