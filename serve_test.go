package main

import (
	"strings"
	"testing"
	"time"
)

func TestServeBadICEFlags(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "--ice", "turn:ann:pa55@"},
		{"serve", "--nat-ip", "my-router"},
	} {
		r := greenroom(t, 10*time.Second, args...)
		if r.code != 2 || len(lines(r.stderr)) != 1 || strings.Contains(r.stderr, "pa55") {
			t.Errorf("greenroom %v: exit %d, stderr %q; want 2 and one line without the password", args, r.code, r.stderr)
		}
	}
}

// --domain with a certificate of one's own, or without a domain the CA
// flags, is refused before anything starts; a domain that cannot have a
// certificate fails with one line.
func TestServeDomainBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"serve", "--domain", "studio.example.com", "--plain-http", "--listen", "127.0.0.1:0"}, 2, "drop --cert"},
		{[]string{"serve", "--domain", "studio.example.com", "--cert", "c.pem", "--key", "k.pem"}, 2, "drop --cert"},
		{[]string{"serve", "--acme-ca", "https://ca.example/dir"}, 2, "go with --domain"},
		{[]string{"serve", "--acme-http", ":80"}, 2, "go with --domain"},
		{[]string{"serve", "--domain", "192.0.2.7", "--listen", "127.0.0.1:0"}, 1, "not an address"},
	} {
		r := greenroom(t, 20*time.Second, tc.args...)
		if r.code != tc.code || len(lines(r.stderr)) != 1 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("greenroom %v: exit %d, stderr %q; want %d and one line with %q", tc.args, r.code, r.stderr, tc.code, tc.want)
		}
	}
}

// The guest limits and the upload cap out of range, or not numbers, are
// refused in one line that says the range.
func TestServeBadGuestLimits(t *testing.T) {
	for _, tc := range []struct{ flag, v, want string }{
		{"--max-on-stage", "17", "the guests on stage must be 1 to 16, not 17"},
		{"--max-in-green-room", "0", "the guests in the green room must be 1 to 50, not 0"},
		{"--max-in-green-room", "many", `--max-in-green-room "many": want a whole number`},
		{"--guest-kbps", "100", "the most a guest may send must be 800 to 20000 kb/s, not 100"},
	} {
		r := greenroom(t, 10*time.Second, "serve", tc.flag, tc.v)
		if r.code != 2 || len(lines(r.stderr)) != 1 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%s %s: exit %d, stderr %q; want 2 and one line with %q", tc.flag, tc.v, r.code, r.stderr, tc.want)
		}
	}
}

// --guest-grace out of range, or not a number, is refused in one line
// that says the range.
func TestServeBadGuestGrace(t *testing.T) {
	for _, tc := range []struct{ v, want string }{
		{"1", "must be 2 to 600 seconds, not 1"},
		{"601", "must be 2 to 600 seconds, not 601"},
		{"ten", "want a number of seconds"},
	} {
		r := greenroom(t, 10*time.Second, "serve", "--guest-grace", tc.v)
		if r.code != 2 || len(lines(r.stderr)) != 1 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("--guest-grace %s: exit %d, stderr %q; want 2 and one line with %q", tc.v, r.code, r.stderr, tc.want)
		}
	}
}
