package studio

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/crypto/acme"
)

const (
	selfSignedCert = "selfsigned-cert.pem"
	selfSignedKey  = "selfsigned-key.pem"
)

// tlsConfig is the web server's TLS: the user's certificate, the CA's for
// Config.Domain (with the self-signed one until then), or the self-signed
// one; nil for PlainHTTP. It sets s.cert or s.acme.
func (s *Studio) tlsConfig(host string) (*tls.Config, error) {
	cfg := &s.cfg
	if cfg.ACMEHTTPListen != "" && cfg.Domain == "" {
		return nil, fmt.Errorf("studio: ACME HTTP listen %q: that is for Domain's certificate, and there is no domain", cfg.ACMEHTTPListen)
	}
	if cfg.Domain != "" && (cfg.PlainHTTP || cfg.CertFile != "" || cfg.KeyFile != "") {
		return nil, fmt.Errorf("studio: domain %q: the studio gets its own certificate for it; drop the certificate files and plain HTTP", cfg.Domain)
	}
	if cfg.Domain != "" {
		dir, err := s.configDir()
		if err != nil {
			return nil, err
		}
		if s.acme, err = newACMECert(s.ctx, cfg, dir, s.log.With("component", "acme")); err != nil {
			return nil, err
		}
		// The public address the studio learned (the router's, from
		// the port mapping or STUN) is ours too: a name that resolves
		// to it points here.
		nat := cfg.NAT1To1IPs
		s.acme.ours = func() []net.IP {
			if ip := net.ParseIP(s.Reach().PublicIP); ip != nil {
				return append(ourAddresses(nat), ip)
			}
			return ourAddresses(nat)
		}
	}
	if cfg.PlainHTTP {
		if !isLoopback(host) {
			return nil, fmt.Errorf("studio: plain HTTP on %q: browsers only allow camera and mic over HTTPS except on localhost; listen on 127.0.0.1 or drop PlainHTTP", cfg.Listen)
		}
		s.cert = CertStatus{Kind: CertNone}
		return nil, nil
	}
	cert, err := s.certificate()
	if err != nil {
		return nil, err
	}
	kind := CertSelfSigned
	if cfg.CertFile != "" {
		kind = CertFile
	}
	s.cert = certStatusOf(kind, &cert)
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if s.acme == nil {
		return tlsCfg, nil
	}
	s.acme.fallback = &cert
	tlsCfg.GetCertificate = s.acme.getCertificate
	// The CA's TLS-ALPN-01 validation (RFC 8737) comes to this port too.
	tlsCfg.NextProtos = []string{"http/1.1", acme.ALPNProto}
	return tlsCfg, nil
}

// certificate returns the user's certificate, or the studio's self-signed
// one, generating it on first use. The same certificate is kept across runs
// so a guest who accepted the browser's warning once is not asked again.
func (s *Studio) certificate() (tls.Certificate, error) {
	if s.cfg.CertFile != "" || s.cfg.KeyFile != "" {
		c, err := tls.LoadX509KeyPair(s.cfg.CertFile, s.cfg.KeyFile)
		if err != nil {
			return c, fmt.Errorf("studio: certificate %s: %w", s.cfg.CertFile, err)
		}
		return c, nil
	}
	dir, err := s.configDir()
	if err != nil {
		return tls.Certificate{}, err
	}
	certPath, keyPath := filepath.Join(dir, selfSignedCert), filepath.Join(dir, selfSignedKey)
	c, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err == nil && c.Leaf != nil && time.Now().Before(c.Leaf.NotAfter.Add(-24*time.Hour)) {
		return c, nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return c, fmt.Errorf("studio: self-signed certificate in %s: %w (delete both files to get a new one)", dir, err)
	}
	if err := generateSelfSigned(dir, certPath, keyPath); err != nil {
		return tls.Certificate{}, fmt.Errorf("studio: self-signed certificate: %w", err)
	}
	s.log.Info("generated a self-signed certificate; guests will see a browser warning once", "file", certPath)
	c, err = tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return c, fmt.Errorf("studio: self-signed certificate: %w", err)
	}
	return c, nil
}

// generateSelfSigned writes an ECDSA P-256 certificate for localhost, this
// machine's name and its current addresses. The key file is 0600.
func generateSelfSigned(dir, certPath, keyPath string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "Greenroom studio", Organization: []string{"Greenroom"}},
		NotBefore:    time.Now().Add(-time.Hour),
		// Browsers cap publicly trusted certificates at 398 days but not
		// self-signed ones; a short life would only bring the warning back.
		NotAfter:    time.Now().AddDate(5, 0, 0),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		tmpl.DNSNames = append(tmpl.DNSNames, h)
	}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
				tmpl.IPAddresses = append(tmpl.IPAddresses, n.IP)
			}
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := writePEM(keyPath, "PRIVATE KEY", keyDER, 0o600); err != nil {
		return err
	}
	return writePEM(certPath, "CERTIFICATE", der, 0o644)
}

// writePEM replaces path atomically, with perm from the start (never a
// moment with a world-readable key).
func writePEM(path, typ string, der []byte, perm os.FileMode) error {
	return writeAtomic(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), perm)
}

// keepJSON writes v as JSON to path, atomically (writeAtomic), readable
// by the user only (0600, in a folder made 0700 if need be): what the
// studio keeps across restarts (takes, the guest link, who was on stage)
// holds secrets or hashes of them.
func keepJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err == nil {
		err = os.MkdirAll(filepath.Dir(path), 0o700)
	}
	if err == nil {
		err = writeAtomic(path, b, 0o600)
	}
	return err
}

// writeAtomic replaces path with data: written to a temporary file with
// perm from the start, synced, then renamed over it, so a reader or a
// crash sees the old file or the new one whole, never half of one.
func writeAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // a no-op once renamed
	err = f.Chmod(perm)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
