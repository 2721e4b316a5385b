package srtout

import (
	"net"
	"strings"
	"testing"
)

// FuzzParseURL: no srt:// URL a creator pastes panics ParseURL (one did:
// a bare "?streamid" without "="); what it accepts is dialable, and its
// redacted form shows no streamid or passphrase value.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{
		"srt://ingest.example.com:9000?streamid=live/abc&passphrase=0123456789&latency=2000000",
		"srt://[::1]:9000?streamid",
		"srt://h:1?passphrase=a%zz&streamid=%2F",
		"srt://h:9000/?mode=caller",
		"SRT://h:9000?STREAMID=secretsecret",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		tg, err := ParseURL(raw)
		if err != nil {
			return
		}
		if host, port, err := net.SplitHostPort(tg.Host); err != nil || host == "" || port == "" {
			t.Fatalf("Host %q is not host:port: %v", tg.Host, err)
		}
		red := tg.Redacted()
		for _, s := range tg.secrets {
			if len(s) >= 8 && strings.Contains(red, s) && !strings.Contains(tg.Host, s) {
				t.Fatalf("Redacted() %q shows the secret %q", red, s)
			}
		}
	})
}
