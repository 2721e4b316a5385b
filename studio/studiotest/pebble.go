package studiotest

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/letsencrypt/challtestsrv"
	"github.com/letsencrypt/pebble/v2/ca"
	"github.com/letsencrypt/pebble/v2/db"
	"github.com/letsencrypt/pebble/v2/va"
	"github.com/letsencrypt/pebble/v2/wfe"
)

// Pebble is Let's Encrypt's test CA, in this process, put together as its
// cmd/pebble does, with challtestsrv (what pebble-challtestsrv runs) as the
// DNS server its validation authority resolves names with. Validation is
// real: Pebble connects to the name's address, on tlsPort for TLS-ALPN-01.
//
// Pebble's VA keeps one goroutine for good (VAImpl.processTasks: it has no
// Close); PebbleGoroutine names it for leak checks.
type Pebble struct {
	// Directory is the ACME directory URL.
	Directory string
	// RootCAs trusts the directory's HTTPS (a certificate of httptest's,
	// not Pebble's issuing root: see IssuingRoots).
	RootCAs *x509.CertPool
	// DirectoryCert is the directory's certificate (PEM), for a client
	// that trusts it by file (SSL_CERT_FILE).
	DirectoryCert []byte
	// Resolver resolves names as Pebble's VA does, through the test DNS.
	Resolver *net.Resolver

	db         *db.MemoryStore
	dns        *challtestsrv.ChallSrv
	acme, mgmt *httptest.Server
	closed     atomic.Bool // Pebble's log goes nowhere after Close (t.Log would panic after the test)
}

// PebbleGoroutine is the function of the goroutine Pebble leaves behind.
const PebbleGoroutine = "github.com/letsencrypt/pebble/v2/va.VAImpl.processTasks"

// StartPebble starts Pebble validating TLS-ALPN-01 challenges on tlsPort
// and HTTP-01 ones on httpPort; the test's cleanup stops it (Close also
// does). Pebble's random waits and its rejected nonces are off, to keep
// the test short and deterministic.
func StartPebble(t testing.TB, tlsPort, httpPort int) *Pebble {
	t.Helper()
	return StartPebbleOn(t, tlsPort, httpPort, nil)
}

// StartPebbleOn is StartPebble with the directory served on the listener
// listen makes (one in a NAT lab's namespace: netlab.Lab.Listen) instead
// of one on 127.0.0.1. Its certificate is httptest's, for 127.0.0.1 and
// example.com: a client elsewhere names it example.com (DirectoryCert).
func StartPebbleOn(t testing.TB, tlsPort, httpPort int, listen func() (net.Listener, error)) *Pebble {
	t.Helper()
	t.Setenv("PEBBLE_VA_NOSLEEP", "1")
	t.Setenv("PEBBLE_WFE_NONCEREJECT", "0")
	p := &Pebble{}
	logger := log.New(testLog{t, &p.closed}, "pebble ", 0)
	t.Cleanup(p.Close)
	dnsAddr, err := p.startDNS(logger)
	if err != nil {
		t.Fatal(err)
	}
	p.Resolver = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, dnsAddr)
	}}

	p.db = db.NewMemoryStore()
	ca := ca.New(logger, p.db, "", "ecdsa", 0, 1, map[string]ca.Profile{"default": {Description: "The default profile"}})
	va := va.New(logger, httpPort, tlsPort, false, dnsAddr, p.db)
	w := wfe.New(logger, p.db, va, ca, []string{"pebble.letsencrypt.org"}, false, false, 0, 0)
	p.acme = httptest.NewUnstartedServer(w.Handler())
	if listen != nil {
		ln, err := listen()
		if err != nil {
			t.Fatal(err)
		}
		p.acme.Listener.Close()
		p.acme.Listener = ln
	}
	p.acme.StartTLS()
	p.mgmt = httptest.NewTLSServer(w.ManagementHandler())
	p.Directory = p.acme.URL + wfe.DirectoryPath
	p.DirectoryCert = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.acme.Certificate().Raw})
	p.RootCAs = x509.NewCertPool()
	p.RootCAs.AddCert(p.acme.Certificate())
	return p
}

// startDNS runs challtestsrv's DNS (UDP and TCP: Pebble asks over TCP) on a
// free port, answering nothing but the names given to AddName.
func (p *Pebble) startDNS(logger *log.Logger) (string, error) {
	var err error
	for range 5 { // challtestsrv wants an address, not a listener: a port may be taken meanwhile
		addr := "127.0.0.1:" + fmt.Sprint(FreePort())
		if p.dns, err = challtestsrv.New(challtestsrv.Config{DNSAddrs: []string{addr}, Log: logger}); err != nil {
			return "", err
		}
		p.dns.SetDefaultDNSIPv4("")
		p.dns.SetDefaultDNSIPv6("")
		p.dns.AddDNSARecord("ready.pebble.test", []string{"127.0.0.1"})
		p.dns.Run()
		if err = dnsReady(addr); err == nil {
			return addr, nil
		}
		p.dns.Shutdown()
		p.dns = nil
	}
	return "", fmt.Errorf("pebble: test DNS: %w", err)
}

// dnsReady waits until the DNS answers over UDP and TCP, so Shutdown finds
// both servers started.
func dnsReady(addr string) error {
	var err error
	for _, network := range []string{"udp", "tcp"} {
		r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}}
		for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			_, err = r.LookupHost(ctx, "ready.pebble.test")
			cancel()
			if err == nil {
				break
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// AddName makes name resolve to ips, for Pebble and for Resolver.
func (p *Pebble) AddName(name string, ips ...string) { p.dns.AddDNSARecord(name, ips) }

// Block makes Pebble refuse orders for name, as a CA refuses a name its
// policy forbids.
func (p *Pebble) Block(name string) error { return p.db.AddBlockedDomain(name) }

// IssuingRoots is a pool of Pebble's issuing root only (from its management
// interface, /roots/0): what a browser that trusted Pebble would trust.
func (p *Pebble) IssuingRoots() (*x509.CertPool, error) {
	b, err := p.IssuingRootPEM()
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("pebble: root: no PEM in %.60q", b)
	}
	root, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(root)
	return pool, nil
}

// IssuingRootPEM is Pebble's issuing root as PEM, for a browser's trust
// store (NSSHome).
func (p *Pebble) IssuingRootPEM() ([]byte, error) {
	resp, err := p.mgmt.Client().Get(p.mgmt.URL + wfe.RootCertPath + "0")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("pebble: root: %d %v", resp.StatusCode, err)
	}
	return b, nil
}

// Close stops the CA and its DNS; a studio then can no longer reach it.
// Safe to call twice.
func (p *Pebble) Close() {
	p.closed.Store(true)
	for _, s := range []*httptest.Server{p.acme, p.mgmt} {
		if s != nil {
			s.Close()
		}
	}
	p.acme, p.mgmt = nil, nil
	if p.dns != nil {
		p.dns.Shutdown()
		p.dns = nil
	}
}

// FreePort is a TCP port on 127.0.0.1 that was free a moment ago, for
// servers that must be told their port before they start (Pebble's VA
// learns the studio's from the test before either runs).
func FreePort() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

type testLog struct {
	t      testing.TB
	closed *atomic.Bool
}

func (w testLog) Write(b []byte) (int, error) {
	if !w.closed.Load() {
		w.t.Log(strings.TrimSpace(string(b)))
	}
	return len(b), nil
}
