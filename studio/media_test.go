package studio_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"greenroom/studio"
	"greenroom/studio/signal"
	"greenroom/studio/studiotest"
)

// apiParticipant is participant id as GET /api/state has it, as JSON
// fields.
func apiParticipant(t *testing.T, s *studio.Studio, id string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+s.Addr().String()+"/api/state", nil)
	req.Header.Set("Authorization", "Bearer "+s.ControlToken().Reveal())
	resp, err := noKeepAlive.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var st struct{ Participants []map[string]any }
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatalf("state %s: %v", body, err)
	}
	for _, p := range st.Participants {
		if p["id"] == id {
			return p
		}
	}
	t.Fatalf("%s not in %s", id, body)
	return nil
}

// Issue #16: a guest whose media can't reach the studio (here: a client
// with no ICE candidates at all) is joined but not connected — "connecting"
// at once, then "failed" within Config.MediaTimeout of the studio's answer
// with the likely cause and fix, in the state, the events, and a "media"
// message to the page.
func TestMediaNeverConnects(t *testing.T) {
	checkLeaks(t)
	// Shorter than the 10 s default, which the test would only wait out.
	const wait = 3 * time.Second
	s := newStudio(t, func(c *studio.Config) { c.MediaTimeout = wait })
	events, cancel := s.Subscribe()
	defer cancel()
	start := time.Now()
	c := join(t, s, "Ann", studiotest.Options{VideoIVF: videoIVF, AudioOgg: audioOgg, Unreachable: true})

	if p := apiParticipant(t, s, c.ID); p["connected"] != false || p["media"] != "connecting" {
		t.Fatalf("just joined: connected %v media %v", p["connected"], p["media"])
	}
	eventually(t, "Ann's media to fail", func() bool { return find(s, c.ID).Media == studio.MediaFailed })
	if d := time.Since(start); d > wait+time.Second {
		t.Errorf("failed after %v, want about %v", d, wait)
	}
	port := fmt.Sprintf("port %d/udp isn't reachable", s.ICEAddr().(*net.UDPAddr).Port)
	p := apiParticipant(t, s, c.ID)
	if p["connected"] != false || p["media"] != "failed" || !strings.Contains(fmt.Sprint(p["mediaProblem"]), port) {
		t.Fatalf("failed: connected %v media %v problem %q, want one with %q", p["connected"], p["media"], p["mediaProblem"], port)
	}
	eventually(t, "the page to be told", func() bool {
		m, problem := c.Media()
		return m == signal.MediaFailed && strings.Contains(problem, port)
	})
	for ev := range events {
		if ev.Kind == studio.EventMedia && ev.Participant.ID == c.ID {
			if ev.Participant.Media != studio.MediaFailed || ev.Participant.Connected {
				t.Errorf("media event %+v", ev.Participant)
			}
			break
		}
	}
	if c.Bye() != "" {
		t.Errorf("the studio gave up on the guest: %q", c.Bye())
	}
}

// A guest is connected only once its packets come, not when ICE connects:
// a client that publishes a track but writes nothing yet stays
// "connecting" with its PeerConnection connected; its first packet makes
// it "connected".
func TestMediaConnectedOnFirstPacket(t *testing.T) {
	checkLeaks(t)
	s := newStudio(t, nil)
	c := join(t, s, "Ann", studiotest.Options{RTPVideo: true})
	eventually(t, "the client's PeerConnection to connect", func() bool {
		return c.ConnectionState() == webrtc.PeerConnectionStateConnected
	})
	time.Sleep(500 * time.Millisecond)
	if p := find(s, c.ID); p.Connected || p.Media != studio.MediaConnecting {
		t.Fatalf("connected before a packet: connected %v media %q", p.Connected, p.Media)
	}
	payload := []byte{0x10, 0x9d, 0x01, 0x2a} // VP8: start of a partition
	for seq := uint16(0); seq < 5; seq++ {
		if err := c.RTPVideo.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, Marker: true, SequenceNumber: seq, Timestamp: uint32(seq) * 3000}, Payload: payload}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "Ann to be connected", func() bool { return find(s, c.ID).Connected })
	if p := apiParticipant(t, s, c.ID); p["connected"] != true || p["media"] != "connected" || p["mediaProblem"] != nil {
		t.Errorf("state: connected %v media %v problem %v", p["connected"], p["media"], p["mediaProblem"])
	}
	eventually(t, "the page to be told", func() bool { m, _ := c.Media(); return m == signal.MediaConnected })
}
