//go:build linux

// Package netlab builds a small NAT lab out of Linux network namespaces for
// tests that need real routers between the studio and its guests: an
// "internet", the creator's home router with the studio behind it, and a
// second home router with a guest behind it.
//
//	studio 198.19.1.10 ─ lan│CreatorRouter│wan 198.18.0.11 ─┐
//	                    198.19.1.1 (masquerade)               ├─ br0 Internet 198.18.0.1 (and .2)
//	guest  198.19.2.10 ─ lan│GuestRouter  │wan 198.18.0.12 ─┘
//	                    198.19.2.1 (masquerade, or fully-random = symmetric)
//
// It owns the namespaces, their links and addresses, the routers' nftables,
// the processes it starts inside them (a lenient STUN responder, miniupnpd,
// helper modes of the test binary) and their teardown. It does not own what
// runs in the lab: tests bring their own studio and guests.
//
// Only 198.18.0.0/15 is used, and a guard table in every namespace drops
// output (and forwarding) to any other address, IPv6 included, so nothing a
// test starts — a browser resolving names, SSDP multicast — leaves the lab.
// Loopback inside a namespace stays allowed: it never leaves the namespace.
//
// Use, from a package's tests:
//
//	func TestMain(m *testing.M) { netlab.Main(m) } // runs helper modes, checks teardown
//
//	lab := netlab.New(t, netlab.Options{GuestNAT: netlab.Symmetric})
//	lab.StartMiniupnpd(netlab.MiniupnpdOptions{})            // UPnP + NAT-PMP on the creator's router
//	cmd := lab.Command(lab.Studio, "/path/to/greenroom", "serve", …)
//	cmd.Env = …
//	studio, _ := lab.StartCommand(cmd)                          // stopped at teardown
//	lab.Start(lab.Guest, "chromium", "--headless=new", …)       // a guest behind the other NAT
//	lab.Cut(lab.GuestRouter); …; lab.Restore(lab.GuestRouter)  // the guest's link drops
//
// Go code that must run inside a namespace runs as a helper mode of the
// test binary (Helper, StartHelper): a process has one namespace for all
// its threads, a goroutine does not.
//
// Needs root, ip(8) and nft(8); New skips the test otherwise, and
// StartMiniupnpd without Debian's miniupnpd-nftables.
package netlab

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Addresses inside the lab. Every lab uses the same ones: namespaces keep
// labs apart.
var (
	InternetIP          = net.IPv4(198, 18, 0, 1)
	InternetIP2         = net.IPv4(198, 18, 0, 2) // a second server on a port the first has (TURN on 443 beside a proxy)
	CreatorRouterWANIP  = net.IPv4(198, 18, 0, 11)
	CreatorRouterLANIP  = net.IPv4(198, 19, 1, 1)
	StudioIP            = net.IPv4(198, 19, 1, 10)
	GuestRouterWANIP    = net.IPv4(198, 18, 0, 12)
	GuestRouterLANIP    = net.IPv4(198, 19, 2, 1)
	GuestIP             = net.IPv4(198, 19, 2, 10)
	labNet              = "198.18.0.0/15"
	commandTimeout      = 30 * time.Second // generous: other tests may load the machine
	processStopDeadline = 3 * time.Second
)

// NAT is how a home router rewrites its LAN's outgoing traffic.
type NAT string

const (
	// Masquerade keeps the source port where it can, for every
	// destination (endpoint-independent mapping): STUN works.
	Masquerade NAT = "masquerade"
	// Symmetric picks a random port per connection (masquerade
	// fully-random): only TURN gets through.
	Symmetric NAT = "masquerade fully-random"
)

// Options shape a lab. The zero value is two ordinary home routers.
type Options struct {
	// GuestNAT is the guest's router's NAT; default Masquerade.
	GuestNAT NAT
}

// Lab is one NAT lab. Its fields name its namespaces; pass them to Run,
// Command, Start. A Lab is safe for use by several goroutines.
type Lab struct {
	Internet, CreatorRouter, Studio, GuestRouter, Guest string

	t      testing.TB
	suffix string

	mu     sync.Mutex // guards procs, closed, stun and etc
	procs  []*Proc
	etc    []string // /etc/netns/NS folders made by Hosts
	closed bool
	stun   *Proc // the STUN responder for miniupnpd, when started
}

// New builds a lab and registers its teardown with t.Cleanup, so the
// namespaces and processes go also when the test fails. It skips the test
// where namespaces can't be made.
func New(t testing.TB, opts Options) *Lab {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("netlab: needs root to create network namespaces")
	}
	for _, tool := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("netlab: needs %s (Debian packages iproute2, nftables): %v", tool, err)
		}
	}
	if opts.GuestNAT == "" {
		opts.GuestNAT = Masquerade
	}
	var b [3]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	sfx := hex.EncodeToString(b[:])
	l := &Lab{
		t:             t,
		suffix:        sfx,
		Internet:      "gr" + sfx + "-inet",
		CreatorRouter: "gr" + sfx + "-crouter",
		Studio:        "gr" + sfx + "-studio",
		GuestRouter:   "gr" + sfx + "-grouter",
		Guest:         "gr" + sfx + "-guest",
	}
	labsMu.Lock()
	labs = append(labs, sfx)
	labsMu.Unlock()
	t.Cleanup(l.Close)
	if err := l.build(opts); err != nil {
		if strings.Contains(err.Error(), "Operation not permitted") {
			t.Skipf("netlab: can't create network namespaces here: %v", err)
		}
		t.Fatalf("netlab: build: %v", err)
	}
	return l
}

func (l *Lab) namespaces() []string {
	return []string{l.Internet, l.CreatorRouter, l.Studio, l.GuestRouter, l.Guest}
}

func (l *Lab) build(opts Options) error {
	for _, ns := range l.namespaces() {
		if err := ipCmd("netns", "add", ns); err != nil {
			return err
		}
		if err := l.Run(ns, "ip", "link", "set", "lo", "up"); err != nil {
			return err
		}
		// IPv6 off first, so no link-local address or router
		// solicitation ever leaves an interface.
		for _, k := range []string{"all", "default"} {
			if err := l.Run(ns, "sysctl", "-qw", "net.ipv6.conf."+k+".disable_ipv6=1"); err != nil {
				return err
			}
		}
		if err := l.nft(ns, guardRules); err != nil {
			return fmt.Errorf("guard in %s: %w", ns, err)
		}
	}
	// The internet is a bridge the two routers' WAN links plug into.
	if err := l.Run(l.Internet, "ip", "link", "add", "br0", "type", "bridge"); err != nil {
		return err
	}
	steps := [][]string{
		{"ip", "addr", "add", InternetIP.String() + "/24", "dev", "br0"},
		{"ip", "addr", "add", InternetIP2.String() + "/24", "dev", "br0"},
		{"ip", "link", "set", "br0", "up"},
	}
	for _, s := range steps {
		if err := l.Run(l.Internet, s...); err != nil {
			return err
		}
	}
	type link struct {
		a, aName, aAddr string
		b, bName, bAddr string
		bGateway        string
	}
	links := []link{
		{l.Internet, "crouter", "", l.CreatorRouter, "wan", CreatorRouterWANIP.String() + "/24", InternetIP.String()},
		{l.Internet, "grouter", "", l.GuestRouter, "wan", GuestRouterWANIP.String() + "/24", InternetIP.String()},
		{l.CreatorRouter, "lan", CreatorRouterLANIP.String() + "/24", l.Studio, "eth0", StudioIP.String() + "/24", CreatorRouterLANIP.String()},
		{l.GuestRouter, "lan", GuestRouterLANIP.String() + "/24", l.Guest, "eth0", GuestIP.String() + "/24", GuestRouterLANIP.String()},
	}
	for _, k := range links {
		// Both ends are created straight in their namespaces, so the
		// short names never meet in the root namespace.
		if err := ipCmd("link", "add", "name", k.aName, "netns", k.a, "type", "veth", "peer", "name", k.bName, "netns", k.b); err != nil {
			return err
		}
		if k.aAddr != "" {
			if err := l.Run(k.a, "ip", "addr", "add", k.aAddr, "dev", k.aName); err != nil {
				return err
			}
		} else if err := l.Run(k.a, "ip", "link", "set", k.aName, "master", "br0"); err != nil {
			return err
		}
		for _, s := range [][]string{
			{k.a, "ip", "link", "set", k.aName, "up"},
			{k.b, "ip", "addr", "add", k.bAddr, "dev", k.bName},
			{k.b, "ip", "link", "set", k.bName, "up"},
			{k.b, "ip", "route", "add", "default", "via", k.bGateway},
		} {
			if err := l.Run(s[0], s[1:]...); err != nil {
				return err
			}
		}
	}
	for _, r := range []struct {
		ns  string
		nat NAT
	}{{l.CreatorRouter, Masquerade}, {l.GuestRouter, opts.GuestNAT}} {
		if err := l.Run(r.ns, "sysctl", "-qw", "net.ipv4.ip_forward=1"); err != nil {
			return err
		}
		if err := l.nft(r.ns, fmt.Sprintf(routerRules, r.nat)); err != nil {
			return fmt.Errorf("router %s: %w", r.ns, err)
		}
	}
	return nil
}

// guardRules keep a namespace's traffic inside 198.18.0.0/15.
var guardRules = `
table inet netlab_guard {
	chain output {
		type filter hook output priority -300; policy accept;
		oifname "lo" accept
		meta nfproto ipv6 drop
		ip daddr != ` + labNet + ` drop
	}
	chain forward {
		type filter hook forward priority -300; policy accept;
		meta nfproto ipv6 drop
		ip daddr != ` + labNet + ` drop
	}
}
`

// routerRules make a namespace a home router: it masquerades the LAN behind
// its WAN address and lets in only replies and what a port mapping
// forwards (DNAT, e.g. miniupnpd's rules). Like a real one it drops what
// comes unasked from the WAN for itself: accepted, such a packet (a guest's
// first hole-punching check, ahead of the studio's) would leave a
// connection-tracking entry that makes masquerade move the studio's next
// packets to that guest to another port, and punching fail.
const routerRules = `
table inet netlab_router {
	chain input {
		type filter hook input priority 0; policy accept;
		iifname "wan" ct state new drop
	}
	chain forward {
		type filter hook forward priority 0; policy drop;
		ct state established,related accept
		iifname "lan" oifname "wan" accept
		ct status dnat accept
	}
	chain postrouting {
		type nat hook postrouting priority 100; policy accept;
		oifname "wan" %s
	}
}
`

// Run runs a command in namespace ns and returns an error carrying its
// output when it fails.
func (l *Lab) Run(ns string, cmd ...string) error {
	_, err := l.Output(ns, cmd...)
	return err
}

// Output runs a command in namespace ns and returns its standard output.
func (l *Lab) Output(ns string, cmd ...string) (string, error) {
	return run(nil, "ip", append([]string{"netns", "exec", ns}, cmd...)...)
}

// run runs a command in the root namespace (ip netns exec, for the
// others) with a time limit and returns its standard output, or an error
// that carries all it said.
func run(stdin io.Reader, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	c := exec.CommandContext(ctx, name, args...)
	var stdout, stderr bytes.Buffer
	c.Stdin, c.Stdout, c.Stderr = stdin, &stdout, &stderr
	if err := c.Run(); err != nil {
		return stdout.String(), fmt.Errorf("netlab: %s %s: %w: %s%s", name, strings.Join(args, " "), err, stderr.String(), stdout.String())
	}
	return stdout.String(), nil
}

// Command returns a command that runs cmd (name and arguments) in
// namespace ns, through ip netns exec, which execs it: the pid is the
// command's own.
func (l *Lab) Command(ns string, cmd ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", ns}, cmd...)...)
}

func (l *Lab) nft(ns, rules string) error {
	_, err := run(strings.NewReader(rules), "ip", "netns", "exec", ns, "nft", "-f", "-")
	return err
}

// cutRules drop everything a namespace receives, sends or forwards, except
// on loopback.
const cutRules = `
table inet netlab_cut {
	chain input { type filter hook input priority -400; policy drop; iifname "lo" accept; }
	chain output { type filter hook output priority -400; policy drop; oifname "lo" accept; }
	chain forward { type filter hook forward priority -400; policy drop; }
}
`

// Cut drops all traffic through namespace ns (on a router: every link of
// the hosts behind it) until Restore.
func (l *Lab) Cut(ns string) error {
	return l.nft(ns, cutRules)
}

// Restore undoes Cut.
func (l *Lab) Restore(ns string) error {
	return l.Run(ns, "nft", "delete", "table", "inet", "netlab_cut")
}

// webOnlyRules let a router's LAN out over TCP to port 443 alone, as a
// locked-down office network does: no UDP (so no STUN, no ICE over UDP, no
// TURN over UDP), no other TCP port.
const webOnlyRules = `
table inet netlab_webonly {
	chain forward {
		type filter hook forward priority -350; policy accept;
		iifname "lan" meta l4proto udp drop
		iifname "lan" meta l4proto != tcp drop
		iifname "lan" tcp dport != 443 drop
		iifname "wan" meta l4proto udp drop
	}
}
`

// WebOnly makes router ns let its LAN out only over TCP to port 443 (and
// in only what answers that), like an office firewall that allows the web
// and nothing else.
func (l *Lab) WebOnly(ns string) error {
	return l.nft(ns, webOnlyRules)
}

// Hosts gives the processes started in namespace ns from now on an
// /etc/hosts of their own, with these lines ("198.18.0.11 studio.test"):
// ip netns exec mounts /etc/netns/NS/hosts over /etc/hosts. The lab has
// no DNS; this is how a program that resolves names the ordinary way
// (greenroom serve checking its --domain) finds one. Close removes it.
func (l *Lab) Hosts(ns string, lines ...string) error {
	dir := filepath.Join("/etc/netns", ns)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("netlab: hosts: %w", err)
	}
	l.mu.Lock()
	l.etc = append(l.etc, dir)
	l.mu.Unlock()
	content := "127.0.0.1 localhost\n" + strings.Join(lines, "\n") + "\n"
	if err := os.WriteFile(filepath.Join(dir, "hosts"), []byte(content), 0o644); err != nil {
		return fmt.Errorf("netlab: hosts: %w", err)
	}
	return nil
}

// Close stops every process the lab started and deletes its namespaces
// (which deletes their links). New registers it with t.Cleanup; it is safe
// to call twice.
func (l *Lab) Close() {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	procs, etc := l.procs, l.etc
	l.procs, l.etc = nil, nil
	l.mu.Unlock()
	for _, dir := range etc {
		if err := os.RemoveAll(dir); err != nil {
			l.t.Errorf("netlab: teardown: %v", err)
		}
	}
	for i := len(procs) - 1; i >= 0; i-- {
		procs[i].Stop()
	}
	for _, ns := range l.namespaces() {
		// Anything still inside was started in this lab's namespace by
		// a test (a child of one of our processes): end it, or the
		// namespace outlives its name.
		if out, err := run(nil, "ip", "netns", "pids", ns); err == nil {
			for _, f := range strings.Fields(out) {
				if pid, err := strconv.Atoi(f); err == nil {
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
			}
		}
		if err := ipCmd("netns", "del", ns); err != nil && !strings.Contains(err.Error(), "No such file") {
			l.t.Errorf("netlab: teardown: %v", err)
		}
	}
}

var (
	labsMu sync.Mutex
	labs   []string // the suffixes of every lab this process made
)

// leftovers lists the namespaces of this process's labs that still exist.
func leftovers() []string {
	out, err := run(nil, "ip", "netns", "list")
	if err != nil {
		return nil
	}
	var left []string
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		labsMu.Lock()
		for _, sfx := range labs {
			if strings.HasPrefix(f[0], "gr"+sfx+"-") {
				left = append(left, f[0])
			}
		}
		labsMu.Unlock()
	}
	return left
}

func ipCmd(args ...string) error {
	_, err := run(nil, "ip", args...)
	return err
}

// ForwardFrom makes the creator's router forward TCP port to the studio's
// same port for from alone: the far end of a tunnel (a reverse proxy on
// the internet that reaches the studio, and nobody else does).
func (l *Lab) ForwardFrom(from net.IP, port int) error {
	return l.nft(l.CreatorRouter, fmt.Sprintf(`
table ip netlab_tunnel {
	chain prerouting {
		type nat hook prerouting priority -100; policy accept;
		iifname "wan" ip saddr %s tcp dport %d dnat to %s:%d
	}
}
`, from, port, StudioIP, port))
}

// GuestRouterNewWANIP is the guest router's WAN address after
// RenumberGuestRouter.
var GuestRouterNewWANIP = net.IPv4(198, 18, 0, 13)

// RenumberGuestRouter gives the guest's router a new public address, as
// when the guest moves from their Wi-Fi to a phone's hotspot: what it had
// mapped is gone (masquerade forgets a removed address's connections), and
// the guest's traffic leaves from GuestRouterNewWANIP from now on.
func (l *Lab) RenumberGuestRouter() error {
	for _, step := range [][]string{
		{"ip", "addr", "del", GuestRouterWANIP.String() + "/24", "dev", "wan"},
		{"ip", "addr", "add", GuestRouterNewWANIP.String() + "/24", "dev", "wan"},
		{"ip", "route", "replace", "default", "via", InternetIP.String()},
	} {
		if err := l.Run(l.GuestRouter, step...); err != nil {
			return err
		}
	}
	return nil
}
