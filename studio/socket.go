package studio

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/webrtc/v4"
	"golang.org/x/time/rate"

	"greenroom/studio/signal"
)

// errAway ends a session whose page did not come back over another socket
// within Config.ReconnectGrace: the guest is out.
var errAway = errors.New("connection lost; did not come back")

// socket is one WebSocket of a session, with its reader and its writer. A
// session has one at a time, and may get another when its page comes back
// after the one before broke.
type socket struct {
	ws   *websocket.Conn
	stop chan struct{} // closed by run: the writer leaves, the session goes on
	done chan struct{} // closed when the writer has left
	// answered is when the page last answered a ping or sent a message
	// (unix nanoseconds): the reader sets it, the writer judges it.
	answered atomic.Int64
}

// attachment is a page's new socket for a session it resumes, with the
// resume key it came with; run answers on reply whether it took it.
type attachment struct {
	ws    *websocket.Conn
	key   string
	reply chan bool
}

// startSocket gives the session ws, with a reader and a writer. Run owns
// it.
func (g *guest) startSocket(ws *websocket.Conn) {
	sock := &socket{ws: ws, stop: make(chan struct{}), done: make(chan struct{})}
	sock.answered.Store(time.Now().UnixNano())
	g.sock, g.lastDone = sock, sock.done
	if !g.life.spawn(func() { g.writer(sock) }) {
		close(sock.done)
	}
	g.life.spawn(func() { g.reader(sock) })
}

// dropSocket closes the session's socket; its writer leaves without a word.
func (g *guest) dropSocket() {
	close(g.sock.stop)
	_ = g.sock.ws.Close()
	g.sock = nil
	g.orphaned.Store(true)
}

// canKeep is whether the session is worth keeping for its page to come
// back to over another socket: its media flowed, or its path is up now,
// and its PeerConnection is not beyond an ICE restart. A session that
// never connected is not: the page starts afresh (issue #16). (A guest
// who sends nothing counts as flowing only Config.MediaTimeout after the answer;
// its path being up is enough: in CI such a receiver's socket went quiet
// in a 2 s stall of the box 12 s in, and the session was ended.)
func (g *guest) canKeep() bool {
	if g.pc == nil {
		return false
	}
	st := g.pc.ConnectionState()
	if !g.wasConnected && st != webrtc.PeerConnectionStateConnected {
		return false
	}
	return st != webrtc.PeerConnectionStateFailed && st != webrtc.PeerConnectionStateClosed
}

// socketLost is the reader's news that sock broke. A session worth
// keeping waits for its page to come back over another socket (issue #9):
// a guest who moved to another network has a new socket within seconds,
// and its PeerConnection, its tracks and its tile go on meanwhile. The
// session itself holds the place, marked lost, for Config.ReconnectGrace;
// a page that comes back without its RTCPeerConnection replaces it, as
// one does a session that ended. Other sessions end (connection lost,
// place held).
func (g *guest) socketLost(sock *socket) {
	if sock != g.sock {
		return // one we dropped ourselves
	}
	if !g.canKeep() {
		g.cancel(errLost)
		return
	}
	g.dropSocket()
	g.waitForPage("signaling lost; the session waits for the page")
}

// waitForPage marks the session waiting for its page (orphaned: the show
// says lost, send drops what doesn't fit) until the guest's leaving
// (Participant.LeavingAt), and says why in the log. Run calls it.
func (g *guest) waitForPage(why string) {
	g.orphaned.Store(true)
	leaving, ok := g.st.show.away(g.id, g)
	if !ok {
		leaving = time.Now().Add(g.st.show.reconnectGrace()) // replaced: its successor speaks for the guest
	}
	g.log.Info(why, "for", time.Until(leaving).Round(time.Second))
	g.orphanDue = time.After(time.Until(leaving))
}

// socketQuiet is the writer's news that the page has answered nothing on
// sock for pongTimeout (quiet), or answers again. A page that answers
// nothing is gone — a laptop shut, a network gone — or behind a blip:
// the host is told at once (the session waits for the page as if its
// socket broke, and the countdown runs), but the socket is kept, so that
// a page back from a blip carries on over it as if nothing happened
// (TCP delivers what waited; the page asks for an ICE restart itself if
// its media path needs one). A page that comes back over another socket
// is adopted as usual; one not back within the grace is out (errAway),
// and its socket closed then.
func (g *guest) socketQuiet(sock *socket, quiet bool) {
	if sock != g.sock {
		return
	}
	if quiet {
		if !g.canKeep() {
			g.cancel(errLost)
			return
		}
		g.waitForPage("the page answers nothing; the session waits for it")
		return
	}
	if !g.orphaned.Load() {
		return
	}
	g.log.Info("the page answers again")
	g.orphanDue = nil
	g.orphaned.Store(false)
	// What the page was not told meanwhile (setMedia keeps quiet while
	// orphaned), and the show stops counting down.
	g.st.show.setMedia(g.id, g, g.media, g.mediaProblem)
	g.send(signal.Message{Type: signal.TypeMedia, Media: string(g.media), Problem: g.mediaProblem})
	g.roster = nil
	g.sync()
}

// adopt takes a page's new socket for a session that lives on: the page
// kept its RTCPeerConnection and asks to carry on (join with "keep"). The
// old socket, if the studio had not noticed it broke, is closed; what was
// queued for it is dropped and the page gets the state afresh, and an ICE
// restart, since a socket that broke most likely took the media path with
// it (see resync). Run calls it.
func (g *guest) adopt(a attachment) bool {
	if !g.canKeep() {
		return false
	}
	if g.sock != nil {
		g.dropSocket()
	}
	<-g.lastDone // one writer at a time reads out
	for len(g.out) > 0 {
		<-g.out
	}
	g.orphanDue = nil
	g.orphaned.Store(false)
	g.startSocket(a.ws)
	g.log.Info("the page came back over another socket")
	g.st.show.setMedia(g.id, g, g.media, g.mediaProblem)
	g.resync(a.key)
	return true
}

// welcome is the page's "welcome": its ID and name, the key to resume
// with, the ICE servers, how long the studio waits for its media (the
// page's own patience for an attempt follows it) and, for a page back
// over a new socket, whether the session was kept.
func (g *guest) welcome(name, key string, keep bool) signal.Message {
	return signal.Message{Type: signal.TypeWelcome, ID: g.id, Name: name, Resume: key, ICEServers: g.iceServers,
		MediaWait: int(g.st.cfg.MediaTimeout / time.Millisecond), Keep: keep}
}

// resync tells a page back over a new socket where the session stands: a
// welcome that says the session was kept, the media state, the host's
// mute, the camera layers that rest, the roster, the offer it may not have answered (it answers again
// if it had), and an ICE restart if the media needs one.
func (g *guest) resync(key string) {
	p, _ := g.st.show.participant(g.id)
	g.send(g.welcome(p.Name, key, true))
	g.send(signal.Message{Type: signal.TypeMedia, Media: string(g.media), Problem: g.mediaProblem})
	g.send(signal.Message{Type: signal.TypeMuted, Muted: g.muted})
	g.send(signal.Message{Type: signal.TypeMusic, Music: g.music})
	g.sendLayers()    // a page that missed one would send what rests, or not what is wanted
	g.recSent = false // sent afresh by sync: the page may have missed it
	if p.Health != nil {
		g.sendHealth(*p.Health)
	}
	g.roster = nil
	if g.offering {
		g.send(signal.Message{Type: signal.TypeOffer, SDP: g.pc.LocalDescription().SDP})
	}
	// A socket that broke most likely took the media path with it — but
	// not when the studio has just followed the guest to a new address
	// (move.go) and its media keeps coming: the page lost its socket with
	// the old address, and a restart would only set the media back (the
	// browser goes on over the old pair for seconds, and pion drops what
	// it sends there).
	g.restart = !g.followed()
	g.sync()
}

// adopt hands ws to the live session of the guest that join resumes, if
// there is one worth keeping (guest.adopt), and reports whether it did.
func (s *Studio) adopt(join signal.Message, ws *websocket.Conn) bool {
	conn, ok := s.show.session(join.ID, join.Resume)
	g, isGuest := conn.(*guest)
	if !ok || !isGuest {
		return false
	}
	reply := make(chan bool, 1)
	select {
	case g.attach <- attachment{ws: ws, key: join.Resume, reply: reply}:
		return <-reply // run answers at once
	case <-g.ctx.Done():
		return false
	}
}

// reader turns WebSocket messages into validated signal messages for run.
// A refused message gets an error reply and the session goes on; an
// oversized one makes gorilla close the socket with 1009 (message too big);
// a flood (signalBurst, signalRate) ends the session.
// A socket that breaks is run's to judge (socketLost). Each pong and
// message is an answer from the page (socket.answered); the reader has no
// deadline: a page that answers nothing is the writer's to notice, and
// the socket stays open for it to come back (socketQuiet).
func (g *guest) reader(sock *socket) {
	ws := sock.ws
	ws.SetPongHandler(func(string) error {
		sock.answered.Store(time.Now().UnixNano())
		return nil
	})
	invalid := 0
	flood := rate.NewLimiter(signalRate, signalBurst)
	for {
		_, data, err := ws.ReadMessage()
		if err == nil {
			sock.answered.Store(time.Now().UnixNano())
			if !flood.Allow() {
				g.cancel(errFlood)
				return
			}
		}
		if err != nil {
			switch {
			case errors.Is(err, websocket.ErrReadLimit):
				g.cancel(errTooBig)
			case websocket.IsCloseError(err, websocket.CloseNormalClosure):
				// The page closes its socket itself only once it said
				// "leave" (its Leave button). Chromium's network process
				// closes it as "going away" (1001) when the page goes
				// without a word: after kill -9 of the browser process,
				// it ends its renderers and sockets in order (issue #10
				// item 4). That guest is gone, and keeps their place for
				// the grace.
				g.cancel(errLeft)
			default:
				g.post(func() { g.socketLost(sock) })
			}
			return
		}
		m, err := signal.Parse(data)
		if err != nil {
			g.log.Debug("refused a message", "err", err)
			g.send(signal.Message{Type: signal.TypeError, Error: err.Error()})
			if invalid++; invalid > maxInvalid {
				g.cancel(errTooInvalid)
				return
			}
			continue
		}
		select {
		case g.in <- m:
		case <-g.ctx.Done():
			return
		}
	}
}

// writer is the only goroutine that writes to its socket (gorilla allows
// one writer), and while it runs the only one that reads out. It pings
// the page every pingInterval, and tells run when the page has answered
// nothing for pongTimeout, and when it answers again (socketQuiet). When
// the session ends it says bye with the reason. A write that fails closes
// the socket, and the reader tells run.
func (g *guest) writer(sock *socket) {
	defer close(sock.done)
	ws := sock.ws
	defer ws.Close() // also ends the reader
	// Judged four times per ping, so a silent page is noticed within a
	// quarter of a ping interval of pongTimeout.
	tick := time.NewTicker(pingInterval / 4)
	defer tick.Stop()
	ticks, quiet := 0, false
	for {
		select {
		case m := <-g.out:
			_ = ws.SetWriteDeadline(time.Now().Add(writeTimeout))
			if err := ws.WriteJSON(m); err != nil {
				return
			}
		case <-tick.C:
			if ticks++; ticks%4 == 0 {
				if err := ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeTimeout)); err != nil {
					return
				}
				// What the page sees of the pings (package signal).
				_ = ws.SetWriteDeadline(time.Now().Add(writeTimeout))
				if err := ws.WriteJSON(signal.Message{Type: signal.TypeAlive}); err != nil {
					return
				}
			}
			if q := time.Since(time.Unix(0, sock.answered.Load())) > pongTimeout; q != quiet {
				quiet = q
				// Not post itself: run may be waiting for this writer to
				// leave (adopt), and must not wait on us in turn.
				g.life.spawn(func() { g.post(func() { g.socketQuiet(sock, q) }) })
			}
		case <-sock.stop:
			return
		case <-g.ctx.Done():
			reason := context.Cause(g.ctx)
			if errors.Is(reason, errLost) {
				return
			}
			if errors.Is(reason, errMediaFailed) {
				// The place is held (teardown) for the page to try
				// again: no "bye", which ends the page's show; a close
				// it retries on (issue #16).
				closeWith(ws, websocket.CloseTryAgainLater, reason.Error())
				return
			}
			_ = ws.SetWriteDeadline(time.Now().Add(time.Second))
			_ = ws.WriteJSON(signal.Message{Type: signal.TypeBye, Reason: reason.Error(), Back: errors.Is(reason, errStudioClosing)})
			code := websocket.CloseNormalClosure
			if isPolicyViolation(reason) {
				code = websocket.ClosePolicyViolation
			}
			closeWith(ws, code, reason.Error())
			return
		}
	}
}

// isPolicyViolation is whether the session ended for something its page
// did wrong: the socket closes with 1008, and the page shows the reason and
// does not come back by itself.
func isPolicyViolation(reason error) bool {
	for _, e := range []error{errTooInvalid, errTooSlow, errFlood, errCandidates, errTooBig} {
		if errors.Is(reason, e) {
			return true
		}
	}
	return false
}
