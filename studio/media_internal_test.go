package studio

import (
	"net"
	"strings"
	"testing"
)

// The problem a failed guest is shown names the port and the fix that
// fits what ICE saw.
func TestMediaProblem(t *testing.T) {
	port := &net.UDPAddr{IP: net.IPv4zero, Port: 8443}
	for _, tc := range []struct {
		ice           net.Addr
		reached, turn bool
		want          []string
	}{
		{port, false, false, []string{"port 8443/udp isn't reachable", "open or forward it", "TURN server"}},
		{port, false, true, []string{"port 8443/udp isn't reachable", "check the TURN server"}},
		{port, true, false, []string{"none back in", "needs a TURN server"}},
		{port, true, true, []string{"none back in", "TURN server didn't get through"}},
		{nil, false, false, []string{"the studio's UDP port isn't reachable"}},
	} {
		got := mediaProblem(tc.ice, tc.reached, tc.turn)
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("reached %v turn %v: %q lacks %q", tc.reached, tc.turn, got, w)
			}
		}
	}
}
