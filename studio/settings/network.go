package settings

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"slices"
	"strings"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"

	"greenroom/studio"
)

// Network is how guests behind strict networks reach the studio: the STUN
// and TURN servers both sides' peer connections use, and the public address
// to offer guests when this machine sits behind a 1:1 NAT (a cloud server).
// The studio takes them when it starts (studio.Config); the window hands it
// changed servers at once (Studio.SetICEServers: guests who join from then
// on), while a changed NAT IP waits for the next start of Greenroom.
type Network struct {
	// ICEServers are spelled as serve's --ice takes them (see
	// studio.ParseICEServer); a TURN server's carries its password.
	ICEServers []ICEServer
	// NATIP is the public IP address offered to guests instead of this
	// machine's own; "" for none.
	NATIP string
	// MapPorts asks the home router to forward the studio's ports (UPnP,
	// NAT-PMP; studio.Config.MapPorts). On for a new user.
	MapPorts bool
	// Domain is a name of the user's whose DNS points at their public
	// address: the studio gets a certificate browsers trust for it
	// (studio.Config.Domain, serve's --domain); "" for none. ACMEEmail,
	// optional, is where the CA may write about it.
	Domain    string
	ACMEEmail string
}

// Errors of Network.Validate and ICEServer.Validate, for errors.Is.
var (
	ErrBadICEServer = errors.New("bad STUN/TURN server")
	ErrBadNATIP     = errors.New("bad NAT IP")
	ErrBadDomain    = errors.New("bad domain")
	ErrBadEmail     = errors.New("bad email address")
)

// ICEServer is one STUN or TURN server URL, e.g.
// turn:USER:PASS@turn.example.com:3478?transport=udp. A TURN server's
// password is a secret, like a stream key: the value prints, logs and
// marshals with the password as [redacted] (Masked shows it otherwise), and
// its errors never contain it. Reveal returns the URL itself.
type ICEServer struct{ v string }

// NewICEServer wraps a URL typed or pasted by the user, without the spaces
// and newline a paste brings.
func NewICEServer(s string) ICEServer { return ICEServer{strings.TrimSpace(s)} }

// Reveal returns the URL with its password.
func (s ICEServer) Reveal() string { return s.v }

// Masked returns the URL with the password replaced by mask: scheme, user,
// host, port and transport still show, so that the user can tell servers
// apart. A TURN URL without the @ that ends USER:PASS is masked whole after
// the scheme, since where its password is cannot be told.
func (s ICEServer) Masked(mask string) string {
	scheme, rest, ok := strings.Cut(s.v, ":")
	if !ok {
		return s.v
	}
	// The last @: a password with an @ in it is masked whole (and refused
	// by Validate, as ParseICEServer would split it at its first @).
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		if isTURN(scheme) && rest != "" {
			return scheme + ":" + mask
		}
		return s.v
	}
	user, _, hasPass := strings.Cut(rest[:at], ":")
	if !hasPass {
		return s.v
	}
	return scheme + ":" + user + ":" + mask + rest[at:]
}

func isTURN(scheme string) bool {
	scheme = strings.ToLower(scheme)
	return scheme == "turn" || scheme == "turns"
}

func (s ICEServer) String() string       { return s.Masked(redacted) }
func (s ICEServer) GoString() string     { return s.String() }
func (s ICEServer) LogValue() slog.Value { return slog.StringValue(s.String()) }
func (s ICEServer) MarshalText() ([]byte, error) {
	return []byte(s.String()), nil
}

// Parse reads the server as the studio's peer connections take it. Its
// errors are sentences for the user, without the password.
func (s ICEServer) Parse() (webrtc.ICEServer, error) {
	none := webrtc.ICEServer{}
	scheme, rest, _ := strings.Cut(s.v, ":")
	switch {
	case s.v == "":
		return none, badICE("the server is empty: type stun:HOST:PORT or turn:USER:PASS@HOST:PORT")
	case strings.Count(rest, "@") > 1:
		return none, badICE("only one @ please: a TURN password with @ in it cannot be used here")
	case isTURN(scheme) && !strings.Contains(rest, "@"):
		// ParseICEServer would quote rest, where a mistyped password may be.
		return none, badICE("%s: a TURN server needs USER:PASS@ before the host", s)
	}
	// With one @ at most, ParseICEServer's errors quote only the scheme and
	// the host.
	srv, err := studio.ParseICEServer(s.v)
	if err != nil {
		return none, badICE("%v", err)
	}
	// pion takes any port number; the network does not.
	if u, err := ice.ParseURL(srv.URLs[0]); err == nil && (u.Port < 1 || u.Port > 65535) {
		return none, badICE("%s: the port must be between 1 and 65535", srv.URLs[0])
	}
	return srv, nil
}

// Validate checks that the server can be used. Its errors never contain the
// password.
func (s ICEServer) Validate() error {
	_, err := s.Parse()
	return err
}

func badICE(format string, a ...any) error {
	return &invalid{ErrBadICEServer, fmt.Sprintf(format, a...)}
}

// ValidateNATIP checks a public address typed by the user: "" (none) or an
// IPv4 or IPv6 address.
func ValidateNATIP(ip string) error {
	ip = strings.TrimSpace(ip)
	if ip == "" {
		return nil
	}
	if a := net.ParseIP(ip); a == nil || a.IsUnspecified() {
		return &invalid{ErrBadNATIP, fmt.Sprintf("%q is not an IP address: type this machine's public address, like 203.0.113.7", ip)}
	}
	return nil
}

// ValidateDomain checks a domain typed by the user: "" (none) or a full
// name the studio can get a certificate for.
func ValidateDomain(name string) error {
	if strings.TrimSpace(name) == "" {
		return nil
	}
	if _, err := studio.CheckDomain(name); err != nil {
		return &invalid{ErrBadDomain, strings.TrimPrefix(err.Error(), "studio: ")}
	}
	return nil
}

// ValidateEmail checks the contact address for the CA: "" (none) or an
// address.
func ValidateEmail(addr string) error {
	addr = strings.TrimSpace(addr)
	if addr == "" {
		return nil
	}
	if a, err := mail.ParseAddress(addr); err != nil || a.Address != addr {
		return &invalid{ErrBadEmail, fmt.Sprintf("%q is not an email address: type one like you@example.com, or nothing", addr)}
	}
	return nil
}

// Validate checks every server, that none is there twice, and the NAT IP.
// Its errors never contain a password.
func (n Network) Validate() error { return n.checkChange(Network{}) }

// checkChange checks what n brings that old did not have: new servers (valid,
// not there twice) and a changed NAT IP. What was saved already is not
// judged again, so a bad server from a hand edit does not stop the user
// from removing it or changing anything else.
func (n Network) checkChange(old Network) error {
	for i, s := range n.ICEServers {
		// A repeat is new if old did not have it as many times.
		if j := slices.Index(n.ICEServers, s); j < i && count(n.ICEServers[:i+1], s) > count(old.ICEServers, s) {
			return &invalid{ErrBadICEServer, fmt.Sprintf("STUN/TURN server %d is the same as server %d", i+1, j+1)}
		}
		if slices.Contains(old.ICEServers, s) {
			continue
		}
		if err := s.Validate(); err != nil {
			return &invalid{ErrBadICEServer, fmt.Sprintf("STUN/TURN server %d: %v", i+1, err)}
		}
	}
	if n.NATIP != old.NATIP {
		if err := ValidateNATIP(n.NATIP); err != nil {
			return err
		}
	}
	if n.Domain != old.Domain {
		if err := ValidateDomain(n.Domain); err != nil {
			return err
		}
	}
	if n.ACMEEmail != old.ACMEEmail {
		return ValidateEmail(n.ACMEEmail)
	}
	return nil
}

func count(list []ICEServer, s ICEServer) int {
	n := 0
	for _, v := range list {
		if v == s {
			n++
		}
	}
	return n
}

// Configure sets the studio's STUN/TURN servers, NAT address, port
// mapping and domain (with the CA's contact) from n. A
// server or address that does not parse (a hand-edited file) is left out and
// named in the error, which says where to fix it; the rest are used.
func (n Network) Configure(c *studio.Config) error {
	var errs []error
	c.ICEServers, c.NAT1To1IPs, c.MapPorts, c.Domain, c.ACMEEmail = nil, nil, n.MapPorts, "", ""
	for i, s := range n.ICEServers {
		srv, err := s.Parse()
		if err != nil {
			errs = append(errs, fmt.Errorf("your STUN/TURN server %d was left out (fix it in Settings → Network): %w", i+1, err))
			continue
		}
		c.ICEServers = append(c.ICEServers, srv)
	}
	if ip := strings.TrimSpace(n.NATIP); ip != "" {
		if err := ValidateNATIP(ip); err != nil {
			errs = append(errs, fmt.Errorf("your public (NAT) IP was left out (fix it in Settings → Network): %w", err))
		} else {
			c.NAT1To1IPs = []string{ip}
		}
	}
	if d := strings.TrimSpace(n.Domain); d != "" {
		if err := ValidateDomain(d); err != nil {
			errs = append(errs, fmt.Errorf("your domain was left out (fix it in Settings → Network): %w", err))
		} else {
			c.Domain = d
			// The email only matters with a domain; a bad one is left
			// out alone (the CA takes none).
			if err := ValidateEmail(n.ACMEEmail); err != nil {
				errs = append(errs, fmt.Errorf("your email for Let's Encrypt was left out (fix it in Settings → Network): %w", err))
			} else {
				c.ACMEEmail = strings.TrimSpace(n.ACMEEmail)
			}
		}
	}
	return errors.Join(errs...)
}

func (n Network) clone() Network {
	n.ICEServers = append([]ICEServer(nil), n.ICEServers...)
	return n
}

// defaultNetwork is a new user's: the default STUN servers, and the
// router asked to forward the studio's ports.
func defaultNetwork() Network {
	n := Network{MapPorts: true}
	for _, u := range studio.DefaultSTUN {
		n.ICEServers = append(n.ICEServers, NewICEServer(u))
	}
	return n
}

// fileNetwork is Network on disk, where the servers keep their passwords.
// A file without the list (a new user, or one from before the default STUN
// servers) gets the defaults; an empty list is the user's choice of none.
type fileNetwork struct {
	ICEServers *[]string `json:"ice_servers,omitempty"`
	NATIP      string    `json:"nat_ip,omitempty"`
	MapPorts   *bool     `json:"map_ports,omitempty"` // absent: on
	Domain     string    `json:"domain,omitempty"`
	ACMEEmail  string    `json:"acme_email,omitempty"`
}

func fileNetworkOf(n Network) fileNetwork {
	urls := []string{}
	for _, s := range n.ICEServers {
		urls = append(urls, s.Reveal())
	}
	return fileNetwork{ICEServers: &urls, NATIP: n.NATIP, MapPorts: &n.MapPorts, Domain: n.Domain, ACMEEmail: n.ACMEEmail}
}

func (f fileNetwork) network() Network {
	n := Network{NATIP: strings.TrimSpace(f.NATIP), MapPorts: f.MapPorts == nil || *f.MapPorts,
		Domain: strings.TrimSpace(f.Domain), ACMEEmail: strings.TrimSpace(f.ACMEEmail)}
	if f.ICEServers == nil {
		n.ICEServers = defaultNetwork().ICEServers
		return n
	}
	for _, s := range *f.ICEServers {
		n.ICEServers = append(n.ICEServers, NewICEServer(s))
	}
	return n
}
