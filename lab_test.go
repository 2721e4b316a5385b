//go:build linux

package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pion/turn/v5"

	"greenroom/encode/mediatest"
	"greenroom/studio/studiotest"
	"greenroom/studio/studiotest/netlab"
)

// The NAT lab's helper modes (its STUN responder, a TURN server) run as
// this test binary.
func init() {
	netlab.Helper("turn", turnHelper)
	beforeMain = append(beforeMain, func(m *testing.M) {
		if netlab.InHelper() {
			netlab.Main(m)
		}
	})
	afterMain = append(afterMain, func() error {
		if left := netlab.Leftovers(); len(left) > 0 {
			return fmt.Errorf("netlab: namespaces left behind: %s", strings.Join(left, " "))
		}
		return nil
	})
}

// upnpLab is a NAT lab whose creator's router speaks UPnP (miniupnpd),
// with serve behind it.
func upnpLab(t *testing.T) (*netlab.Lab, *labStudio) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds a NAT lab and starts a browser")
	}
	lab := netlab.New(t, netlab.Options{})
	if _, err := lab.StartMiniupnpd(netlab.MiniupnpdOptions{NoNATPMP: true}); err != nil {
		t.Fatal(err)
	}
	return lab, startLabStudio(t, lab)
}

// labStudio is greenroom serve running behind the creator's router.
type labStudio struct {
	proc     *netlab.Proc
	guestURL string
	control  *url.URL
	client   *http.Client
	rec      string   // the program's recording (--record); "" with --recordings
	out      []string // what serve printed before the links
}

// startLabStudio runs the real binary's serve in the lab's studio
// namespace, with the lab's STUN server, recording to a file.
func startLabStudio(t *testing.T, lab *netlab.Lab, args ...string) *labStudio {
	t.Helper()
	return startLabStudioEnv(t, lab, nil, args...)
}

// startLabStudioEnv is startLabStudio with more environment variables.
func startLabStudioEnv(t *testing.T, lab *netlab.Lab, env []string, args ...string) *labStudio {
	t.Helper()
	home := t.TempDir()
	ls := &labStudio{rec: filepath.Join(home, "show.mp4")}
	stun := fmt.Sprintf("stun:%s:%d", netlab.InternetIP, netlab.STUNPort)
	if !slices.Contains(args, "--recordings") { // serve takes one or the other
		args = append([]string{"--record", ls.rec}, args...)
	} else {
		ls.rec = ""
	}
	args = append([]string{"serve", "--no-default-stun", "--ice", stun, "-v"}, args...)
	cmd := lab.Command(lab.Studio, append([]string{bin}, args...)...)
	cmd.Env = append(append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"), "LANG=en_US.UTF-8"), env...)
	p, err := lab.StartCommand(cmd)
	if err != nil {
		t.Fatal(err)
	}
	ls.proc = p
	timeout := time.After(30 * time.Second)
	for ls.guestURL == "" || ls.control == nil {
		select {
		case line, ok := <-p.Lines:
			if !ok {
				t.Fatalf("serve exited before printing its links: %v", p.Err())
			}
			if v, ok := strings.CutPrefix(line, "guest link: "); ok {
				ls.guestURL = v
			} else if v, ok := strings.CutPrefix(line, "control: "); ok {
				ls.control, _ = url.Parse(v)
			} else {
				ls.out = append(ls.out, line)
			}
		case <-timeout:
			t.Fatal("serve printed no links within 30 s")
		}
	}
	// The control URL starts like the guest link (a public URL, say); the
	// test reaches the studio from its own network.
	ls.control.Host = net.JoinHostPort(netlab.StudioIP.String(), "8443") // serve's --listen
	ls.client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: insecureTLS(), DialContext: lab.Dial(lab.Studio)}}
	return ls
}

// state is what the tests read of /api/state.
type labState struct {
	Participants []struct {
		ID, Name, Role, Place, Media, Path string
		Connected                          bool
		// Forwarded is the layer (rid) this guest receives of each
		// guest who sends layers; Layers what this guest sends.
		Forwarded map[string]string
		Layers    []struct {
			RID          string
			Height, Kbps int
		}
		Health *labHealth
	}
	Reach struct {
		Via, PublicIP, Problem string
		Mapped                 []string
	}
	Certificate struct {
		Kind, Issuer, Error string
		Pending             bool
	}
}

// labHealth is a guest's health as /api/state says it: its level, what
// the studio measures of its links, and how much of its sound the
// program filled in for lost packets.
type labHealth struct {
	Level, Reason string
	Up            struct {
		RTTMs   int
		RTTFrom string
	}
	Down struct {
		Kbps, EstimateKbps int
		Loss               float64
	}
	ProgramAudio struct{ ConcealedMs, RecoveredMs int }
}

func (ls *labStudio) state(t *testing.T) labState {
	t.Helper()
	var st labState
	resp, err := ls.client.Get(ls.control.String())
	if err != nil {
		t.Fatalf("control API: %v", err)
	}
	defer resp.Body.Close()
	if err := jsonDecode(resp.Body, &st); err != nil {
		t.Fatalf("control API: %v", err)
	}
	return st
}

// post sends a control API command.
func (ls *labStudio) post(t *testing.T, path, body string) {
	t.Helper()
	u := *ls.control
	u.Path = path
	resp, err := ls.client.Post(u.String(), "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s %s: %s", path, body, resp.Status)
	}
}

// guestBrowser is how a lab guest's Chromium starts: with these flags, and
// either trusting the CAs in Trust alone (PEM; it checks every certificate
// as a real guest's browser does) or, without Trust, taking any
// certificate (the studio's self-signed one, which a real guest clicks
// through once).
type guestBrowser struct {
	Flags []string
	Trust [][]byte
}

// labGuest opens the guest link in a headless Chromium in the lab's guest
// namespace, behind the guest's router.
func labGuest(t *testing.T, lab *netlab.Lab, link string, gb guestBrowser) *studiotest.Page {
	t.Helper()
	if _, err := os.Stat(studiotest.ChromiumPath); err != nil {
		t.Skip("no chromium:", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	in := studiotest.ChromiumIn{Wrap: []string{"ip", "netns", "exec", lab.Guest}, Dial: lab.Dial(lab.Guest)}
	if len(gb.Trust) > 0 {
		in.Wrap = append(in.Wrap, "env", "HOME="+studiotest.NSSHome(t, gb.Trust...))
		in.CheckCertificates = true
	}
	b, pages, err := studiotest.StartChromiumIn(ctx, in, gb.Flags, link+"?name=Ann&join=1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	t.Cleanup(pages[0].Close)
	return pages[0]
}

// guestOnAir waits for the guest to join, stages it alone on screen, and
// returns its ID and how long from join until the page's media connected.
func (ls *labStudio) guestOnAir(t *testing.T, page *studiotest.Page, joined time.Time) (id string, took time.Duration) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for id == "" && time.Now().Before(deadline) {
		for _, p := range ls.state(t).Participants {
			if p.Role == "guest" {
				id = p.ID
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if id == "" {
		t.Fatal("the guest did not join within 30 s")
	}
	ls.post(t, "/api/stage", `{"id":"`+id+`","on":true}`)
	ls.post(t, "/api/scene", `{"layout":"solo","main":"`+id+`"}`)
	for time.Now().Before(deadline) {
		var state string
		if err := page.Eval(`window.greenroom.pc ? window.greenroom.pc.connectionState : ""`, &state); err == nil && state == "connected" {
			return id, time.Since(joined)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var errs, cands []string
	_ = page.Eval(`window.greenroom.errors.concat(["pending candidates: " + JSON.stringify(window.greenroom.pendingCandidates)])`, &errs)
	_ = page.Eval(`(async () => { const out = [];
  (await window.greenroom.pc.getStats()).forEach(r => {
    if (r.type === "local-candidate" || r.type === "remote-candidate" || r.type === "candidate-pair")
      out.push(r.type + " " + (r.address || "") + ":" + (r.port || "") + " " + (r.candidateType || r.state || ""));
  });
  return out; })()`, &cands)
	t.Fatalf("the guest's media did not connect within 30 s (page errors %q; ICE %q)", errs, cands)
	return "", 0
}

// pictureMoves records the program for a few seconds and checks that the
// guest's picture (alone on screen) moves in it, settle after it starts:
// Chromium's fake camera draws a turning pattern and a frame counter.
func (ls *labStudio) pictureMoves(t *testing.T, settle time.Duration) {
	t.Helper()
	ls.post(t, "/api/live", `{"on":true}`)
	time.Sleep(settle + 4*time.Second)
	ls.post(t, "/api/live", `{"on":false}`)
	a := mediatest.Frame(t, ls.rec, settle+1500*time.Millisecond)
	b := mediatest.Frame(t, ls.rec, settle+3*time.Second)
	if c := changedShare(a, b, a.Bounds()); c < 0.01 {
		t.Errorf("the program changed in %.2f%% of its pixels in 1.5 s: the guest's picture is not moving", c*100)
	}
	if y := mediatest.MeanLuma(b); y < 20 {
		t.Errorf("the program is black (mean luma %.0f): no guest picture", y)
	}
}

// TestLabGuestThroughUPnP is case (a) of issue #9: the studio behind one
// home router (Linux masquerade, miniupnpd), a headless Chromium guest
// behind another. The studio maps its own ports over UPnP; the guest opens
// the printed link, which names the router's public address, and joins:
// no forward set up by hand anywhere. The guest's moving picture is in the
// program, /api/state says the ports are mapped by UPnP, and the router's
// forwards are gone once the studio exits.
func TestLabGuestThroughUPnP(t *testing.T) {
	lab, ls := upnpLab(t)
	link, _ := url.Parse(ls.guestURL)
	if link.Hostname() != netlab.CreatorRouterWANIP.String() {
		t.Fatalf("guest link %s, want the router's public address %s (serve said %q)", ls.guestURL, netlab.CreatorRouterWANIP, ls.out)
	}
	st := ls.state(t)
	if st.Reach.Via != "upnp" || st.Reach.PublicIP != netlab.CreatorRouterWANIP.String() || st.Reach.Problem != "" || len(st.Reach.Mapped) != 2 {
		t.Errorf("reach %+v, want mapped by UPnP at %s", st.Reach, netlab.CreatorRouterWANIP)
	}
	fw, err := lab.Forwards()
	if err != nil || len(fw) != 2 {
		t.Fatalf("the router forwards %+v (%v), want TCP and UDP 8443", fw, err)
	}

	ls.guestJoins(t, lab, "direct", guestBrowser{})
	ls.pictureMoves(t, 0)

	ls.proc.Stop() // SIGTERM: serve closes the studio, which takes the forwards off
	if fw, err := lab.Forwards(); err != nil || len(fw) != 0 {
		t.Errorf("the router still forwards %+v (%v) after the studio exited", fw, err)
	}
	if !bytes.Contains([]byte(strings.Join(ls.out, "\n")), []byte("UPnP")) {
		t.Errorf("serve did not say how guests reach it: %q", ls.out)
	}
}

// TestLabDomainThroughUPnP: with --domain, the studio behind a UPnP
// router maps the router's 443 to its web port besides its own ports. The
// CA (Pebble, on the lab's internet) checks the name there (TLS-ALPN-01,
// through the router's forward) and issues the certificate; the guest link
// is https://NAME/ with no port, and a guest whose browser trusts the CA
// and resolves NAME to the router's public address joins by it without a
// warning. The forwards are gone once the studio exits. A router that
// keeps 443 from UPnP (miniupnpd's default rules), or gives another port
// over NAT-PMP, still forwards the studio's own port: the link names it,
// and Reach says what to do.
func TestLabDomainThroughUPnP(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a NAT lab and starts a browser")
	}
	const name = "studio.test"
	t.Run("443 kept from UPnP", func(t *testing.T) {
		lab := netlab.New(t, netlab.Options{})
		if _, err := lab.StartMiniupnpd(netlab.MiniupnpdOptions{NoNATPMP: true}); err != nil {
			t.Fatal(err)
		}
		ls := startLabStudio(t, lab, "--domain", name)
		if !strings.HasPrefix(ls.guestURL, "https://"+name+":8443/join/") {
			t.Errorf("guest link %s, want https://%s:8443/join/…", ls.guestURL, name)
		}
		st := ls.state(t)
		if st.Reach.Via != "upnp" || len(st.Reach.Mapped) != 2 || !strings.Contains(st.Reach.Problem, "did not forward its port 443") ||
			!strings.Contains(st.Reach.Problem, "forward TCP 443 to this computer's port 8443 by hand") {
			t.Errorf("reach %+v, want the studio's ports mapped and a problem about 443", st.Reach)
		}
	})
	t.Run("NAT-PMP gives another port", func(t *testing.T) {
		lab := netlab.New(t, netlab.Options{})
		if _, err := lab.StartMiniupnpd(netlab.MiniupnpdOptions{NoUPnP: true}); err != nil {
			t.Fatal(err)
		}
		ls := startLabStudio(t, lab, "--domain", name)
		if !strings.HasPrefix(ls.guestURL, "https://"+name+":8443/join/") {
			t.Errorf("guest link %s, want https://%s:8443/join/…", ls.guestURL, name)
		}
		st := ls.state(t)
		if st.Reach.Via != "natpmp" || !strings.Contains(st.Reach.Problem, "forwards port 1024, not 443") {
			t.Errorf("reach %+v, want mapped by NAT-PMP and a problem naming the port the router gave", st.Reach)
		}
	})

	lab := netlab.New(t, netlab.Options{})
	if _, err := lab.StartMiniupnpd(netlab.MiniupnpdOptions{NoNATPMP: true,
		Rules: []string{"allow 443 " + netlab.StudioIP.String() + "/24 8443"}}); err != nil {
		t.Fatal(err)
	}
	ca := startLabACME(t, lab, name)
	ls := startLabStudioEnv(t, lab, ca.env, "--domain", name, "--acme-ca", ca.directory)
	if !strings.HasPrefix(ls.guestURL, "https://"+name+"/join/") {
		t.Fatalf("guest link %s, want https://%s/join/… (serve said %q)", ls.guestURL, name, ls.out)
	}
	fw, err := lab.Forwards()
	want := netlab.Forward{Protocol: "tcp", ExternalPort: 443, To: netlab.StudioIP.String() + ":8443"}
	if err != nil || len(fw) != 3 || !slices.Contains(fw, want) {
		t.Fatalf("the router forwards %+v (%v), want TCP 443 and TCP and UDP 8443 to the studio's 8443", fw, err)
	}
	st := ls.state(t)
	if st.Reach.Via != "upnp" || st.Reach.Problem != "" || len(st.Reach.Mapped) != 3 {
		t.Errorf("reach %+v, want mapped by UPnP, 443 too, and no problem", st.Reach)
	}
	for deadline := time.Now().Add(30 * time.Second); st.Certificate.Kind != "acme" || st.Certificate.Error != ""; st = ls.state(t) {
		if time.Now().After(deadline) || (!st.Certificate.Pending && st.Certificate.Error != "") {
			t.Fatalf("no certificate from the CA through the router's 443: %+v", st.Certificate)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("certificate from %s through the router's 443", st.Certificate.Issuer)

	ls.guestJoins(t, lab, "direct", guestBrowser{
		Flags: []string{"--host-resolver-rules=MAP " + name + " " + netlab.CreatorRouterWANIP.String()},
		Trust: [][]byte{ca.root},
	})
	ls.pictureMoves(t, 0)

	ls.proc.Stop()
	if fw, err := lab.Forwards(); err != nil || len(fw) != 0 {
		t.Errorf("the router still forwards %+v (%v) after the studio exited", fw, err)
	}
}

// labACME is Pebble, Let's Encrypt's test CA, as the lab's studio sees
// it: its directory on the lab's internet, and its validation coming from
// the internet to the creator's router's 443, as Let's Encrypt's does.
type labACME struct {
	directory string   // for serve's --acme-ca
	env       []string // serve's environment: it trusts the directory's HTTPS
	root      []byte   // the issuing root, for a guest's browser (PEM)
}

// startLabACME runs Pebble in the test process with its directory on a
// socket in the lab's internet (InternetIP:14000, named example.com, the
// name on httptest's certificate, in the studio's /etc/hosts beside name).
// Its validation authority dials from the test's own namespace, so name
// resolves for it to a local port that forwards every connection into the
// lab's internet, to the router's 443.
func startLabACME(t *testing.T, lab *netlab.Lab, name string) labACME {
	t.Helper()
	fwd, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fwd.Close() })
	dial := lab.Dial(lab.Internet)
	go func() {
		for {
			c, err := fwd.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				u, err := dial(context.Background(), "tcp", net.JoinHostPort(netlab.CreatorRouterWANIP.String(), "443"))
				if err != nil {
					return
				}
				defer u.Close()
				go func() { _, _ = io.Copy(u, c); u.Close() }()
				_, _ = io.Copy(c, u)
			}()
		}
	}()
	const dirAddr = "198.18.0.1:14000" // netlab.InternetIP
	p := studiotest.StartPebbleOn(t, fwd.Addr().(*net.TCPAddr).Port, 5002, func() (net.Listener, error) {
		return lab.Listen(lab.Internet, "tcp", dirAddr)
	})
	p.AddName(name, "127.0.0.1")
	if err := lab.Hosts(lab.Studio, netlab.CreatorRouterWANIP.String()+" "+name, netlab.InternetIP.String()+" example.com"); err != nil {
		t.Fatal(err)
	}
	certFile := filepath.Join(t.TempDir(), "pebble-directory.pem")
	if err := os.WriteFile(certFile, p.DirectoryCert, 0o644); err != nil {
		t.Fatal(err)
	}
	root, err := p.IssuingRootPEM()
	if err != nil {
		t.Fatal(err)
	}
	return labACME{
		directory: strings.Replace(p.Directory, dirAddr, "example.com:14000", 1),
		env:       []string{"SSL_CERT_FILE=" + certFile},
		root:      root,
	}
}

// TestLabGuestThroughATunnel is case (b) of issue #9: the creator's router
// has no UPnP and forwards no UDP. The page and signaling reach the studio
// through a reverse proxy on the internet (Debian's Caddy, the far end of a
// tunnel: the router lets only it reach the studio's port), and the media
// punches through both NATs by STUN, to the studio's one media port.
func TestLabGuestThroughATunnel(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a NAT lab and starts a browser")
	}
	lab := netlab.New(t, netlab.Options{})
	if _, err := lab.StartSTUN(nil); err != nil {
		t.Fatal(err)
	}
	ls, gb := startTunnelStudio(t, lab)
	page := ls.guestJoins(t, lab, "hole-punched", gb)
	pair := selectedPair(t, page)
	if pair.Remote != netlab.CreatorRouterWANIP.String()+":8443" || pair.Protocol != "udp" || pair.LocalType == "relay" || pair.RemoteType == "relay" {
		t.Errorf("the guest's media goes %+v, want straight to the studio's media port at %s:8443", pair, netlab.CreatorRouterWANIP)
	}
	ls.pictureMoves(t, 0)
}

// startTunnelStudio starts serve behind the creator's router, reached
// through a reverse proxy on the internet (Debian's Caddy with its own CA,
// the far end of a tunnel: the router lets only the proxy reach the
// studio's port), with --public-url naming the proxy. It returns how a
// guest's browser reaches the proxy: it resolves its name, and trusts its
// CA as a real guest trusts a real proxy's certificate.
func startTunnelStudio(t *testing.T, lab *netlab.Lab, args ...string) (*labStudio, guestBrowser) {
	t.Helper()
	if _, err := os.Stat(studiotest.CaddyPath); err != nil {
		t.Skip("no caddy:", err)
	}
	const name = "studio.test"
	if err := lab.ForwardFrom(netlab.InternetIP, 8443); err != nil {
		t.Fatal(err)
	}
	ls := startLabStudio(t, lab, append([]string{"--public-url", "https://" + name}, args...)...)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	caddy, err := studiotest.StartCaddy(ctx, studiotest.CaddyConfig{Dir: t.TempDir(), Name: name,
		Listen: netlab.InternetIP.String() + ":443", Upstream: netlab.CreatorRouterWANIP.String() + ":8443", UpstreamTLS: true,
		Wrap: []string{"ip", "netns", "exec", lab.Internet}, Dial: lab.Dial(lab.Internet)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(caddy.Close)
	if st := ls.state(t); st.Reach.Via != "proxy" {
		t.Errorf("reach %+v, want through the public URL", st.Reach)
	}
	return ls, guestBrowser{
		Flags: []string{"--host-resolver-rules=MAP " + name + " " + netlab.InternetIP.String()},
		Trust: [][]byte{caddy.RootPEM},
	}
}

// TestLabGuestBehindSymmetricNAT is case (c) of issue #9: the guest's
// router maps each destination anew (nftables masquerade fully-random),
// and the studio is reached through the tunnel of case (b): no direct path
// exists (not even ICE over TCP), and the media goes through the TURN
// server the studio hands out.
func TestLabGuestBehindSymmetricNAT(t *testing.T) {
	lab, ls, gb := relayedLab(t)
	page := ls.guestJoins(t, lab, "relayed", gb)
	if pair := selectedPair(t, page); pair.LocalType != "relay" && pair.RemoteType != "relay" {
		t.Errorf("the guest's media goes %+v, want through the TURN server", pair)
	}
	ls.pictureMoves(t, 0)
}

// relayedLab is case (c)'s lab: the guest behind a symmetric NAT, the
// studio reached through the tunnel of case (b) and handing out a TURN
// server (pion/turn, in the internet namespace), which is then the only
// path for the guest's media. turnOpts go to the TURN helper
// ("delay=50ms", "jitter=20ms": see turnHelper).
func relayedLab(t *testing.T, turnOpts ...string) (*netlab.Lab, *labStudio, guestBrowser) {
	t.Helper()
	return relayedLabServing(t, turnOpts)
}

// relayedLabServing is relayedLab with more arguments for serve
// ("--recordings", DIR: then labStudio.rec is "").
func relayedLabServing(t *testing.T, turnOpts []string, serveArgs ...string) (*netlab.Lab, *labStudio, guestBrowser) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds a NAT lab and starts a browser")
	}
	lab := netlab.New(t, netlab.Options{GuestNAT: netlab.Symmetric})
	if _, err := lab.StartSTUN(nil); err != nil {
		t.Fatal(err)
	}
	turnAddr := netlab.InternetIP.String() + ":3479"
	tp, err := lab.StartHelper(lab.Internet, "turn", append([]string{turnAddr, "guest", "s3cret"}, turnOpts...)...)
	if err != nil {
		t.Fatal(err)
	}
	if line := <-tp.Lines; line != "ready" {
		t.Fatalf("the TURN server did not start: %q", line)
	}
	ls, gb := startTunnelStudio(t, lab, append([]string{"--no-port-mapping", "--ice", "turn:guest:s3cret@" + turnAddr + "?transport=udp"}, serveArgs...)...)
	return lab, ls, gb
}

// TestLabGuestOnWebOnlyNetwork is the office case of issue #9: the
// guest's network lets out only TCP to port 443 (no UDP at all, no other
// port), as locked-down office networks do. The page and signaling come
// through the tunnel's proxy on 443, and the media through a TURN server
// over TLS on 443 of another address (turns:…?transport=tcp). The guest's
// browser checks certificates as a real one does, and trusts the TURN
// server's CA: Chromium checks a TURN server's certificate (for its
// address, here) against its trust store, and one it does not trust gives
// no relay, so no media at all on such a network.
func TestLabGuestOnWebOnlyNetwork(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a NAT lab and starts a browser")
	}
	lab := netlab.New(t, netlab.Options{})
	if err := lab.WebOnly(lab.GuestRouter); err != nil {
		t.Fatal(err)
	}
	if _, err := lab.StartSTUN(nil); err != nil {
		t.Fatal(err)
	}
	ca := studiotest.NewCA(t)
	turnHost := netlab.InternetIP2.String()
	certFile, keyFile := ca.Issue(t, t.TempDir(), turnHost)
	turnAddr := net.JoinHostPort(turnHost, "443")
	tp, err := lab.StartHelper(lab.Internet, "turn", turnAddr, "guest", "s3cret", certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if line := <-tp.Lines; line != "ready" {
		t.Fatalf("the TURN server did not start: %q", line)
	}
	ls, gb := startTunnelStudio(t, lab, "--no-port-mapping", "--ice", "turns:guest:s3cret@"+turnAddr+"?transport=tcp")
	gb.Trust = append(gb.Trust, ca.PEM)
	page := ls.guestJoins(t, lab, "relayed", gb)
	pair := selectedPair(t, page)
	if pair.LocalType != "relay" || pair.RelayProtocol != "tls" {
		t.Errorf("the guest's media goes %+v, want through its relay on the TURN server, reached over TLS", pair)
	}
	ls.pictureMoves(t, 0)
}

// candidatePair is the guest page's ICE candidate pair in use.
type candidatePair struct {
	Protocol              string // udp, tcp
	RelayProtocol         string // for a local relay candidate: how it reaches its TURN server (udp, tcp, tls)
	Local, Remote         string // address:port
	LocalType, RemoteType string // host, srflx, prflx, relay
	// The ICE checks on the pair, the studio's answered by the browser
	// (received, responded) and the browser's answered by the studio
	// (sent, answered).
	Received, Responded, Sent, Answered int
}

func selectedPair(t *testing.T, page *studiotest.Page) candidatePair {
	t.Helper()
	var p candidatePair
	err := page.Eval(`(async () => {
  const s = await window.greenroom.pc.getStats(), out = {};
  s.forEach(t => {
    if (t.type !== "transport" || !t.selectedCandidatePairId) return;
    const r = s.get(t.selectedCandidatePairId), l = s.get(r.localCandidateId), m = s.get(r.remoteCandidateId);
    out.protocol = l.protocol; out.relayProtocol = l.relayProtocol || ""; out.local = l.address + ":" + l.port; out.localType = l.candidateType;
    out.remote = m.address + ":" + m.port; out.remoteType = m.candidateType;
    out.received = r.requestsReceived; out.responded = r.responsesSent; out.sent = r.requestsSent; out.answered = r.responsesReceived;
  });
  return out;
})()`, &p)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// turnHelper runs a TURN server (pion/turn) on ADDR with one user until
// its standard input closes: "turn ADDR USER PASS" over UDP, or
// "turn ADDR USER PASS CERT KEY" over TLS (TCP) with that certificate and
// key, as for turns: URLs. Options after them: "delay=50ms" and
// "jitter=20ms" make every relay send each packet that much later, plus
// or minus up to the jitter (netlab.DelayPacketConn): a bad path for a
// guest forced through the relay (issue #10). The relay's socket delays
// what it sends the peer (the studio); what comes back from the peer goes
// to the guest on the server's own socket at once, so a round trip takes
// the delay once.
func turnHelper(args []string) error {
	var delay, jitter time.Duration
	for len(args) > 0 && strings.Contains(args[len(args)-1], "=") {
		k, v, _ := strings.Cut(args[len(args)-1], "=")
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("turn: %s: %w", k, err)
		}
		switch k {
		case "delay":
			delay = d
		case "jitter":
			jitter = d
		default:
			return fmt.Errorf("turn: no option %q", k)
		}
		args = args[:len(args)-1]
	}
	if len(args) != 3 && len(args) != 5 {
		return fmt.Errorf("usage: turn ADDR USER PASS [CERT KEY] [delay=D] [jitter=D]")
	}
	host, _, _ := net.SplitHostPort(args[0])
	var relay turn.RelayAddressGenerator = &turn.RelayAddressGeneratorStatic{RelayAddress: net.ParseIP(host), Address: host}
	if delay > 0 || jitter > 0 {
		relay = delayingRelay{relay, delay, jitter}
	}
	const realm = "greenroom.test"
	key := turn.GenerateAuthKey(args[1], realm, args[2])
	cfg := turn.ServerConfig{
		Realm: realm,
		AuthHandler: func(ra *turn.RequestAttributes) (string, []byte, bool) {
			return args[1], key, ra.Username == args[1]
		},
	}
	if len(args) == 5 {
		cert, err := tls.LoadX509KeyPair(args[3], args[4])
		if err != nil {
			return err
		}
		ln, err := net.Listen("tcp4", args[0])
		if err != nil {
			return err
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
		cfg.ListenerConfigs = []turn.ListenerConfig{{Listener: ln, RelayAddressGenerator: relay}}
	} else {
		conn, err := net.ListenPacket("udp4", args[0])
		if err != nil {
			return err
		}
		cfg.PacketConnConfigs = []turn.PacketConnConfig{{PacketConn: conn, RelayAddressGenerator: relay}}
	}
	srv, err := turn.NewServer(cfg)
	if err != nil {
		return err
	}
	defer srv.Close()
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	return nil
}

// delayingRelay hands out relays whose sends are delayed (and jittered).
type delayingRelay struct {
	turn.RelayAddressGenerator
	delay, jitter time.Duration
}

func (r delayingRelay) AllocatePacketConn(conf turn.AllocateListenerConfig) (net.PacketConn, net.Addr, error) {
	c, addr, err := r.RelayAddressGenerator.AllocatePacketConn(conf)
	if err != nil {
		return nil, nil, err
	}
	return &netlab.DelayPacketConn{PacketConn: c, Delay: r.delay, Jitter: r.jitter}, addr, nil
}

// guestJoins opens the guest link in the lab's guest namespace (with
// Chromium flags), puts the guest alone on stage once it joins, logs how
// long its media took to connect, and checks the path /api/state says its
// media takes.
func (ls *labStudio) guestJoins(t *testing.T, lab *netlab.Lab, wantPath string, gb guestBrowser) *studiotest.Page {
	t.Helper()
	joined := time.Now()
	page := labGuest(t, lab, ls.guestURL, gb)
	id, took := ls.guestOnAir(t, page, joined)
	t.Logf("from opening the link to media connected (%s): %v", wantPath, took.Round(10*time.Millisecond))
	if p := ls.pathOf(t, id); p != wantPath {
		t.Errorf("/api/state says the guest's media goes %q, want %s", p, wantPath)
	}
	return page
}

// pathOf waits for the studio to say how guest id's media reaches it.
func (ls *labStudio) pathOf(t *testing.T, id string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, p := range ls.state(t).Participants {
			if p.ID == id && p.Path != "" && p.Connected {
				return p.Path
			}
		}
		if time.Now().After(deadline) {
			return ""
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestLabGuestLinkDropsAndMoves is case (d) of issue #9: a guest on stage
// loses their link for 10 s (an nftables drop in their router), and later
// their router's public address changes (they move to a phone's hotspot).
// Each time the guest comes back without rejoining: the same participant,
// on stage throughout, in the same tile, its media flowing again.
func TestLabGuestLinkDropsAndMoves(t *testing.T) {
	// Issue #9's target: media flowing both ways again within 3 s of the
	// network returning, or of the guest's address changing. After a
	// move the studio follows the guest's media from its new address
	// (studio/movehint.go: 0.23 s here; 3.8-4.2 s when it waited for
	// Chromium's next check, every 2.5 s on a stable pair): past the
	// target is logged, past twice that fails.
	const backWithin = 3 * time.Second
	judgeBack := func(took time.Duration, what string) {
		t.Logf("back %v after %s", took.Round(10*time.Millisecond), what)
		switch {
		case took > 2*backWithin:
			t.Errorf("back %v after %s, want within %v", took.Round(10*time.Millisecond), what, 2*backWithin)
		case took > backWithin:
			t.Logf("issue #9's target missed: back %v after %s, want within %v", took.Round(10*time.Millisecond), what, backWithin)
		}
	}
	lab, ls := upnpLab(t)
	page := labGuest(t, lab, ls.guestURL, guestBrowser{})
	id, _ := ls.guestOnAir(t, page, time.Now())

	// onStage fails the test unless the guest is there, on stage, and
	// alone with the host, and says whether the studio has its media.
	onStage := func() bool {
		st := ls.state(t)
		flowing := false
		for _, p := range st.Participants {
			if p.Role == "guest" && (p.ID != id || p.Place != "stage") {
				t.Fatalf("the guest is now %+v, want %s on stage", p, id)
			}
			flowing = flowing || (p.ID == id && p.Connected)
		}
		if len(st.Participants) != 2 {
			t.Fatalf("%d participants, want the host and the guest", len(st.Participants))
		}
		return flowing
	}
	// back waits until media flows both ways again: the guest's page
	// receives the host's picture (nothing arrives over a dead path) and
	// the studio has the guest's media; the guest's place is checked all
	// along.
	back := func(what string) time.Duration {
		start := time.Now()
		base := pageBytesReceived(t, page)
		for time.Since(start) < 20*time.Second {
			if pageBytesReceived(t, page) > base+20_000 && onStage() {
				return time.Since(start)
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("%s: the guest's media did not come back within 20 s", what)
		return 0
	}
	for deadline := time.Now().Add(10 * time.Second); !onStage(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the studio does not have the guest's media")
		}
	}

	if err := lab.Cut(lab.GuestRouter); err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); {
		onStage()
		time.Sleep(time.Second)
	}
	t.Logf("the link is back at %s", time.Now().UTC().Format("15:04:05.000"))
	if err := lab.Restore(lab.GuestRouter); err != nil {
		t.Fatal(err)
	}
	judgeBack(back("after the 10 s cut"), "the link returned")
	ls.pictureMoves(t, 0)

	if err := lab.RenumberGuestRouter(); err != nil {
		t.Fatal(err)
	}
	judgeBack(back("after the guest's address changed"), "the guest's address changed")
	// No ICE restart: the guest's pair names its new address as
	// peer-reflexive (learned from the studio's answers to its checks).
	t.Logf("the guest's media goes %+v", selectedPair(t, page))
	// Nor does the browser start its bit rate over (it did after the ICE
	// restart this used to take: a few frames a second for 4 s), and the
	// studio asked for a keyframe when it followed: the picture moves at
	// once.
	ls.pictureMoves(t, 0)

	// The signaling socket's TCP connection went with the old address:
	// the page must have found out (the studio would hold its place and
	// drop it once its pings went unanswered) and come back over a new
	// one, over which the host's mute reaches it.
	ls.post(t, "/api/mute", `{"id":"`+id+`","on":true}`)
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var muted bool
		if err := page.Eval(`window.greenroom.hostMuted`, &muted); err != nil {
			t.Fatal(err)
		}
		if muted {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the page did not hear the host mute it within 3 s after its address changed: its signaling is dead")
		}
	}
}

// pageBytesReceived is how much media the guest's page has received.
func pageBytesReceived(t *testing.T, page *studiotest.Page) int64 {
	t.Helper()
	var n int64
	if err := page.Eval(`(async () => { let n = 0;
  if (window.greenroom.pc) (await window.greenroom.pc.getStats()).forEach(r => { if (r.type === "inbound-rtp") n += r.bytesReceived || 0; });
  return n; })()`, &n); err != nil {
		t.Fatal(err)
	}
	return n
}
