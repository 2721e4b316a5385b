package studio

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	"greenroom/studio/portmap"
)

// With a Domain, the studio asks the router for its 443 (and 80 with
// HTTP-01) besides its own ports. What the router grants decides the guest
// link, and a router that gives another port (443 taken, or a NAT-PMP
// router's choice) is Reach's problem, in words. The lab test in the
// repository's root proves the mapping itself against miniupnpd.
func TestDomainThroughTheRouter(t *testing.T) {
	const name, webPort, http01Port = "studio.example.com", 8443, 8080
	ip := net.IPv4(203, 0, 113, 7)
	// mapped is what the router forwards, in startMapping's order: 443,
	// the web port, the media port, 80 (0: refused).
	mapped := func(ports ...int) []portmap.Mapping {
		ms := []portmap.Mapping{
			{Protocol: "tcp", InternalPort: webPort, Optional: true},
			{Protocol: "tcp", InternalPort: webPort},
			{Protocol: "udp", InternalPort: 8443},
			{Protocol: "tcp", InternalPort: http01Port, Optional: true},
		}
		var out []portmap.Mapping
		for i, p := range ports {
			if p != 0 {
				ms[i].ExternalPort = p
				out = append(out, ms[i])
			}
		}
		return out
	}
	for _, tc := range []struct {
		name     string
		http01   bool
		st       portmap.Status
		link     string
		problems []string // "" for none
	}{
		{"443 granted", false, portmap.Status{Method: portmap.UPnP, ExternalIP: ip, Mapped: mapped(443, 8443, 8443)},
			"https://" + name + "/join/", nil},
		{"NAT-PMP gives the web port's own", false, portmap.Status{Method: portmap.NATPMP, ExternalIP: ip, Mapped: mapped(8443, 8443, 8443)},
			"https://" + name + ":8443/join/", []string{"forwards port 8443, not 443", "forward TCP 443 to this computer's port", "names port 8443"}},
		{"443 taken", false, portmap.Status{Method: portmap.UPnP, ExternalIP: ip, Mapped: mapped(444, 8443, 8443)},
			"https://" + name + ":8443/join/", []string{"forwards port 444, not 443"}},
		{"443 refused", false, portmap.Status{Method: portmap.UPnP, ExternalIP: ip, Mapped: mapped(0, 8443, 8443),
			RefusedErr: errors.New("portmap: the router refused to forward TCP port 443 to 8443 (UPnP): no")},
			"https://" + name + ":8443/join/", []string{"did not forward its port 443 to the studio (the router refused", "names port 8443"}},
		{"HTTP-01, 80 granted", true, portmap.Status{Method: portmap.UPnP, ExternalIP: ip, Mapped: mapped(443, 8443, 8443, 80)},
			"https://" + name + "/join/", nil},
		{"HTTP-01, 80 taken", true, portmap.Status{Method: portmap.UPnP, ExternalIP: ip, Mapped: mapped(444, 8443, 8443, 81)},
			"https://" + name + ":8443/join/", []string{"forwards port 81, not 80", "checks " + name + " on port 80", "forward TCP 80 to this computer's port 8080"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{
				Listen: "127.0.0.1:0", ICEUDPListen: "127.0.0.1:0", ConfigDir: t.TempDir(), Domain: name,
				// No DNS: the studio never asks the CA.
				Resolver: &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
					return nil, errors.New("no DNS in this test")
				}},
			}
			if tc.http01 {
				cfg.ACMEHTTPListen = "127.0.0.1:0"
			}
			s, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			s.mu.Lock()
			s.mapKnown = true // ReachKnown is closed already: no MapPorts
			s.mu.Unlock()
			s.webPort, s.acmeHTTPPort = webPort, http01Port
			s.mapped(tc.st)
			if got := s.GuestURL(); !strings.HasPrefix(got, tc.link) {
				t.Errorf("guest link %s, want %s…", got, tc.link)
			}
			r := s.Reach()
			if r.Via != reachViaMethod(tc.st.Method) || (len(tc.problems) == 0 && r.Problem != "") {
				t.Errorf("reach %+v, want via %s, no problem", r, tc.st.Method)
			}
			for _, p := range tc.problems {
				if !strings.Contains(r.Problem, p) {
					t.Errorf("problem %q lacks %q", r.Problem, p)
				}
			}
		})
	}
}
