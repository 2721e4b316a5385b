package studio

import (
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"
)

// The guard's arithmetic, on a clock of its own: ten tries, one back every
// 6 s, the wait until the next said right, and a bounded memory.
func TestTokenGuard(t *testing.T) {
	var g tokenGuard
	key := netip.MustParsePrefix("192.0.2.1/32")
	now := time.Unix(1e9, 0)
	for i := range failedTokenBurst {
		if _, blocked := g.blocked(key, now); blocked {
			t.Fatalf("blocked after %d wrong tokens", i)
		}
		g.failed(key, now)
	}
	wait, blocked := g.blocked(key, now)
	if !blocked || wait != failedTokenEvery {
		t.Fatalf("after %d: blocked %v for %v, want %v", failedTokenBurst, blocked, wait, failedTokenEvery)
	}
	if wait, blocked := g.blocked(key, now.Add(failedTokenEvery-time.Second)); !blocked || wait != time.Second {
		t.Errorf("5 s later: blocked %v for %v, want 1 s", blocked, wait)
	}
	if _, blocked := g.blocked(key, now.Add(failedTokenEvery)); blocked {
		t.Error("still blocked once a try came back")
	}
	if _, blocked := g.blocked(netip.MustParsePrefix("192.0.2.2/32"), now); blocked {
		t.Error("another address blocked")
	}
	for i := range 3 * maxGuarded {
		g.failed(netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 32), now)
	}
	if n := len(g.byAddr); n > maxGuarded {
		t.Errorf("%d addresses remembered, want at most %d", n, maxGuarded)
	}
}

// Whose address a request counts against.
func TestClientKey(t *testing.T) {
	for _, tc := range []struct {
		publicURL, remote string
		xff               []string
		want              string
	}{
		{"", "192.0.2.7:5000", nil, "192.0.2.7/32"},
		{"", "127.0.0.1:5000", []string{"198.51.100.1"}, "127.0.0.1/32"},                  // no front: the header is anyone's
		{"https://s.example", "192.0.2.7:5000", []string{"198.51.100.1"}, "192.0.2.7/32"}, // not from the front
		{"https://s.example", "127.0.0.1:5000", []string{"198.51.100.1"}, "198.51.100.1/32"},
		{"https://s.example", "127.0.0.1:5000", []string{"203.0.113.9, 198.51.100.1"}, "198.51.100.1/32"},
		{"https://s.example", "127.0.0.1:5000", []string{"203.0.113.9", "198.51.100.1"}, "198.51.100.1/32"},
		{"https://s.example", "[::1]:5000", []string{"2001:db8:1:2:3:4:5:6"}, "2001:db8:1:2::/64"},
		{"https://s.example", "127.0.0.1:5000", []string{"not an address"}, "127.0.0.1/32"},
		{"https://s.example", "127.0.0.1:5000", nil, "127.0.0.1/32"},
		{"", "[2001:db8::1%eth0]:5000", nil, "2001:db8::/64"},
		{"", "[::ffff:192.0.2.7]:5000", nil, "192.0.2.7/32"},
	} {
		s := &Studio{cfg: Config{PublicURL: tc.publicURL}}
		r := httptest.NewRequest("GET", "/join/x", nil)
		r.RemoteAddr = tc.remote
		for _, v := range tc.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := s.clientKey(r); got.String() != tc.want {
			t.Errorf("%q from %s, X-Forwarded-For %q: %s, want %s", tc.publicURL, tc.remote, tc.xff, got, tc.want)
		}
	}
}
