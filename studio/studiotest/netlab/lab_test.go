//go:build linux

package netlab

import (
	"net"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) { Main(m) }

// The tests run in parallel, each with a lab of its own: they mostly wait
// (dials that must time out, probes paced in real time), and namespaces
// keep their same addresses apart.

// TestLab checks the lab's promises: both LANs reach the internet through
// their router's NAT, the guard keeps traffic inside 198.18.0.0/15, Cut
// and Restore cut a router's link, WebOnly lets out TCP to 443 alone, and
// Close leaves nothing behind.
func TestLab(t *testing.T) {
	t.Parallel()
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
	t.Parallel()
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

// echoUDP answers every datagram on c with itself until c closes.
func echoUDP(c net.PacketConn) {
	buf := make([]byte, 2048)
	for {
		n, from, err := c.ReadFrom(buf)
		if err != nil {
			return
		}
		_, _ = c.WriteTo(buf[:n], from)
	}
}

// probeLoss sends n datagrams 1 ms apart from the guest to an echo on the
// internet and returns the share that did not come back.
func probeLoss(t *testing.T, lab *Lab, echo string, n int) float64 {
	t.Helper()
	c, err := lab.ListenPacket(lab.Guest, "udp4", GuestIP.String()+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	to, _ := net.ResolveUDPAddr("udp4", echo)
	got := make(chan int)
	go func() {
		buf, seen := make([]byte, 64), 0
		for {
			_ = c.SetReadDeadline(time.Now().Add(time.Second))
			if _, _, err := c.ReadFrom(buf); err != nil {
				got <- seen
				return
			}
			seen++
		}
	}()
	for i := 0; i < n; i++ {
		if _, err := c.WriteTo([]byte("probe"), to); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
	return 1 - float64(<-got)/float64(n)
}

// TestLabImpairments measures each impairment with a probe, so a test
// that uses one knows it is real: random loss on the guest's uplink (and
// none on its downlink), a bandwidth cap on its router's WAN link, and a
// delaying, jittering socket.
func TestLabImpairments(t *testing.T) {
	t.Parallel()
	lab := New(t, Options{})
	echoConn, err := lab.ListenPacket(lab.Internet, "udp4", InternetIP.String()+":9001")
	if err != nil {
		t.Fatal(err)
	}
	defer echoConn.Close()
	go echoUDP(echoConn)
	echo := echoConn.LocalAddr().String()

	t.Run("loss", func(t *testing.T) {
		if l := probeLoss(t, lab, echo, 500); l > 0.01 {
			t.Fatalf("%.1f%% lost before any loss was set", l*100)
		}
		if err := lab.Loss(lab.GuestRouter, Up, 5); err != nil {
			t.Fatal(err)
		}
		// 3000 probes at 5 %: 150 ± 12 lost (binomial), so 3.5–6.5 % is
		// four standard deviations either way.
		l := probeLoss(t, lab, echo, 3000)
		t.Logf("uplink loss 5%%: measured %.2f%%", l*100)
		if l < 0.035 || l > 0.065 {
			t.Errorf("measured %.2f%% loss, want 5 %%", l*100)
		}
		if err := lab.Loss(lab.GuestRouter, Up, 0); err != nil {
			t.Fatal(err)
		}
		if err := lab.Loss(lab.GuestRouter, Down, 20); err != nil {
			t.Fatal(err)
		}
		l = probeLoss(t, lab, echo, 1000)
		t.Logf("downlink loss 20%%: measured %.2f%% of round trips", l*100)
		if l < 0.15 || l > 0.25 {
			t.Errorf("measured %.2f%% loss, want 20 %%", l*100)
		}
		if err := lab.Loss(lab.GuestRouter, Down, 0); err != nil {
			t.Fatal(err)
		}
		if l := probeLoss(t, lab, echo, 500); l > 0.01 {
			t.Errorf("%.1f%% lost after the loss was taken away", l*100)
		}
	})

	t.Run("cap", func(t *testing.T) {
		if _, err := exec.LookPath("tc"); err != nil {
			t.Skip("no tc (Debian's iproute2):", err)
		}
		sink, err := lab.ListenPacket(lab.Internet, "udp4", InternetIP.String()+":9002")
		if err != nil {
			t.Fatal(err)
		}
		defer sink.Close()
		measure := func() float64 { // kb/s the sink receives of 2 Mb/s sent for 2 s
			src, err := lab.ListenPacket(lab.Guest, "udp4", GuestIP.String()+":0")
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			res := make(chan float64)
			go func() {
				buf, bytes := make([]byte, 2048), 0
				var first, last time.Time
				for {
					_ = sink.SetReadDeadline(time.Now().Add(time.Second))
					n, _, err := sink.ReadFrom(buf)
					if err != nil {
						break
					}
					if first.IsZero() {
						first = time.Now()
					} else {
						bytes += n + 28 // IP and UDP headers count against the link
					}
					last = time.Now()
				}
				res <- float64(bytes) * 8 / 1000 / last.Sub(first).Seconds()
			}()
			pkt := make([]byte, 1172) // 1200 bytes on the wire: 2 Mb/s is one each 4.8 ms
			// Paced by the clock, not by sleeps (which overshoot on a
			// busy machine): each wake-up sends what is due.
			const each = 4800 * time.Microsecond
			for start, sent := time.Now(), 0; time.Since(start) < 2*time.Second; time.Sleep(each) {
				for ; sent < int(time.Since(start)/each); sent++ {
					if _, err := src.WriteTo(pkt, sink.LocalAddr()); err != nil {
						t.Fatal(err)
					}
				}
			}
			return <-res
		}
		if err := lab.Cap(lab.GuestRouter, "wan", "600kbit"); err != nil {
			t.Fatal(err)
		}
		r := measure()
		t.Logf("uplink capped at 600 kb/s: measured %.0f kb/s of 2 Mb/s sent", r)
		if r < 500 || r > 700 {
			t.Errorf("measured %.0f kb/s through the cap, want 600", r)
		}
		if err := lab.Cap(lab.GuestRouter, "wan", ""); err != nil {
			t.Fatal(err)
		}
		if r := measure(); r < 1500 {
			t.Errorf("measured %.0f kb/s with the cap taken away, want about 2000", r)
		}
	})

	t.Run("delay", func(t *testing.T) {
		raw, err := lab.ListenPacket(lab.Internet, "udp4", InternetIP.String()+":9003")
		if err != nil {
			t.Fatal(err)
		}
		slow := &DelayPacketConn{PacketConn: raw, Delay: 50 * time.Millisecond, Jitter: 20 * time.Millisecond}
		defer slow.Close()
		go echoUDP(slow)
		c, err := lab.ListenPacket(lab.Guest, "udp4", GuestIP.String()+":0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		var rtts []time.Duration
		buf := make([]byte, 64)
		for i := 0; i < 200; i++ {
			start := time.Now()
			if _, err := c.WriteTo([]byte("probe"), raw.LocalAddr()); err != nil {
				t.Fatal(err)
			}
			_ = c.SetReadDeadline(time.Now().Add(time.Second))
			if _, _, err := c.ReadFrom(buf); err != nil {
				t.Fatal(err)
			}
			rtts = append(rtts, time.Since(start))
		}
		slices.Sort(rtts)
		var sum time.Duration
		for _, r := range rtts {
			sum += r
		}
		mean := sum / time.Duration(len(rtts))
		lo, hi := rtts[len(rtts)/20], rtts[len(rtts)*19/20]
		t.Logf("50 ± 20 ms: measured mean %v, 5th–95th percentile %v–%v", mean.Round(100*time.Microsecond), lo.Round(100*time.Microsecond), hi.Round(100*time.Microsecond))
		// Uniform over 30–70 ms: its 5th and 95th percentiles are 32 and
		// 68 ms; the path itself adds well under a millisecond.
		if mean < 45*time.Millisecond || mean > 56*time.Millisecond || lo > 36*time.Millisecond || hi < 64*time.Millisecond || rtts[0] < 29*time.Millisecond {
			t.Errorf("delay mean %v, 5th–95th percentile %v–%v, least %v: want 50 ± 20 ms", mean, lo, hi, rtts[0])
		}
	})
}
