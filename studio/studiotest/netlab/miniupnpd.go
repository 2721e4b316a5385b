//go:build linux

package netlab

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// MiniupnpdPath is Debian's miniupnpd (package miniupnpd-nftables, 2.3.1).
const MiniupnpdPath = "/usr/sbin/miniupnpd"

// MiniupnpdHTTPPort is where the router's UPnP description and control
// URLs are served, on CreatorRouterLANIP.
const MiniupnpdHTTPPort = 5000

// MiniupnpdOptions shape the creator's router's miniupnpd. The zero value
// serves UPnP and NAT-PMP to the LAN for ports 1024-65535.
type MiniupnpdOptions struct {
	NoUPnP, NoNATPMP bool
	// Insecure lets a LAN host map ports to another host's address
	// (secure_mode=no), so one namespace can play several devices.
	Insecure bool
	// Rules are permission lines ("allow …"/"deny …", see
	// miniupnpd.conf(5)) checked before the default allow for the LAN.
	Rules []string
	// ReportIP, when set, is the WAN address the STUN server reports
	// (a router behind another NAT); default the router's own.
	ReportIP net.IP
	// Extra lines for the config file.
	Extra []string
}

// RootDescURL is the UPnP description URL of the router's miniupnpd, for
// clients that don't use SSDP (upnpc -u).
func RootDescURL() string {
	return fmt.Sprintf("http://%s:%d/rootDesc.xml", CreatorRouterLANIP, MiniupnpdHTTPPort)
}

// miniupnpdTables creates the nftables structure miniupnpd 2.3.1 fills in
// (Debian's nft_init.sh sources a file the package lacks): one inet table
// with its forward chain and its NAT chains, named in the config below.
// Filtering stays with the router's own table (routerRules), which accepts
// what miniupnpd's DNAT rules forward; this table only adds miniupnpd's
// chains to the hooks.
const miniupnpdTables = `
table inet miniupnpd
delete table inet miniupnpd
table inet miniupnpd {
	chain forward {
		type filter hook forward priority 10; policy accept;
		jump miniupnpd
	}
	chain miniupnpd {
	}
	chain prerouting {
		type nat hook prerouting priority -100; policy accept;
		jump prerouting_miniupnpd
	}
	chain postrouting {
		type nat hook postrouting priority 90; policy accept;
		jump postrouting_miniupnpd
	}
	chain prerouting_miniupnpd {
	}
	chain postrouting_miniupnpd {
	}
}
`

// StartMiniupnpd starts miniupnpd on the creator's router (and the STUN
// responder it needs in the internet namespace) and waits until it serves.
// It skips the test when miniupnpd is not installed.
func (l *Lab) StartMiniupnpd(opts MiniupnpdOptions) (*Proc, error) {
	if _, err := os.Stat(MiniupnpdPath); err != nil {
		l.t.Skipf("netlab: needs miniupnpd (Debian package miniupnpd-nftables): %v", err)
	}
	// A second miniupnpd (a router that restarted) gets a STUN
	// responder of its own and fresh tables, like the first.
	l.mu.Lock()
	stun := l.stun
	l.mu.Unlock()
	if stun != nil {
		stun.Stop()
	}
	stun, err := l.StartSTUN(opts.ReportIP)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.stun = stun
	l.mu.Unlock()
	if err := l.nft(l.CreatorRouter, miniupnpdTables); err != nil {
		return nil, fmt.Errorf("netlab: miniupnpd tables: %w", err)
	}
	dir := l.t.TempDir()
	yesNo := map[bool]string{true: "yes", false: "no"}
	conf := []string{
		"ext_ifname=wan",
		"listening_ip=lan",
		"ipv6_disable=yes",
		fmt.Sprintf("http_port=%d", MiniupnpdHTTPPort),
		"enable_upnp=" + yesNo[!opts.NoUPnP],
		"enable_natpmp=" + yesNo[!opts.NoNATPMP],
		"secure_mode=" + yesNo[!opts.Insecure],
		"system_uptime=yes",
		"notify_interval=60",
		"clean_ruleset_interval=600",
		// 2.3.1 won't map on a reserved WAN address (the lab's
		// 198.18/15) unless STUN vouches for it; see StartSTUN.
		"ext_perform_stun=yes",
		"ext_stun_host=" + InternetIP.String(),
		fmt.Sprintf("ext_stun_port=%d", STUNPort),
		"upnp_table_name=miniupnpd",
		"upnp_nat_table_name=miniupnpd",
		"upnp_forward_chain=miniupnpd",
		"upnp_nat_chain=prerouting_miniupnpd",
		"upnp_nat_postrouting_chain=postrouting_miniupnpd",
		"uuid=3d3cec3a-8cf0-11e0-98ee-001a6bd2d07" + l.suffix[:1],
		"lease_file=" + filepath.Join(dir, "leases"),
	}
	conf = append(conf, opts.Extra...)
	conf = append(conf, opts.Rules...)
	conf = append(conf,
		"allow 1024-65535 198.19.1.0/24 1024-65535",
		"deny 0-65535 0.0.0.0/0 0-65535",
	)
	path := filepath.Join(dir, "miniupnpd.conf")
	if err := os.WriteFile(path, []byte(strings.Join(conf, "\n")+"\n"), 0o644); err != nil {
		return nil, err
	}
	// The last line 2.3.1 logs before its loop: sockets open, STUN done.
	readyLine := "Listening for NAT-PMP"
	if opts.NoNATPMP {
		readyLine = "HTTP listening on port"
	}
	ready := make(chan struct{})
	var once sync.Once
	// -P: its own pid file; the default, /var/run/miniupnpd.pid, is shared
	// by every namespace and would stop a second lab's miniupnpd.
	cmd := l.Command(l.CreatorRouter, MiniupnpdPath, "-d", "-f", path, "-P", filepath.Join(dir, "miniupnpd.pid"))
	p, err := l.startWatch(cmd, "miniupnpd", func(line string) {
		if strings.Contains(line, readyLine) {
			once.Do(func() { close(ready) })
		}
	})
	if err != nil {
		return nil, err
	}
	// Stop it before its directory goes (cleanups run last in, first out).
	l.t.Cleanup(p.Stop)
	select {
	case <-ready:
		return p, nil
	case <-p.Done():
		return nil, fmt.Errorf("netlab: miniupnpd exited: %v", p.Err())
	case <-time.After(commandTimeout):
		return nil, fmt.Errorf("netlab: miniupnpd not ready in %v", commandTimeout)
	}
}

// Upnpc runs Debian's upnpc in the studio's namespace against the router's
// description URL, an independent judge of what the router has mapped.
func (l *Lab) Upnpc(args ...string) (string, error) {
	if _, err := exec.LookPath("upnpc"); err != nil {
		l.t.Skipf("netlab: needs upnpc (Debian package miniupnpc): %v", err)
	}
	return l.Output(l.Studio, append([]string{"upnpc", "-u", RootDescURL()}, args...)...)
}

// Forward is a port forward miniupnpd has put in the router's nftables.
type Forward struct {
	Protocol     string // "tcp" or "udp"
	ExternalPort int
	To           string // internal "ip:port"
}

// forwardRule matches miniupnpd 2.3.1's DNAT rules as nft lists them:
// iif "wan" @nh,72,8 0x6 th dport 7000 dnat ip to 198.19.1.10:7000
var forwardRule = regexp.MustCompile(`@nh,72,8 (0x[0-9a-f]+) th dport (\d+) dnat ip to ([0-9.]+:\d+)`)

// Forwards lists what the creator's router forwards, read from the nft
// chain miniupnpd fills in: the judge that doesn't go through UPnP or
// NAT-PMP.
func (l *Lab) Forwards() ([]Forward, error) {
	out, err := l.Output(l.CreatorRouter, "nft", "list", "chain", "inet", "miniupnpd", "prerouting_miniupnpd")
	if err != nil {
		return nil, err
	}
	var fs []Forward
	for _, m := range forwardRule.FindAllStringSubmatch(out, -1) {
		proto := map[string]string{"0x6": "tcp", "0x06": "tcp", "0x11": "udp"}[m[1]]
		port, _ := strconv.Atoi(m[2])
		fs = append(fs, Forward{Protocol: proto, ExternalPort: port, To: m[3]})
	}
	return fs, nil
}
