//go:build linux

package netlab

import (
	"fmt"
	"net"
)

// Bad networks (issue #10). This kernel has no tc netem, so each
// impairment is made of what it has: random loss by nftables in a
// router's forward chain, a bandwidth cap by tc tbf on a router's link,
// and delay with jitter in user space (DelayPacketConn, which the lab's
// TURN helper puts on its relays: a guest forced through the relay gets
// them).

// Dir is which way through a router an impairment applies.
type Dir string

const (
	// Up is from the router's LAN to its WAN: what a guest sends.
	Up Dir = "up"
	// Down is from the WAN to the LAN: what a guest receives.
	Down Dir = "down"
)

func (d Dir) inIface() (string, error) {
	switch d {
	case Up:
		return "lan", nil
	case Down:
		return "wan", nil
	}
	return "", fmt.Errorf("netlab: direction %q: want up or down", d)
}

// Loss makes router ns drop percent of the packets it forwards in
// direction dir, each one at random (nftables numgen), as a lossy Wi-Fi
// or mobile link does; 0 takes the loss away. Replies to a dropped TCP
// segment come by retransmission, as on a real link.
func (l *Lab) Loss(ns string, dir Dir, percent int) error {
	iif, err := dir.inIface()
	if err != nil {
		return err
	}
	if percent < 0 || percent > 100 {
		return fmt.Errorf("netlab: loss %d%%: want 0 to 100", percent)
	}
	table := "netlab_loss_" + string(dir)
	// Delete and recreate: adding a table that exists merges its chains.
	_ = l.Run(ns, "nft", "delete", "table", "inet", table)
	if percent == 0 {
		return nil
	}
	return l.nft(ns, fmt.Sprintf(`
table inet %s {
	chain forward {
		type filter hook forward priority -360; policy accept;
		iifname %q numgen random mod 100 < %d drop
	}
}
`, table, iif, percent))
}

// Cap limits what namespace ns sends out of link dev to rate (tc's
// units: "600kbit", "2mbit") with a token bucket (tc tbf): a slow uplink
// is a router's WAN link, capped in the guest's router; a slow downlink
// its LAN link (what the router hands its guest). What exceeds it
// waits in a queue of at most 200 ms, then is dropped, as in a home
// router's buffer. An empty rate takes the cap away.
func (l *Lab) Cap(ns, dev, rate string) error {
	if rate == "" {
		return l.Run(ns, "tc", "qdisc", "del", "dev", dev, "root")
	}
	// The bucket holds 10 kB: a few full packets, no more, so even a
	// short burst is held to the rate (the kernel wants at least
	// rate/HZ).
	return l.Run(ns, "tc", "qdisc", "replace", "dev", dev, "root", "tbf", "rate", rate, "burst", "10kb", "latency", "200ms")
}

// ListenPacket opens a packet socket on addr inside namespace ns, for a
// probe or a relay in the test process (see Listen).
func (l *Lab) ListenPacket(ns, network, addr string) (c net.PacketConn, err error) {
	if nerr := inNamespace(ns, func() { c, err = net.ListenPacket(network, addr) }); nerr != nil {
		return nil, nerr
	}
	return c, err
}
