// Package studiotest starts peers for the studio's tests: an in-process pion
// guest that joins through the real guest link (HTTP, WebSocket signaling,
// WebRTC on loopback), publishes VP8 and Opus from files and records what it
// receives. It depends only on the wire protocol (package signal), so any
// test can use it.
package studiotest

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	mathrand "math/rand/v2"
	"net"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/ivfreader"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"

	"greenroom/encode/clock"
	"greenroom/studio/signal"
)

// Options says what a Client publishes.
type Options struct {
	VideoIVF string // VP8 in IVF, looped; "" for no camera
	AudioOgg string // Opus in Ogg, looped; "" for no mic
	// ResumeID and ResumeKey take back the place of an earlier Client
	// (its ID and ResumeKey), as the guest page does after a blip.
	ResumeID, ResumeKey string
	// TCPOnly restricts ICE to TCP, like a guest behind a firewall that
	// drops UDP.
	TCPOnly bool
	// RTPVideo publishes a VP8 track the test writes RTP to itself
	// (Client.RTPVideo), instead of VideoIVF.
	RTPVideo bool
	// DropEvery, if > 0, loses every Nth video packet the client sends, on
	// the wire (below NACK): a lossy uplink.
	DropEvery int
	// ScreenIVF, if set, is shared as the client's screen (VP8 in IVF,
	// looped): a second video track, named in the offer's sources as the
	// guest page names its screen. StopScreen stops sharing it.
	ScreenIVF string
	// OnRTP, if set, sees every packet received, on the track's goroutine.
	OnRTP func(participant, kind string, pkt *rtp.Packet)
	// RelayOnly makes the client use the ICE servers the studio hands out
	// (signal "welcome") with the relay-only policy, like a browser told
	// iceTransportPolicy "relay": every packet goes through TURN.
	RelayOnly bool
	// Unreachable makes the client gather no ICE candidates at all, like
	// a guest on a network from which no packet reaches the studio's ICE
	// port (issue #16): signaling works, media never connects.
	Unreachable bool
	// AnyAddress offers every address of the host as a candidate, not
	// loopback alone: a client in a lab namespace (netlab), reaching the
	// studio over a link of its own.
	AnyAddress bool
	// Movable sends ICE through one UDP socket the test can break
	// (BreakPath) and bring back at a new address (MovePath), like a
	// guest whose Wi-Fi drops and who moves to a hotspot; as the guest
	// page does, the client asks the studio for an ICE restart when its
	// connection goes disconnected.
	Movable bool
	// Simulcast publishes the camera in layers, as the guest page does:
	// one encoding per entry (the first is the base), each its own VP8
	// file in IVF, looped, sent with its rid in the RTP header (the mid
	// and rid header extensions). Instead of VideoIVF.
	Simulcast []Layer
	// LoseEvery, if > 0, loses every video packet the client receives
	// whose sequence number is a multiple of it, retransmissions too
	// (below NACK, which can't repair them): a lossy downlink, seen by
	// the studio in the client's receiver reports.
	LoseEvery int
	// LoseReceived, if > 0, loses that many percent of the video packets
	// the client receives at random, retransmissions too, on its socket
	// (below SRTP and NACK, which can repair them): a lossy downlink, on
	// which the client NACKs what it lost, as a browser does. Repairs
	// says what its NACKs asked for and what came.
	LoseReceived int
	// LoseSentEvery, if > 0, loses every video packet the client sends
	// whose sequence number is a multiple of it, retransmissions too
	// (below NACK, which can't repair them): a loss on the uplink beyond
	// repair, as when a packet's retransmissions are lost as well.
	LoseSentEvery int
	// AskKeyframes, if > 0, makes the client ask for a keyframe (a PLI)
	// of a video it receives whose picture (as Pictures follows it) has
	// stood still this long with a frame waiting that can't be shown,
	// and again each time as long after, as a browser does when it can't
	// decode (Chromium after about 3 s). 0: never, as pion; PLIs counts
	// them.
	AskKeyframes time.Duration
	// REMB, if > 0, is the downlink the client tells the studio it has,
	// in bits per second: a REMB for each video it receives, every 500 ms.
	REMB uint64
	// Downlink, if set, caps what the client receives (Cap): a slow
	// downlink, seen by the studio in the client's transport-cc feedback.
	Downlink *Cap
	// NoTWCC makes the client negotiate no transport-cc: it sends the
	// studio no feedback to estimate its downlink from, as an older
	// browser, and gets every simulcast camera's top layer.
	NoTWCC bool
	// NoReceiverReports (with NoTWCC) makes the client send no receiver
	// reports either: no loss for the studio to estimate its downlink
	// from. A watcher that must get every top layer on a box so loaded
	// that loopback itself loses packets (its reports would rightly move
	// it down) needs this; a real receiver always reports.
	NoReceiverReports bool
	// VideoDelay and AudioDelay hold back every video (audio) packet the
	// client sends this long, on the wire (below the sender reports,
	// which keep saying when the media was captured): a path that
	// delays one of a guest's streams more than the other.
	VideoDelay, AudioDelay time.Duration
	// Jitter sends each packet its VideoDelay or AudioDelay plus or
	// minus up to this much later (uniformly at random, per packet; in
	// the order they are due, so packets reorder), and Loss loses that
	// many percent of them at random, on the wire (below NACK, which
	// can repair the video): a guest on a lossy, jittery path (issue
	// #10), in user space as the lab's relay (netlab.DelayPacketConn)
	// does it.
	Jitter time.Duration
	Loss   int
	// PathDelay holds back every packet the client sends over ICE (UDP:
	// STUN, DTLS, RTP and RTCP alike) this long, on its socket: a path
	// one way slower, so its round trip with the studio is that much
	// longer, as through the lab's delaying relay (netlab.DelayPacketConn).
	PathDelay time.Duration
	// TLS is how the client checks an https guest link's certificate
	// (its signaling is then wss): a studio's self-signed one needs
	// InsecureSkipVerify, as a real guest clicks through its warning.
	TLS *tls.Config
	// LateICE holds ICE back until the client has answered the
	// studio's first renegotiation: the studio's candidates (trickled or
	// in its answer) and the client's own, so the connection comes up
	// after that renegotiation, as it does behind a slow relay. pion's
	// receivers set up before their transport started are set up again
	// then (issue #12: a simulcast layer held twice). Without a
	// renegotiation the client never connects.
	LateICE bool
	// ClockRate, if > 0, is how fast the client's clock runs against the
	// studio's, as a guest's crystal that is off: 1.001 is 0.1 % fast.
	// Its media is played out on it (1.001 s of camera and mic each
	// second) and its sender reports read it (NTP and RTP times both
	// move 1.001 s a second), so the reports agree with the media and
	// only their pace against the studio's clock tells (issue #12 item
	// 5). 0: the machine's clock.
	ClockRate float64
}

// Layer is one simulcast encoding a Client sends.
type Layer struct {
	RID string
	IVF string // VP8 in IVF
}

// Received is one track a Client receives from the studio.
type Received struct {
	Participant string // the stream ID: the sender's participant ID
	Kind        string
	MimeType    string
	Packets     atomic.Int64
}

// Client is a pion guest. mu guards the fields below it; the WebSocket has
// its own write lock (gorilla allows one writer).
type Client struct {
	ID        string // participant ID from "welcome"
	ResumeKey string // from "welcome"
	// ICEServers are the STUN/TURN servers the studio gave in "welcome".
	ICEServers []webrtc.ICEServer
	// RTPVideo is the track Options.RTPVideo asked for.
	RTPVideo *webrtc.TrackLocalStaticRTP

	onRTP func(participant, kind string, pkt *rtp.Packet)
	remb  uint64
	rate  float64 // Options.ClockRate, 1 for the machine's
	// late holds the candidates Options.LateICE keeps back, ours
	// (toStudio) and the studio's (fromStudio), until lateDone; under mu.
	late                 bool
	toStudio, fromStudio []webrtc.ICECandidateInit
	// echoed counts receiver reports that echo our sender reports
	// (EchoedReports).
	echoed atomic.Int64
	// uplinkRTT is the round trip the last of those gives (RoundTrip),
	// in ns; 0 before one.
	uplinkRTT atomic.Int64
	// stopScreen ends the screen's player; nil without Options.ScreenIVF.
	stopScreen context.CancelFunc
	// repairs follows the client's NACKs; nil without
	// Options.LoseReceived.
	repairs *repairs
	// askKeyframes is Options.AskKeyframes; plis counts the PLIs it sent.
	askKeyframes time.Duration
	plis         atomic.Int64

	pc     *webrtc.PeerConnection
	path   *path // nil unless Options.Movable
	wsURL  string
	dialer *websocket.Dialer // with Options.TLS
	name   string
	// ws is the signaling socket (replaced by Resignal); wsMu guards it
	// and is the write lock. dropped is the one DropSignaling broke.
	ws      *websocket.Conn
	dropped *websocket.Conn
	wsMu    sync.Mutex
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	mu       sync.Mutex
	received map[string]*Received // by participant + "/" + kind
	roster   []signal.Member
	muted    bool // the studio said the host muted us
	music    bool // the studio said our sound is music ("music")
	offers   int  // offers the studio made
	errs     []string
	bye      string
	paused   []string       // the camera layers (rids) the studio said to stop sending ("layers")
	held     []string       // the camera layers the client stops of its own (HoldLayer)
	media    signal.Message // the studio's last "media"
	take     string         // the local recording take of the studio's last "record"
	takeAt   time.Time      // when that "record" came
	health   signal.Message // the studio's last "health"
	closed   bool
	// The REMBs the studio sent about what the client sends: how many
	// (one per stream they name), the last and the highest, in bits per
	// second.
	rembs              int
	rembLast, rembMost float64
}

// Join connects to guestURL (http://host:port/join/<token>) as name.
func Join(ctx context.Context, guestURL, name string, opt Options) (*Client, error) {
	u, err := url.Parse(guestURL)
	if err != nil {
		return nil, err
	}
	u.Scheme = strings.Replace(u.Scheme, "http", "ws", 1)
	u.Path += "/ws"
	dialer := *websocket.DefaultDialer
	dialer.TLSClientConfig = opt.TLS
	ws, _, err := dialer.DialContext(ctx, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("studiotest: dial: %w", err)
	}
	c := &Client{ws: ws, wsURL: u.String(), dialer: &dialer, name: name, received: make(map[string]*Received), onRTP: opt.OnRTP, remb: opt.REMB, late: opt.LateICE, rate: 1,
		askKeyframes: opt.AskKeyframes}
	if opt.ClockRate > 0 {
		c.rate = opt.ClockRate
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	fail := func(err error) (*Client, error) {
		c.Close()
		return nil, err
	}
	if err := c.write(signal.Message{Type: signal.TypeJoin, Name: name, ID: opt.ResumeID, Resume: opt.ResumeKey}); err != nil {
		return fail(err)
	}
	var welcome signal.Message
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	if err := ws.ReadJSON(&welcome); err != nil {
		return fail(fmt.Errorf("studiotest: no welcome: %w", err)) // a *websocket.CloseError if the studio refused
	}
	if welcome.Type != signal.TypeWelcome {
		return fail(fmt.Errorf("studiotest: no welcome: %+v", welcome))
	}
	_ = ws.SetReadDeadline(time.Time{})
	c.ID, c.ResumeKey, c.ICEServers = welcome.ID, welcome.Resume, welcome.ICEServers

	var came func(uint32, uint16)
	if opt.LoseReceived > 0 {
		c.repairs = &repairs{asked: map[streamSeq]asked{}}
		came = c.repairs.reached
	}
	if opt.Movable || opt.PathDelay > 0 || opt.LoseReceived > 0 {
		if c.path, err = newPath(opt.PathDelay, opt.LoseReceived, came); err != nil {
			return fail(err)
		}
	}
	var mux ice.UDPMux
	if c.path != nil {
		mux = c.path
	}
	if c.pc, err = newPeerConnection(opt, welcome.ICEServers, mux, c.repairs); err != nil {
		return fail(err)
	}
	if opt.Movable {
		c.pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
			if st == webrtc.PeerConnectionStateDisconnected {
				_ = c.RequestICERestart()
			}
		})
	}
	c.pc.OnICECandidate(func(cand *webrtc.ICECandidate) {
		if cand != nil {
			init := cand.ToJSON()
			c.mu.Lock()
			late := c.late
			if late {
				c.toStudio = append(c.toStudio, init)
			}
			c.mu.Unlock()
			if !late {
				_ = c.write(signal.Message{Type: signal.TypeCandidate, Candidate: &init})
			}
		}
	})
	c.pc.OnTrack(c.onTrack)
	if opt.VideoIVF != "" {
		if err := c.publish(opt.VideoIVF, webrtc.MimeTypeVP8, "video"); err != nil {
			return fail(err)
		}
	}
	if len(opt.Simulcast) > 0 {
		if err := c.publishSimulcast(opt.Simulcast); err != nil {
			return fail(err)
		}
	}
	if opt.RTPVideo {
		if c.RTPVideo, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "video", "self"); err != nil {
			return fail(err)
		}
		if err := c.addTrack(c.RTPVideo); err != nil {
			return fail(err)
		}
	}
	if opt.AudioOgg != "" {
		if err := c.publish(opt.AudioOgg, webrtc.MimeTypeOpus, "audio"); err != nil {
			return fail(err)
		}
	}
	var screen *webrtc.RTPTransceiver
	if opt.ScreenIVF != "" {
		if screen, err = c.shareScreen(opt.ScreenIVF); err != nil {
			return fail(err)
		}
	}
	if opt.VideoIVF == "" && opt.AudioOgg == "" && !opt.RTPVideo && len(opt.Simulcast) == 0 {
		// Like the guest page: always offer something to receive on.
		if _, err := c.pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			return fail(err)
		}
	}
	offer, err := c.pc.CreateOffer(nil)
	if err == nil {
		err = c.pc.SetLocalDescription(offer)
	}
	if err == nil {
		m := signal.Message{Type: signal.TypeOffer, SDP: offer.SDP}
		if screen != nil {
			m.Sources = map[string]string{screen.Mid(): signal.SourceScreen}
		}
		err = c.write(m)
	}
	if err == nil && screen != nil {
		err = c.write(signal.Message{Type: signal.TypeShare, Sharing: true})
	}
	if err != nil {
		return fail(err)
	}
	c.wg.Add(1)
	go c.readLoop(ws)
	return c, nil
}

// holdCandidates takes the candidates out of the studio's answer sdp
// while Options.LateICE holds them back.
func (c *Client) holdCandidates(sdp string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.late {
		return sdp
	}
	lines := strings.Split(sdp, "\r\n")
	mid := "0"
	for _, line := range lines {
		if m, ok := strings.CutPrefix(line, "a=mid:"); ok {
			mid = m // bundled: every candidate is the first section's
			break
		}
	}
	var kept []string
	for _, line := range lines {
		if cand, ok := strings.CutPrefix(line, "a=candidate:"); ok {
			c.fromStudio = append(c.fromStudio, webrtc.ICECandidateInit{Candidate: "candidate:" + cand, SDPMid: &mid})
			continue
		}
		kept = append(kept, line)
	}
	return strings.Join(kept, "\r\n")
}

// releaseCandidates lets ICE start, once, after the first renegotiation
// Options.LateICE waits for.
func (c *Client) releaseCandidates() error {
	c.mu.Lock()
	late, to, from := c.late, c.toStudio, c.fromStudio
	c.late, c.toStudio, c.fromStudio = false, nil, nil
	c.mu.Unlock()
	if !late {
		return nil
	}
	for _, cand := range from {
		if err := c.pc.AddICECandidate(cand); err != nil {
			return fmt.Errorf("studiotest: the studio's candidate held back: %w", err)
		}
	}
	for _, cand := range to {
		if err := c.write(signal.Message{Type: signal.TypeCandidate, Candidate: &cand}); err != nil {
			return err
		}
	}
	return nil
}

// newPeerConnection makes the client's PeerConnection; rep, if not nil,
// follows its NACKs (Options.LoseReceived).
func newPeerConnection(opt Options, iceServers []webrtc.ICEServer, mux ice.UDPMux, rep *repairs) (*webrtc.PeerConnection, error) {
	tcpOnly := opt.TCPOnly
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		return nil, err
	}
	reg := &interceptor.Registry{}
	if rep != nil {
		// First of all, nearest the network: it sees each packet before
		// the NACK generator does, and each NACK the generator writes.
		reg.Add(repairsFactory{rep})
	}
	if opt.Downlink != nil {
		// Nearest the network: the TWCC feedback generator above it
		// notes each packet's arrival when it leaves the bottleneck.
		reg.Add(opt.Downlink)
	}
	if opt.DropEvery > 0 || opt.LoseEvery > 0 || opt.LoseSentEvery > 0 {
		// First in the chain is nearest the network: the NACK responder
		// above it has cached what it drops, as with real loss.
		reg.Add(dropperFactory{every: opt.DropEvery, lose: opt.LoseEvery, loseSent: opt.LoseSentEvery})
	}
	if opt.VideoDelay > 0 || opt.AudioDelay > 0 || opt.Jitter > 0 || opt.Loss > 0 {
		reg.Add(delayerFactory{video: opt.VideoDelay, audio: opt.AudioDelay, jitter: opt.Jitter, loss: opt.Loss})
	}
	var reports []report.SenderOption
	if opt.ClockRate > 0 {
		reports = append(reports, report.SenderNow(clockAt(opt.ClockRate)))
	}
	if opt.NoTWCC {
		// RegisterDefaultInterceptors without ConfigureTWCCSender.
		if err := webrtc.ConfigureNack(m, reg); err != nil {
			return nil, err
		}
		if opt.NoReceiverReports {
			sender, err := report.NewSenderInterceptor(reports...)
			if err != nil {
				return nil, err
			}
			reg.Add(sender)
		} else if err := webrtc.ConfigureRTCPReportsWithOptions(reg, nil, reports...); err != nil {
			return nil, err
		}
	} else if err := webrtc.RegisterDefaultInterceptorsWithOptions(m, reg, webrtc.WithReportSenderOptions(reports...)); err != nil {
		return nil, err
	}
	if len(opt.Simulcast) > 0 {
		if err := webrtc.ConfigureSimulcastExtensionHeaders(m); err != nil {
			return nil, err
		}
	}
	se := webrtc.SettingEngine{}
	// As a browser's (libwebrtc's SRTP session takes 1024 packets
	// back), not pion's 64: a retransmission that comes more than 64
	// packets behind the newest (after a burst of loss, or late) was
	// refused as a replay, every time it was asked for again, and the
	// picture stood still until the next keyframe (18 of a burst of 80
	// never came, TestReceiverBurstIsRepaired). Set before the
	// Downlink's below: setting a window turns the protection back on.
	se.SetSRTPReplayProtectionWindow(1024)
	if opt.Downlink != nil {
		// The Cap drops packets after SRTP has seen them, so SRTP would
		// refuse their retransmissions as replays; the NACK generator
		// would ask for them again and again, and each retransmission
		// would reach the TWCC feedback as lost. On a real link the
		// packet never arrived and its retransmission is welcome.
		se.DisableSRTPReplayProtection(true)
	}
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	if tcpOnly {
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeTCP4})
	} else {
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	}
	se.SetIPFilter(func(ip net.IP) bool { return (ip.IsLoopback() || opt.AnyAddress) && !opt.Unreachable })
	if mux != nil {
		se.SetICEUDPMux(mux)
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se))
	cfg := webrtc.Configuration{}
	if opt.RelayOnly {
		cfg.ICEServers, cfg.ICETransportPolicy = iceServers, webrtc.ICETransportPolicyRelay
	}
	return api.NewPeerConnection(cfg)
}

// clockAt is a clock that runs rate times as fast as the machine's from
// now on (Options.ClockRate): what the sender reports read.
func clockAt(rate float64) func() time.Time {
	start := time.Now()
	return func() time.Time { return start.Add(time.Duration(float64(time.Since(start)) * rate)) }
}

// LocalCandidateType is the type of the local ICE candidate of the pair in
// use ("host", "prflx", "relay", …), or "" before one is chosen.
func (c *Client) LocalCandidateType() string {
	for _, s := range c.pc.GetStats() {
		p, ok := s.(webrtc.ICECandidatePairStats)
		if !ok || !p.Nominated || p.State != webrtc.StatsICECandidatePairStateSucceeded {
			continue
		}
		if l, ok := c.pc.GetStats()[p.LocalCandidateID].(webrtc.ICECandidateStats); ok {
			return l.CandidateType.String()
		}
	}
	return ""
}

func (c *Client) write(m signal.Message) error {
	c.wsMu.Lock()
	defer c.wsMu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return c.ws.WriteJSON(m)
}

// WriteRaw sends bytes as one text message, for malformed-message tests.
func (c *Client) WriteRaw(b []byte) error {
	c.wsMu.Lock()
	defer c.wsMu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return c.ws.WriteMessage(websocket.TextMessage, b)
}

func (c *Client) readLoop(ws *websocket.Conn) {
	defer c.wg.Done()
	for {
		var m signal.Message
		if err := ws.ReadJSON(&m); err != nil {
			c.wsMu.Lock()
			dropped := ws == c.dropped
			c.wsMu.Unlock()
			c.mu.Lock()
			if c.bye == "" && !dropped {
				c.bye = "read: " + err.Error()
			}
			c.mu.Unlock()
			return
		}
		var err error
		switch m.Type {
		case signal.TypeAnswer:
			err = c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: c.holdCandidates(m.SDP)})
			c.noteVideoTypes()
		case signal.TypeOffer:
			c.mu.Lock()
			c.offers++
			c.mu.Unlock()
			offer, idle := keepIdleReceivers(m.SDP)
			c.awaitICEStart()
			ours, theirs := c.ufrags()
			err = c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer})
			c.noteVideoTypes()
			var answer webrtc.SessionDescription
			if err == nil {
				answer, err = c.pc.CreateAnswer(nil)
			}
			if err == nil {
				err = c.pc.SetLocalDescription(answer)
			}
			if err == nil && iceUfrag(answer.SDP) != ours && iceUfrag(offer) == theirs {
				err = errors.New("ICE restarted though the studio's offer kept its credentials")
			}
			if err == nil {
				err = c.write(signal.Message{Type: signal.TypeAnswer, SDP: setDirection(answer.SDP, idle, "inactive")})
			}
			if err == nil {
				err = c.releaseCandidates()
			}
		case signal.TypeCandidate:
			c.mu.Lock()
			late := c.late
			if late {
				c.fromStudio = append(c.fromStudio, *m.Candidate)
			}
			c.mu.Unlock()
			if !late {
				err = c.pc.AddICECandidate(*m.Candidate)
			}
		case signal.TypeRoster:
			c.mu.Lock()
			c.roster = m.Roster
			c.mu.Unlock()
		case signal.TypeMuted:
			c.mu.Lock()
			c.muted = m.Muted
			c.mu.Unlock()
		case signal.TypeMusic:
			c.mu.Lock()
			c.music = m.Music
			c.mu.Unlock()
		case signal.TypeMedia:
			c.mu.Lock()
			c.media = m
			c.mu.Unlock()
		case signal.TypeRecord:
			c.mu.Lock()
			c.take, c.takeAt = m.Take, time.Now()
			c.mu.Unlock()
		case signal.TypeHealth:
			c.mu.Lock()
			c.health = m
			c.mu.Unlock()
		case signal.TypeLayers:
			c.mu.Lock()
			c.paused = m.Paused
			c.mu.Unlock()
		case signal.TypeError:
			c.mu.Lock()
			c.errs = append(c.errs, m.Error)
			c.mu.Unlock()
		case signal.TypeBye:
			c.mu.Lock()
			c.bye = m.Reason
			c.mu.Unlock()
		}
		if err != nil {
			c.mu.Lock()
			c.errs = append(c.errs, "client: "+m.Type+": "+err.Error())
			c.mu.Unlock()
		}
	}
}

// noteVideoTypes tells the client's path which payload types the studio's
// last description gives video: those Options.LoseReceived loses.
func (c *Client) noteVideoTypes() {
	d := c.pc.RemoteDescription()
	if c.path == nil || d == nil {
		return
	}
	// Parsed here, not by d.Unmarshal: that caches the parse in pion's
	// own description, which pion's operations read meanwhile (a data
	// race -race found).
	var parsed sdp.SessionDescription
	if err := parsed.UnmarshalString(d.SDP); err != nil {
		return
	}
	types := map[uint8]bool{}
	for _, m := range parsed.MediaDescriptions {
		if m.MediaName.Media != "video" {
			continue
		}
		for _, f := range m.MediaName.Formats {
			if pt, err := strconv.ParseUint(f, 10, 7); err == nil {
				types[uint8(pt)] = true
			}
		}
	}
	c.path.setVideo(types)
}

func (c *Client) onTrack(t *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	r := &Received{Participant: t.StreamID(), Kind: t.Kind().String(), MimeType: t.Codec().MimeType}
	c.mu.Lock()
	if old := c.received[r.Participant+"/"+r.Kind]; old != nil {
		r = old // a re-added track keeps counting
	} else {
		c.received[r.Participant+"/"+r.Kind] = r
	}
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.wg.Add(2)
	c.mu.Unlock()
	defer c.wg.Done()
	// Read what the studio reports on the track, as a browser does: the
	// reading runs pion's receiver-report interceptor on its sender
	// reports, so our receiver reports echo them (LSR, DLSR), which the
	// studio measures our round trip by. Without it they said LSR 0.
	go func() {
		defer c.wg.Done()
		for {
			if _, _, err := recv.ReadRTCP(); err != nil {
				return
			}
		}
	}()
	if c.remb > 0 && r.Kind == "video" {
		stop := make(chan struct{})
		defer close(stop)
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			tick := time.NewTicker(500 * time.Millisecond)
			defer tick.Stop()
			for {
				remb := &rtcp.ReceiverEstimatedMaximumBitrate{Bitrate: float32(c.remb), SSRCs: []uint32{uint32(t.SSRC())}}
				_ = c.pc.WriteRTCP([]rtcp.Packet{remb})
				select {
				case <-stop:
					return
				case <-tick.C:
				}
			}
		}()
	}
	var pics *Pictures // Options.AskKeyframes's view of the video
	var asked time.Time
	if c.askKeyframes > 0 && r.Kind == "video" {
		pics = &Pictures{}
	}
	for {
		pkt, _, err := t.ReadRTP()
		if err != nil {
			return
		}
		r.Packets.Add(1)
		if c.onRTP != nil {
			c.onRTP(r.Participant, r.Kind, pkt)
		}
		if pics == nil {
			continue
		}
		pics.See(pkt)
		if now := time.Now(); pics.stuck(now) >= c.askKeyframes && now.Sub(asked) >= c.askKeyframes {
			asked = now
			c.plis.Add(1)
			_ = c.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(t.SSRC())}})
		}
	}
}

// PLIs is how many keyframes the client asked for (Options.AskKeyframes).
func (c *Client) PLIs() int64 { return c.plis.Load() }

// Received returns the track from participant of kind ("audio", "video"),
// or nil.
func (c *Client) Received(participant, kind string) *Received {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.received[participant+"/"+kind]
}

// Packets is how many RTP packets arrived from participant's kind track.
func (c *Client) Packets(participant, kind string) int64 {
	if r := c.Received(participant, kind); r != nil {
		return r.Packets.Load()
	}
	return 0
}

// Transceivers is how many transceivers the client's PeerConnection has:
// its own plus one per track the studio ever made room for.
func (c *Client) Transceivers() int { return len(c.pc.GetTransceivers()) }

// MediaSections is how many m-lines the studio's last description has
// (audio and video; 0 before the first).
func (c *Client) MediaSections() int {
	d := c.pc.RemoteDescription()
	if d == nil {
		return 0
	}
	return strings.Count(d.SDP, "\nm=audio ") + strings.Count(d.SDP, "\nm=video ")
}

// Roster is the last roster the studio sent.
func (c *Client) Roster() []signal.Member {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.roster
}

// Take is the local recording take the studio last told the client to
// record ("record"; "" once it said to stop, or before it said anything),
// and when that message came (zero before any).
func (c *Client) Take() (take string, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.take, c.takeAt
}

// HostMuted is whether the studio last said the host muted us ("muted").
func (c *Client) HostMuted() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.muted
}

// Music is whether the studio last said our sound is music ("music": the
// host switched the guest's music mode), and Offers how many offers it
// has made.
func (c *Client) Music() (on bool, offers int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.music, c.offers
}

// SetMusic says the guest switched music mode on its page.
func (c *Client) SetMusic(on bool) error {
	return c.write(signal.Message{Type: signal.TypeMusic, Music: on})
}

// View says how big the guest's page draws each other participant
// ("view": [width, height] in device pixels by stream ID), as the guest
// page does when its tiles change: the studio sends the smallest layer
// of each that fills its tile.
func (c *Client) View(sizes map[string][2]int) error {
	return c.write(signal.Message{Type: signal.TypeView, Sizes: sizes})
}

// Media is what the studio last said of the client's media connection
// ("media": connecting, connected or failed) and the problem it gave.
func (c *Client) Media() (media, problem string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.media.Media, c.media.Problem
}

// Health is what the studio last said of the client's connection
// ("health": green, amber or red) and why; "" before it said anything.
func (c *Client) Health() (level, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.health.Level, c.health.Reason
}

// ConnectionState is the client's PeerConnection's state.
func (c *Client) ConnectionState() webrtc.PeerConnectionState { return c.pc.ConnectionState() }

// EchoedReports is how many of the studio's receiver reports, about what
// the client sends (its files' tracks and simulcast layers), echoed its
// last sender report (LSR): what a browser measures the round trip of its
// uplink from, and times its retransmissions by.
func (c *Client) EchoedReports() int64 { return c.echoed.Load() }

// RoundTrip is the round trip of what the client sends as the studio's
// last receiver report that echoed a sender report of ours gives it (RFC
// 3550 6.4.1: its arrival − LSR − DLSR), as a browser reckons it; 0
// before one, and with Options.ClockRate (our reports' clock is not the
// machine's).
func (c *Client) RoundTrip() time.Duration { return time.Duration(c.uplinkRTT.Load()) }

// noteReports counts the receiver reports among pkts, which came at now,
// that echo a sender report of ours, and notes the round trip they give.
func (c *Client) noteReports(pkts []rtcp.Packet, now time.Time) {
	for _, p := range pkts {
		if rr, ok := p.(*rtcp.ReceiverReport); ok {
			for _, r := range rr.Reports {
				if r.LastSenderReport == 0 {
					continue
				}
				c.echoed.Add(1)
				if rtt, ok := clock.ReportRoundTrip(r.LastSenderReport, r.Delay, now); ok && c.rate == 1 {
					c.uplinkRTT.Store(int64(rtt))
				}
			}
		}
	}
}

// BreakPath loses every ICE packet from now on, both ways (Options.Movable).
func (c *Client) BreakPath() { c.path.cut() }

// MovePath brings the path back at a new address (Options.Movable). The
// guest page then asks for an ICE restart (RequestICERestart), or, if its
// signaling socket broke too, comes back over another (Resignal).
func (c *Client) MovePath() error { return c.path.move() }

// RebindPath makes the client's ICE packets leave from a new port from now
// on, as when the guest's router maps it anew (issue #9, lab case d; its
// socket, candidate and ICE session stay), and returns that port's
// address; what the studio sends to the old one is lost
// (Options.Movable).
func (c *Client) RebindPath() (netip.AddrPort, error) {
	a, err := c.path.rebind()
	if err != nil {
		return netip.AddrPort{}, err
	}
	return a.(*net.UDPAddr).AddrPort(), nil
}

// PathAddr is where the client's ICE packets leave from now
// (Options.Movable).
func (c *Client) PathAddr() netip.AddrPort {
	return c.path.addr().(*net.UDPAddr).AddrPort()
}

// SetPathDelay holds back every packet the client sends over ICE from now
// on by d instead of Options.PathDelay (which must be set).
func (c *Client) SetPathDelay(d time.Duration) { c.path.setDelay(d) }

// DropSignaling breaks the signaling socket without a word, as a network
// that went away does; the PeerConnection stays.
func (c *Client) DropSignaling() {
	c.wsMu.Lock()
	defer c.wsMu.Unlock()
	c.dropped = c.ws
	_ = c.ws.NetConn().Close()
}

// Resignal opens a new signaling socket and resumes the session over it,
// keeping the PeerConnection (join with keep), as the guest page does when
// its socket broke while its media flowed. kept is whether the studio
// carried the session on; if not, the client is of no further use (the
// page would start afresh).
func (c *Client) Resignal(ctx context.Context) (kept bool, err error) {
	ws, _, err := c.dialer.DialContext(ctx, c.wsURL, nil)
	if err != nil {
		return false, fmt.Errorf("studiotest: dial: %w", err)
	}
	_ = ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	var welcome signal.Message
	err = ws.WriteJSON(signal.Message{Type: signal.TypeJoin, Name: c.name, ID: c.ID, Resume: c.ResumeKey, Keep: true})
	if err == nil {
		_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		err = ws.ReadJSON(&welcome)
	}
	if err != nil || welcome.Type != signal.TypeWelcome {
		ws.Close()
		return false, fmt.Errorf("studiotest: no welcome: %+v %v", welcome, err)
	}
	_ = ws.SetReadDeadline(time.Time{})
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		ws.Close()
		return false, errors.New("studiotest: closed")
	}
	c.wsMu.Lock()
	c.ws = ws
	c.wsMu.Unlock()
	c.wg.Add(1)
	go c.readLoop(ws)
	return welcome.Keep, nil
}

// RemoteSDP is the studio's last description ("" before one).
func (c *Client) RemoteSDP() string {
	if d := c.pc.RemoteDescription(); d != nil {
		return d.SDP
	}
	return ""
}

// RequestICERestart asks the studio for an ICE restart ("restart").
func (c *Client) RequestICERestart() error { return c.write(signal.Message{Type: signal.TypeRestart}) }

// RemoteICEUfrag is the ICE username fragment of the studio's last
// description: a new one after each ICE restart.
func (c *Client) RemoteICEUfrag() string {
	_, theirs := c.ufrags()
	return theirs
}

// ufrags are the ICE username fragments of the client's last description
// and of the studio's ("" before one).
func (c *Client) ufrags() (ours, theirs string) {
	if d := c.pc.LocalDescription(); d != nil {
		ours = iceUfrag(d.SDP)
	}
	if d := c.pc.RemoteDescription(); d != nil {
		theirs = iceUfrag(d.SDP)
	}
	return ours, theirs
}

// iceUfrag is the first ICE username fragment in sdp ("" for none).
func iceUfrag(sdp string) string {
	_, rest, _ := strings.Cut(sdp, "a=ice-ufrag:")
	ufrag, _, _ := strings.Cut(rest, "\r")
	return ufrag
}

// awaitICEStart waits (at most iceStartWait) until the ICE transport has
// started, which pion does in the background after the first remote
// description (the studio's answer). An offer applied before that finds
// the transport with no remote credentials yet, takes them for changed
// and restarts ICE with new credentials of its own (pion/webrtc v4.2.26,
// SetRemoteDescription's haveRemoteCredentialsChange); if the studio's
// own transport started after it took our answer, it then checks the
// credentials of our offer and drops every check we send, and the guest
// never connects: TestSceneReachesThePipeline's "timed out waiting for
// Zoë's name tag" under -race on a loaded box. The studio offers the
// stage's tracks right after its answer, so the two arrive together. A
// browser applies descriptions in order and restarts only when asked.
func (c *Client) awaitICEStart() {
	deadline := time.Now().Add(iceStartWait)
	for c.pc.ICEConnectionState() == webrtc.ICEConnectionStateNew && time.Now().Before(deadline) && c.ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond)
	}
}

// iceStartWait bounds awaitICEStart: pion starts the transport within
// milliseconds, a loaded box's scheduler permitting.
const iceStartWait = 5 * time.Second

// Errors are the error messages the studio sent, and the client's own
// negotiation errors.
func (c *Client) Errors() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.errs...)
}

// Bye is the reason the studio gave for ending the session ("" while it
// goes on).
func (c *Client) Bye() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bye
}

// Leave says goodbye properly and closes.
func (c *Client) Leave() {
	_ = c.write(signal.Message{Type: signal.TypeLeave})
	c.Close()
}

// Vanish drops the connections without a word, like a guest whose laptop
// died.
func (c *Client) Vanish() { c.Close() }

// Close stops publishing, closes the connections and waits for the
// client's goroutines. Safe to call twice.
func (c *Client) Close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.cancel()
	c.wsMu.Lock()
	_ = c.ws.NetConn().Close()
	c.wsMu.Unlock()
	if c.pc != nil {
		_ = c.pc.Close()
	}
	if c.path != nil {
		_ = c.path.Close()
	}
	c.wg.Wait()
}

// frameReader returns the next media frame and its duration; io.EOF at the
// end of the file.
type frameReader func() ([]byte, time.Duration, error)

func (c *Client) publish(path, mime, kind string) error {
	track, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: mime}, kind, "self")
	if err != nil {
		return err
	}
	keyframe, err := c.addTrackAnswering(track)
	if err != nil {
		return err
	}
	play, err := playerWith(track, path, keyframe, c.rate)
	if err != nil {
		return err
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		play(c.ctx)
	}()
	return nil
}

// shareScreen publishes path as the client's screen.
func (c *Client) shareScreen(path string) (*webrtc.RTPTransceiver, error) {
	track, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "screen", "self-screen")
	if err != nil {
		return nil, err
	}
	keyframe, err := c.addTrackAnswering(track)
	if err != nil {
		return nil, err
	}
	play, err := playerWith(track, path, keyframe, c.rate)
	if err != nil {
		return nil, err
	}
	var screen *webrtc.RTPTransceiver
	for _, tr := range c.pc.GetTransceivers() {
		if tr.Sender() != nil && tr.Sender().Track() == track {
			screen = tr
		}
	}
	ctx, stop := context.WithCancel(c.ctx)
	c.stopScreen = stop
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		play(ctx)
	}()
	return screen, nil
}

// StopScreen stops sharing the screen, as the guest page does when the
// browser's "Stop sharing" is pressed: no more packets, and "share" with
// sharing false.
func (c *Client) StopScreen() error {
	if c.stopScreen == nil {
		return errors.New("studiotest: no screen shared")
	}
	c.stopScreen()
	return c.write(signal.Message{Type: signal.TypeShare, Sharing: false})
}

// publishSimulcast sends the camera in layers (Options.Simulcast): one
// transceiver, one encoding per layer, each played from its file and
// packetized here, so that each packet carries the mid and rid header
// extensions the studio tells the layers apart by (pion's sender does not
// add them).
func (c *Client) publishSimulcast(layers []Layer) error {
	var tracks []*webrtc.TrackLocalStaticRTP
	for _, l := range layers {
		track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "video", "self", webrtc.WithRTPStreamID(l.RID))
		if err != nil {
			return err
		}
		tracks = append(tracks, track)
	}
	tr, err := c.pc.AddTransceiverFromTrack(tracks[0], webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		return err
	}
	sender := tr.Sender()
	for _, track := range tracks[1:] {
		if err := sender.AddEncoding(track); err != nil {
			return err
		}
	}
	for i, l := range layers {
		// Each layer answers a keyframe request for it by starting its
		// file over, as a browser's encoder sends a keyframe of that
		// layer: the studio moves a receiver onto a layer at its
		// keyframe, which it asks for.
		rid := l.RID
		keyframe := c.keyframeRequests(func() ([]rtcp.Packet, error) {
			pkts, _, err := sender.ReadSimulcastRTCP(rid)
			return pkts, err
		})
		play, err := playFile(l.IVF, keyframe, c.rate)
		if err != nil {
			return err
		}
		track := tracks[i]
		payloader := rtp.NewPacketizer(1200, 96, 0, &codecs.VP8Payloader{EnablePictureID: true}, rtp.NewRandomSequencer(), 90000)
		var midID, ridID uint8
		write := func(frame []byte, d time.Duration) {
			if c.layerPaused(l.RID) {
				// As a browser's encoding set inactive: nothing sent, its
				// sequence numbers go on where they stopped, its
				// timestamps with the clock.
				payloader.SkipSamples(uint32(d.Seconds() * 90000))
				return
			}
			if midID == 0 || ridID == 0 {
				for _, ext := range sender.GetParameters().HeaderExtensions {
					switch ext.URI {
					case sdp.SDESMidURI:
						midID = uint8(ext.ID)
					case sdp.SDESRTPStreamIDURI:
						ridID = uint8(ext.ID)
					}
				}
			}
			for _, pkt := range payloader.Packetize(frame, uint32(d.Seconds()*90000)) {
				if midID != 0 && ridID != 0 && tr.Mid() != "" {
					_ = pkt.Header.SetExtension(midID, []byte(tr.Mid()))
					_ = pkt.Header.SetExtension(ridID, []byte(l.RID))
				}
				_ = track.WriteRTP(pkt)
			}
		}
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			play(c.ctx, write)
		}()
	}
	return nil
}

// layerPaused says whether the studio told the client to stop sending
// layer rid (signal "layers": nobody gets it), or it holds it itself
// (HoldLayer).
func (c *Client) layerPaused(rid string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Contains(c.paused, rid) || slices.Contains(c.held, rid)
}

// HoldLayer stops (held) or restarts sending simulcast layer rid, as a
// browser pauses a layer of its own when its uplink estimate or its CPU
// falls short (Chromium does so every few seconds on a lossy uplink).
func (c *Client) HoldLayer(rid string, held bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.held = slices.DeleteFunc(c.held, func(r string) bool { return r == rid })
	if held {
		c.held = append(c.held, rid)
	}
}

// Player returns a function that writes the media file at path (VP8 in
// .ivf, Opus in .ogg) to track in real time, looping, until ctx ends.
func Player(track *webrtc.TrackLocalStaticSample, path string) (play func(ctx context.Context), err error) {
	return playerWith(track, path, nil, 1)
}

// playerWith is Player that goes on from the file's next keyframe (its
// start, for a file with one) when restart says so: a VP8 file's answer
// to a keyframe request, as a browser's encoder answers one. A file of
// keyframes only plays on undisturbed, in step with its sound. It plays
// rate seconds of the file a second (Options.ClockRate).
func playerWith(track *webrtc.TrackLocalStaticSample, path string, restart <-chan struct{}, rate float64) (play func(ctx context.Context), err error) {
	p, err := playFile(path, restart, rate)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) {
		p(ctx, func(frame []byte, d time.Duration) { _ = track.WriteSample(media.Sample{Data: frame, Duration: d}) })
	}, nil
}

// playFile returns a function that hands each frame of the media file at
// path (VP8 in .ivf, Opus in .ogg) to write in real time (rate seconds of
// it a second: 1 for real time), looping, until ctx ends.
func playFile(path string, restart <-chan struct{}, rate float64) (play func(ctx context.Context, write func(frame []byte, d time.Duration)), err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("studiotest: %w", err)
	}
	open := readIVF
	if strings.HasSuffix(path, ".ogg") {
		open = readOgg
	}
	if _, err := open(data); err != nil {
		return nil, fmt.Errorf("studiotest: %s: %w", path, err)
	}
	return func(ctx context.Context, write func([]byte, time.Duration)) {
		next, _ := open(data)
		// Each frame goes at its own time, not at a coarser tick: the
		// sender reports pion makes say when a frame was sent, and a
		// test of sync by them needs that to be when it was due.
		timer := time.NewTimer(0)
		defer timer.Stop()
		due := time.Now()
		toKey := false // a keyframe was asked for: skip to the file's next
		for {
			select {
			case <-restart: // nil: never
				toKey = true
			default:
			}
			frame, d, err := next()
			if errors.Is(err, io.EOF) {
				next, _ = open(data)
				continue
			}
			if err != nil {
				return
			}
			if toKey && len(frame) > 0 && frame[0]&1 != 0 {
				continue // a VP8 interframe (RFC 6386 §9.1)
			}
			toKey = false
			if wait := time.Until(due); wait > 0 {
				timer.Reset(wait)
				select {
				case <-ctx.Done():
					return
				case <-timer.C:
				}
			} else if ctx.Err() != nil {
				return
			}
			// A fast clock (rate > 1) captures each frame sooner: its
			// RTP times, d apart, run ahead of ours.
			due = due.Add(time.Duration(float64(d) / rate))
			write(frame, d)
		}
	}, nil
}

// addTrackAnswering is addTrack for a file's video: what it returns says
// when the studio asked for a keyframe (a PLI or a FIR), so the player
// starts its file over at its keyframe. Without it a loss the studio's
// decoder can't repair froze the picture until the file looped.
func (c *Client) addTrackAnswering(track webrtc.TrackLocal) (<-chan struct{}, error) {
	sender, err := c.pc.AddTrack(track)
	if err != nil {
		return nil, err
	}
	return c.keyframeRequests(func() ([]rtcp.Packet, error) {
		pkts, _, err := sender.ReadRTCP()
		return pkts, err
	}), nil
}

// keyframeRequests drains a sender's RTCP with read (so the interceptors
// work) until it fails, and says on what it returns when the studio asked
// for a keyframe (a PLI or a FIR).
func (c *Client) keyframeRequests(read func() ([]rtcp.Packet, error)) <-chan struct{} {
	keyframe := make(chan struct{}, 1)
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		for {
			pkts, err := read()
			if err != nil {
				return
			}
			c.noteREMB(pkts)
			c.noteReports(pkts, time.Now())
			for _, p := range pkts {
				switch p.(type) {
				case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
					select {
					case keyframe <- struct{}{}:
					default:
					}
				}
			}
		}
	}()
	return keyframe
}

// noteREMB keeps what the REMBs among pkts say the client may send.
func (c *Client) noteREMB(pkts []rtcp.Packet) {
	for _, p := range pkts {
		if r, ok := p.(*rtcp.ReceiverEstimatedMaximumBitrate); ok {
			c.mu.Lock()
			c.rembs++
			c.rembLast, c.rembMost = float64(r.Bitrate), max(c.rembMost, float64(r.Bitrate))
			c.mu.Unlock()
		}
	}
}

// UplinkREMB says what the studio's REMBs told the client it may send, in
// bits per second: how many came for its camera's streams (VideoIVF,
// Simulcast), the last and the highest.
func (c *Client) UplinkREMB() (n int, last, most float64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rembs, c.rembLast, c.rembMost
}

// addTrack sends track and drains its RTCP so the interceptors work.
func (c *Client) addTrack(track webrtc.TrackLocal) error {
	sender, err := c.pc.AddTrack(track)
	if err != nil {
		return err
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		buf := make([]byte, 1500)
		for {
			if _, _, err := sender.Read(buf); err != nil {
				return
			}
		}
	}()
	return nil
}

func readIVF(data []byte) (frameReader, error) {
	r, h, err := ivfreader.NewWith(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	d := time.Second * time.Duration(h.TimebaseNumerator) / time.Duration(h.TimebaseDenominator)
	return func() ([]byte, time.Duration, error) {
		frame, _, err := r.ParseNextFrame()
		return frame, d, err
	}, nil
}

func readOgg(data []byte) (frameReader, error) {
	r, _, err := oggreader.NewWith(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	var last uint64
	return func() ([]byte, time.Duration, error) {
		page, h, err := r.ParseNextPage()
		if err != nil {
			return nil, 0, err
		}
		// The comment header (the page after OpusHead, which NewWith
		// read) is no Opus packet: sent as one, each loop of the file
		// made FFmpeg's decoder log "Error parsing the packet header".
		if bytes.HasPrefix(page, []byte("OpusTags")) {
			if page, h, err = r.ParseNextPage(); err != nil {
				return nil, 0, err
			}
		}
		d := time.Duration(h.GranulePosition-last) * time.Second / 48000
		last = h.GranulePosition
		if d <= 0 || d > 120*time.Millisecond {
			d = 20 * time.Millisecond
		}
		return page, d, nil
	}, nil
}

// dropperFactory makes interceptors that lose every Nth outgoing video
// packet (every), every outgoing one whose sequence number is a multiple
// of loseSent, and every incoming one whose sequence number is a multiple
// of lose.
type dropperFactory struct{ every, lose, loseSent int }

func (f dropperFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &dropper{every: int64(f.every), lose: uint16(f.lose), loseSent: uint16(f.loseSent)}, nil
}

type dropper struct {
	interceptor.NoOp
	every          int64
	lose, loseSent uint16
}

func (d *dropper) BindRemoteStream(info *interceptor.StreamInfo, r interceptor.RTPReader) interceptor.RTPReader {
	if d.lose == 0 || !strings.HasPrefix(info.MimeType, "video/") {
		return r
	}
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		for {
			n, a, err := r.Read(b, a)
			if err != nil || n < 4 || binary.BigEndian.Uint16(b[2:4])%d.lose != 0 {
				return n, a, err
			}
		}
	})
}

func (d *dropper) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	if d.every == 0 && d.loseSent == 0 || !strings.HasPrefix(info.MimeType, "video/") {
		return w
	}
	var n atomic.Int64
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		if d.every > 0 && n.Add(1)%d.every == 0 || d.loseSent > 0 && h.SequenceNumber%d.loseSent == 0 {
			return h.MarshalSize() + len(payload), nil
		}
		return w.Write(h, payload, a)
	})
}

// delayerFactory makes interceptors that hold back each outgoing video
// packet by video and each audio packet by audio, ± jitter, sending them
// in the order they are due, and lose loss percent of them at random.
type delayerFactory struct {
	video, audio, jitter time.Duration
	loss                 int
}

func (f delayerFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &delayer{f: f, done: make(chan struct{})}, nil
}

type delayer struct {
	interceptor.NoOp
	f    delayerFactory
	done chan struct{}
	once sync.Once
	wg   sync.WaitGroup
}

// delayed is a packet on its way, due at due.
type delayed struct {
	due     time.Time
	h       rtp.Header
	payload []byte
	a       interceptor.Attributes
}

func (d *delayer) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	by, jitter, loss := d.f.audio, d.f.jitter, d.f.loss
	if strings.HasPrefix(info.MimeType, "video/") {
		by = d.f.video
	}
	if by <= 0 && jitter <= 0 && loss <= 0 {
		return w
	}
	q := make(chan delayed, 4096)
	d.wg.Add(1)
	go d.send(q, w)
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		size := h.MarshalSize() + len(payload)
		if loss > 0 && mathrand.IntN(100) < loss {
			return size, nil
		}
		wait := by
		if jitter > 0 {
			wait += time.Duration(mathrand.Int64N(int64(2*jitter)+1)) - jitter
		}
		p := delayed{due: time.Now().Add(max(wait, 0)), h: h.Clone(), payload: slices.Clone(payload), a: a}
		select {
		case q <- p:
		default: // a full queue loses the packet, as a full router queue
		}
		return size, nil
	})
}

// send writes the packets from q to w each when it is due, the earliest
// first (ties in the order written), until the delayer closes.
func (d *delayer) send(q <-chan delayed, w interceptor.RTPWriter) {
	defer d.wg.Done()
	var due []delayed // by due time
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		var wake <-chan time.Time
		if len(due) > 0 {
			timer.Reset(time.Until(due[0].due))
			wake = timer.C
		}
		select {
		case <-d.done:
			return
		case p := <-q:
			i, _ := slices.BinarySearchFunc(due, p.due, func(e delayed, t time.Time) int {
				if e.due.After(t) {
					return 1
				}
				return -1 // ties after those written before
			})
			due = slices.Insert(due, i, p)
		case <-wake:
			for len(due) > 0 && !due[0].due.After(time.Now()) {
				_, _ = w.Write(&due[0].h, due[0].payload, due[0].a)
				due = due[1:]
			}
		}
	}
}

func (d *delayer) Close() error {
	d.once.Do(func() { close(d.done) })
	d.wg.Wait()
	return nil
}

// keepIdleReceivers works around pion's answering side (pion/webrtc#2226):
// it stops a transceiver's receiver on every offer in which its m-line is
// inactive, and replaces a stopped receiver only once (when the track it
// had goes away). An m-line that stays inactive over two offers is left
// with a stopped receiver, and the next track the studio sends on it is
// never read (EOF before the first packet). Browsers keep the transceiver
// and fire ontrack when the m-line comes back, as the studio expects when
// it reuses an idle m-line for a newcomer. So the client reads each
// inactive m-line the studio offers as sendonly without a track (pion then
// lets the old track end and keeps a fresh receiver), and answers those
// m-lines inactive, as a browser would. It returns the offer to apply and
// the mids it changed.
func keepIdleReceivers(offer string) (string, map[string]bool) {
	idle := map[string]bool{}
	for _, sec := range strings.Split(offer, "\nm=")[1:] {
		if strings.Contains(sec, "\na=inactive") {
			idle[sectionMid(sec)] = true
		}
	}
	return setDirection(offer, idle, "sendonly"), idle
}

// setDirection sets the direction attribute of the m-lines whose mid is in
// mids.
func setDirection(sdp string, mids map[string]bool, dir string) string {
	if len(mids) == 0 {
		return sdp
	}
	secs := strings.Split(sdp, "\nm=")
	for i, sec := range secs[1:] {
		if !mids[sectionMid(sec)] {
			continue
		}
		for _, d := range []string{"sendrecv", "sendonly", "recvonly", "inactive"} {
			sec = strings.Replace(sec, "\na="+d+"\r", "\na="+dir+"\r", 1)
		}
		secs[i+1] = sec
	}
	return strings.Join(secs, "\nm=")
}

// sectionMid is the mid of one m-section of an SDP.
func sectionMid(sec string) string {
	_, rest, ok := strings.Cut(sec, "\na=mid:")
	if !ok {
		return ""
	}
	mid, _, _ := strings.Cut(rest, "\r")
	return strings.TrimSpace(mid)
}

// RemoteCandidates lists the studio's ICE candidates the client knows, as
// "udp 127.0.0.1:8443 host".
func (c *Client) RemoteCandidates() []string {
	var out []string
	for _, s := range c.pc.GetStats() {
		if r, ok := s.(webrtc.ICECandidateStats); ok && r.Type == webrtc.StatsTypeRemoteCandidate {
			out = append(out, fmt.Sprintf("%s %s %s", r.Protocol, net.JoinHostPort(r.IP, strconv.Itoa(int(r.Port))), r.CandidateType))
		}
	}
	return out
}

// Cap is a bottleneck on a Client's downlink, as a slow access link is: a
// queue drained at a rate, which holds at most capQueue of it and drops
// what comes when it is full. Every packet the client receives (RTP of
// every track) waits in it before the client's interceptors (TWCC
// feedback, NACK, reports) see it. Set changes the rate at any time.
type Cap struct {
	bps atomic.Uint64 // 0: no cap

	mu     sync.Mutex
	freeAt time.Time // when the queue has drained what it holds
}

// capQueue is how long a Cap's queue may be: a typical home router's.
const capQueue = 200 * time.Millisecond

// NewCap caps a downlink at bps bits per second (0: no cap).
func NewCap(bps uint64) *Cap {
	c := &Cap{}
	c.Set(bps)
	return c
}

// Set changes the cap, bits per second; 0 lifts it.
func (c *Cap) Set(bps uint64) { c.bps.Store(bps) }

// NewInterceptor implements interceptor.Factory: one Cap is shared by
// every PeerConnection that has it.
func (c *Cap) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &capper{c: c}, nil
}

// wait is how long a packet of n bytes arriving now waits in the queue,
// or false if the queue is full.
func (c *Cap) wait(n int, now time.Time) (time.Duration, bool) {
	bps := c.bps.Load()
	if bps == 0 {
		return 0, true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	start := c.freeAt
	if start.Before(now) {
		start = now
	}
	if start.Sub(now) > capQueue {
		return 0, false
	}
	c.freeAt = start.Add(time.Duration(float64(n*8) / float64(bps) * float64(time.Second)))
	return c.freeAt.Sub(now), true
}

type capper struct {
	interceptor.NoOp
	c *Cap
}

// BindRemoteStream reads the stream as it arrives (a goroutine of its
// own, until the stream's reader fails) into the queue, and hands each
// packet on when it leaves it.
func (p *capper) BindRemoteStream(_ *interceptor.StreamInfo, r interceptor.RTPReader) interceptor.RTPReader {
	type queued struct {
		pkt    []byte
		a      interceptor.Attributes
		err    error
		leaves time.Time
	}
	q := make(chan queued, 4096)
	var once sync.Once
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		once.Do(func() {
			go func() {
				for {
					buf := make([]byte, 1500)
					n, a, err := r.Read(buf, nil)
					if err != nil {
						q <- queued{err: err}
						return
					}
					now := time.Now()
					d, ok := p.c.wait(n+28, now) // + IP and UDP headers
					if !ok {
						continue
					}
					select {
					case q <- queued{pkt: buf[:n], a: a, leaves: now.Add(d)}:
					default:
					}
				}
			}()
		})
		e := <-q
		if e.err != nil {
			q <- e // for the next Read, if any
			return 0, nil, e.err
		}
		time.Sleep(time.Until(e.leaves))
		return copy(b, e.pkt), e.a, nil
	})
}
