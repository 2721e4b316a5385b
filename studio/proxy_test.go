//go:build unix

package studio_test

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"greenroom/studio"
	"greenroom/studio/studiotest"
)

// TestGuestThroughCaddy: the studio on loopback behind the creator's own TLS
// front, Debian's Caddy with a certificate of its own CA ("tls internal"),
// and --public-url naming the front. The guest link is the front's; a
// client that trusts only Caddy's CA accepts its certificate and gets the
// page; a headless Chromium guest opens the link, signals through Caddy
// (WebSocket and all) and its media reaches the studio.
func TestGuestThroughCaddy(t *testing.T) {
	if _, err := os.Stat(studiotest.CaddyPath); err != nil {
		t.Skip("no caddy (Debian's caddy package):", err)
	}
	const name = "studio.test"
	front := freeAddr(t)
	_, frontPort, _ := net.SplitHostPort(front)
	sink := newCountingSink()
	s := newStudio(t, func(c *studio.Config) {
		c.Sink = sink
		c.PublicURL = "https://" + name + ":" + frontPort
	})
	if !strings.HasPrefix(s.GuestURL(), "https://"+name+":"+frontPort+"/join/") {
		t.Fatalf("guest link %s, want the front's", s.GuestURL())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	caddy, err := studiotest.StartCaddy(ctx, studiotest.CaddyConfig{Dir: t.TempDir(), Name: name, Listen: front, Upstream: s.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(caddy.Close)

	// What a browser that trusts Caddy's CA (and nothing else) sees.
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: caddy.Root},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, front) // studio.test is us
		},
	}}
	resp, err := client.Get(s.GuestURL())
	if err != nil {
		t.Fatalf("the guest link through Caddy: %v", err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "guest.js") {
		t.Fatalf("the guest link through Caddy: %s\n%.300s", resp.Status, page)
	}

	if testing.Short() {
		t.Skip("starts a browser")
	}
	if _, err := os.Stat(studiotest.ChromiumPath); err != nil {
		t.Skip("no chromium:", err)
	}
	b, pages, err := studiotest.StartChromiumWith(ctx, []string{"--host-resolver-rules=MAP " + name + " 127.0.0.1"},
		s.GuestURL()+"?name=Ann&join=1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	t.Cleanup(pages[0].Close)
	var id string
	eventually(t, "Ann to join through Caddy", func() bool {
		for _, p := range s.State().Participants {
			if p.Role == studio.RoleGuest {
				id = p.ID
			}
		}
		return id != ""
	})
	var loc string
	if err := pages[0].Eval(`location.origin`, &loc); err != nil || loc != "https://"+name+":"+frontPort {
		t.Errorf("the page's origin is %q (%v), want the front's", loc, err)
	}
	eventually(t, "Ann's camera to reach the studio", func() bool { return sink.count(id+"-video") > 30 })
	var st stats
	if err := pages[0].Eval(statsJS, &st); err != nil || st.State != "connected" || len(st.Errors) > 0 {
		t.Errorf("Ann's page: %+v, %v", st, err)
	}
}

// freeAddr is a loopback TCP address free right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
