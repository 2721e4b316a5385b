package portmap

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/huin/goupnp/soap"
)

// The Mapper itself is only ever run inside the NAT lab (lab_test.go):
// outside it, discovery would send SSDP to the machine's real network.

func TestParseRoutes(t *testing.T) {
	const header = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
	for _, c := range []struct {
		name, table string
		want        string // "" for an error
	}{
		{"default via 198.19.1.1", header +
			"eth0\t00011398\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n" +
			"eth0\t00000000\t010113C6\t0003\t0\t0\t0\t00000000\t0\t0\t0\n", "198.19.1.1"},
		{"home router 192.168.1.254", header +
			"wlan0\t00000000\tFE01A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0\n", "192.168.1.254"},
		{"no default route", header +
			"eth0\t00011398\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n", ""},
		{"default route without a gateway (a point-to-point link)", header +
			"tun0\t00000000\t00000000\t0001\t0\t0\t0\t00000000\t0\t0\t0\n", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			ip, err := parseRoutes(bufio.NewScanner(strings.NewReader(c.table)))
			switch {
			case c.want == "" && err == nil:
				t.Errorf("got %v, want an error", ip)
			case c.want != "" && (err != nil || ip.String() != c.want):
				t.Errorf("got %v, %v; want %s", ip, err, c.want)
			}
		})
	}
}

func TestAdvice(t *testing.T) {
	ms := []Mapping{{Protocol: "tcp", InternalPort: 8443}, {Protocol: "udp", InternalPort: 8443}}
	for _, c := range []struct {
		name string
		s    Status
		want []string // all in the advice; nil for none
	}{
		{"mapped on a public address", Status{Method: UPnP, ExternalIP: net.IPv4(203, 0, 113, 7)}, nil},
		{"still trying", Status{Method: None}, nil},
		{"no router", Status{Err: fmt.Errorf("portmap: %w", ErrNoRouter)},
			[]string{"did not answer", "UPnP", "TCP port 8443 and UDP port 8443", "TURN", "--public-url"}},
		{"refused", Status{Err: refused(ms[1], UPnP, errors.New("no"))},
			[]string{"refused", "TCP port 8443 and UDP port 8443", "TURN", "--public-url"}},
		{"router gone", Status{Err: errors.New("timeout")},
			[]string{"could not open ports", "TURN"}},
		{"carrier-grade NAT", Status{Method: NATPMP, ExternalIP: net.IPv4(100, 72, 1, 2)},
			[]string{"carrier-grade NAT", "100.72.1.2", "TURN", "--public-url"}},
		{"double NAT", Status{Method: UPnP, ExternalIP: net.IPv4(192, 168, 0, 2)},
			[]string{"192.168.0.2", "private", "another router", "TURN"}},
		{"just outside the shared space", Status{Method: UPnP, ExternalIP: net.IPv4(100, 128, 0, 1)}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := advice(c.s, ms)
			if c.want == nil && got != "" {
				t.Errorf("advice %q, want none", got)
			}
			for _, w := range c.want {
				if !strings.Contains(got, w) {
					t.Errorf("advice %q lacks %q", got, w)
				}
			}
		})
	}
}

func TestErrorsInWords(t *testing.T) {
	fault := func(code int, desc string) error {
		f := &soap.SOAPFaultError{FaultCode: "s:Client", FaultString: "UPnPError"}
		f.Detail.UPnPError.Errorcode = code
		f.Detail.UPnPError.ErrorDescription = desc
		return fmt.Errorf("goupnp: %w", f)
	}
	m := Mapping{Protocol: "udp", InternalPort: 8443, ExternalPort: 8443}
	for _, c := range []struct {
		err  error
		want string
	}{
		{refused(m, UPnP, describeUPnP(fault(606, "Action not authorized"))),
			"portmap: the router refused to forward UDP port 8443 (UPnP): the router does not allow this computer to forward that port (UPnP error 606)"},
		{refused(m, UPnP, describeUPnP(fault(728, "NoPortMapsAvailable"))),
			"portmap: the router refused to forward UDP port 8443 (UPnP): NoPortMapsAvailable (UPnP error 728)"},
		{refused(m, NATPMP, describeNATPMP(errors.New("Non-zero result code 4"))),
			"portmap: the router refused to forward UDP port 8443 (NAT-PMP): the router has no ports left to forward (NAT-PMP result 4)"},
	} {
		if got := c.err.Error(); got != c.want {
			t.Errorf("got  %q\nwant %q", got, c.want)
		}
		if !errors.Is(c.err, ErrRefused) {
			t.Errorf("%v is not ErrRefused", c.err)
		}
	}
	if upnpCode(fault(718, "")) != upnpConflict || upnpCode(errors.New("x")) != 0 {
		t.Error("upnpCode")
	}
	if natpmpResult(errors.New("Timed out trying to contact gateway")) != 0 {
		t.Error("a timeout read as a NAT-PMP result")
	}
}
