package studio

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"

	"greenroom/encode/clock"
	"greenroom/studio/signal"
)

const (
	joinTimeout  = 10 * time.Second // to send "join" after connecting
	writeTimeout = 5 * time.Second  // per signaling message
	// A ping every 2 s keeps NATs open and finds dead peers: a page that
	// answers nothing for pongTimeout is taken for gone (a laptop shut, a
	// network gone; a killed tab's socket closes at once) and its grace
	// starts, but its socket is kept for it to come back over
	// (socketQuiet). 6 s lets a blip of about 4 s pass unseen: TCP resends
	// the ping into the gap 0.2, 0.6, 1.4 and 3 s after sending it. (It
	// was 40 s, and the socket was closed then: a gone guest stayed "on
	// stage" for most of a minute.)
	pingInterval = 2 * time.Second
	pongTimeout  = 6 * time.Second
	outQueue     = 64 // signaling messages a guest may fall behind
	maxInvalid   = 20 // refused messages before the studio gives up

	maxEarlyCandidates = 32          // a browser gathers a handful per interface
	restartGrace       = time.Second // for a path to mend before an ICE restart
	maxPendingJoins    = 64          // sockets connected but not yet joined
)

// Floods end the session (issue #14).
const (
	// maxCandidates bounds the candidates a guest trickles in one ICE
	// session (from its offer, or from an ICE restart, to the next): a
	// browser gathers one per local address, server and transport, tens
	// on a machine with many interfaces.
	maxCandidates = 128
	// A page sends a burst when it joins (its offer, its candidates, its
	// devices) and a few messages a minute after. A socket that sends more
	// than signalBurst at once, or signalRate a second for long, is not a
	// page.
	signalRate  = 50
	signalBurst = 200
)

// A page back over a new socket this soon after the studio followed its
// address (move.go) keeps its ICE session if its media arrived within
// flowingWithin (audio comes every 20 ms, silence included).
const (
	followedFor   = 10 * time.Second
	flowingWithin = 500 * time.Millisecond
)

// Reasons a session ends, sent to the guest in "bye" (and the close frame).
var (
	errLeft        = errors.New("you left the show")
	errLost        = errors.New("connection lost")
	errTooSlow     = errors.New("your connection is too slow to keep up")
	errTooInvalid  = errors.New("too many invalid messages")
	errFlood       = fmt.Errorf("your page sent too many messages (over %d at once, or %d a second)", signalBurst, signalRate)
	errCandidates  = fmt.Errorf("your page sent too many ICE candidates (over %d)", maxCandidates)
	errTooBig      = fmt.Errorf("your page sent a message over the %d-byte limit", signal.MaxMessageSize)
	errMediaFailed = errors.New("the media connection failed")
	errReplaced    = errors.New("you joined again from another connection")
	errLinkRetired = errors.New("this link is no longer valid; ask the host for the current one")
)

// fullReason is what the page of a guest refused for a full green room
// shows (signal.CloseStudioFull).
const fullReason = "The studio is full — the host can make room; try again later."

var upgrader = websocket.Upgrader{
	ReadBufferSize:  4096,
	WriteBufferSize: 4096,
	// The default CheckOrigin refuses pages from another origin, which keeps
	// other sites from using a visitor's browser to join.
}

// serveSignal is one guest's WebSocket, from "join" to the end of the
// session. The handler goroutine runs the session's loop itself.
func (s *Studio) serveSignal(w http.ResponseWriter, r *http.Request) {
	// A link the host rotated away lets its guests back in after a blip
	// (with their resume key), and nobody else.
	if s.tokenRefused(w, r, false) {
		return
	}
	current, retired := s.guestTokenKind(r.PathValue("token"))
	if !current && !retired {
		s.forbidden(w, r)
		return
	}
	leave, ok := s.life.enter()
	if !ok {
		http.Error(w, "the studio is closing", http.StatusServiceUnavailable)
		return
	}
	defer leave()
	// Sockets that have not said "join" yet cost a goroutine each for up to
	// joinTimeout; bound them so a leaked link can't be used to pile them
	// up.
	if s.pending.Add(1) > maxPendingJoins {
		s.pending.Add(-1)
		http.Error(w, "too many guests joining at once; try again in a few seconds", http.StatusServiceUnavailable)
		return
	}
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		s.pending.Add(-1)
		return // Upgrade has answered the client
	}
	ws.SetReadLimit(signal.MaxMessageSize)

	// Until "join", nothing is allocated for the connection but the socket;
	// Close unblocks the read through the deadline.
	_ = ws.SetReadDeadline(time.Now().Add(joinTimeout))
	stop := context.AfterFunc(s.ctx, func() { _ = ws.SetReadDeadline(time.Now()) })
	join, err := readJoin(ws)
	stop()
	s.pending.Add(-1)
	if err != nil {
		closeWith(ws, websocket.ClosePolicyViolation, err.Error())
		return
	}
	_ = ws.SetReadDeadline(time.Time{})

	// A page whose socket broke while its media flowed may carry on with
	// its session over this one (issue #9).
	if join.Keep && s.adopt(join, ws) {
		return
	}
	g := &guest{
		st:      s,
		in:      make(chan signal.Message),
		out:     make(chan signal.Message, outQueue),
		calls:   make(chan func()),
		poke:    make(chan struct{}, 1),
		restDue: make(chan struct{}, 1),
		attach:  make(chan attachment),
		simul:   make(map[*webrtc.RTPReceiver]*pubTrack),
		sender:  clock.NewSender(),
	}
	g.playout = clock.NewPlayout(g.sender)
	g.ctx, g.cancel = context.WithCancelCause(s.ctx)
	p, key, resumed, err := s.admit(join, g, retired)
	if err != nil {
		g.cancel(err)
		code, reason := websocket.CloseTryAgainLater, err.Error() // closing
		switch {
		case errors.Is(err, errLinkRetired), errors.Is(err, ErrBadName):
			code = websocket.ClosePolicyViolation // trying again won't help
		case errors.Is(err, ErrStudioFull):
			// Not now, and not by itself: the page says so and stops.
			code, reason = signal.CloseStudioFull, fullReason
			s.log.Info("refused a guest: the studio is full", "err", err)
		}
		closeWith(ws, code, reason)
		return
	}
	g.id = p.ID
	g.media, g.mediaProblem = p.Media, p.MediaProblem
	g.log = s.log.With("component", "guest", "guest", p.ID)
	g.log.Info("joined", "name", p.Name, "remote", r.RemoteAddr, "resumed", resumed)
	g.iceServers = s.sfu.currentICEServers()
	g.send(g.welcome(p.Name, key, false))
	// A page back after its media failed learns the problem at once.
	g.send(signal.Message{Type: signal.TypeMedia, Media: string(p.Media), Problem: p.MediaProblem})
	s.changed()
	g.run(ws)
}

// admit lets a guest in: back into its place if it brings the ID and
// resume key of a guest the studio still holds, else as a new guest in the
// green room (a stale key is not an error: the page just starts over) —
// or on stage, if the key is of a guest the last studio had there before
// a restart and there is room (stagekeep.go) — unless it came through a
// retired link, which is only good for resuming.
func (s *Studio) admit(join signal.Message, g *guest, resumeOnly bool) (p Participant, key string, resumed bool, err error) {
	if join.ID != "" && join.Resume != "" {
		if p, old, ok := s.show.resume(join.ID, join.Resume, g); ok {
			if old != nil {
				old.kick(errReplaced.Error())
			}
			return p, join.Resume, true, nil
		}
	}
	if resumeOnly {
		return Participant{}, "", false, errLinkRetired
	}
	p, k, err := s.show.addGuest(join.Name, g)
	if err != nil || join.Resume == "" {
		return p, k.Reveal(), false, err
	}
	if _, rank, ok := s.stage.takeBack(join.Resume); ok {
		if on, err := s.show.putBack(p.ID, rank); err != nil {
			s.log.Info("a guest on stage before the restart is back in the green room", "participant", p.ID, "err", err)
		} else {
			p = on
			s.log.Info("a guest on stage before the restart is back on stage", "participant", p.ID)
		}
	}
	return p, k.Reveal(), false, nil
}

// readJoin reads the first message, which must be "join".
func readJoin(ws *websocket.Conn) (signal.Message, error) {
	_, data, err := ws.ReadMessage()
	if err != nil {
		return signal.Message{}, fmt.Errorf("no join message: %w", err)
	}
	m, err := signal.Parse(data)
	if err != nil {
		return m, err
	}
	if m.Type != signal.TypeJoin {
		return m, fmt.Errorf("%w: the first message must be join, not %s", signal.ErrInvalid, m.Type)
	}
	return m, nil
}

// closeWith sends a close frame with a reason and closes the socket.
func closeWith(ws *websocket.Conn, code int, reason string) {
	if len(reason) > 120 { // a close frame's reason has 123 bytes at most
		reason = reason[:120]
	}
	_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
	_ = ws.Close()
}

// guest is one connected guest: its signaling and its PeerConnection. It is
// an actor: run owns pc, senders and the negotiation state; the reader, the
// writer and pion's callbacks talk to it through channels; life counts
// the goroutines the session waits for before it ends.
type guest struct {
	st     *Studio
	id     string
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelCauseFunc

	in    chan signal.Message // reader → run
	out   chan signal.Message // run, reader → writer; bounded
	calls chan func()         // pion callbacks → run
	poke  chan struct{}       // the show changed; capacity 1 merges pokes
	// restDue: a receiver chose a layer of ours that rests (rest.go);
	// capacity 1 merges them.
	restDue chan struct{}
	attach  chan attachment // a new socket for the session (socket.go)

	// sock is the session's WebSocket, nil while it has none (its socket
	// broke and the page may come back over another). orphaned is set
	// while the session waits for its page: without a socket, or over one
	// the page has answered nothing on for pongTimeout (socketQuiet);
	// orphanDue fires when it has waited long enough. Owned by run;
	// orphaned is read by send too.
	sock      *socket
	lastDone  chan struct{} // the last socket's writer has left
	orphanDue <-chan time.Time
	orphaned  atomic.Bool

	life goroutines // reader, writer, track forwarders, RTCP readers, sink feeders

	// sender maps the guest's RTP times to the studio's clock through its
	// sender reports (the RTCP readers feed it; the recording reads it).
	sender *clock.Sender
	// playout is when the program plays the guest's media, by sender.
	playout *clock.Playout

	// iceServers are the STUN/TURN servers the guest was told in
	// "welcome", for our side of its connection too; set before run.
	iceServers []webrtc.ICEServer

	// Owned by run.
	pc      *webrtc.PeerConnection
	down    *downlink                            // pc's send-side estimate and the tracks it is shared by
	senders map[*pubTrack]*webrtc.RTPTransceiver // what we forward, and where
	// Transceivers whose track we removed, kept for that track's return to
	// the stage or for another track of the same kind: parking waits for
	// the answer to the offer that removed it. free holds those whose track
	// ended (its owner left), for any track of their kind.
	parking  map[*pubTrack]*webrtc.RTPTransceiver
	parked   map[*pubTrack]*webrtc.RTPTransceiver
	free     []*webrtc.RTPTransceiver
	offering bool // an offer of ours awaits its answer
	restart  bool // the guest asked for an ICE restart: the next offer makes one
	// restartWaiting: the guest asked for a restart, and we wait
	// restartGrace to see whether the path mends by itself.
	restartWaiting bool
	added          []*pubTrack // video tracks in that offer: PLI once answered
	roster         []signal.Member
	recTake        string   // the local recording take the page was told of (upload.go)
	recSent        bool     // whether this socket's page was told (of recTake, or to stop)
	paused         []string // the camera layers (rids) the page was told to pause (rest.go)
	muted          bool     // what the guest was last told of the host muting them
	// music is whether the guest's sound is music as the page last said
	// or was told (Participant.MusicMode); reoffer, that the page needs
	// an offer for its Opus parameters to follow it.
	music      bool
	reoffer    bool
	loss       lossMeter
	hold       levelHold                 // the level shown (health.go)
	sound      soundMeter                // the sound the program concealed (health.go)
	forced     *Health                   // a test's level instead of the measured one (export_test.go)
	early      []webrtc.ICECandidateInit // trickled before the offer
	candidates int                       // trickled in this ICE session (maxCandidates)
	// ice is where the connection sends, filed in the SFU under ufrag,
	// our ICE ufrag, for following the guest when its address changes
	// (move.go).
	ice     iceSession
	ufrag   string
	movedAt time.Time // when the studio last followed it (moved)

	// Where the media stands (media.go): what the show and the page were
	// last told; whether a packet from the guest came; whether
	// Config.MediaTimeout passed since the answer (mediaDue fires then); whether
	// the media flowed once.
	media        Media
	mediaProblem string
	gotMedia     bool
	late         bool
	wasConnected bool // media flowed once in this session
	mediaDue     <-chan time.Time

	// screenMids are the guest's transceivers (by mid) that carry its
	// screen, from its offer. Set before the offer is applied, never
	// changed after: pion's OnTrack goroutines read it.
	screenMids map[string]bool
	// sharing is whether the guest says its screen is shared; guarded by
	// the SFU's mu (sfu.setSharing, sfu.publish).
	sharing bool

	// simul are the guest's simulcast tracks by receiver, for their
	// layers to find (pion's OnTrack goroutines); simMu guards it.
	simMu sync.Mutex
	simul map[*webrtc.RTPReceiver]*pubTrack

	// view is how big the guest's page draws each other participant
	// (signal "view"): run sets it, the switchers of what we forward it
	// read it.
	view tileView

	// freezes are the guest's camera freezes, from the frames the SFU
	// forwards (health.go); it has its own lock.
	freezes freezeMeter
	// reported is the loss the guest reports on what we send it
	// (health.go); its own lock.
	reported downMeter
	// rtts are the round trips its reports on what we send it give
	// (roundtrip.go); their own lock.
	rtts roundTrips
}

// changed implements guestConn.
func (g *guest) changed() {
	select {
	case g.poke <- struct{}{}:
	default:
	}
}

// kick implements guestConn.
func (g *guest) kick(reason string) { g.cancel(errors.New(reason)) }

// send queues a message for the guest without blocking; a guest that lets
// its queue fill is too slow to follow the show and is disconnected. While
// the session has no socket what doesn't fit is dropped: a page that comes
// back is sent the state afresh (resync).
func (g *guest) send(m signal.Message) {
	select {
	case g.out <- m:
	default:
		if !g.orphaned.Load() {
			g.cancel(errTooSlow)
		}
	}
}

// post runs f on the session's loop; pion callbacks use it. It gives up when
// the session ends, so a callback never blocks pion's shutdown.
func (g *guest) post(f func()) {
	select {
	case g.calls <- f:
	case <-g.ctx.Done():
	}
}

func (g *guest) run(ws *websocket.Conn) {
	g.startSocket(ws)
	defer g.teardown()
	rate := time.NewTicker(qualityInterval)
	defer rate.Stop()
	for {
		select {
		case <-g.ctx.Done():
			return
		case <-rate.C:
			if g.pc != nil {
				stats := g.pc.GetStats()
				now := time.Now()
				up, known := g.loss.links(stats, now)
				measured := g.rtts.into(&up, now)
				down, reported := g.downlink()
				known = known || measured || reported
				rtt := time.Duration(up.RTTMs) * time.Millisecond
				g.st.show.setQuality(g.id, rateQuality(max(up.Loss, down.Loss), rtt, known))
				g.st.show.setPath(g.id, pathOf(stats, g.st.portOpen()))
				g.rateHealth(up, down, known, now)
			}
			g.restLayers(time.Now())
		case m := <-g.in:
			if err := g.handle(m); err != nil {
				g.log.Info("negotiation failed", "err", err)
				g.send(signal.Message{Type: signal.TypeError, Error: err.Error()})
				g.cancel(fmt.Errorf("could not set up the media connection: %w", err))
			}
		case <-g.mediaDue:
			g.mediaDue, g.late = nil, true
			g.updateMedia()
		case a := <-g.attach:
			a.reply <- g.adopt(a)
		case <-g.orphanDue:
			g.cancel(errAway)
		case f := <-g.calls:
			f()
		case <-g.poke:
			g.sync()
		case <-g.restDue:
			g.restLayers(time.Now())
		}
	}
}

// teardown ends the session in an order that never waits on a goroutine
// that waits on us: refuse new goroutines, leave the show (or hold the
// place), close the PeerConnection (ends our forwarders and RTCP readers;
// the writer has said bye and closed the socket, which ends the reader),
// wait for them all, and only then take our tracks out of the SFU — a
// track that arrived while we were closing is in the table by now too.
func (g *guest) teardown() {
	reason := context.Cause(g.ctx)
	g.life.close()
	// A guest whose connection broke keeps its place for a while to come
	// back to; one that left, was kicked or replaced, or misbehaved is out
	// (leave and detach act only if this session still is the guest's).
	lost := errors.Is(reason, errLost) || errors.Is(reason, errMediaFailed)
	held := false
	if lost {
		var leaving time.Time
		if leaving, held = g.st.show.detach(g.id, g); held {
			g.st.holdPlace(g.id, leaving)
		}
	}
	if !held {
		g.st.show.leave(g.id, g)
	}
	if g.recTake != "" {
		g.st.uploads.stop(g.recTake) // the page records no more; its upload may go on
	}
	if g.pc != nil {
		if err := g.pc.Close(); err != nil {
			g.log.Debug("close peer connection", "err", err)
		}
	}
	g.life.wait()
	g.st.sfu.sessions.remove(&g.ice, g.ufrag)
	if g.down != nil {
		g.st.sfu.downlinks.Delete(g.down)
	}
	if g.sock != nil {
		_ = g.sock.ws.Close()
	}
	g.st.sfu.unpublish(g)
	g.st.changed()
	g.log.Info("session ended", "reason", reason)
}

// handle applies one message from the guest. An error ends the session.
func (g *guest) handle(m signal.Message) error {
	switch m.Type {
	case signal.TypeJoin:
		g.send(signal.Message{Type: signal.TypeError, Error: "already joined"})
	case signal.TypeLeave:
		g.cancel(errLeft)
	case signal.TypeOffer:
		if g.pc != nil {
			// See package signal: after the first exchange only the studio
			// offers. Refusing keeps the session usable.
			g.send(signal.Message{Type: signal.TypeError, Error: "the studio makes the offers after the first one; answer them"})
			return nil
		}
		return g.acceptOffer(m)
	case signal.TypeAnswer:
		if !g.offering {
			g.send(signal.Message{Type: signal.TypeError, Error: "answer without an offer from the studio"})
			return nil
		}
		if err := g.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: m.SDP}); err != nil {
			return fmt.Errorf("apply answer: %w", err)
		}
		g.ice.learn(g.pc) // new credentials, if it answered an ICE restart
		g.offering = false
		maps.Copy(g.parked, g.parking)
		clear(g.parking)
		for _, t := range g.added {
			t.requestKeyframe() // the new subscriber can't decode without one
		}
		g.added = nil
		g.sync() // anything that changed while we waited
	case signal.TypeRestart:
		// The guest's media path broke (issue #9): our next offer
		// restarts ICE — now, or after the answer to the one out.
		if g.pc == nil {
			return nil // nothing to restart yet; its offer is coming
		}
		// A link that was down and is back often mends the path by
		// itself within a second, and the request, sent while it was
		// down, arrives after it came back (it waited in TCP's
		// retransmission backoff): a restart then would only set the
		// media back. So wait restartGrace and restart only if the path
		// is still broken. A page whose media stays stalled rejoins after
		// its own wait.
		if m.Stalled {
			g.log.Info("ICE restart: the page receives nothing", "state", g.pc.ConnectionState())
			g.restart = true
			g.sync()
			return nil
		}
		if g.restartWaiting {
			return nil
		}
		g.restartWaiting = true
		pc := g.pc
		g.life.spawn(func() {
			t := time.NewTimer(restartGrace)
			defer t.Stop()
			select {
			case <-t.C:
			case <-g.ctx.Done():
				return
			}
			g.post(func() {
				g.restartWaiting = false
				if g.pc != pc {
					return
				}
				if pc.ICEConnectionState() == webrtc.ICEConnectionStateConnected {
					g.log.Info("ICE restart not needed: connected again")
					return
				}
				g.log.Info("ICE restart", "state", pc.ConnectionState())
				g.restart = true
				g.sync()
			})
		})
	case signal.TypeShare:
		// Before the screen's first packet there is no track yet; it
		// starts shared when it comes.
		if g.st.sfu.setSharing(g, m.Sharing) || m.Sharing {
			g.log.Info("screen share", "sharing", m.Sharing)
			if m.Sharing {
				g.st.sfu.requestKeyframe(g.id)
			}
			g.st.changed()
		}
	case signal.TypeDevices:
		// Parse made sure both are there.
		g.freezes.camera(*m.Camera)
		if g.st.show.setDevices(g.id, !*m.Mic, !*m.Camera) {
			g.log.Info("devices", "mic", *m.Mic, "camera", *m.Camera)
			g.st.changed()
		}
	case signal.TypeMusic:
		// The page switched by itself: it knows, so the studio tells it
		// nothing back (sendMusic), and offers the renegotiation (none
		// yet before its first offer, whose answer it sets itself).
		if m.Music != g.music {
			g.reoffer = g.pc != nil
		}
		g.music = m.Music
		changed, err := g.st.show.setMusicMode(g.id, m.Music)
		if err != nil {
			return nil // gone from the show meanwhile
		}
		if changed {
			g.log.Info("music mode", "on", m.Music, "by", "guest")
			g.st.changed()
		}
		g.sync()
	case signal.TypeView:
		// Parse validated it; the switchers take it at their next choice
		// (at most every switchEvery). The page sends one when its tiles
		// change, at most twice a second; the socket's flood limit bounds
		// a page that sends more.
		g.view.set(m.Sizes)
	case signal.TypeCandidate:
		if g.candidates++; g.candidates > maxCandidates {
			g.cancel(errCandidates)
			return nil
		}
		if g.pc == nil {
			// A client may trickle its first candidates before its offer
			// is on the wire (they are gathered from setLocalDescription
			// on); keep a few for when the offer comes.
			if len(g.early) >= maxEarlyCandidates {
				// Said once: a reply to each would fill the page's queue
				// (errTooSlow) before maxCandidates says what is wrong.
				if g.candidates == maxEarlyCandidates+1 {
					g.send(signal.Message{Type: signal.TypeError, Error: "too many candidates before the offer"})
				}
				return nil
			}
			g.early = append(g.early, *m.Candidate)
			return nil
		}
		g.addCandidate(*m.Candidate)
	}
	return nil
}

// addCandidate applies a candidate the guest trickled; the page hears of
// each one that is bad, and the session goes on (a candidate we can't use
// is not worth the session; maxCandidates bounds a flood of them). pion
// drops some quietly — an unknown type, a transport other than UDP or
// TCP — so they are parsed here first: otherwise the page would never
// learn that what it sent was refused (issue #14). A candidate of an
// earlier ICE session (an ICE restart's trickle overtaken) is still
// dropped quietly by pion: it was good when sent.
func (g *guest) addCandidate(c webrtc.ICECandidateInit) {
	err := g.pc.AddICECandidate(c)
	if v := strings.TrimPrefix(c.Candidate, "candidate:"); err == nil && v != "" {
		_, err = ice.UnmarshalCandidate(v)
	}
	if err != nil {
		g.send(signal.Message{Type: signal.TypeError, Error: "bad candidate: " + err.Error()})
	}
}

// acceptOffer creates the PeerConnection from the guest's first offer.
func (g *guest) acceptOffer(offer signal.Message) error {
	sdp := offer.SDP
	g.screenMids = map[string]bool{}
	for mid, kind := range offer.Sources {
		if kind == signal.SourceScreen {
			g.screenMids[mid] = true
		}
	}
	pc, err := g.st.sfu.api.Load().NewPeerConnection(webrtc.Configuration{ICEServers: studioSide(g.iceServers)})
	if err != nil {
		return fmt.Errorf("new peer connection: %w", err)
	}
	g.pc = pc
	g.down = &downlink{est: g.st.sfu.takeEstimator(pc)}
	g.st.sfu.takeReports(pc, g.sender, &g.rtts)
	g.st.sfu.downlinks.Store(g.down, nil)
	g.senders = make(map[*pubTrack]*webrtc.RTPTransceiver)
	g.parking = make(map[*pubTrack]*webrtc.RTPTransceiver)
	g.parked = make(map[*pubTrack]*webrtc.RTPTransceiver)
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			return // gathering done; trickle has no end marker to send
		}
		init := c.ToJSON()
		g.post(func() { g.send(signal.Message{Type: signal.TypeCandidate, Candidate: &init}) })
	})
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		g.log.Debug("connection", "state", st)
		// The host and the page hear why before the session ends.
		g.post(g.updateMedia)
		if st == webrtc.PeerConnectionStateFailed {
			g.cancel(errMediaFailed)
		}
	})
	pc.OnTrack(func(remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
		g.onTrack(pc, remote, recv) // pion runs this in a goroutine of its own
	})
	g.ice.watch(pc.SCTP().Transport().ICETransport(), func(from, to netip.AddrPort) {
		g.post(func() { g.moved(from, to) })
	})
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}); err != nil {
		return fmt.Errorf("apply offer: %w", err)
	}
	for _, c := range g.early {
		g.addCandidate(c)
	}
	g.early = nil
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return fmt.Errorf("answer: %w", err)
	}
	if err := pc.SetLocalDescription(answer); err != nil {
		return fmt.Errorf("apply answer: %w", err)
	}
	g.life.spawn(func() { g.capUplink(pc) })
	g.ufrag = g.st.sfu.sessions.file(&g.ice, g.ufrag, localUfrag(pc))
	g.ice.learn(pc)
	g.send(signal.Message{Type: signal.TypeAnswer, SDP: pc.LocalDescription().SDP})
	g.mediaDue = time.After(g.st.cfg.MediaTimeout)
	g.sync()
	return nil
}

// moved notes that the guest's media now goes to another address (its
// public address changed, or an ICE restart found a new path): what it
// sent meanwhile was dropped before it reached us, and whoever decodes
// it needs a keyframe.
func (g *guest) moved(from, to netip.AddrPort) {
	g.log.Info("the guest's address moved", "from", from, "to", to)
	g.movedAt = time.Now()
	g.st.sfu.requestKeyframe(g.id)
}

// followed says whether the studio followed the guest to a new address
// lately (moved) and its packets keep coming over the path it took.
func (g *guest) followed() bool {
	if g.pc == nil || time.Since(g.movedAt) > followedFor || g.pc.ICEConnectionState() != webrtc.ICEConnectionStateConnected {
		return false
	}
	stats, ok := g.pc.SCTP().Transport().ICETransport().GetSelectedCandidatePairStats()
	return ok && time.Since(stats.LastPacketReceivedTimestamp.Time()) < flowingWithin
}

// onTrack publishes a track the guest sends and forwards it until it ends.
func (g *guest) onTrack(pc *webrtc.PeerConnection, remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	// A packet of this SSRC from an address the studio doesn't send to
	// hints that the guest moved (movehint.go).
	g.st.sfu.sessions.addSSRC(&g.ice, uint32(remote.SSRC()))
	// pion calls OnTrack once the track's first packet is in: media flows.
	g.post(func() {
		g.gotMedia = true
		g.updateMedia()
	})
	screen := false
	if remote.Kind() == webrtc.RTPCodecTypeVideo {
		for _, tr := range pc.GetTransceivers() {
			if tr.Receiver() == recv {
				screen = g.screenMids[tr.Mid()]
			}
		}
	}
	// The guest's sender reports for this track (per layer: each has its
	// own SSRC) are read below pion's receiver, by the reports
	// interceptor (reports.go), which also runs the receiver-report
	// interceptor on them (LSR/DLSR, issue #10). They place the guest's
	// media on the show's timeline (issues #11, #12).
	rid := remote.RID()
	if rid != "" {
		g.onLayer(pc, remote, recv, screen)
		return
	}
	t, err := newPubTrack(g, remote, screen, false, pc, g.st.sfu.sink, g.log)
	if err != nil {
		g.log.Warn("track not forwarded", "err", err)
		return
	}
	done, ok := g.life.enter()
	if !ok {
		return // closing: teardown no longer waits for new work
	}
	defer done()
	g.st.sfu.publish(t)

	g.log.Info("publishing", "kind", t.info.Kind, "screen", screen, "codec", t.info.MimeType)
	g.st.changed()
	if t.sinkQ != nil {
		g.life.spawn(func() { t.feedSink(g.st.sfu.sink) })
	}
	t.forward()
}

// onLayer publishes one layer (rid) of a track the guest sends in
// simulcast, and forwards it until it ends. pion calls OnTrack once per
// rid, as each layer's first packet comes: the first layer of a
// transceiver publishes the track, the others join it.
func (g *guest) onLayer(pc *webrtc.PeerConnection, remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver, screen bool) {
	done, ok := g.life.enter()
	if !ok {
		return
	}
	defer done()
	g.simMu.Lock()
	t, known := g.simul[recv]
	if !known {
		var err error
		if t, err = newPubTrack(g, remote, screen, true, pc, g.st.sfu.sink, g.log); err != nil {
			g.simMu.Unlock()
			g.log.Warn("track not forwarded", "err", err)
			return
		}
		g.simul[recv] = t
	}
	l, ok := t.addLayer(remote, pc)
	g.simMu.Unlock()
	if !ok {
		return // its other layers ended: the track is gone
	}
	if !known {
		g.st.sfu.publish(t)
		g.log.Info("publishing", "kind", t.info.Kind, "screen", screen, "codec", t.info.MimeType, "simulcast", true)
		g.st.changed()
		if t.sinkQ != nil {
			g.life.spawn(func() { t.feedSink(g.st.sfu.sink) })
		}
	}
	g.log.Info("simulcast layer", "track", t.info.TrackID, "rid", l.rid)
	t.forwardLayer(l)
}

// sync makes what the guest receives match the show: add the tracks of
// everyone else on stage, remove the rest, and offer the change. It also
// sends the roster when it changed. Only one offer is outstanding at a time;
// changes made meanwhile are picked up when the answer comes.
func (g *guest) sync() {
	st := g.st.show.state()
	g.sendRoster(st)
	g.sendMuted(st)
	g.sendMusic(st)
	g.sendRecord(st)
	if g.pc == nil || g.offering || g.pc.SignalingState() != webrtc.SignalingStateStable {
		return
	}
	want := g.st.sfu.forwardedTo(g.id, st)
	// A parked transceiver waits for its track's return; a track that
	// ended won't return, so its transceiver is free for any other.
	maps.DeleteFunc(g.parked, func(t *pubTrack, tr *webrtc.RTPTransceiver) bool {
		if t.ended.Load() {
			g.free = append(g.free, tr)
			return true
		}
		return false
	})
	changed := false
	for t, tr := range g.senders {
		if !want[t] {
			if err := g.pc.RemoveTrack(tr.Sender()); err != nil {
				g.log.Debug("remove track", "track", t.info.TrackID, "err", err)
			}
			delete(g.senders, t)
			g.parking[t] = tr
			changed = true
		}
	}
	for t := range want {
		if g.senders[t] != nil {
			continue
		}
		tr, err := g.transceiverFor(t)
		if err != nil {
			g.log.Warn("forward track", "track", t.info.TrackID, "err", err)
			continue
		}
		sender := tr.Sender()
		g.senders[t] = tr
		if t.simul != nil {
			if enc := sender.GetParameters().Encodings; len(enc) > 0 {
				t.simul.own(enc[0].SSRC, g.id, receiver{down: g.down, view: &g.view})
			}
		}
		g.life.spawn(func() { drainRTCP(sender, t, &g.reported) })
		if t.info.Kind == "video" {
			g.added = append(g.added, t)
		}
		changed = true
	}
	if changed {
		g.down.set(slices.Collect(maps.Keys(g.senders)))
	}
	if !changed && !g.restart && !g.reoffer {
		return
	}
	offer, err := g.pc.CreateOffer(&webrtc.OfferOptions{ICERestart: g.restart})
	if err == nil {
		err = g.pc.SetLocalDescription(offer)
	}
	if err != nil {
		g.cancel(fmt.Errorf("could not renegotiate the media connection: %w", err))
		return
	}
	if g.restart {
		g.ufrag = g.st.sfu.sessions.file(&g.ice, g.ufrag, localUfrag(g.pc))
		g.ice.learn(g.pc)
		g.candidates = 0 // a new ICE session: the page gathers afresh
	}
	g.offering, g.restart, g.reoffer = true, false, false
	g.send(signal.Message{Type: signal.TypeOffer, SDP: g.pc.LocalDescription().SDP})
}

// transceiverFor makes room for a forwarded track on a transceiver the
// guest has already negotiated, if one is idle, else on a new one of our
// own. Idle ones are, in order: the track's own from an earlier turn on
// stage, one whose track ended (its owner left), one parked for another
// track still in the show (which gets another when it returns). Without
// that, every guest who ever came would leave an inactive m-line in every
// other guest's SDP, until their answers outgrew a signaling message
// (issue #4); with it, the m-lines are bounded by the most tracks
// forwarded at once (plus those removed in an offer not answered yet,
// which are not reused before the guest agreed they are idle). The
// guest's own sending transceivers are never used: the page made them
// sendonly.
//
// An idle transceiver is inactive, so the offer turns it to sendonly with
// the new track's stream ID (the participant) and SSRC: the browser fires
// ontrack with the new stream, which the page files under that participant.
// (A pion guest as of v4.2 loses an m-line that stays inactive over two
// offers, pion/webrtc#2226: the test client works around it, see
// studiotest.)
func (g *guest) transceiverFor(t *pubTrack) (*webrtc.RTPTransceiver, error) {
	if tr := g.idle(t); tr != nil {
		sender, err := g.st.sfu.api.Load().NewRTPSender(t.local, g.pc.SCTP().Transport())
		if err == nil {
			if err = tr.SetSender(sender, t.local); err == nil {
				return tr, nil
			}
			_ = sender.Stop()
		}
		g.log.Debug("reuse transceiver", "err", err)
	}
	return g.pc.AddTransceiverFromTrack(t.local, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
}

// idle takes an idle transceiver for t out of the pools (see
// transceiverFor), or returns nil.
func (g *guest) idle(t *pubTrack) *webrtc.RTPTransceiver {
	if tr := g.parked[t]; tr != nil {
		delete(g.parked, t)
		return tr
	}
	kind := t.local.Kind()
	if i := slices.IndexFunc(g.free, func(tr *webrtc.RTPTransceiver) bool { return tr.Kind() == kind }); i >= 0 {
		tr := g.free[i]
		g.free = slices.Delete(g.free, i, i+1)
		return tr
	}
	for other, tr := range g.parked {
		if tr.Kind() == kind {
			delete(g.parked, other)
			return tr
		}
	}
	return nil
}

// sendMuted tells the guest when the host mutes or unmutes them.
func (g *guest) sendMuted(st State) {
	for _, p := range st.Participants {
		if p.ID == g.id && p.Muted != g.muted {
			g.muted = p.Muted
			g.send(signal.Message{Type: signal.TypeMuted, Muted: p.Muted})
		}
	}
}

// sendMusic tells the guest when the host switches their music mode, and
// asks for the offer that carries it into their Opus parameters.
func (g *guest) sendMusic(st State) {
	for _, p := range st.Participants {
		if p.ID == g.id && p.MusicMode != g.music {
			g.music = p.MusicMode
			g.reoffer = g.pc != nil
			g.send(signal.Message{Type: signal.TypeMusic, Music: p.MusicMode})
		}
	}
}

func (g *guest) sendRoster(st State) {
	roster := make([]signal.Member, 0, len(st.Participants))
	for _, p := range st.Participants {
		roster = append(roster, signal.Member{ID: p.ID, Name: p.Name, Role: string(p.Role), Place: string(p.Place),
			CameraOff: p.CameraOff, MicOff: p.MicOff, Muted: p.Muted})
	}
	if slices.Equal(roster, g.roster) {
		return
	}
	g.roster = roster
	g.send(signal.Message{Type: signal.TypeRoster, ID: g.id, Roster: roster})
}
