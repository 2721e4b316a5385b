package studio

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"greenroom/encode/clock"
	"greenroom/encode/keyframe"
)

// TrackInfo describes one published track for a Sink.
type TrackInfo struct {
	ParticipantID string
	// TrackID is unique in the studio's life: a guest who reconnects
	// publishes new tracks, and the old ones end.
	TrackID string
	Kind    string // "audio" or "video"
	// Screen is set for a shared screen (a guest's second video, or the
	// host's screen): a program source of its own, ScreenInput(ParticipantID).
	Screen    bool
	MimeType  string // e.g. "video/VP8", "audio/opus"
	ClockRate uint32
	Channels  uint16
	// Sender maps the track's RTP times (by SSRC) to the studio's clock
	// through its sender's RTCP sender reports; nil for the host's.
	Sender *clock.Sender
	// Playout places the track's frames on the program clock by Sender
	// and the one playout delay of all the sender's tracks; nil for the
	// host's.
	Playout *clock.Playout
}

// Sink receives the RTP of every guest's camera and mic, on stage or in the
// green room (the program shows only those on stage, and meters and
// thumbnails everyone for the host), and of shared screens while they are
// shared. The studio calls it from one goroutine per track, in arrival order, through a
// bounded queue: a Sink may take its time, and when it falls behind the
// studio drops packets (and counts them) rather than slow the forwarding.
// Packets are shared with the forwarding path: read them, don't modify them
// or keep their Payload past the call. Call Studio.RequestKeyframe to get a
// keyframe after starting a decoder or after a loss. Of a guest who sends
// layers (simulcast) the Sink gets one track, one layer at a time,
// renumbered so that a switch looks like a keyframe of another size; a
// Sink that is a TileSizer is given the layer that fills its tile.
type Sink interface {
	WriteRTP(t TrackInfo, pkt *rtp.Packet)
	// EndTrack says no more packets will come for t (the participant left,
	// or stopped publishing it). A screen's track ends when its guest stops
	// sharing, and may start again (same TrackInfo) when they share anew.
	EndTrack(t TrackInfo)
}

// sinkQueue is how many packets a track may be ahead of the Sink: about a
// second of 720p video.
const sinkQueue = 512

// maxNacksPerPacket is how often a lost packet is asked for again: a few
// round trips' worth.
const maxNacksPerPacket = 4

// srtpReplayWindow is how far back (in packets) SRTP takes a packet it has
// not seen: a retransmission NACKed after a burst of loss.
const srtpReplayWindow = 1024

// pliInterval bounds how often a publisher is asked for a keyframe: several
// subscribers joining at once share one.
const pliInterval = 300 * time.Millisecond

// sfu is the WebRTC side shared by every guest: ICE on a single UDP port
// (and over TCP on the web port, or a port of its own), and the table of
// published tracks. mu guards tracks; the muxes are set once; api and
// iceServers are replaced whole, never changed in place: api when the
// public address of the UDP port is learned or changes (see publicaddr.go),
// iceServers by SetICEServers.
type sfu struct {
	api        atomic.Pointer[webrtc.API]
	iceServers atomic.Pointer[[]webrtc.ICEServer]
	udpConn    net.PacketConn
	udpMux     *ice.UniversalUDPMuxDefault
	tcpLn      net.Listener
	tcpMux     ice.TCPMux
	sink       Sink
	log        *slog.Logger

	// What every API is built from, set once by newSFU.
	media    *webrtc.MediaEngine
	reg      *interceptor.Registry
	lf       pionLoggerFactory
	networks []webrtc.NetworkType
	nat1To1  []string // the user's public addresses (Config.NAT1To1IPs)

	public atomic.Pointer[PublicAddr] // nil until learned

	// sessions is every guest's ICE session by our ufrag, for
	// followMove (move.go).
	sessions iceSessions

	// estimators are the send-side estimates (downlink.go) of
	// PeerConnections made but not yet taken by their guest, by the
	// PeerConnection's ID.
	estimators sync.Map
	// reports are the reports interceptors (reports.go) of
	// PeerConnections made but not yet taken by their guest, by the
	// PeerConnection's ID.
	reports sync.Map
	// downlinks is every guest's downlink (key *downlink), for the
	// host's feed to follow (host.go).
	downlinks sync.Map

	mu     sync.Mutex
	tracks map[string][]*pubTrack // by publisher ID
}

// newSFU binds the ICE ports. tcpLn, if not nil, is where ICE over TCP
// comes in (the web port's share, see splitListener); else
// Config.ICETCPListen, if set.
func newSFU(cfg *Config, tcpLn net.Listener, log *slog.Logger) (_ *sfu, err error) {
	f := &sfu{sink: cfg.Sink, log: log, tracks: make(map[string][]*pubTrack), tcpLn: tcpLn,
		lf: pionLoggerFactory{log}, nat1To1: cfg.NAT1To1IPs}
	f.setICEServers(cfg.ICEServers)
	defer func() {
		if err != nil {
			f.close()
		}
	}()

	f.media = &webrtc.MediaEngine{}
	if err := registerCodecs(f.media); err != nil {
		return nil, fmt.Errorf("sfu: codecs: %w", err)
	}
	// Simulcast (a guest's camera in layers, each a rid of the same
	// m-line): pion reads the mid and rid of a layer's first packets
	// from these header extensions, and answers a=simulcast only when
	// they are registered; a browser whose offer is refused it sends
	// one layer, as before.
	if err := webrtc.ConfigureSimulcastExtensionHeaders(f.media); err != nil {
		return nil, fmt.Errorf("sfu: simulcast: %w", err)
	}
	f.reg = &interceptor.Registry{}
	// A send-side bandwidth estimate of each guest's downlink from its
	// transport-cc feedback (downlink.go). First in the registry, nearest
	// the network: it sees each packet after the header extension
	// interceptor below has numbered it, and before the NACK responder
	// so that retransmissions count. No pacer: the SFU forwards what
	// the guests send as they send it (their own pacers smoothed it), and
	// a pacer per receiver would add its queue to every packet's delay.
	ccf, err := cc.NewInterceptor(func() (cc.BandwidthEstimator, error) {
		bwe, err := gcc.NewSendSideBWE(gcc.SendSideBWEPacer(gcc.NewNoOpPacer()),
			gcc.SendSideBWEInitialBitrate(initialEstimate), gcc.WithLoggerFactory(f.lf))
		if err != nil {
			return nil, err
		}
		return &estimator{BandwidthEstimator: bwe}, nil
	})
	if err != nil {
		return nil, fmt.Errorf("sfu: bandwidth estimator: %w", err)
	}
	ccf.OnNewPeerConnection(func(id string, e cc.BandwidthEstimator) { f.estimators.Store(id, e) })
	f.reg.Add(ccf)
	if err := webrtc.ConfigureTWCCHeaderExtensionSender(f.media, f.reg); err != nil {
		return nil, fmt.Errorf("sfu: transport-cc: %w", err)
	}
	// NACK (generator and responder), RTCP sender/receiver reports and the
	// TWCC header extension + feedback that Chromium's bandwidth estimation
	// needs.
	//
	// A packet is NACKed a few times at most: one lost while a guest's
	// path moved (sent to an address that is gone) will never come, and
	// pion's generator would otherwise ask for it for as long as it is in
	// its log (pion/interceptor#9).
	if err := webrtc.RegisterDefaultInterceptorsWithOptions(f.media, f.reg,
		webrtc.WithNackGeneratorOptions(nack.GeneratorMaxNacksPerPacket(maxNacksPerPacket))); err != nil {
		return nil, fmt.Errorf("sfu: interceptors: %w", err)
	}
	// Last of those that write, so first on a packet's way out: each
	// guest's own header.
	f.reg.Add(ownHeadersFactory{})
	// Last of all, so first on RTCP's way in: its reads run every
	// interceptor above on each RTCP stream (reports.go).
	f.reg.Add(reportsFactory{byPC: &f.reports})

	f.udpConn, err = net.ListenPacket("udp", cfg.ICEUDPListen)
	if err != nil {
		return nil, fmt.Errorf("sfu: ICE UDP port: %w", err)
	}
	// The universal mux also lets the studio ask a STUN server, from this
	// very socket, which public address the port has (publicaddr.go).
	// The mux reads it through moveConn, which follows a guest whose
	// address changed at its first packet from the new one (movehint.go).
	var muxConn net.PacketConn = f.udpConn
	if u, ok := f.udpConn.(*net.UDPConn); ok {
		muxConn = newMoveConn(u, &f.sessions, f.log)
	}
	f.udpMux = ice.NewUniversalUDPMuxDefault(ice.UniversalUDPMuxParams{Logger: f.lf.NewLogger("ice-udp"), UDPConn: muxConn})
	f.networks = []webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6}
	if f.tcpLn == nil && cfg.ICETCPListen != "" {
		f.tcpLn, err = net.Listen("tcp", cfg.ICETCPListen)
		if err != nil {
			return nil, fmt.Errorf("sfu: ICE TCP port: %w", err)
		}
	}
	if f.tcpLn != nil {
		f.tcpMux = webrtc.NewICETCPMux(f.lf.NewLogger("ice-tcp"), f.tcpLn, 8)
		f.networks = append(f.networks, webrtc.NetworkTypeTCP4, webrtc.NetworkTypeTCP6)
	}
	api, err := f.newAPI(nil)
	if err != nil {
		return nil, err
	}
	f.api.Store(api)
	return f, nil
}

// newAPI builds the webrtc.API guests' connections are made with. public,
// if not nil, is the UDP port's address as the internet sees it: offered
// to guests beside the port's own addresses.
func (f *sfu) newAPI(public *PublicAddr) (*webrtc.API, error) {
	se := webrtc.SettingEngine{LoggerFactory: f.lf}
	// Browsers retransmit what we NACK on the same SSRC (we offer no RTX),
	// so SRTP's replay window (64 by default) must reach as far back as
	// the NACK generator asks (its log is 512 packets): else, after a
	// burst of loss (a guest's link back from a cut), every retransmission
	// is refused as a replay, the NACKs go on forever and the guest's
	// picture stays frozen in the program (pion/webrtc#1477).
	se.SetSRTPReplayProtectionWindow(srtpReplayWindow)
	// Only a guest's session closes its PeerConnection, on its own loop:
	// pion would close it from a goroutine of its own when the DTLS
	// connection ends (the guest's close_notify, a failed handshake),
	// racing the session's GetStats (quality.go; pion writes the stats
	// getter in close unlocked, -race found it, issue #14). A failed
	// handshake still fails the connection, which ends the session; a
	// page that closed its connection has closed its socket too, or stops
	// answering ICE.
	se.DisableCloseByDTLS(true)
	se.SetICEUDPMux(f.udpMux)
	if f.tcpMux != nil {
		se.SetICETCPMux(f.tcpMux)
	}
	se.SetNetworkTypes(f.networks)
	// Tests run on loopback only, and a studio on a laptop may be reached as
	// localhost; Chromium's mDNS host candidates need no resolving: the
	// browser's STUN checks teach pion its address as peer-reflexive (#4).
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	// A guest whose public address changed is followed at its first check
	// from the new one (issue #9; move.go), which moveConn sends on its
	// behalf at its first packet from there (movehint.go).
	se.SetICEBindingRequestHandler(f.sessions.followMove)
	switch {
	case len(f.nat1To1) > 0:
		se.SetNAT1To1IPs(f.nat1To1, webrtc.ICECandidateTypeHost)
	case public != nil:
		// A host candidate with the public address, on the same port:
		// guests outside the LAN punch through to it (issue #16). Only UDP:
		// the router keeps no TCP mapping for us unless one was made.
		if err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External:        []string{public.IP.String()},
			AsCandidateType: webrtc.ICECandidateTypeHost,
			Mode:            webrtc.ICEAddressRewriteAppend,
			Networks:        []webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6},
		}); err != nil {
			return nil, fmt.Errorf("sfu: public address %s: %w", public.IP, err)
		}
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(f.media), webrtc.WithInterceptorRegistry(f.reg), webrtc.WithSettingEngine(se)), nil
}

// registerCodecs offers only what every browser can both send and receive and
// the media side can decode (VP8, H.264, Opus): the SFU never transcodes, so
// a track is only useful if every other guest can play it. No RTX: the NACK
// responder retransmits from its own cache on each leg.
func registerCodecs(m *webrtc.MediaEngine) error {
	fb := []webrtc.RTCPFeedback{{Type: "ccm", Parameter: "fir"}, {Type: "nack"}, {Type: "nack", Parameter: "pli"}}
	for _, c := range []struct {
		webrtc.RTPCodecParameters
		kind webrtc.RTPCodecType
	}{
		{webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"},
			PayloadType: 111}, webrtc.RTPCodecTypeAudio},
		{webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: fb},
			PayloadType: 96}, webrtc.RTPCodecTypeVideo},
		{webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeH264, ClockRate: 90000, RTCPFeedback: fb,
			SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"},
			PayloadType: 102}, webrtc.RTPCodecTypeVideo},
	} {
		if err := m.RegisterCodec(c.RTPCodecParameters, c.kind); err != nil {
			return fmt.Errorf("%s: %w", c.MimeType, err)
		}
	}
	return nil
}

// setICEServers gives guests who join from now on these STUN/TURN servers
// (a copy: the caller may reuse its slice).
func (f *sfu) setICEServers(servers []webrtc.ICEServer) {
	cp := make([]webrtc.ICEServer, len(servers))
	for i, srv := range servers {
		srv.URLs = slices.Clone(srv.URLs)
		cp[i] = srv
	}
	f.iceServers.Store(&cp)
}

// currentICEServers are the STUN/TURN servers for a guest joining now; the
// slice is shared: read it, don't modify it.
func (f *sfu) currentICEServers() []webrtc.ICEServer { return *f.iceServers.Load() }

// checkICEServers refuses what pion would refuse when a guest's
// PeerConnection is made, so that a bad server is an error for whoever sets
// it rather than a failed connection for every guest after. Errors never
// show a credential.
func checkICEServers(servers []webrtc.ICEServer) error {
	for _, srv := range servers {
		if len(srv.URLs) == 0 {
			return errors.New("an ICE server without a URL")
		}
		for _, u := range srv.URLs {
			if strings.Contains(u, "@") {
				// pion's parse errors quote the URL, password and all.
				return fmt.Errorf("ICE server %s: the username and password go beside the URL, not in it", redactURL(u))
			}
			parsed, err := ice.ParseURL(u)
			if err != nil {
				return fmt.Errorf("ICE server %s: %w", u, err)
			}
			if (parsed.Scheme == ice.SchemeTypeTURN || parsed.Scheme == ice.SchemeTypeTURNS) &&
				(srv.Username == "" || srv.Credential == nil || srv.Credential == "") {
				return fmt.Errorf("ICE server %s: a TURN server needs a username and password", redactURL(u))
			}
		}
	}
	return nil
}

// redactURL hides what comes before an @ in a server URL typed by hand
// (turn:USER:PASS@HOST): a URL as ParseICEServer makes it has none.
func redactURL(u string) string {
	if i := strings.LastIndex(u, "@"); i >= 0 {
		scheme, _, _ := strings.Cut(u, ":")
		return scheme + ":…" + u[i:]
	}
	return u
}

// iceURLs lists the servers' URLs, for logs: never their credentials.
func iceURLs(servers []webrtc.ICEServer) []string {
	var urls []string
	for _, srv := range servers {
		for _, u := range srv.URLs {
			urls = append(urls, redactURL(u))
		}
	}
	return urls
}

func (f *sfu) close() {
	// The muxes close the sockets they were given.
	if f.udpMux != nil {
		_ = f.udpMux.Close()
	} else if f.udpConn != nil {
		_ = f.udpConn.Close()
	}
	if f.tcpMux != nil {
		_ = f.tcpMux.Close()
	} else if f.tcpLn != nil {
		_ = f.tcpLn.Close()
	}
}

// takeEstimator is the send-side estimate of the PeerConnection pc, nil if
// it has none.
func (f *sfu) takeEstimator(pc *webrtc.PeerConnection) *estimator {
	e, _ := f.estimators.LoadAndDelete(pc.ID())
	est, _ := e.(*estimator)
	return est
}

// takeReports has the sender reports pc's RTCP streams carry go to
// sender from now on, and the round trips its reception reports give to
// rtts.
func (f *sfu) takeReports(pc *webrtc.PeerConnection, sender *clock.Sender, rtts *roundTrips) {
	if r, ok := f.reports.LoadAndDelete(pc.ID()); ok {
		r.(*reports).rtts.Store(rtts)
		r.(*reports).sender.Store(sender)
	}
}

// udpAddr is the bound ICE UDP address.
func (f *sfu) udpAddr() net.Addr { return f.udpConn.LocalAddr() }

// tcpAddr is the bound ICE-TCP address; nil without ICE-TCP.
func (f *sfu) tcpAddr() net.Addr {
	if f.tcpLn == nil {
		return nil
	}
	return f.tcpLn.Addr()
}

// publish adds a participant's track to the table. A screen's track is
// shared if its guest said so already: under mu, as setSharing.
func (f *sfu) publish(t *pubTrack) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if t.info.Screen {
		t.sharing.Store(t.session.sharing)
	}
	f.tracks[t.info.ParticipantID] = append(f.tracks[t.info.ParticipantID], t)
}

// unpublish removes the tracks of one guest session. A guest that resumed
// on a new session may already publish under the same ID: those stay.
func (f *sfu) unpublish(session *guest) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ts := slices.DeleteFunc(f.tracks[session.id], func(t *pubTrack) bool {
		if t.session == session {
			t.ended.Store(true)
			return true
		}
		return false
	})
	if len(ts) == 0 {
		delete(f.tracks, session.id)
	} else {
		f.tracks[session.id] = ts
	}
}

// forwardedTo returns the tracks subscriber should receive: every track of
// every other on-stage participant (screens only while shared). Green-room guests receive the stage too
// (they watch the show while they wait) but nobody receives them.
func (f *sfu) forwardedTo(subscriber string, st State) map[*pubTrack]bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	want := make(map[*pubTrack]bool)
	for _, p := range st.Participants {
		if p.ID == subscriber || p.Place != PlaceStage {
			continue
		}
		for _, t := range f.tracks[p.ID] {
			if !t.info.Screen || t.sharing.Load() {
				want[t] = true
			}
		}
	}
	return want
}

// setMuted tells each track whether the host has muted its owner: a muted
// guest's audio is not forwarded to the others (the Sink still gets it:
// the program meters it, and leaves it out of the mix itself).
func (f *sfu) setMuted(st State) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range st.Participants {
		for _, t := range f.tracks[p.ID] {
			t.muted.Store(p.Muted)
		}
	}
}

// isSharing is whether a guest session says its screen is shared.
func (f *sfu) isSharing(session *guest) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return session.sharing
}

// setSharing starts or stops a guest session's screen share. Stopping ends
// the screen's track in the Sink (its program input leaves the show) and
// takes it from the other guests; the track itself stays, for the next
// share. It reports whether the session has a screen track yet (pion
// makes the track on the transceiver's first packet, which can be one of
// the browser's bandwidth probes before any sharing: so sharing is what
// the guest says, not what arrives).
func (f *sfu) setSharing(session *guest, on bool) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	session.sharing = on
	found := false
	for _, t := range f.tracks[session.id] {
		if t.session != session || !t.info.Screen {
			continue
		}
		found = true
		if t.sharing.Swap(on) != on && !on {
			select {
			case t.unshared <- struct{}{}:
			default: // one is pending: feedSink ends the track once
			}
		}
	}
	return found
}

// requestKeyframe asks every video track of a participant for a keyframe.
func (f *sfu) requestKeyframe(id string) bool {
	f.mu.Lock()
	ts := append([]*pubTrack(nil), f.tracks[id]...)
	f.mu.Unlock()
	any := false
	for _, t := range ts {
		if t.info.Kind == "video" {
			t.requestKeyframe()
			any = true
		}
	}
	return any
}

// pubTrack is one published track: a guest's, fanned out to its
// subscribers through one TrackLocalStaticRTP (which rewrites SSRC and
// payload type per subscriber), or the host's, which the media side writes.
// A guest's simulcast track (simulcast.go) has layers instead of remote,
// and sends each subscriber one of them through simul. Its fields are set
// at creation; muted, sharing, ended, lastPLI and dropped are atomics
// shared with the forwarding goroutines and the sessions; lmu guards
// running and done, and the writing of layers.
type pubTrack struct {
	info     TrackInfo
	session  *guest                      // nil for the host's tracks
	local    webrtc.TrackLocal           // what subscribers are sent
	remote   *webrtc.TrackRemote         // guests': what forward reads
	fanout   *webrtc.TrackLocalStaticRTP // guests': what forward writes (= local)
	keyframe func()                      // asks the publisher for a keyframe; may be nil
	sinkQ    chan *rtp.Packet            // nil without a Sink, and for the host
	muted    atomic.Bool                 // the host muted the owner: audio is not forwarded
	sharing  atomic.Bool                 // screens: shared now (as the guest said)
	unshared chan struct{}               // screens: sharing stopped, for feedSink; capacity 1
	ended    atomic.Bool                 // out of the table for good
	lastPLI  atomic.Int64                // unix nanoseconds
	dropped  atomic.Uint64
	rate     rateMeter // guests' single-stream tracks: what forward reads (the downlink split, health.go)
	holes    holes     // guests' single-stream video: what forward reads, for losses beyond NACK
	log      *slog.Logger

	simul   *simulcastLocal          // simulcast: what subscribers are sent (= local)
	prog    *switcher                // simulcast: which layer the Sink gets; nil for the host's feed
	layers  atomic.Pointer[[]*layer] // simulcast: in arrival order; replaced whole
	lmu     sync.Mutex
	running int  // layers still being read: the last to end closes sinkQ
	done    bool // every layer ended: no more may join
}

// trackSerial numbers published tracks for TrackInfo.TrackID.
var trackSerial atomic.Uint64

// TileSizer is a Sink that says how tall it shows a track: of a guest's
// simulcast camera it is given the smallest layer at least that tall (0:
// not shown, the smallest). Program is one.
type TileSizer interface {
	TileHeight(t TrackInfo) int
}

// newPubTrack wraps a track a guest sends (its screen if screen); pc is the
// guest's, for PLIs. A simulcast track is made from its first layer's
// remote, which is not added: addLayer adds each layer, the first too.
func newPubTrack(session *guest, remote *webrtc.TrackRemote, screen, simulcast bool, pc *webrtc.PeerConnection, sink Sink, log *slog.Logger) (*pubTrack, error) {
	c := remote.Codec()
	owner := session.id
	kind := remote.Kind().String()
	if screen {
		kind = "screen"
	}
	info := TrackInfo{
		ParticipantID: owner,
		TrackID:       fmt.Sprintf("%s-%s-%d", owner, kind, trackSerial.Add(1)),
		Kind:          remote.Kind().String(),
		Screen:        screen,
		MimeType:      c.MimeType,
		ClockRate:     c.ClockRate,
		Channels:      c.Channels,
		Sender:        session.sender,
		Playout:       session.playout,
	}
	// The stream ID is the participant ID: it is how a guest page groups a
	// participant's audio and video into one tile and names it from the
	// roster. A screen is a tile of its own: ScreenInput's name.
	stream := owner
	if screen {
		stream = ScreenInput(owner)
	}
	if simulcast {
		t := newSimulcastTrack(info, session, c.RTPCodecCapability, stream, log)
		t.prog = &switcher{choose: func(ls []layerStat) int { return fitRate(ls, 0) }, log: t.log.With("to", "program"), renumbered: session.sender.Renumbered}
		if ts, ok := sink.(TileSizer); ok {
			t.prog.choose = func(ls []layerStat) int { return fitHeight(ls, ts.TileHeight(info)) }
		}
		if sink != nil {
			t.sinkQ = make(chan *rtp.Packet, sinkQueue)
		}
		if screen {
			t.unshared = make(chan struct{}, 1)
		}
		return t, nil
	}
	fanout, err := webrtc.NewTrackLocalStaticRTP(c.RTPCodecCapability, info.TrackID, stream)
	if err != nil {
		return nil, fmt.Errorf("sfu: forward %s: %w", info.TrackID, err)
	}
	t := &pubTrack{
		info: info, session: session, local: fanout, remote: remote, fanout: fanout,
		log: log.With("track", info.TrackID, "codec", c.MimeType),
	}
	t.keyframe = func() { t.pli(pc, remote.SSRC()) }
	if sink != nil {
		t.sinkQ = make(chan *rtp.Packet, sinkQueue)
	}
	if screen {
		t.unshared = make(chan struct{}, 1)
	}
	return t, nil
}

// newSimulcastTrack makes a track sent in layers, a guest's (session) or
// the host's feed (nil): each subscriber gets one layer through simul. Its
// layers are added after.
func newSimulcastTrack(info TrackInfo, session *guest, codec webrtc.RTPCodecCapability, stream string, log *slog.Logger) *pubTrack {
	t := &pubTrack{info: info, session: session, log: log.With("track", info.TrackID, "codec", codec.MimeType, "simulcast", true)}
	t.simul = newSimulcastLocal(codec, info.TrackID, stream, t.log)
	t.simul.track = t
	t.local = t.simul
	t.keyframe = func() {
		for _, l := range t.layersInUse() {
			l.requestKeyframe()
		}
	}
	return t
}

// pli asks the publisher for a keyframe of its stream ssrc.
func (t *pubTrack) pli(pc *webrtc.PeerConnection, ssrc webrtc.SSRC) {
	err := pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(ssrc)}})
	if err != nil && !errors.Is(err, io.ErrClosedPipe) {
		t.log.Debug("PLI", "err", err)
		return
	}
	t.log.Debug("PLI sent", "ssrc", ssrc)
}

// layerList is a simulcast track's layers so far.
func (t *pubTrack) layerList() []*layer {
	if ls := t.layers.Load(); ls != nil {
		return *ls
	}
	return nil
}

// layersInUse are the layers of a simulcast track that the program or a
// guest gets now, or all of them while nobody gets any: a keyframe asked
// of the track (the program's decoder lost packets, a screen share began)
// is asked of those only, not of layers nobody would see it on.
func (t *pubTrack) layersInUse() []*layer {
	used := t.simul.inUse()
	if l := t.prog.current(); l != nil && !slices.Contains(used, l) {
		used = append(used, l)
	}
	if len(used) == 0 {
		return t.layerList()
	}
	return used
}

// addLayer adds one layer (rid) of a simulcast track, to be read by
// forwardLayer; false once every layer has ended.
func (t *pubTrack) addLayer(remote *webrtc.TrackRemote, pc *webrtc.PeerConnection) (*layer, bool) {
	t.lmu.Lock()
	defer t.lmu.Unlock()
	if t.done {
		return nil, false
	}
	l := &layer{rid: remote.RID(), remote: remote}
	l.pli = func() { t.pli(pc, remote.SSRC()) }
	if t.session != nil && !t.info.Screen {
		l.wake = t.session.restSoon // its page pauses it when nobody gets it (rest.go)
	}
	ls := append(slices.Clone(t.layerList()), l)
	t.layers.Store(&ls)
	t.running++
	return l, true
}

// forwardLayer reads one layer of a simulcast track until it ends, and
// hands each packet to every subscriber's switcher and to the Sink's
// (a screen's only while shared). The last layer to end closes the Sink's
// queue.
func (t *pubTrack) forwardLayer(l *layer) {
	defer func() {
		t.lmu.Lock()
		defer t.lmu.Unlock()
		if t.running--; t.running == 0 {
			t.done = true
			if t.sinkQ != nil {
				close(t.sinkQ)
			}
		}
	}()
	clock := t.info.ClockRate
	for {
		pkt, _, err := l.remote.ReadRTP()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				t.log.Debug("layer ended", "rid", l.rid, "err", err)
			}
			return
		}
		now := time.Now()
		t.frameEnd(pkt.Marker, now)
		layers := t.layerList()
		key := l.count(pkt, t.info.MimeType, now, layers)
		if l.holes.see(pkt.SequenceNumber, key, now) && slices.Contains(t.simul.inUse(), l) {
			// The guests on this layer got the hole too (holeWait); the
			// program's decoder asks for itself.
			t.log.Debug("keyframe asked: a loss no NACK repaired", "rid", l.rid)
			l.requestKeyframe()
		}
		// As in forward: the publisher's header extensions stop here.
		pkt.Header.Extension, pkt.Header.Extensions = false, nil
		l.keep(pkt)
		t.simul.write(layers, l, pkt, key, clock, now)
		if t.sinkQ == nil || (t.info.Screen && !t.sharing.Load()) {
			continue
		}
		t.prog.forward(layers, l, pkt, key, clock, now, func(h rtp.Header, payload []byte) {
			cp := *pkt
			cp.Header, cp.Payload = h, payload
			t.toSink(&cp)
		})
	}
}

// toSink queues pkt for the Sink, or drops it if the Sink is behind.
func (t *pubTrack) toSink(pkt *rtp.Packet) {
	select {
	case t.sinkQ <- pkt:
	default:
		if t.dropped.Add(1)%1000 == 1 {
			t.log.Warn("sink is behind, dropping packets", "dropped", t.dropped.Load())
		}
	}
}

// forward reads the publisher's RTP until its track ends and writes it to
// every subscriber (not the audio of a muted owner), and to the Sink's
// queue (a screen's only while shared).
func (t *pubTrack) forward() {
	if t.sinkQ != nil {
		defer close(t.sinkQ)
	}
	for {
		// ReadRTP allocates a packet per call, which is what lets the Sink
		// hold on to it while the next one is read.
		pkt, _, err := t.remote.ReadRTP()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				t.log.Debug("track ended", "err", err)
			}
			return
		}
		now := time.Now()
		t.sawPacket(pkt, now)
		if t.info.Kind == "video" {
			key, _, _ := keyframe.Start(t.info.MimeType, pkt.Payload)
			if t.holes.see(pkt.SequenceNumber, key, now) {
				// Every subscriber got the hole too (holeWait).
				t.log.Debug("keyframe asked: a loss no NACK repaired")
				t.requestKeyframe()
			}
		}
		// The publisher's header extensions go no further: their IDs were
		// negotiated on its leg and mean other things on each
		// subscriber's (a pion subscriber took a Chromium guest's mid
		// extension for a simulcast rid and never delivered the video);
		// each leg's interceptors add their own (transport-cc). WriteRTP
		// fails only for subscribers whose connection is closing; their
		// session will remove them.
		if t.info.Kind != "audio" || !t.muted.Load() {
			fw := *pkt
			fw.Header.Extension, fw.Header.Extensions = false, nil
			_ = t.fanout.WriteRTP(&fw)
		}
		if t.sinkQ != nil && (!t.info.Screen || t.sharing.Load()) {
			t.toSink(pkt)
		}
	}
}

// feedSink hands queued packets to the Sink until forward closes the queue.
// A screen's track ends in the Sink when its sharing stops (packets still
// queued then are dropped), and begins again with the next shared packet.
func (t *pubTrack) feedSink(sink Sink) {
	for {
		select {
		case pkt, ok := <-t.sinkQ:
			if !ok {
				sink.EndTrack(t.info)
				return
			}
			if t.info.Screen && !t.sharing.Load() {
				continue
			}
			sink.WriteRTP(t.info, pkt)
		case <-t.unshared: // nil for all but screens
			if !t.sharing.Load() {
				sink.EndTrack(t.info)
			}
		}
	}
}

// requestKeyframe asks the publisher for a keyframe (a PLI for a guest),
// at most once per pliInterval.
func (t *pubTrack) requestKeyframe() {
	now := time.Now().UnixNano()
	last := t.lastPLI.Load()
	if t.keyframe == nil || now-last < int64(pliInterval) || !t.lastPLI.CompareAndSwap(last, now) {
		return
	}
	t.keyframe()
}

// newHostTrack wraps a track of the host's for the table.
func newHostTrack(track webrtc.TrackLocal, keyframe func(), log *slog.Logger) *pubTrack {
	info := TrackInfo{
		ParticipantID: HostID,
		TrackID:       fmt.Sprintf("%s-%s-%d", HostID, track.Kind(), trackSerial.Add(1)),
		Kind:          track.Kind().String(),
	}
	return &pubTrack{info: info, local: track, keyframe: keyframe, log: log.With("track", info.TrackID)}
}

// remove takes one track out of the table.
func (f *sfu) remove(t *pubTrack) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := t.info.ParticipantID
	t.ended.Store(true)
	f.tracks[id] = slices.DeleteFunc(f.tracks[id], func(o *pubTrack) bool { return o == t })
	if len(f.tracks[id]) == 0 {
		delete(f.tracks, id)
	}
}

// drainRTCP reads a subscriber's RTCP for one forwarded track until the
// sender stops. Reading is what lets the NACK and report interceptors see
// the packets; keyframe requests are passed on to the publisher.
//
// Of a simulcast track the subscriber's estimate of its downlink (REMB) or,
// without one, its loss reports choose the layer it is sent; a keyframe it
// asks for is asked of that layer.
//
// down takes the subscriber's receiver reports, for its health.
func drainRTCP(sender *webrtc.RTPSender, t *pubTrack, down *downMeter) {
	buf := make([]byte, 1500)
	var ssrc uint32
	if enc := sender.GetParameters().Encodings; len(enc) > 0 {
		ssrc = uint32(enc[0].SSRC)
	}
	for {
		n, _, err := sender.Read(buf)
		if err != nil {
			return
		}
		pkts, err := rtcp.Unmarshal(buf[:n])
		if err != nil {
			continue
		}
		var b *binding
		if t.simul != nil {
			b = t.simul.bindingOf(ssrc)
		}
		for _, p := range pkts {
			switch p := p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				if l := b.current(); l != nil {
					l.requestKeyframe()
				} else {
					t.requestKeyframe()
				}
			case *rtcp.ReceiverEstimatedMaximumBitrate:
				b.remb(p, ssrc)
			case *rtcp.SenderReport: // a subscriber that sends too may report in these
				down.report(p.Reports, ssrc)
			case *rtcp.ReceiverReport:
				down.report(p.Reports, ssrc)
				b.reports(p.Reports, ssrc, t.layerList())
			}
		}
	}
}
