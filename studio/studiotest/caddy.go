package studiotest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// CaddyPath is Debian's Caddy, the TLS front (reverse proxy) creators put
// before the studio.
const CaddyPath = "/usr/bin/caddy"

// Caddy is a running Caddy serving one HTTPS site with a certificate from
// its own internal CA ("tls internal"), proxied to an upstream.
type Caddy struct {
	// Root is the CA that signed the site's certificate: a client that
	// trusts only it trusts the site.
	Root *x509.CertPool
	// RootPEM is the same CA, for a browser's trust store (NSSHome).
	RootPEM []byte
	cmd     *exec.Cmd
	done    chan error
}

// CaddyConfig is what StartCaddy serves.
type CaddyConfig struct {
	Dir      string // for its config, storage (the CA) and log
	Name     string // the site's name, e.g. studio.test
	Listen   string // HTTPS address, e.g. 127.0.0.1:8443
	Upstream string // the studio, e.g. 127.0.0.1:9000 (plain HTTP)
	// UpstreamTLS proxies to the upstream over HTTPS without checking its
	// certificate (the studio's self-signed one).
	UpstreamTLS bool
	// Wrap, if set, runs Caddy through it, e.g. ["ip", "netns", "exec",
	// "ns"], and Dial reaches Listen there (netlab's Lab.Dial).
	Wrap []string
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// StartCaddy starts Caddy and waits until the site answers. Close stops it.
// It installs nothing in the system's trust store, serves no admin
// endpoint and binds no port but Listen's (and a plain HTTP port on the same
// host chosen by the OS, which Caddy insists on having).
func StartCaddy(ctx context.Context, cfg CaddyConfig) (*Caddy, error) {
	host, port, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("caddy: listen %q: %w", cfg.Listen, err)
	}
	storage := filepath.Join(cfg.Dir, "storage")
	conf := fmt.Sprintf(`{
	admin off
	skip_install_trust
	auto_https disable_redirects
	https_port %s
	http_port %s
	storage file_system %s
}
%s:%s {
	bind %s
	tls internal
	reverse_proxy %s
}
`, port, freePort(host), storage, cfg.Name, port, host, upstream(cfg))
	confPath := filepath.Join(cfg.Dir, "Caddyfile")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	args := append(append([]string{}, cfg.Wrap...), CaddyPath, "run", "--config", confPath, "--adapter", "caddyfile")
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), "HOME="+cfg.Dir, "XDG_DATA_HOME="+cfg.Dir, "XDG_CONFIG_HOME="+cfg.Dir)
	logf, err := os.Create(filepath.Join(cfg.Dir, "caddy.log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("caddy: %w", err)
	}
	c := &Caddy{cmd: cmd, done: make(chan error, 1)}
	go func() { c.done <- cmd.Wait() }()
	rootFile := filepath.Join(storage, "pki", "authorities", "local", "root.crt")
	for {
		if pem, err := os.ReadFile(rootFile); err == nil {
			pool := x509.NewCertPool()
			if pool.AppendCertsFromPEM(pem) {
				c.Root, c.RootPEM = pool, pem
			}
		}
		if c.Root != nil && siteUp(ctx, cfg, c.Root) {
			return c, nil
		}
		select {
		case err := <-c.done:
			log, _ := os.ReadFile(filepath.Join(cfg.Dir, "caddy.log"))
			return nil, fmt.Errorf("caddy exited: %v\n%s", err, tail(string(log), 2000))
		case <-ctx.Done():
			c.Close()
			log, _ := os.ReadFile(filepath.Join(cfg.Dir, "caddy.log"))
			return nil, fmt.Errorf("caddy did not serve %s: %w\n%s", cfg.Listen, ctx.Err(), tail(string(log), 2000))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// upstream is reverse_proxy's argument.
func upstream(cfg CaddyConfig) string {
	if cfg.UpstreamTLS {
		return "https://" + cfg.Upstream + " {\n\t\ttransport http {\n\t\t\ttls_insecure_skip_verify\n\t\t}\n\t}"
	}
	return cfg.Upstream
}

// siteUp says whether the site answers a TLS handshake for its name with
// a certificate root signed. An open port is not enough: Caddy listens
// before its internal CA has issued the site's certificate, and a
// handshake then fails with "tls: internal error" (TestGuestThroughCaddy
// failed so once on a loaded box).
func siteUp(ctx context.Context, cfg CaddyConfig, root *x509.CertPool) bool {
	dial := (&net.Dialer{}).DialContext
	if cfg.Dial != nil {
		dial = cfg.Dial
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	conn, err := dial(ctx, "tcp", cfg.Listen)
	if err != nil {
		return false
	}
	defer conn.Close()
	tc := tls.Client(conn, &tls.Config{ServerName: cfg.Name, RootCAs: root})
	return tc.HandshakeContext(ctx) == nil
}

// Close stops Caddy and waits for it.
func (c *Caddy) Close() {
	if c.cmd.Process == nil {
		return
	}
	_ = c.cmd.Process.Signal(os.Interrupt)
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
	c.cmd.Process = nil
}

// freePort is a TCP port free on host right now; 80 where host is not
// this namespace's (a lab's).
func freePort(host string) string {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return "80"
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return strings.TrimSpace(s)
}
