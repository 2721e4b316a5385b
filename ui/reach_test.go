package ui

import (
	"errors"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"greenroom/studio"
)

const lanLink = "https://192.168.1.20:8443/join/tok1"

var (
	upnpReach  = &studio.Reach{Via: studio.ReachUPnP, PublicIP: "198.18.0.11", Mapped: []string{"TCP 8443→8443", "UDP 8443→8443"}}
	lanProblem = "Your router did not forward the studio's ports (UPnP is off on the router), so guests outside this network can't open the link. Forward TCP and UDP 8443 to this computer by hand, or put the studio behind a reverse proxy or tunnel with a public URL."
	selfSigned = &studio.CertStatus{Kind: studio.CertSelfSigned, Issuer: "Greenroom studio"}
	acmeCert   = &studio.CertStatus{Kind: studio.CertACME, Domain: "studio.example.com", Issuer: "Let's Encrypt E7", NotAfter: time.Date(2027, 3, 2, 10, 0, 0, 0, time.UTC)}
)

// TestReachWords: what the Guests tab says for each way guests reach the
// studio, and for each certificate.
func TestReachWords(t *testing.T) {
	for _, tc := range []struct {
		name  string
		reach *studio.Reach
		cert  *studio.CertStatus
		link  string
		want  reachView // texts only; "" for a hidden line
		imp   widget.Importance
	}{
		{name: "upnp", reach: upnpReach, cert: selfSigned, want: reachView{
			way:    line{text: "Guests anywhere can join: your router forwards the studio's ports (UPnP) at 198.18.0.11."},
			mapped: line{text: "The router forwards TCP 8443→8443 and UDP 8443→8443."},
			cert:   line{text: "Guests outside this network will see a certificate warning (self-signed). To avoid it, give the studio a domain name (Settings → Network → Domain, or greenroom serve --domain) or put it behind your own HTTPS front (greenroom serve --public-url)."},
		}, imp: widget.SuccessImportance},
		{name: "natpmp without media", reach: &studio.Reach{Via: studio.ReachNATPMP, PublicIP: "198.18.0.11", Mapped: []string{"TCP 8443→8443"}, Problem: "The router forwards the page but not the media port."}, cert: acmeCert, want: reachView{
			way:     line{text: "Guests anywhere can join: your router forwards the studio's ports (NAT-PMP) at 198.18.0.11."},
			mapped:  line{text: "The router forwards TCP 8443→8443."},
			problem: line{text: "The router forwards the page but not the media port."},
			cert:    line{text: "Secure link: trusted certificate until 2 Mar 2027, from Let's Encrypt E7."},
		}, imp: widget.SuccessImportance},
		{name: "pending", reach: &studio.Reach{Via: studio.ReachLAN, Pending: true}, want: reachView{
			way: line{text: "Checking your router…"},
		}, imp: widget.LowImportance},
		{name: "lan with a problem", reach: &studio.Reach{Via: studio.ReachLAN, Problem: lanProblem}, cert: selfSigned, want: reachView{
			way:     line{text: "Only guests on this network can join."},
			problem: line{text: lanProblem},
			cert:    line{text: "Guests outside this network will see a certificate warning (self-signed). To avoid it, give the studio a domain name (Settings → Network → Domain, or greenroom serve --domain) or put it behind your own HTTPS front (greenroom serve --public-url)."},
		}, imp: widget.WarningImportance},
		{name: "proxy", reach: &studio.Reach{Via: studio.ReachProxy, PublicIP: "203.0.113.9"}, cert: &studio.CertStatus{Kind: studio.CertNone}, link: "https://studio.example.com/join/tok1", want: reachView{
			way:  line{text: "Guests anywhere can join through your public URL (a reverse proxy or tunnel)."},
			cert: line{text: "Secure link: guests get your public URL's own certificate."},
		}, imp: widget.SuccessImportance},
		{name: "manual", reach: &studio.Reach{Via: studio.ReachManual, PublicIP: "203.0.113.7"}, want: reachView{
			way: line{text: "Guests anywhere can join through a port you forwarded by hand at 203.0.113.7."},
		}, imp: widget.SuccessImportance},
		{name: "direct", reach: &studio.Reach{Via: studio.ReachDirect, PublicIP: "203.0.113.8"}, want: reachView{
			way: line{text: "Guests anywhere can join directly: this computer has a public address (203.0.113.8)."},
		}, imp: widget.SuccessImportance},
		{name: "getting a certificate", cert: &studio.CertStatus{Kind: studio.CertSelfSigned, Domain: "studio.example.com", Pending: true}, want: reachView{
			cert: line{text: "Getting a trusted certificate for studio.example.com… Until it arrives, guests outside this network see a certificate warning (self-signed)."},
		}},
		{name: "the CA refused", cert: &studio.CertStatus{Kind: studio.CertSelfSigned, Domain: "studio.example.com", Err: errors.New("studio.example.com does not resolve to an address (no such host): give it an A record; the studio tries again by itself")}, want: reachView{
			cert: line{text: "Guests outside this network will see a certificate warning (self-signed): studio.example.com does not resolve to an address (no such host): give it an A record; the studio tries again by itself."},
		}},
		{name: "nothing known", want: reachView{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			link := tc.link
			if link == "" {
				link = lanLink
			}
			got := viewReach(studio.State{Reach: tc.reach, Certificate: tc.cert}, link)
			if got.link != link {
				t.Errorf("link %q", got.link)
			}
			for _, l := range []struct {
				what      string
				got, want line
			}{{"way", got.way, tc.want.way}, {"mapped", got.mapped, tc.want.mapped}, {"problem", got.problem, tc.want.problem}, {"certificate", got.cert, tc.want.cert}} {
				if l.got.text != l.want.text {
					t.Errorf("%s:\n got %q\nwant %q", l.what, l.got.text, l.want.text)
				}
			}
			if tc.reach != nil && got.way.imp != tc.imp {
				t.Errorf("way shown with importance %v, want %v", got.way.imp, tc.imp)
			}
			if got.problem.text != "" && got.problem.imp != widget.WarningImportance {
				t.Errorf("problem shown with importance %v, want a warning", got.problem.imp)
			}
		})
	}
	// Self-signed warns; a trusted certificate does not.
	if imp := viewReach(studio.State{Certificate: selfSigned}, lanLink).cert.imp; imp != widget.WarningImportance {
		t.Errorf("self-signed shown with importance %v, want a warning", imp)
	}
	if imp := viewReach(studio.State{Certificate: acmeCert}, lanLink).cert.imp; imp != widget.SuccessImportance {
		t.Errorf("a trusted certificate shown with importance %v, want success", imp)
	}
}

// guestsTexts are the texts of the Guests tab's visible labels, as shown
// (a markup of it wraps them).
func guestsTexts(s *testStudio) string {
	selectTab(s, "Guests")
	var texts []string
	for _, o := range test.LaidOutObjects(s.tabs.Selected().Content) {
		if l, ok := o.(*widget.Label); ok && l.Visible() {
			texts = append(texts, l.Text)
		}
	}
	return strings.Join(texts, "\n")
}

// TestReachShown: the Guests tab shows the reach block under the link, and
// nothing of it for a show that says nothing of reach.
func TestReachShown(t *testing.T) {
	f := newFake()
	s, _ := open(t, f, nil)
	g := &s.guest
	if g.reachTitle.Visible() || g.way.Visible() || g.cert.Visible() {
		t.Error("a reach block for a show that says nothing of reach")
	}

	f = newFake()
	f.state.Reach = &studio.Reach{Via: studio.ReachLAN, Problem: lanProblem}
	f.state.Certificate = selfSigned
	s, _ = open(t, f, nil)
	g = &s.guest
	m := guestsTexts(s)
	for _, want := range []string{"How guests reach you", "Only guests on this network can join.", "Forward TCP and UDP 8443", "certificate warning (self-signed)", "Settings → Network → Domain", "greenroom serve --domain"} {
		if !strings.Contains(m, want) {
			t.Errorf("the Guests tab does not say %q:\n%s", want, m)
		}
	}
	if !g.problem.Visible() || g.problem.Importance != widget.WarningImportance || g.mapped.Visible() {
		t.Errorf("problem visible %v, importance %v; mapped visible %v", g.problem.Visible(), g.problem.Importance, g.mapped.Visible())
	}
}

// TestReachFollowsTheStudio: when the router answers, the window says so
// and the link names the router's address, without an event of the show.
func TestReachFollowsTheStudio(t *testing.T) {
	// Looks every 50 ms, not every 2 s: what is asserted is what a look
	// shows (and that one leaves a new link alone), not how often they
	// come; the test took 10 s of its waits. Restored after the window's
	// Close (cleanups run last first), which waits for its loops.
	was := reachPoll
	t.Cleanup(func() { reachPoll = was })
	reachPoll = 50 * time.Millisecond
	f := newFake()
	f.state.Reach = &studio.Reach{Via: studio.ReachLAN, Pending: true}
	f.state.Certificate = selfSigned
	s, _ := open(t, f, nil)
	g := &s.guest
	if g.way.Text != "Checking your router…" || g.problem.Visible() || g.link.Text != lanLink {
		t.Fatalf("at start: %q, problem shown %v, link %q", g.way.Text, g.problem.Visible(), g.link.Text)
	}
	f.mu.Lock()
	f.state.Reach = upnpReach
	f.guestURL = "https://198.18.0.11:8443/join/tok1"
	f.mu.Unlock()
	eventually(t, s, "the link to name the router's address", func() bool { return g.link.Text == "https://198.18.0.11:8443/join/tok1" })
	if !strings.HasPrefix(g.way.Text, "Guests anywhere can join: your router forwards") || g.way.Importance != widget.SuccessImportance || !g.mapped.Visible() {
		t.Errorf("after the router answered: %q (importance %v), mapped shown %v", g.way.Text, g.way.Importance, g.mapped.Visible())
	}

	// The router stops answering: the problem shows, and goes again.
	f.mu.Lock()
	f.state.Reach = &studio.Reach{Via: studio.ReachLAN, Problem: lanProblem}
	f.mu.Unlock()
	eventually(t, s, "the problem", func() bool { return g.problem.Visible() && g.problem.Text == lanProblem })
	if g.mapped.Visible() || g.way.Text != "Only guests on this network can join." {
		t.Errorf("back on the LAN: %q, mapped shown %v", g.way.Text, g.mapped.Visible())
	}
	f.mu.Lock()
	f.state.Reach = upnpReach
	f.state.Certificate = acmeCert
	f.mu.Unlock()
	eventually(t, s, "the problem to go", func() bool { return !g.problem.Visible() })
	if g.cert.Text != "Secure link: trusted certificate until 2 Mar 2027, from Let's Encrypt E7." {
		t.Errorf("certificate line %q", g.cert.Text)
	}

	// A new link made in the window stays.
	test.Tap(g.rotate)
	tapDialogButton(t, s, "New link")
	s.settle()
	if g.link.Text != f.GuestURL() || g.link.Text == lanLink {
		t.Fatalf("new link %q, the show's %q", g.link.Text, f.GuestURL())
	}
	time.Sleep(reachPoll + reachPoll/2)
	s.settle()
	if g.link.Text != f.GuestURL() {
		t.Errorf("after a look: link %q, the show's %q", g.link.Text, f.GuestURL())
	}
}

// TestReachWithRealStudio: against the real studio (loopback, plain HTTP,
// no port mapping) the Guests tab says only this network can join, why,
// and that the link is plain HTTP.
func TestReachWithRealStudio(t *testing.T) {
	sd, err := studio.New(loopbackConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sd.Close() }) // after the window's Close (cleanups run last first)
	s, _ := openShow(t, realShow{sd}, nil)
	g := &s.guest
	if g.link.Text != sd.GuestURL() {
		t.Errorf("link %q, the studio's %q", g.link.Text, sd.GuestURL())
	}
	if g.way.Text != "Only guests on this network can join." || !strings.HasPrefix(g.problem.Text, "The studio did not ask your router") {
		t.Errorf("way %q, problem %q", g.way.Text, g.problem.Text)
	}
	if !strings.HasPrefix(g.cert.Text, "Plain HTTP") {
		t.Errorf("certificate line %q", g.cert.Text)
	}
}
