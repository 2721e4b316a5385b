package studio_test

import (
	"strings"
	"testing"

	"greenroom/studio"
)

// ParseICEServer takes WebRTC's STUN and TURN URLs, with a TURN server's user and
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
		srv, err := studio.ParseICEServer(tc.in)
		var pass any
		if tc.pass != "" {
			pass = tc.pass
		}
		if err != nil || len(srv.URLs) != 1 || srv.URLs[0] != tc.url || srv.Username != tc.user || srv.Credential != pass {
			t.Errorf("studio.ParseICEServer(%q) = %+v, %v", tc.in, srv, err)
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
		_, err := studio.ParseICEServer(in)
		if err == nil {
			t.Errorf("studio.ParseICEServer(%q): no error", in)
		} else if strings.Contains(err.Error(), "pa55") {
			t.Errorf("studio.ParseICEServer(%q): the password is in %q", in, err)
		}
	}
}

func TestParseICEServers(t *testing.T) {
	srvs, err := studio.ParseICEServers([]string{"stun:stun.example.com:3478", "turn:ann:pa55@turn.example.com:3478"})
	if err != nil || len(srvs) != 2 || srvs[1].Username != "ann" || srvs[1].URLs[0] != "turn:turn.example.com:3478" {
		t.Errorf("ParseICEServers = %+v, %v", srvs, err)
	}
	if _, err := studio.ParseICEServers([]string{"stun:stun.example.com", "turn:ann:pa55@:3478?transport=carrier-pigeon"}); err == nil || strings.Contains(err.Error(), "pa55") {
		t.Errorf("ParseICEServers with a bad one: %v", err)
	}
}
