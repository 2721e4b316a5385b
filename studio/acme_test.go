package studio_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"greenroom/studio"
	"greenroom/studio/studiotest"
)

const testDomain = "studio.greenroom.test"

// checkLeaksPebble is checkLeaks but for the goroutine Pebble keeps.
func checkLeaksPebble(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore, goleak.IgnoreAnyFunction(studiotest.PebbleGoroutine)) })
}

// acmeStudio starts a studio on port for testDomain with Pebble as its CA.
func acmeStudio(t *testing.T, p *studiotest.Pebble, port int, dir string, mod func(*studio.Config)) *studio.Studio {
	t.Helper()
	return newStudio(t, func(c *studio.Config) {
		c.Listen = fmt.Sprintf("127.0.0.1:%d", port)
		c.PlainHTTP = false
		c.ConfigDir = dir
		c.Domain = testDomain
		c.ACMECA = p.Directory
		c.ACMERootCAs = p.RootCAs
		c.Resolver = p.Resolver
		if mod != nil {
			mod(c)
		}
	})
}

// waitCert waits until the studio is no longer getting its first
// certificate.
func waitCert(t *testing.T, s *studio.Studio) studio.CertStatus {
	t.Helper()
	eventually(t, "the certificate", func() bool { return !s.Certificate().Pending })
	return s.Certificate()
}

// trusting is a guest's browser that trusts only roots and reaches every
// name at the studio's address.
func trusting(roots *x509.CertPool, addr string, skipVerify bool) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true,
		TLSClientConfig:   &tls.Config{RootCAs: roots, InsecureSkipVerify: skipVerify},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}}
}

// With a domain, the studio gets a certificate from the ACME CA (Pebble,
// validating the TLS-ALPN-01 challenge against the studio's own port),
// which a browser trusting only the CA's root accepts for the guest link;
// the cache is private, and a second start uses it without the CA.
func TestACMECertificate(t *testing.T) {
	checkLeaksPebble(t)
	port, dir := studiotest.FreePort(), t.TempDir()
	p := studiotest.StartPebble(t, port, 0)
	p.AddName(testDomain, "127.0.0.1")
	s := acmeStudio(t, p, port, dir, nil)
	if want := "https://" + testDomain + "/join/"; !strings.HasPrefix(s.GuestURL(), want) {
		t.Errorf("guest link %q, want %s…", s.GuestURL(), want)
	}

	st := waitCert(t, s)
	if st.Kind != studio.CertACME || st.Err != nil || st.Domain != testDomain || !strings.HasPrefix(st.Issuer, "Pebble") ||
		time.Until(st.NotAfter) < 24*time.Hour {
		t.Fatalf("certificate %+v", st)
	}
	roots, err := p.IssuingRoots()
	if err != nil {
		t.Fatal(err)
	}
	guest := trusting(roots, s.Addr().String(), false)
	resp, err := guest.Get(s.GuestURL())
	if err != nil {
		t.Fatalf("a browser trusting only the CA: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("guest page: %d", resp.StatusCode)
	}
	served := resp.TLS.PeerCertificates[0]

	// The window's view, through the control API.
	resp, err = guest.Get(s.ControlURL())
	if err != nil {
		t.Fatal(err)
	}
	var state struct{ Certificate map[string]any }
	err = json.NewDecoder(resp.Body).Decode(&state)
	resp.Body.Close()
	if err != nil || state.Certificate["kind"] != "acme" || state.Certificate["notAfter"] == nil {
		t.Errorf("/api/state certificate %v %v", state.Certificate, err)
	}

	// A guest on the LAN typing the address gets the self-signed one.
	resp, err = trusting(nil, s.Addr().String(), true).Get("https://" + s.Addr().String() + "/join/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if cn := resp.TLS.PeerCertificates[0].Subject.CommonName; cn != "Greenroom studio" {
		t.Errorf("by address: certificate %q, want the self-signed one", cn)
	}

	fi, err := os.Stat(filepath.Join(dir, "acme"))
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("cache dir: %v %v", fi.Mode(), err)
	}
	for _, name := range []string{testDomain, "acme_account+key"} {
		if fi, err := os.Stat(filepath.Join(dir, "acme", name)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("cache file %s: %v %v", name, fi.Mode(), err)
		}
	}

	s.Close()
	p.Close() // the CA is gone: the second start must do with its cache
	port2 := studiotest.FreePort()
	s2 := acmeStudio(t, p, port2, dir, nil)
	if st := waitCert(t, s2); st.Kind != studio.CertACME || !st.NotAfter.Equal(served.NotAfter) {
		t.Fatalf("second start: %+v", st)
	}
	resp, err = trusting(roots, s2.Addr().String(), false).Get(s2.GuestURL())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !bytes.Equal(resp.TLS.PeerCertificates[0].Raw, served.Raw) {
		t.Error("the second start serves another certificate")
	}
}

// With ACMEHTTPListen the studio also answers HTTP-01 there, so it gets its
// certificate when the name's port 443 is not the studio's (here Pebble's
// TLS-ALPN-01 goes to a closed port); the guest link keeps the studio's
// port, and plain HTTP there is sent to it.
func TestACMEHTTP01(t *testing.T) {
	checkLeaksPebble(t)
	port, httpPort, closed := studiotest.FreePort(), studiotest.FreePort(), studiotest.FreePort()
	p := studiotest.StartPebble(t, closed, httpPort)
	p.AddName(testDomain, "127.0.0.1")
	s := acmeStudio(t, p, port, t.TempDir(), func(c *studio.Config) {
		c.ACMEHTTPListen = fmt.Sprintf("127.0.0.1:%d", httpPort)
	})
	link := fmt.Sprintf("https://%s:%d/join/", testDomain, port)
	if !strings.HasPrefix(s.GuestURL(), link) {
		t.Errorf("guest link %q, want %s…", s.GuestURL(), link)
	}
	if st := waitCert(t, s); st.Kind != studio.CertACME {
		t.Fatalf("certificate %+v", st)
	}
	roots, err := p.IssuingRoots()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := trusting(roots, s.Addr().String(), false).Get(s.GuestURL())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("guest page: %d", resp.StatusCode)
	}

	noRedirect := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = noRedirect.Get(fmt.Sprintf("http://127.0.0.1:%d/join/x", httpPort))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || loc != link+"x" {
		t.Errorf("plain HTTP: %d to %q, want 302 to %s", resp.StatusCode, loc, link+"x")
	}
}

// When the CA cannot or will not give a certificate, the studio says why in
// words and keeps serving the self-signed one.
func TestACMERefusedFallsBackToSelfSigned(t *testing.T) {
	checkLeaksPebble(t)
	port := studiotest.FreePort()
	p := studiotest.StartPebble(t, port, 0)
	p.AddName(testDomain, "127.0.0.1")
	p.AddName("blocked.greenroom.test", "127.0.0.1")
	p.AddName("elsewhere.greenroom.test", "127.0.0.2")
	if err := p.Block("blocked.greenroom.test"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, domain, ca, want string
	}{
		{"no such directory", testDomain, p.Directory + "/nope", "no ACME certificate authority at " + p.Directory + "/nope"},
		{"CA policy", "blocked.greenroom.test", p.Directory, "gave no certificate for blocked.greenroom.test: Order included an identifier for which issuance is forbidden by policy"},
		{"no DNS", "nowhere.greenroom.test", p.Directory, "nowhere.greenroom.test does not resolve"},
		// 127.0.0.2 is loopback too, but not the studio's address.
		{"DNS elsewhere", "elsewhere.greenroom.test", p.Directory, "did not reach the studio (elsewhere.greenroom.test resolves to 127.0.0.2, which is not this machine"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := acmeStudio(t, p, port, t.TempDir(), func(c *studio.Config) { c.Domain, c.ACMECA = tc.domain, tc.ca })
			st := waitCert(t, s)
			if st.Kind != studio.CertSelfSigned || st.Err == nil || !strings.Contains(st.Err.Error(), tc.want) {
				t.Fatalf("got %+v, want self-signed and an error with %q", st, tc.want)
			}
			t.Logf("the window says: %s", st)
			resp, err := trusting(nil, s.Addr().String(), true).Get(s.GuestURL())
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if cn := resp.TLS.PeerCertificates[0].Subject.CommonName; resp.StatusCode != 200 || cn != "Greenroom studio" {
				t.Errorf("guest page: %d, certificate %q", resp.StatusCode, cn)
			}
			s.Close() // frees the port for the next case
		})
	}
}

// A domain the studio cannot get a certificate for is refused at New,
// before anything is bound or written.
func TestDomainBadInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*studio.Config)
		want string
	}{
		{"address", func(c *studio.Config) { c.Domain = "192.0.2.7" }, "not an address"},
		{"one label", func(c *studio.Config) { c.Domain = "studio" }, "full name"},
		{"bad characters", func(c *studio.Config) { c.Domain = "stu dio.example.com" }, "domain"},
		{"plain HTTP", func(c *studio.Config) { c.Domain = testDomain; c.PlainHTTP = true }, "plain HTTP"},
		{"certificate files", func(c *studio.Config) { c.Domain = testDomain; c.CertFile, c.KeyFile = "c.pem", "k.pem" }, "certificate files"},
		{"http CA", func(c *studio.Config) { c.Domain = testDomain; c.ACMECA = "http://ca.example/dir" }, "https://"},
		{"HTTP-01 without a domain", func(c *studio.Config) { c.ACMEHTTPListen = "127.0.0.1:0" }, "no domain"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := studio.Config{Listen: "127.0.0.1:0", ICEUDPListen: "127.0.0.1:0", ConfigDir: dir}
			tc.mod(&cfg)
			s, err := studio.New(cfg)
			if err == nil {
				s.Close()
				t.Fatal("New accepted it")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want %q in it", err, tc.want)
			}
			if files, _ := os.ReadDir(dir); len(files) > 0 {
				t.Errorf("it left %v", files)
			}
		})
	}
}

// Without a domain, Certificate says what the studio serves: self-signed,
// the user's file, or nothing (plain HTTP); /api/state carries it.
func TestCertificateKinds(t *testing.T) {
	checkLeaks(t)
	dir := t.TempDir()
	s := newStudio(t, func(c *studio.Config) { c.PlainHTTP = false; c.ConfigDir = dir })
	if st := s.Certificate(); st.Kind != studio.CertSelfSigned || st.Err != nil || st.Domain != "" || st.String() != "self-signed" {
		t.Errorf("self-signed: %+v %q", st, st)
	}
	s.Close()
	files := func(c *studio.Config) {
		c.PlainHTTP = false
		c.CertFile, c.KeyFile = filepath.Join(dir, "selfsigned-cert.pem"), filepath.Join(dir, "selfsigned-key.pem")
	}
	if st := newStudio(t, files).Certificate(); st.Kind != studio.CertFile || time.Until(st.NotAfter) < 24*time.Hour || st.Domain != "localhost" {
		t.Errorf("file: %+v", st)
	}
	plain := newStudio(t, nil)
	if st := plain.Certificate(); st.Kind != studio.CertNone {
		t.Errorf("plain HTTP: %+v", st)
	}
	if code, out := api(t, plain, "GET", "/api/state", "", ""); code != 200 || fmt.Sprint(out["certificate"]) != "map[kind:none]" {
		t.Errorf("/api/state: %d %v", code, out["certificate"])
	}
}
