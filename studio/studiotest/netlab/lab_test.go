//go:build linux

package netlab

import (
	"net"
	"os/exec"
	"strings"
	"testing"
)

func TestMain(m *testing.M) { Main(m) }

// TestLab checks the lab's promises: both LANs reach the internet through
// their router's NAT, the guard keeps traffic inside 198.18.0.0/15, Cut
// and Restore cut a router's link, WebOnly lets out TCP to 443 alone, and
// Close leaves nothing behind.
func TestLab(t *testing.T) {
	lab := New(t, Options{GuestNAT: Symmetric})
	echo := net.JoinHostPort(InternetIP.String(), "9000")
	if _, err := lab.StartEcho(lab.Internet, echo); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		ns     string
		router net.IP
	}{{lab.Studio, CreatorRouterWANIP}, {lab.Guest, GuestRouterWANIP}} {
		seen, err := lab.DialTCP(c.ns, echo)
		if err != nil {
			t.Fatalf("%s to the internet: %v", c.ns, err)
		}
		if host, _, _ := net.SplitHostPort(seen); host != c.router.String() {
			t.Errorf("the internet saw %s come from %s, want its router %s", c.ns, seen, c.router)
		}
	}

	// An address outside the lab: the guard drops it in the namespace,
	// so connect fails at once ("operation not permitted").
	if _, err := lab.DialTCP(lab.Studio, "192.0.2.1:80"); err == nil {
		t.Error("the studio reached 192.0.2.1, outside the lab")
	}
	if out, err := lab.Output(lab.Studio, "nft", "list", "table", "inet", "netlab_guard"); err != nil || !strings.Contains(out, "198.18.0.0/15") {
		t.Errorf("no guard in the studio: %v\n%s", err, out)
	}

	if err := lab.Cut(lab.GuestRouter); err != nil {
		t.Fatal(err)
	}
	if _, err := lab.DialTCP(lab.Guest, echo); err == nil {
		t.Error("the guest reached the internet through a cut router")
	}
	if err := lab.Restore(lab.GuestRouter); err != nil {
		t.Fatal(err)
	}
	if _, err := lab.DialTCP(lab.Guest, echo); err != nil {
		t.Errorf("after Restore: %v", err)
	}

	// An office network: TCP to 443 only.
	web := net.JoinHostPort(InternetIP2.String(), "443")
	if _, err := lab.StartEcho(lab.Internet, web); err != nil {
		t.Fatal(err)
	}
	if err := lab.WebOnly(lab.GuestRouter); err != nil {
		t.Fatal(err)
	}
	if _, err := lab.DialTCP(lab.Guest, web); err != nil {
		t.Errorf("behind WebOnly, to port 443: %v", err)
	}
	if _, err := lab.DialTCP(lab.Guest, echo); err == nil {
		t.Error("behind WebOnly, the guest reached port 9000")
	}

	lab.Close()
	lab.Close()
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), lab.suffix) {
		t.Errorf("namespaces left after Close:\n%s", out)
	}
}

// TestMiniupnpd checks the creator's router with Debian's own clients:
// upnpc and natpmpc map a port, and the router's rules show it.
func TestMiniupnpd(t *testing.T) {
	lab := New(t, Options{})
	if _, err := lab.StartMiniupnpd(MiniupnpdOptions{}); err != nil {
		t.Fatal(err)
	}
	out, err := lab.Upnpc("-s")
	if err != nil || !strings.Contains(out, "ExternalIPAddress = "+CreatorRouterWANIP.String()) {
		t.Fatalf("upnpc -s: %v\n%s", err, out)
	}
	if out, err := lab.Upnpc("-e", "netlab", "-a", StudioIP.String(), "7000", "7000", "TCP", "30"); err != nil {
		t.Fatalf("upnpc -a: %v\n%s", err, out)
	}
	if _, err := exec.LookPath("natpmpc"); err == nil {
		if out, err := lab.Output(lab.Studio, "natpmpc", "-g", CreatorRouterLANIP.String(), "-a", "7001", "7001", "udp", "30"); err != nil {
			t.Fatalf("natpmpc -a: %v\n%s", err, out)
		}
	}
	fs, err := lab.Forwards()
	if err != nil {
		t.Fatal(err)
	}
	want := map[Forward]bool{
		{"tcp", 7000, StudioIP.String() + ":7000"}: true,
		{"udp", 7001, StudioIP.String() + ":7001"}: true,
	}
	for _, f := range fs {
		delete(want, f)
	}
	if len(want) != 0 {
		t.Errorf("router forwards %+v; missing %+v", fs, want)
	}
}
