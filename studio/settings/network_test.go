package settings

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"greenroom/studio"
)

const turnPass = "tUrN-s3cret-9x"

func network() Network {
	return Network{
		ICEServers: []ICEServer{
			NewICEServer("stun:stun.example.com:3478"),
			NewICEServer(" turn:ann:" + turnPass + "@turn.example.com:3478?transport=udp\n"),
		},
		NATIP:     "203.0.113.7",
		Domain:    "studio.example.com",
		ACMEEmail: "ann@example.com",
	}
}

// TestNetworkRoundTrip: the servers come back with their passwords, from a
// file only the user reads.
func TestNetworkRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "greenroom")
	st, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if n := st.Get().Network; !reflect.DeepEqual(n, defaultNetwork()) || len(n.ICEServers) != len(studio.DefaultSTUN) || n.NATIP != "" {
		t.Fatalf("a new user has %+v, want the default STUN servers", n)
	}
	if err := st.Update(func(s *Settings) { s.Network = network() }); err != nil {
		t.Fatal(err)
	}
	st2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := st2.Get().Network
	if !reflect.DeepEqual(got, network()) {
		t.Errorf("got %#v, want %#v", got, network())
	}
	if r := got.ICEServers[1].Reveal(); r != "turn:ann:"+turnPass+"@turn.example.com:3478?transport=udp" {
		t.Errorf("pasted server not trimmed or lost its password: %q", r)
	}
	b, err := os.ReadFile(st.Path())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(turnPass)) {
		t.Errorf("the settings file lost the TURN password:\n%s", b)
	}
	if fi, err := os.Stat(st.Path()); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("settings file mode %v, %v", fi.Mode(), err)
	}
	// Get's servers are the caller's own.
	got.ICEServers[0] = NewICEServer("stun:changed")
	if st2.Get().Network.ICEServers[0].Reveal() == "stun:changed" {
		t.Error("Get shares the servers with the store")
	}

	// No server at all is a choice that stays: the defaults don't come back.
	if err := st2.Update(func(s *Settings) { s.Network.ICEServers = nil }); err != nil {
		t.Fatal(err)
	}
	st3, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if n := st3.Get().Network; len(n.ICEServers) != 0 {
		t.Errorf("removed every server, reopened with %v", n.ICEServers)
	}
}

// TestOldFileWithoutNetwork: a file from before the network settings loads
// as it was, with the default STUN servers, and saves.
func TestOldFileWithoutNetwork(t *testing.T) {
	dir := t.TempDir()
	old := `{"destinations": [{"id": "d1", "service": "twitch", "name": "Twitch", "url": "rtmp://live.twitch.tv/app", "stream_key": "k123", "enabled": true}],
	"output": {"width": 1280, "height": 720, "fps": 30, "video_kbps": 4500}, "recording_dir": "/tmp/rec", "host": {"camera": "", "mic": ""}, "window": {"width": 1280, "height": 800}}`
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := st.Get()
	if len(got.Destinations) != 1 || got.Destinations[0].Key.Reveal() != "k123" || got.RecordingDir != "/tmp/rec" {
		t.Errorf("old file read as %+v", got)
	}
	if !reflect.DeepEqual(got.Network, defaultNetwork()) {
		t.Errorf("old file has network %+v, want the defaults", got.Network)
	}
	if err := st.Update(func(s *Settings) { s.Output.FPS = 25 }); err != nil {
		t.Fatal(err)
	}
}

func TestICEServerValidate(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want error
	}{
		{"stun:stun.l.google.com:19302", nil},
		{"stun:stun.example.com", nil},
		{"turn:ann:" + turnPass + "@turn.example.com:3478?transport=udp", nil},
		{"turn:ann:" + turnPass + "@turn.example.com:3478?transport=tcp", nil},
		{"turns:ann:" + turnPass + "@turn.example.com:5349?transport=tcp", nil},
		{"turn:ann:" + turnPass + "@[2001:db8::1]:3478", nil},
		{"", ErrBadICEServer},
		{"https://turn.example.com", ErrBadICEServer},
		{"turn.example.com:3478", ErrBadICEServer},
		{"stun:", ErrBadICEServer},
		{"stun:host:abc", ErrBadICEServer},
		{"stun:ann:" + turnPass + "@stun.example.com", ErrBadICEServer},
		{"turn:turn.example.com:3478", ErrBadICEServer},
		{"turn:ann:" + turnPass + ":turn.example.com:3478", ErrBadICEServer}, // @ typed as :
		{"turn:ann@turn.example.com:3478", ErrBadICEServer},
		{"turn:ann:" + turnPass + "@", ErrBadICEServer},
		{"turn:ann:" + turnPass + "@turn.example.com:99999", ErrBadICEServer},
		{"turn:ann:" + turnPass + "@turn.example.com:3478?transport=sctp", ErrBadICEServer},
		{"turn:ann:p@" + turnPass + "@turn.example.com:3478", ErrBadICEServer}, // an @ in the password
	} {
		s := NewICEServer(tc.url)
		err := s.Validate()
		if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("Validate(%q): %v, want %v", s.Masked("…"), err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), turnPass) {
			t.Errorf("Validate leaks the password: %v", err)
		}
	}
}

func TestICEServerMasked(t *testing.T) {
	for in, want := range map[string]string{
		"stun:stun.example.com:3478":                                    "stun:stun.example.com:3478",
		"turn:ann:" + turnPass + "@turn.example.com:3478?transport=udp": "turn:ann:••••@turn.example.com:3478?transport=udp",
		"turn:ann:p@" + turnPass + "@turn.example.com":                  "turn:ann:••••@turn.example.com",
		"turn:ann:" + turnPass + ":turn.example.com":                    "turn:••••",
		"TURNS:ann:" + turnPass + "@h":                                  "TURNS:ann:••••@h",
		"turn:ann@turn.example.com":                                     "turn:ann@turn.example.com",
	} {
		if got := NewICEServer(in).Masked("••••"); got != want {
			t.Errorf("Masked(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestNetworkRedacted: the password shows nowhere but in the file and
// through Reveal — not in fmt, slog (text and JSON), json.Marshal or an
// error.
func TestNetworkRedacted(t *testing.T) {
	set := sample()
	set.Network = network()
	n := set.Network
	for _, out := range printings(t, n.ICEServers[1], n, set) {
		if strings.Contains(out, turnPass) {
			t.Errorf("the TURN password leaked: %s", out)
		}
		if !strings.Contains(out, "turn:ann:[redacted]@turn.example.com:3478") {
			t.Errorf("the server does not show masked in %s", out)
		}
	}
}

func TestNetworkValidate(t *testing.T) {
	good := network()
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		edit func(*Network)
		want error
		says string
	}{
		"bad server":        {func(n *Network) { n.ICEServers[1] = NewICEServer("turn:ann:" + turnPass + "@turn.example.com:0") }, ErrBadICEServer, "STUN/TURN server 2: turn:turn.example.com:0: the port"},
		"twice":             {func(n *Network) { n.ICEServers = append(n.ICEServers, n.ICEServers[1]) }, ErrBadICEServer, "server 3 is the same as server 2"},
		"not an IP":         {func(n *Network) { n.NATIP = "my.host.example" }, ErrBadNATIP, `"my.host.example" is not an IP address`},
		"no IP":             {func(n *Network) { n.NATIP = "0.0.0.0" }, ErrBadNATIP, "not an IP address"},
		"IPv6":              {func(n *Network) { n.NATIP = "2001:db8::7" }, nil, ""},
		"address as domain": {func(n *Network) { n.Domain = "203.0.113.7" }, ErrBadDomain, "not an address"},
		"one label":         {func(n *Network) { n.Domain = "studio" }, ErrBadDomain, "want a full name like studio.example.com"},
		"no domain":         {func(n *Network) { n.Domain = "" }, nil, ""},
		"bad email":         {func(n *Network) { n.ACMEEmail = "ann at example.com" }, ErrBadEmail, "not an email address"},
		"named email":       {func(n *Network) { n.ACMEEmail = "Ann <ann@example.com>" }, ErrBadEmail, "not an email address"},
		"none":              {func(n *Network) { *n = Network{} }, nil, ""},
	} {
		n := network()
		tc.edit(&n)
		err := n.Validate()
		if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
			continue
		}
		if err != nil && (!strings.Contains(err.Error(), tc.says) || strings.Contains(err.Error(), turnPass)) {
			t.Errorf("%s: %q, want it to say %q and not the password", name, err, tc.says)
		}
	}
}

// TestUpdateRefusesABadNetwork: Update saves nothing when the network it is
// given does not validate, but a bad entry already in the file (a hand
// edit) does not stop other changes.
func TestUpdateRefusesABadNetwork(t *testing.T) {
	dir := t.TempDir()
	st, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Update(func(s *Settings) { s.Network = network() }); err != nil {
		t.Fatal(err)
	}
	err = st.Update(func(s *Settings) {
		s.Output.FPS = 25
		s.Network.ICEServers = append(s.Network.ICEServers, NewICEServer("turn:bob:"+turnPass+"@turn.example.com:3478?transport=carrier-pigeon"))
	})
	if !errors.Is(err, ErrBadICEServer) || strings.Contains(err.Error(), turnPass) {
		t.Fatalf("Update with a bad server: %v", err)
	}
	if got := st.Get(); got.Output.FPS != 30 || len(got.Network.ICEServers) != 2 {
		t.Errorf("a refused change is in memory: %+v", got)
	}
	if err := st.Update(func(s *Settings) { s.Network.NATIP = "nat" }); !errors.Is(err, ErrBadNATIP) {
		t.Errorf("Update with a bad NAT IP: %v", err)
	}

	// A hand-edited file with a bad server still loads and saves.
	hand := `{"network": {"ice_servers": ["stun:stun.example.com", "turn:bob:` + turnPass + `@turn.example.com:99999"], "nat_ip": "nowhere"}}`
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte(hand), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if n := st.Get().Network; len(n.ICEServers) != 2 || n.NATIP != "nowhere" {
		t.Fatalf("hand-edited network read as %+v", n)
	}
	if err := st.Update(func(s *Settings) { s.Output.FPS = 25 }); err != nil {
		t.Errorf("a bad entry in the file stops other changes: %v", err)
	}
	// Nor adding a good server, or taking the bad one out; a server twice
	// is refused.
	good := NewICEServer("turn:ann:" + turnPass + "@turn.example.com:3478")
	if err := st.Update(func(s *Settings) { s.Network.ICEServers = append(s.Network.ICEServers, good) }); err != nil {
		t.Errorf("adding a good server next to a bad one: %v", err)
	}
	if err := st.Update(func(s *Settings) { s.Network.ICEServers = append(s.Network.ICEServers, good) }); !errors.Is(err, ErrBadICEServer) || !strings.Contains(err.Error(), "server 4 is the same as server 3") {
		t.Errorf("adding a server twice: %v", err)
	}
	if err := st.Update(func(s *Settings) { s.Network.ICEServers = slices.Delete(s.Network.ICEServers, 1, 2) }); err != nil {
		t.Errorf("removing the bad server: %v", err)
	}
	if n := st.Get().Network; len(n.ICEServers) != 2 || n.ICEServers[1] != good {
		t.Errorf("after the changes: %v", n)
	}
}

// TestConfigure: the studio gets the good servers and the NAT IP; a bad one
// is left out and named, without its password.
func TestConfigure(t *testing.T) {
	var c studio.Config
	if err := network().Configure(&c); err != nil {
		t.Fatal(err)
	}
	if len(c.ICEServers) != 2 || c.ICEServers[1].Username != "ann" || c.ICEServers[1].Credential != turnPass ||
		c.ICEServers[1].URLs[0] != "turn:turn.example.com:3478?transport=udp" || c.ICEServers[0].URLs[0] != "stun:stun.example.com:3478" {
		t.Errorf("ICEServers %+v", c.ICEServers)
	}
	if !reflect.DeepEqual(c.NAT1To1IPs, []string{"203.0.113.7"}) {
		t.Errorf("NAT1To1IPs %q", c.NAT1To1IPs)
	}
	if c.Domain != "studio.example.com" || c.ACMEEmail != "ann@example.com" {
		t.Errorf("Domain %q, ACMEEmail %q", c.Domain, c.ACMEEmail)
	}

	bad := network()
	bad.ICEServers = append([]ICEServer{NewICEServer("turn:bob:" + turnPass + "@turn.example.com:99999")}, bad.ICEServers...)
	bad.NATIP = "nowhere"
	bad.Domain = "studio"
	err := bad.Configure(&c)
	if err == nil || !errors.Is(err, ErrBadICEServer) || !errors.Is(err, ErrBadNATIP) || !errors.Is(err, ErrBadDomain) || c.Domain != "" || c.ACMEEmail != "" {
		t.Fatalf("Configure with bad entries: %v", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "STUN/TURN server 1 was left out") || !strings.Contains(msg, "Settings → Network") || strings.Contains(msg, turnPass) {
		t.Errorf("error %q", msg)
	}
	if len(c.ICEServers) != 2 || c.ICEServers[0].URLs[0] != "stun:stun.example.com:3478" || c.NAT1To1IPs != nil {
		t.Errorf("with bad entries: servers %+v, NAT %q", c.ICEServers, c.NAT1To1IPs)
	}

	c = studio.Config{}
	if err := (Network{}).Configure(&c); err != nil || c.ICEServers != nil || c.NAT1To1IPs != nil {
		t.Errorf("no network: %+v, %v", c, err)
	}
}
