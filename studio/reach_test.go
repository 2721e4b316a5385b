package studio_test

import (
	"strings"
	"testing"

	"github.com/pion/webrtc/v4"

	"greenroom/studio"
)

// Reach says how guests outside this network get in, from what the studio
// was told and what it learned; /api/state carries it. (The lab test in
// the repository's root proves the router case: UPnP against miniupnpd.)
func TestReach(t *testing.T) {
	stunSrv := startTURN(t, "nobody", "unused")
	for _, tc := range []struct {
		name    string
		mod     func(*studio.Config)
		via     studio.ReachVia
		problem string
	}{
		{"nothing", nil, studio.ReachLAN, "Forward TCP and UDP"},
		{"proxy", func(c *studio.Config) { c.PublicURL = "https://studio.example.com" }, studio.ReachProxy, ""},
		{"by hand", func(c *studio.Config) { c.NAT1To1IPs = []string{"203.0.113.7"} }, studio.ReachManual, ""},
		// A STUN server that sees the media port at one of this machine's
		// own addresses: no NAT in between.
		{"public", func(c *studio.Config) {
			c.ICEServers = []webrtc.ICEServer{{URLs: []string{"stun:" + stunSrv.addr}}}
		}, studio.ReachDirect, ""},
	} {
		s := newStudio(t, tc.mod)
		var r studio.Reach
		eventually(t, tc.name+": reach known", func() bool {
			r = *s.State().Reach
			return tc.via != studio.ReachDirect || r.Via == tc.via
		})
		if r.Via != tc.via || r.Pending || !strings.Contains(r.Problem, tc.problem) || (tc.problem == "" && r.Problem != "") {
			t.Errorf("%s: reach %+v, want via %s and a problem with %q", tc.name, r, tc.via, tc.problem)
		}
		if tc.via == studio.ReachManual && r.PublicIP != "203.0.113.7" {
			t.Errorf("%s: public IP %q", tc.name, r.PublicIP)
		}
		s.Close()
	}
}
