package studio

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
)

// DefaultSTUN are the STUN servers a new studio starts with (the window's
// Settings → Network, serve without --no-default-stun): public, free, run
// by large operators for WebRTC. With them the studio learns its media
// port's public address, and a guest's browser its own, so that the two
// can punch through home routers. They see only addresses, never media.
var DefaultSTUN = []string{"stun:stun.l.google.com:19302", "stun:stun.cloudflare.com:3478"}

// ParseICEServer reads a STUN or TURN server URL as WebRTC spells it, with
// a TURN server's username and password before an @ (serve's --ice, the
// window's settings): stun:stun.example.com:3478,
// turn:USER:PASS@turn.example.com:3478?transport=udp, and TURN over TLS,
// turns:USER:PASS@turn.example.com:443?transport=tcp (pion/ice dials it
// over TLS too, checking the certificate against the system's roots). The
// password is a secret: errors never show it.
func ParseICEServer(v string) (webrtc.ICEServer, error) {
	scheme, rest, ok := strings.Cut(v, ":")
	scheme = strings.ToLower(scheme)
	if !ok || (scheme != "stun" && scheme != "stuns" && scheme != "turn" && scheme != "turns") {
		return webrtc.ICEServer{}, errors.New("want stun:HOST[:PORT] or turn:USER:PASS@HOST[:PORT][?transport=udp|tcp]")
	}
	srv := webrtc.ICEServer{}
	if cred, host, found := strings.Cut(rest, "@"); found {
		user, pass, _ := strings.Cut(cred, ":")
		if strings.HasPrefix(scheme, "stun") || user == "" || pass == "" {
			return srv, fmt.Errorf("%s:…@%s: a TURN server takes USER:PASS@, a STUN server none", scheme, host)
		}
		srv.Username, srv.Credential, rest = user, pass, host
	} else if strings.HasPrefix(scheme, "turn") {
		return srv, fmt.Errorf("%s:%s: a TURN server needs USER:PASS@ before the host", scheme, rest)
	}
	srv.URLs = []string{scheme + ":" + rest}
	// pion's parser adds a default port to an address that lacks one and
	// parses again, for ever when that can't help ("[::1]0478" is still
	// "missing port" with ":3478" after it): the fuzzer found it hang.
	hostport, _, _ := strings.Cut(rest, "?")
	if _, _, err := net.SplitHostPort(hostport); err != nil {
		if _, _, err := net.SplitHostPort(hostport + ":3478"); err != nil {
			return webrtc.ICEServer{}, fmt.Errorf("%s: want HOST or HOST:PORT (an IPv6 address in brackets): %v", srv.URLs[0], err)
		}
	}
	// pion checks the URL as it will use it.
	if _, err := ice.ParseURL(srv.URLs[0]); err != nil {
		return webrtc.ICEServer{}, fmt.Errorf("%s: %v", srv.URLs[0], err)
	}
	return srv, nil
}

// ParseICEServers reads a list with ParseICEServer; the first bad one is
// the error.
func ParseICEServers(urls []string) ([]webrtc.ICEServer, error) {
	servers := make([]webrtc.ICEServer, 0, len(urls))
	for _, u := range urls {
		srv, err := ParseICEServer(u)
		if err != nil {
			return nil, err
		}
		servers = append(servers, srv)
	}
	return servers, nil
}
