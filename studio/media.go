package studio

import (
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/pion/webrtc/v4"

	"greenroom/studio/signal"
)

// DefaultMediaTimeout is how long after answering a guest's offer the
// studio waits for its media before calling it failed (issue #16;
// Config.MediaTimeout). ICE on a LAN or through STUN connects in well
// under a second and a TURN relay in a few; a browser gives up on a path
// that never answers after 10 to 30 s, and the host should know before
// that. The page is not thrown out: a guest that connects late goes to
// MediaConnected all the same.
const DefaultMediaTimeout = 10 * time.Second

// updateMedia works out where the guest's media stands from the
// PeerConnection's state (read now: pion reports changes from goroutines
// that may overtake each other), whether a packet came, and whether
// Config.MediaTimeout passed; it tells the show and the page when that changed.
// Run owns it.
//
// Failed means ICE failed, or the PeerConnection is still not connected at
// the deadline. Connected means it is connected (ICE and DTLS: the guest's
// packets reached us over the path) and the first RTP packet came — or,
// for a guest that sends nothing (no camera and no mic), that the deadline
// passed with the path working.
func (g *guest) updateMedia() {
	if g.pc == nil {
		return
	}
	m, problem := g.media, g.mediaProblem
	switch st := g.pc.ConnectionState(); {
	case st == webrtc.PeerConnectionStateFailed:
		m, problem = MediaFailed, g.diagnose()
	case st == webrtc.PeerConnectionStateConnected && (g.gotMedia || g.late):
		m, problem = MediaConnected, ""
		g.wasConnected = true
	case st == webrtc.PeerConnectionStateConnected:
		// Connected, waiting for the first packet.
	case st == webrtc.PeerConnectionStateDisconnected && g.wasConnected:
		// The path broke; an ICE restart may get it back (or pion fails).
		m, problem = MediaReconnecting, ""
	case st == webrtc.PeerConnectionStateDisconnected:
		m, problem = MediaConnecting, ""
	case st == webrtc.PeerConnectionStateClosed:
		return // the session is ending
	case g.late && !g.wasConnected:
		m, problem = MediaFailed, g.diagnose()
	case g.wasConnected:
		// An ICE restart under way (issue #9): pion says failed if it
		// doesn't get through.
		m, problem = MediaReconnecting, ""
	}
	g.setMedia(m, problem)
}

// setMedia records m for the show and tells the page.
func (g *guest) setMedia(m Media, problem string) {
	if m == g.media && problem == g.mediaProblem {
		return
	}
	if m == MediaConnected && g.media == MediaReconnecting {
		// Back after the path broke (issue #9): what was lost meanwhile
		// is beyond NACK; whoever decodes the guest needs a keyframe.
		g.st.sfu.requestKeyframe(g.id)
	}
	g.log.Info("media", "state", m, "problem", problem)
	g.media, g.mediaProblem = m, problem
	if g.orphaned.Load() {
		return // the show says lost until the page is back (adopt)
	}
	g.st.show.setMedia(g.id, g, m, problem)
	g.send(signal.Message{Type: signal.TypeMedia, Media: string(m), Problem: problem})
}

// diagnose says why the guest's media doesn't connect, from what ICE saw:
// whether any of the guest's connectivity checks reached us.
func (g *guest) diagnose() string {
	reached := false
	for _, s := range g.pc.GetStats() {
		if p, ok := s.(webrtc.ICECandidatePairStats); ok && p.RequestsReceived > 0 {
			reached = true
		}
	}
	turn := false
	for _, s := range g.iceServers {
		for _, u := range s.URLs {
			turn = turn || strings.HasPrefix(u, "turn:") || strings.HasPrefix(u, "turns:")
		}
	}
	return mediaProblem(g.st.ICEAddr(), reached, turn)
}

// mediaProblem words the likely cause of a media connection that failed,
// and its fix, for the host and the guest. reached is whether any of the
// guest's ICE checks reached the studio's port: if none did, the port is
// unreachable from the guest's network (a firewall, a router without the
// port forwarded, a network that blocks UDP); if some did but the
// studio's replies never got back, the guest's network lets nothing in
// (a symmetric NAT or a strict firewall), which only a TURN relay gets
// through. turn is whether the guest was given a TURN server.
func mediaProblem(ice net.Addr, reached, turn bool) string {
	port := "the studio's UDP port"
	if a, ok := ice.(*net.UDPAddr); ok && a != nil {
		port = fmt.Sprintf("port %d/udp", a.Port)
	}
	switch {
	case !reached && !turn:
		return port + " isn't reachable from this network: open or forward it to the studio, or set up a TURN server"
	case !reached:
		return port + " isn't reachable from this network, nor the TURN server: open or forward the port, or check the TURN server's address and login"
	case !turn:
		return "this network lets packets out to the studio but none back in: it needs a TURN server"
	}
	return "this network lets packets out to the studio but none back in, and the TURN server didn't get through: check its address and login"
}
