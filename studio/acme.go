package studio

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
	"golang.org/x/net/idna"
)

// LetsEncrypt is the default Config.ACMECA: Let's Encrypt's production
// directory.
const LetsEncrypt = autocert.DefaultACMEDirectory

// CertKind says where the studio's certificate comes from.
type CertKind string

const (
	CertACME       CertKind = "acme"        // from the ACME CA for Config.Domain: browsers trust it
	CertSelfSigned CertKind = "self-signed" // made by the studio: browsers warn once
	CertFile       CertKind = "file"        // the user's Config.CertFile
	CertNone       CertKind = "none"        // Config.PlainHTTP
)

// CertStatus is the certificate guests are served, for the window and the
// control API: "trusted until NotAfter" for CertACME, "self-signed" (with
// Err saying why, when a Domain was asked for) otherwise.
type CertStatus struct {
	Kind CertKind
	// Domain is Config.Domain (the name the certificate is for), or the
	// first name of a CertFile.
	Domain   string
	NotAfter time.Time
	Issuer   string // "Let's Encrypt E7", "Greenroom studio"
	// Pending is true while the studio is getting its first certificate
	// from the CA; guests are served the self-signed one meanwhile.
	Pending bool
	// Err is why there is no certificate from the CA (Kind is then
	// CertSelfSigned), in words a creator can act on. The studio tries
	// again by itself (after two minutes, then less and less often). With
	// Kind CertACME it says the certificate is near its end or past it
	// and the CA has not renewed it.
	Err error
}

// MarshalJSON gives Err as a string ("error"), and leaves out what is
// unset.
func (c CertStatus) MarshalJSON() ([]byte, error) {
	v := struct {
		Kind     CertKind   `json:"kind"`
		Domain   string     `json:"domain,omitempty"`
		NotAfter *time.Time `json:"notAfter,omitempty"`
		Issuer   string     `json:"issuer,omitempty"`
		Pending  bool       `json:"pending,omitempty"`
		Err      string     `json:"error,omitempty"`
	}{Kind: c.Kind, Domain: c.Domain, Issuer: c.Issuer, Pending: c.Pending}
	if !c.NotAfter.IsZero() {
		v.NotAfter = &c.NotAfter
	}
	if c.Err != nil {
		v.Err = c.Err.Error()
	}
	return json.Marshal(v)
}

// String is what the window shows: "trusted until 2 Mar 2027, from Let's
// Encrypt E7", "self-signed".
func (c CertStatus) String() string {
	switch {
	case c.Kind == CertACME && c.Err != nil:
		return c.Err.Error()
	case c.Kind == CertACME:
		return fmt.Sprintf("trusted until %s, from %s", c.NotAfter.Format("2 Jan 2006"), c.Issuer)
	case c.Kind == CertFile:
		return fmt.Sprintf("your certificate, until %s, from %s", c.NotAfter.Format("2 Jan 2006"), c.Issuer)
	case c.Kind == CertNone:
		return "plain HTTP"
	case c.Pending:
		return "self-signed while getting a certificate for " + c.Domain
	case c.Err != nil:
		return "self-signed: " + c.Err.Error()
	}
	return string(c.Kind)
}

func certStatusOf(kind CertKind, c *tls.Certificate) CertStatus {
	st := CertStatus{Kind: kind}
	if c == nil || c.Leaf == nil {
		return st
	}
	st.NotAfter = c.Leaf.NotAfter
	st.Issuer = issuerName(c.Leaf)
	if kind == CertFile && len(c.Leaf.DNSNames) > 0 {
		st.Domain = c.Leaf.DNSNames[0]
	}
	return st
}

func issuerName(leaf *x509.Certificate) string {
	name := leaf.Issuer.CommonName
	if org := leaf.Issuer.Organization; len(org) > 0 && !strings.Contains(name, org[0]) {
		name = strings.TrimSpace(org[0] + " " + name)
	}
	return name
}

// CheckDomain returns the name in the form the CA and TLS use (lower case,
// punycode, no trailing dot) or why it can't have a certificate
// (Config.Domain; the window's settings check it as the user types).
func CheckDomain(name string) (string, error) {
	d, err := idna.Lookup.ToASCII(strings.TrimSuffix(strings.TrimSpace(name), "."))
	switch {
	case err != nil:
		return "", fmt.Errorf("studio: domain %q: %w", name, err)
	case net.ParseIP(d) != nil:
		return "", fmt.Errorf("studio: domain %q: want a name like studio.example.com, not an address", name)
	case !strings.Contains(d, "."):
		return "", fmt.Errorf("studio: domain %q: want a full name like studio.example.com", name)
	}
	return d, nil
}

// acmeCert gets and keeps the certificate for Config.Domain from the ACME
// CA, through autocert: it answers the CA's TLS-ALPN-01 challenge on the
// studio's own TLS port (so that port must be 443 as the CA sees it), keeps
// the account key and the certificate in ConfigDir/acme (autocert.DirCache:
// a 0700 directory, 0600 files), and renews the certificate by itself
// before it expires (autocert's default: a third of its lifetime, at most
// 30 days, before; a failed renewal is retried every half hour or so).
//
// Until it has a certificate, and whenever the CA refuses, guests get the
// self-signed one, so a guest on the LAN still gets in (past the browser's
// warning). One goroutine (run) gets the first certificate; mu guards
// status.
type acmeCert struct {
	domain    string
	ca        string
	m         *autocert.Manager
	transport *http.Transport
	resolver  *net.Resolver
	ours      func() []net.IP // this machine's addresses, the public ones it knows included
	fallback  *tls.Certificate
	log       *slog.Logger
	port80    string // " and to port 80" with HTTP-01, for errors

	mu     sync.Mutex
	status CertStatus
}

// newACMECert checks the domain and the CA's URL; set fallback before
// serving.
func newACMECert(ctx context.Context, cfg *Config, dir string, log *slog.Logger) (*acmeCert, error) {
	domain, err := CheckDomain(cfg.Domain)
	if err != nil {
		return nil, err
	}
	ca := cfg.ACMECA
	if ca == "" {
		ca = LetsEncrypt
	}
	if u, err := url.Parse(ca); err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("studio: ACME CA %q: want the https:// URL of its directory, like %s", ca, LetsEncrypt)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: cfg.ACMERootCAs, MinVersion: tls.VersionTLS12}
	a := &acmeCert{
		domain:    domain,
		ca:        ca,
		transport: tr,
		resolver:  cfg.Resolver,
		log:       log.With("domain", domain),
		status:    CertStatus{Kind: CertSelfSigned, Domain: domain, Pending: true},
	}
	if cfg.ACMEHTTPListen != "" {
		a.port80 = " and to port 80"
	}
	if a.resolver == nil {
		a.resolver = net.DefaultResolver
	}
	nat := cfg.NAT1To1IPs
	a.ours = func() []net.IP { return ourAddresses(nat) }
	a.m = &autocert.Manager{
		// Asking for a certificate (Config.Domain) is accepting the CA's
		// terms; the README says so.
		Prompt:     autocert.AcceptTOS,
		Cache:      autocert.DirCache(filepath.Join(dir, "acme")),
		HostPolicy: autocert.HostWhitelist(domain),
		Email:      cfg.ACMEEmail,
		Client: &acme.Client{
			DirectoryURL: ca,
			UserAgent:    "greenroom",
			HTTPClient:   &http.Client{Transport: closingTransport{ctx: ctx, base: tr}},
		},
	}
	return a, nil
}

// getCertificate serves the CA's certificate to guests who ask for the
// domain once there is one, the challenge certificate to the CA while it
// validates, and the self-signed one to everyone else (a guest on the LAN
// typing an address). A guest's handshake never waits for the CA: only run
// asks autocert for a certificate it does not have.
func (a *acmeCert) getCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if strings.TrimSuffix(strings.ToLower(hello.ServerName), ".") == a.domain {
		if len(hello.SupportedProtos) == 1 && hello.SupportedProtos[0] == acme.ALPNProto {
			return a.m.GetCertificate(hello) // the CA checking we hold the name (RFC 8737)
		}
		a.mu.Lock()
		ready := a.status.Kind == CertACME
		a.mu.Unlock()
		if ready {
			if c, err := a.m.GetCertificate(ecdsaHello(a.domain)); err == nil {
				return c, nil
			}
		}
	}
	return a.fallback, nil
}

// ecdsaHello asks autocert for the ECDSA certificate whatever the client
// says (autocert would otherwise get a second, RSA one for a client that
// does not list ECDSA, from inside that client's handshake): every browser
// that can do WebRTC speaks ECDSA.
func ecdsaHello(name string) *tls.ClientHelloInfo {
	return &tls.ClientHelloInfo{ServerName: name, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}}
}

// run gets the first certificate, trying again after two minutes, then
// twice as long each time up to an hour, until it has one or ctx ends (the
// first wait is longer than the minute autocert remembers a failure for).
// Renewals are autocert's.
func (a *acmeCert) run(ctx context.Context) {
	wait := 2 * time.Minute
	for {
		c, err := a.fetch(ctx)
		if ctx.Err() != nil {
			return
		}
		a.mu.Lock()
		if err != nil {
			a.status = CertStatus{Kind: CertSelfSigned, Domain: a.domain, Err: err}
		} else {
			a.status = certStatusOf(CertACME, c)
			a.status.Domain = a.domain
		}
		a.mu.Unlock()
		if err == nil {
			a.log.Info("certificate from the CA", "not_after", c.Leaf.NotAfter, "issuer", issuerName(c.Leaf))
			return
		}
		a.log.Warn("no certificate from the CA; serving the self-signed one", "err", err, "retry_in", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		wait = min(2*wait, time.Hour)
	}
}

// fetch returns the cached certificate, or gets one from the CA. Before
// asking the CA for a new one it checks that the domain resolves: a name
// that resolves nowhere can only fail, and each failure counts against the
// CA's limits. A name that resolves to addresses this machine does not know
// as its own is tried anyway (a router's port forward, an address we were
// not told of), and named in the error if the CA fails to reach us.
func (a *acmeCert) fetch(ctx context.Context) (*tls.Certificate, error) {
	var hint string
	if _, err := a.m.Cache.Get(ctx, a.domain); err != nil {
		if hint, err = a.checkDNS(ctx); err != nil {
			return nil, err
		}
		// Discover first, so a wrong CA URL is named as such.
		if _, err := a.m.Client.Discover(ctx); err != nil {
			if ctx.Err() != nil {
				return nil, context.Cause(ctx)
			}
			return nil, fmt.Errorf("no ACME certificate authority at %s (%s): check the CA's URL", a.ca, caError(err))
		}
	}
	c, err := a.m.GetCertificate(ecdsaHello(a.domain))
	if err != nil {
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		why := caError(err)
		if strings.Contains(why, "no viable challenge type") {
			// autocert tried every challenge and keeps the CA's reasons
			// to itself; what is left to say is what they have in common.
			why = "it could not check that this studio holds the name: the CA's connection to the name's port 443" + a.port80 + " did not reach the studio"
		}
		return nil, fmt.Errorf("the certificate authority %s gave no certificate for %s: %s%s", caName(a.ca), a.domain, why, hint)
	}
	return c, nil
}

// caError is the CA's own words (RFC 8555 problem details) when it gave
// some.
func caError(err error) string {
	var ae *acme.Error
	if errors.As(err, &ae) && ae.Detail != "" {
		code := strings.TrimSpace(fmt.Sprint(ae.StatusCode, " ", strings.TrimPrefix(ae.ProblemType, "urn:ietf:params:acme:error:")))
		return fmt.Sprintf("%s (%s)", strings.TrimSpace(ae.Detail), code)
	}
	return err.Error()
}

// checkDNS fails when the domain resolves nowhere, and returns a hint when
// it resolves elsewhere than here.
func (a *acmeCert) checkDNS(ctx context.Context) (hint string, err error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	addrs, err := a.resolver.LookupHost(ctx, a.domain)
	if err != nil || len(addrs) == 0 {
		return "", fmt.Errorf("%s does not resolve to an address (%v): give it an A record with this machine's public address at your DNS provider, and forward port 443 to this studio; the studio tries again by itself", a.domain, err)
	}
	ours := a.ours()
	for _, s := range addrs {
		if ip := net.ParseIP(s); ip != nil && slices.ContainsFunc(ours, ip.Equal) {
			return "", nil
		}
	}
	var mine []string
	for _, ip := range ours {
		if !ip.IsLoopback() && !ip.IsLinkLocalUnicast() {
			mine = append(mine, ip.String())
		}
	}
	a.log.Info("the domain resolves to addresses this machine does not know as its own; trying anyway", "resolves_to", addrs, "ours", mine)
	return fmt.Sprintf(" (%s resolves to %s, which is not this machine (%s): point its A record at this machine's public address, forward port 443 to the studio, or give that address as the NAT IP)",
		a.domain, strings.Join(addrs, ", "), strings.Join(mine, ", ")), nil
}

func (a *acmeCert) certStatus() CertStatus {
	a.mu.Lock()
	st := a.status
	a.mu.Unlock()
	if st.Kind != CertACME {
		return st
	}
	// After a renewal autocert serves the new certificate.
	c, err := a.m.GetCertificate(ecdsaHello(a.domain))
	if err != nil || c.Leaf == nil {
		return st
	}
	st.NotAfter, st.Issuer = c.Leaf.NotAfter, issuerName(c.Leaf)
	// autocert renews a third of the lifetime before the end and keeps
	// its failures to itself; half of that gone means the CA has been
	// refusing for days.
	if left := time.Until(c.Leaf.NotAfter); left < c.Leaf.NotAfter.Sub(c.Leaf.NotBefore)/6 {
		st.Err = fmt.Errorf("the certificate for %s ends on %s and the CA has not renewed it yet: check that the name still points here and port 443 still reaches the studio", a.domain, c.Leaf.NotAfter.Format("2 Jan 2006"))
		if left <= 0 {
			st.Err = fmt.Errorf("the certificate for %s ended on %s and the CA did not renew it: check that the name still points here and port 443 still reaches the studio", a.domain, c.Leaf.NotAfter.Format("2 Jan 2006"))
		}
	}
	return st
}

// serveHTTP01 answers the CA's HTTP-01 challenge on Config.ACMEHTTPListen
// and sends everything else there to the guest link's host.
func (s *Studio) serveHTTP01() error {
	ln, err := net.Listen("tcp", s.cfg.ACMEHTTPListen)
	if err != nil {
		return fmt.Errorf("studio: ACME HTTP listen: %w", err)
	}
	s.acmeHTTPPort = ln.Addr().(*net.TCPAddr).Port
	toHTTPS := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "Use HTTPS", http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		base := s.linkBase()
		s.mu.Unlock()
		http.Redirect(w, r, base+r.URL.RequestURI(), http.StatusFound)
	})
	challenge := s.acme.m.HTTPHandler(toHTTPS)
	s.acmeHTTP = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// autocert checks the Host header against the domain as is; a
			// client may name the port (":80", or another in a test).
			if h, _, err := net.SplitHostPort(r.Host); err == nil {
				r.Host = h
			}
			challenge.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	srv := s.acmeHTTP
	s.life.spawn(func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("ACME HTTP server stopped", "err", err)
		}
	})
	return nil
}

// close drops the connections to the CA kept for reuse. Call it once run
// has returned.
func (a *acmeCert) close() { a.transport.CloseIdleConnections() }

// caName is how errors name the CA: its host.
func caName(dir string) string {
	if dir == LetsEncrypt {
		return "Let's Encrypt"
	}
	if u, err := url.Parse(dir); err == nil {
		return u.Host
	}
	return dir
}

// ourAddresses are this machine's interface addresses and the public ones
// it was told of.
func ourAddresses(public []string) []net.IP {
	var ips []net.IP
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				ips = append(ips, n.IP)
			}
		}
	}
	for _, s := range public {
		if ip := net.ParseIP(s); ip != nil {
			ips = append(ips, ip)
		}
	}
	return ips
}

// closingTransport ends every request to the CA when the studio closes, so
// Close never waits on a slow CA, and refuses new ones after: autocert's
// renewal timers cannot be stopped from outside, and a closed studio must
// not renew.
type closingTransport struct {
	ctx  context.Context
	base http.RoundTripper
}

func (t closingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := context.Cause(t.ctx); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancelCause(r.Context())
	stop := context.AfterFunc(t.ctx, func() { cancel(context.Cause(t.ctx)) })
	context.AfterFunc(ctx, func() { stop() }) // autocert's own context ends when it is done
	return t.base.RoundTrip(r.WithContext(ctx))
}
