package main

import (
	"strings"
	"testing"
	"time"
)

// --ice takes WebRTC's STUN and TURN URLs, with a TURN server's user and
// password before the host; what it can't use is one clear line that
// never shows the password.
func TestParseICEServer(t *testing.T) {
	for _, tc := range []struct {
		in, url, user, pass string
	}{
		{"stun:stun.example.com:3478", "stun:stun.example.com:3478", "", ""},
		{"turn:ann:pa55@turn.example.com:3478?transport=udp", "turn:turn.example.com:3478?transport=udp", "ann", "pa55"},
		{"TURNS:ann:pa55@turn.example.com:5349?transport=tcp", "turns:turn.example.com:5349?transport=tcp", "ann", "pa55"},
	} {
		srv, err := parseICEServer(tc.in)
		var pass any
		if tc.pass != "" {
			pass = tc.pass
		}
		if err != nil || len(srv.URLs) != 1 || srv.URLs[0] != tc.url || srv.Username != tc.user || srv.Credential != pass {
			t.Errorf("parseICEServer(%q) = %+v, %v", tc.in, srv, err)
		}
	}
	for _, in := range []string{
		"stun.example.com:3478",               // no scheme
		"http://example.com",                  // not ICE
		"turn:turn.example.com:3478",          // no credentials
		"turn:ann@turn.example.com",           // no password
		"stun:ann:pa55@stun.example.com:3478", // STUN takes none
		"turn:ann:pa55@:3478?transport=carrier-pigeon",
	} {
		_, err := parseICEServer(in)
		if err == nil {
			t.Errorf("parseICEServer(%q): no error", in)
		} else if strings.Contains(err.Error(), "pa55") {
			t.Errorf("parseICEServer(%q): the password is in %q", in, err)
		}
	}
}

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
