package ui

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"greenroom/studio"
	"greenroom/studio/settings"
)

const turnPass = "tUrN-s3cret-9x"

// noServers is a user who removed every STUN/TURN server.
func noServers(s *settings.Settings) { s.Network.ICEServers = nil }

// rowTexts are the texts of the network section's rows, as shown.
func rowTexts(n *networkSection) []string {
	var out []string
	for _, o := range test.LaidOutObjects(n.rows) {
		if l, ok := o.(*widget.Label); ok && l.Visible() {
			out = append(out, l.Text)
		}
	}
	return out
}

// settingsMarkup is the whole Settings tab as drawn.
func settingsMarkup(s *testStudio) string {
	s.tabs.SelectIndex(len(s.tabs.Items) - 1)
	return test.RenderObjectToMarkup(s.tabs.Items[len(s.tabs.Items)-1].Content)
}

// TestNetworkServers: a server typed in the masked entry is checked, saved
// and listed with its password masked; a bad one is refused inline; servers
// are edited and removed; the section says when they apply.
func TestNetworkServers(t *testing.T) {
	f := newFake()
	// A new user starts with the default STUN servers, listed as any other.
	s0, _ := open(t, f, nil)
	if got := rowTexts(&s0.prefs.net); !slices.Equal(got, studio.DefaultSTUN) {
		t.Errorf("a new user's rows: %q, want %q", got, studio.DefaultSTUN)
	}
	s, st := open(t, f, noServers)
	n := &s.prefs.net
	if got := rowTexts(n); len(got) != 1 || !strings.Contains(got[0], "No STUN or TURN server") {
		t.Errorf("the rows without a server: %q", got)
	}
	if !n.entry.Password {
		t.Fatal("the server entry is not masked")
	}
	if _, ok := n.entry.ActionItem.(fyne.Tappable); !ok {
		t.Error("no reveal button on the server entry")
	}

	// A TURN server without a password is refused, and nothing saved.
	test.Type(n.entry, "turn:turn.example.com:3478")
	test.Tap(n.add)
	s.settle()
	if !n.err.Visible() || !strings.Contains(n.err.Text, "USER:PASS@") {
		t.Errorf("error %q (visible %v)", n.err.Text, n.err.Visible())
	}
	if len(st.Get().Network.ICEServers) != 0 {
		t.Fatal("a bad server was saved")
	}
	n.entry.SetText("turn:ann:" + turnPass + "@turn.example.com:3478?transport=sctp")
	test.Tap(n.add)
	s.settle()
	if !n.err.Visible() || !strings.Contains(n.err.Text, "transport") || strings.Contains(n.err.Text, turnPass) {
		t.Errorf("error %q (visible %v)", n.err.Text, n.err.Visible())
	}

	// A good one is saved, listed masked; the entry empties.
	turn := "turn:ann:" + turnPass + "@turn.example.com:3478?transport=udp"
	n.entry.SetText(turn)
	test.Tap(n.add)
	s.settle()
	if got := st.Get().Network.ICEServers; len(got) != 1 || got[0].Reveal() != turn {
		t.Fatalf("saved %v", got)
	}
	if got := rowTexts(n); len(got) != 1 || got[0] != "turn:ann:••••@turn.example.com:3478?transport=udp" {
		t.Errorf("rows %q", got)
	}
	if n.err.Visible() || n.entry.Text != "" {
		t.Errorf("after saving: error shown %v, entry %q", n.err.Visible(), n.entry.Text)
	}
	if !n.note.Visible() || !strings.Contains(n.note.Text, "next start of Greenroom") {
		t.Errorf("note %q (visible %v)", n.note.Text, n.note.Visible())
	}
	if m := settingsMarkup(s); strings.Contains(m, turnPass) {
		t.Error("the Settings tab shows the TURN password")
	}

	// Submitting with Enter adds a STUN server; the same one again is refused.
	n.entry.SetText("stun:stun.example.com:3478")
	n.entry.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	s.settle()
	n.entry.SetText("stun:stun.example.com:3478")
	test.Tap(n.add)
	s.settle()
	if !n.err.Visible() || !strings.Contains(n.err.Text, "already") {
		t.Errorf("a server twice: error %q (visible %v)", n.err.Text, n.err.Visible())
	}
	if got := st.Get().Network.ICEServers; len(got) != 2 || got[1].Reveal() != "stun:stun.example.com:3478" {
		t.Fatalf("saved %v", got)
	}

	// Editing puts the server in the entry, masked, and saves it in place.
	n.edit(0)
	if n.entry.Text != turn || !n.entry.Password || n.add.Text != "Save" || !n.cancel.Visible() {
		t.Errorf("editing: entry masked %v, button %q, cancel %v", n.entry.Password, n.add.Text, n.cancel.Visible())
	}
	if m := settingsMarkup(s); strings.Contains(m, turnPass) {
		t.Error("the masked entry shows the TURN password")
	}
	n.entry.SetText("turns:bob:" + turnPass + "@turn.example.com:5349?transport=tcp")
	test.Tap(n.add)
	s.settle()
	got := st.Get().Network.ICEServers
	if len(got) != 2 || got[0].Reveal() != "turns:bob:"+turnPass+"@turn.example.com:5349?transport=tcp" || n.add.Text != "Add" || n.cancel.Visible() {
		t.Fatalf("after editing: saved %v, button %q", got, n.add.Text)
	}

	// Cancel leaves the server as it was.
	n.edit(1)
	n.entry.SetText("stun:other.example.com")
	test.Tap(n.cancel)
	s.settle()
	if got := st.Get().Network.ICEServers; got[1].Reveal() != "stun:stun.example.com:3478" || n.entry.Text != "" || n.add.Text != "Add" {
		t.Errorf("after Cancel: saved %v, entry %q, button %q", got, n.entry.Text, n.add.Text)
	}

	// Remove.
	n.remove(0)
	s.settle()
	if got := st.Get().Network.ICEServers; len(got) != 1 || got[0].Reveal() != "stun:stun.example.com:3478" {
		t.Errorf("after removing: %v", got)
	}
	if got := rowTexts(n); len(got) != 1 || got[0] != "stun:stun.example.com:3478" {
		t.Errorf("rows %q", got)
	}
}

// TestNetworkBadSavedServer: a server the studio could not use (a hand
// edit) is listed with why, and can be removed.
func TestNetworkBadSavedServer(t *testing.T) {
	// Update refuses a bad server: only a hand edit of the file brings one.
	dir := t.TempDir()
	hand := `{"network": {"ice_servers": ["turn:ann:` + turnPass + `@turn.example.com:99999"]}}`
	if err := os.WriteFile(filepath.Join(dir, settings.FileName), []byte(hand), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := settings.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	q := &uiQueue{}
	s := &testStudio{newStudio(test.NewTempApp(t), newFake(), st, q.post), q}
	t.Cleanup(func() {
		s.tasks.Wait()
		s.Close()
	})
	n := &s.prefs.net
	got := rowTexts(n)
	if len(got) != 2 || got[0] != "turn:ann:••••@turn.example.com:99999" || !strings.Contains(got[1], "Not used:") || !strings.Contains(got[1], "port") {
		t.Errorf("rows %q", got)
	}
	if m := settingsMarkup(s); strings.Contains(m, turnPass) {
		t.Error("the Settings tab shows the TURN password")
	}
	n.remove(0)
	s.settle()
	if got := rowTexts(n); len(got) != 1 || !strings.Contains(got[0], "No STUN or TURN server") {
		t.Errorf("after removing: %q", got)
	}
	if got := st.Get().Network.ICEServers; len(got) != 0 {
		t.Errorf("saved %v", got)
	}
}

func TestNetworkNATIP(t *testing.T) {
	f := newFake()
	s, st := open(t, f, func(set *settings.Settings) { set.Network.NATIP = "198.51.100.4" })
	n := &s.prefs.net
	if n.natIP.Text != "198.51.100.4" {
		t.Errorf("NAT IP shows %q", n.natIP.Text)
	}
	n.natIP.SetText("my.public.host")
	s.settle()
	if !n.natErr.Visible() || !strings.Contains(n.natErr.Text, "not an IP address") {
		t.Errorf("error %q (visible %v)", n.natErr.Text, n.natErr.Visible())
	}
	if got := st.Get().Network.NATIP; got != "198.51.100.4" {
		t.Errorf("a bad NAT IP was saved: %q", got)
	}
	n.natIP.SetText(" 203.0.113.7 ")
	s.settle()
	if n.natErr.Visible() || st.Get().Network.NATIP != "203.0.113.7" {
		t.Errorf("saved %q, error shown %v", st.Get().Network.NATIP, n.natErr.Visible())
	}
	if !strings.Contains(n.note.Text, "next start of Greenroom") {
		t.Errorf("note %q", n.note.Text)
	}
	n.natIP.SetText("")
	s.settle()
	if st.Get().Network.NATIP != "" {
		t.Errorf("emptied, saved %q", st.Get().Network.NATIP)
	}
}

// TestNetworkDomain: Settings → Network has a Domain and an Email field;
// what they take is saved (in the settings file, which only the user
// reads) and is what the studio is given at its next start (gui.go hands
// Network.Configure's Config to the studio, as serve's --domain does); a
// name the studio can't get a certificate for is refused with why.
func TestNetworkDomain(t *testing.T) {
	f := newFake()
	s, st := open(t, f, nil)
	n := &s.prefs.net
	m := settingsMarkup(s)
	for _, want := range []string{"Domain", "Email", "certificate", "Let's Encrypt"} {
		if !strings.Contains(m, want) {
			t.Errorf("the Settings tab does not say %q", want)
		}
	}
	n.domain.SetText("studio")
	s.settle()
	if !n.domainErr.Visible() || !strings.Contains(n.domainErr.Text, "full name") || st.Get().Network.Domain != "" {
		t.Errorf("one label: error %q (visible %v), saved %q", n.domainErr.Text, n.domainErr.Visible(), st.Get().Network.Domain)
	}
	n.domain.SetText(" studio.example.com ")
	n.email.SetText("ann@example")
	n.email.SetText("ann@example.com")
	s.settle()
	if n.domainErr.Visible() || n.emailErr.Visible() {
		t.Errorf("errors shown: %q %q", n.domainErr.Text, n.emailErr.Text)
	}
	saved := st.Get().Network
	if saved.Domain != "studio.example.com" || saved.ACMEEmail != "ann@example.com" {
		t.Errorf("saved domain %q, email %q", saved.Domain, saved.ACMEEmail)
	}
	if !strings.Contains(n.note.Text, "next start of Greenroom") {
		t.Errorf("note %q", n.note.Text)
	}
	b, err := os.ReadFile(st.Path())
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(st.Path()); err != nil || fi.Mode().Perm() != 0o600 || !strings.Contains(string(b), `"domain": "studio.example.com"`) {
		t.Errorf("settings file (%v, %v):\n%s", fi.Mode(), err, b)
	}

	// The next start: the window's studio is configured from the file.
	reopened, err := settings.Open(filepath.Dir(st.Path()))
	if err != nil {
		t.Fatal(err)
	}
	var cfg studio.Config
	if err := reopened.Get().Network.Configure(&cfg); err != nil || cfg.Domain != "studio.example.com" || cfg.ACMEEmail != "ann@example.com" {
		t.Errorf("the studio gets domain %q, email %q (%v)", cfg.Domain, cfg.ACMEEmail, err)
	}
	// A studio started so gets a certificate for the name (here it
	// can't: no DNS, so the CA is never asked) and gives the name in the
	// guest link.
	cfg.Listen, cfg.ConfigDir, cfg.MapPorts = "127.0.0.1:0", t.TempDir(), false
	cfg.Resolver = &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		return nil, errors.New("no DNS in this test")
	}}
	st2, err := studio.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	if c := st2.Certificate(); c.Domain != "studio.example.com" || !strings.HasPrefix(st2.GuestURL(), "https://studio.example.com/join/") {
		t.Errorf("the studio's certificate %+v, guest link %s", c, st2.GuestURL())
	}

	s, _ = open(t, f, func(set *settings.Settings) { set.Network.Domain = "live.example.org" })
	if s.prefs.net.domain.Text != "live.example.org" {
		t.Errorf("the saved domain shows as %q", s.prefs.net.domain.Text)
	}
}

// TestMapPortsSetting: the checkbox shows and saves Network.MapPorts, and
// says when it applies.
func TestMapPortsSetting(t *testing.T) {
	f := newFake()
	s, st := open(t, f, nil)
	n := &s.prefs.net
	if !n.mapPorts.Checked || !st.Get().Network.MapPorts {
		t.Fatalf("a new user: checkbox %v, saved %v; want both on", n.mapPorts.Checked, st.Get().Network.MapPorts)
	}
	if !strings.Contains(settingsMarkup(s), "Ask my router to forward the studio's ports (UPnP / NAT-PMP)") {
		t.Error("the Settings tab has no port mapping checkbox")
	}
	test.Tap(n.mapPorts)
	s.settle()
	if st.Get().Network.MapPorts {
		t.Error("unticked, but MapPorts is still saved on")
	}
	if !n.note.Visible() || !strings.Contains(n.note.Text, "next start of Greenroom") {
		t.Errorf("note %q (visible %v)", n.note.Text, n.note.Visible())
	}

	s, st = open(t, f, func(set *settings.Settings) { set.Network.MapPorts = false })
	n = &s.prefs.net
	if n.mapPorts.Checked {
		t.Error("saved off, but the checkbox is ticked")
	}
	test.Tap(n.mapPorts)
	s.settle()
	if !st.Get().Network.MapPorts {
		t.Error("ticked, but MapPorts is saved off")
	}
}
