package portmap

import (
	"errors"
	"fmt"
	"net"
	"strings"
)

// refusal is a router's "no" to one mapping; errors.Is(err, ErrRefused).
type refusal struct {
	m      Mapping
	method Method
	reason error
}

func refused(m Mapping, method Method, reason error) error {
	return &refusal{m: m, method: method, reason: reason}
}

func (r *refusal) Error() string {
	how := map[Method]string{UPnP: "UPnP", NATPMP: "NAT-PMP"}[r.method]
	port := fmt.Sprint(r.m.InternalPort)
	if r.m.ExternalPort != 0 && r.m.ExternalPort != r.m.InternalPort {
		port = fmt.Sprintf("%d to %d", r.m.ExternalPort, r.m.InternalPort)
	}
	return fmt.Sprintf("portmap: the router refused to forward %s port %s (%s): %v", strings.ToUpper(r.m.Protocol), port, how, r.reason)
}

func (r *refusal) Is(target error) bool { return target == ErrRefused }
func (r *refusal) Unwrap() error        { return r.reason }

// cgnat is the shared address space of RFC 6598, which providers use for
// carrier-grade NAT.
var cgnat = &net.IPNet{IP: net.IPv4(100, 64, 0, 0), Mask: net.CIDRMask(10, 32)}

// otherWays is what a creator can do when the router can't forward ports.
const otherWays = "use a TURN server, or run the studio behind a tunnel or reverse proxy and give its address with --public-url"

// advice is the sentence Status.Advice carries for s, or "".
func advice(s Status, ms []Mapping) string {
	ports := portList(ms)
	switch {
	case errors.Is(s.Err, ErrNoRouter):
		return fmt.Sprintf("Your router did not answer a request to open ports (UPnP and NAT-PMP may be off), so guests outside your home network may not reach the studio. Turn on UPnP in the router's settings, forward %s to this computer by hand, or %s.", ports, otherWays)
	case errors.Is(s.Err, ErrRefused):
		return fmt.Sprintf("Your router refused to open ports for the studio, so guests outside your home network may not reach it. Allow UPnP for this computer in the router's settings, forward %s to it by hand, or %s.", ports, otherWays)
	case s.Err != nil:
		return fmt.Sprintf("The studio could not open ports on your router, so guests outside your home network may not reach it. Forward %s to this computer by hand, or %s.", ports, otherWays)
	case s.ExternalIP == nil:
		return ""
	case cgnat.Contains(s.ExternalIP):
		return fmt.Sprintf("Your internet provider shares one internet address among many customers (carrier-grade NAT: your router's address is %s), so the ports your router opened can't be reached from the internet. To let guests in, %s.", s.ExternalIP, otherWays)
	case s.ExternalIP.IsPrivate() || s.ExternalIP.IsLoopback() || s.ExternalIP.IsLinkLocalUnicast() || s.ExternalIP.IsUnspecified():
		return fmt.Sprintf("Your router's internet address (%s) is itself private: another router sits between it and the internet, so the ports it opened can't be reached from outside. Forward %s on that other router too, or %s.", s.ExternalIP, ports, otherWays)
	}
	return ""
}

// portList is "TCP port 8443 and UDP port 8443" for the advice.
func portList(ms []Mapping) string {
	var parts []string
	for _, m := range ms {
		parts = append(parts, fmt.Sprintf("%s port %d", strings.ToUpper(m.Protocol), m.InternalPort))
	}
	switch len(parts) {
	case 0:
		return "the studio's ports"
	case 1:
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}
