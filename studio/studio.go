package studio

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"

	"greenroom/encode/music"
	"greenroom/studio/portmap"
)

// Config is everything New needs. The zero value serves HTTPS on :8443 with
// a self-signed certificate kept in the user's config directory.
type Config struct {
	// Listen is the HTTP(S) address for the guest page, signaling and the
	// control API. Default ":8443".
	Listen string
	// PublicURL is the base URL guests are given (scheme://host:port), for
	// when the studio is reached through a name or a port forward. Default:
	// the listen address, with this machine's first LAN IPv4 address when
	// listening on all interfaces.
	PublicURL string
	// CertFile and KeyFile are the user's certificate. Without them the
	// studio generates a self-signed ECDSA certificate once and keeps it in
	// ConfigDir: browsers give camera and mic only to secure contexts.
	CertFile, KeyFile string
	// ConfigDir holds the self-signed certificate, and in acme/ the ACME
	// account key and certificates. Default: os.UserConfigDir()/greenroom.
	ConfigDir string
	// Domain, if set, is the name guests reach the studio by (its DNS A
	// record points at this machine or its router, and port 443 there
	// reaches Listen): the studio gets a certificate for it from the ACME
	// CA, one every browser trusts, answering the CA's TLS-ALPN-01
	// challenge on its own HTTPS port, and renews it by itself. Getting it
	// happens in the background: New does not wait, guests get the
	// self-signed certificate until it is there or if the CA refuses, and
	// Certificate says which and why. The guest link becomes
	// https://Domain (port 443, where the CA checks the name) unless
	// PublicURL is set. Not with CertFile or PlainHTTP.
	Domain string
	// ACMEHTTPListen, if set (":80"), also answers the CA's HTTP-01
	// challenge there, for when port 443 of Domain is not the studio's:
	// the CA asks http://Domain/.well-known/acme-challenge/ on port 80.
	// Anything else there is redirected to the guest link's host. The
	// guest link then keeps Listen's port (https://Domain:8443).
	ACMEHTTPListen string
	// ACMECA is the ACME directory URL of the CA. Default LetsEncrypt.
	ACMECA string
	// ACMEEmail, optional, is where the CA may write about the
	// certificate (Let's Encrypt no longer sends expiry mail).
	ACMEEmail string
	// ACMERootCAs, if set, are the roots trusted for the CA's own HTTPS
	// (a test CA); default the system's.
	ACMERootCAs *x509.CertPool
	// Resolver looks Domain up to check it points here before asking the
	// CA. Default net.DefaultResolver.
	Resolver *net.Resolver
	// PlainHTTP serves plain HTTP. Browsers treat http://localhost as a
	// secure context, so this is allowed only when listening on loopback
	// (tests, a guest on the same machine).
	PlainHTTP bool

	// ICEUDPListen is the one UDP address all guests' media goes through.
	// Default: the host and port of Listen, over UDP — on every interface
	// when Listen is on loopback behind a PublicURL elsewhere (a TLS front).
	ICEUDPListen string
	// ICE over TCP, for guests whose network blocks UDP, comes in on the
	// web port (see tcpsplit.go), unless ICETCPListen gives it an address
	// of its own or DisableICETCP turns it off.
	ICETCPListen  string
	DisableICETCP bool
	// ICEServers are the STUN/TURN servers handed to guest pages. The
	// studio asks the STUN servers for the public address of its media
	// port, and uses the TURN servers on its side of each connection (see
	// publicaddr.go). None by default: DefaultSTUN is the list the window
	// and serve start with.
	ICEServers []webrtc.ICEServer
	// NAT1To1IPs are public addresses to advertise instead of the local ones
	// (a studio behind a 1:1 NAT or a port forward).
	NAT1To1IPs []string
	// MapPorts asks the home router to forward the web port (TCP) and the
	// media port (UDP) to this computer, over UPnP or NAT-PMP (package
	// portmap), for as long as the studio runs: the guest link then names
	// the router's address (unless PublicURL or Domain names another), and
	// the media port is offered at it. With a Domain it also asks for the
	// router's 443 to the web port (and its 80 to ACMEHTTPListen's port),
	// where the CA checks the name and a link without a port lands; a
	// router that keeps 443 or gives another port leaves the link on the
	// web port, and Reach says so. Reach says how it went. Off by
	// default: the window and serve turn it on.
	MapPorts bool

	// ReconnectGrace is how long a guest who is gone (their page's
	// connection broke, and nothing came back) keeps their place, stage or
	// green room, for their page to come back; the host sees it count down
	// (Participant.LeavingAt). Meanwhile the program shows their tile in
	// its place with the placeholder. DefaultReconnectGrace if zero; the
	// window and serve keep it within CheckReconnectGrace's range.
	ReconnectGrace time.Duration
	// MediaTimeout is how long after answering a guest's offer the
	// studio waits for its media before calling it failed (issue #16);
	// the page starts another attempt after twice that.
	// DefaultMediaTimeout if zero. Only tests shorten it: the guest
	// tests of a path that never connects would otherwise wait out
	// 10 s for each attempt.
	MediaTimeout time.Duration
	// Limits bounds the guests on stage and in the green room;
	// DefaultLimits for a zero field. The window and serve keep it within
	// CheckLimits's range.
	Limits Limits
	// GuestKbps is the most each guest may send the studio, in kb/s: its
	// camera's layers together (a screen it shares gets as much again);
	// see uplink.go. DefaultGuestKbps if zero; the window and serve keep
	// it within CheckGuestKbps's range.
	GuestKbps int

	// HostName is the host's display name. Default "Host".
	HostName string
	// GoLive starts (true) or stops (false) the live output; the control
	// API's /api/live calls it. Nil: the live flag is only recorded.
	GoLive func(on bool) error
	// CheckLive is the preflight of a go-live (/api/live's dryRun): it
	// tries every destination without going live. Nil: nothing to check.
	CheckLive func(ctx context.Context) []DestinationCheck
	// Sink, if set, receives the RTP of every guest (see Sink).
	Sink Sink
	// Logger is the parent logger. Default slog.Default().
	Logger *slog.Logger
}

// Studio is a running show: the model, the web server and the SFU. Create it
// with New, end it with Close.
//
// mu guards guestToken and retiredTokens; the show's state has its own owner (show), and
// life counts the goroutines Close waits for. linkDir is where the guest
// link's token and the control token are kept across restarts
// (guestlink.go; "" for none), the link's writes one at a time under
// linkSave.
type Studio struct {
	cfg          Config
	log          *slog.Logger
	show         *show
	sfu          *sfu
	srv          *http.Server
	acmeHTTP     *http.Server // with Config.ACMEHTTPListen
	ln           net.Listener
	split        *splitListener // the web port shared with ICE-TCP; nil if not
	reprobe      chan struct{}  // the STUN servers changed: ask again
	baseURL      string         // what the control API's links start with
	scheme       string         // "https", or "http" with PlainHTTP
	controlToken Secret
	pending      atomic.Int32 // WebSockets waiting for their "join"
	guard        tokenGuard   // wrong tokens by address (guard.go)
	// What the host's feeds (host.go) ask of the show every packet, kept
	// by changed: whether the host muted their own mic (the guests then
	// get silence), and whether any guest is there to send to.
	hostMuted atomic.Bool
	guestsIn  atomic.Bool
	// localRec: the host wants the guests' local recording (upload.go),
	// whose takes uploads holds. ending: the host ended the show, whose
	// files are still being finished (SetLive): no page records meanwhile.
	localRec atomic.Bool
	ending   atomic.Bool
	// autoSpotlight: the main tile follows whoever speaks (speaking.go).
	autoSpotlight atomic.Bool
	uploads       *uploads
	guestKbps     atomic.Int32 // Config.GuestKbps, as SetGuestKbps changes it

	cert   CertStatus      // for a certificate that does not change: self-signed, a file, none
	acme   *acmeCert       // with Config.Domain
	ctx    context.Context // cancelled by Close; guests' contexts derive from it
	cancel context.CancelCauseFunc

	linkDir  string
	stage    *stageKeeper // who is on stage, kept for a restart (stagekeep.go)
	linkSave sync.Mutex

	mu            sync.Mutex
	guestToken    Secret
	retiredTokens []Secret // rotated away; oldest first
	life          goroutines
	scene         sceneControl           // what /api/scene drives, told of changes; nil until a Program attaches
	recs          recordingsSource       // what /api/recordings lists; nil until a Program attaches
	recording     func() RecordingStatus // the Program's, once attached
	loudness      loudnessControl        // the Program's, once attached
	music         *music.Player          // the Program's, once attached (music.go)
	guestBase     string                 // the guest link's start when not baseURL: the router's address (reach.go)
	mapStatus     portmap.Status
	webPort       int             // Listen's port
	acmeHTTPPort  int             // Config.ACMEHTTPListen's port, once it listens
	mapKnown      bool            // the router has answered (or not) once
	mapper        *portmap.Mapper // nil without MapPorts
	mapFirst      chan struct{}   // closed once the router has answered (or not)

	// recScan lets one recordings listing walk the disk at a time
	// (recordings.go); it guards nothing else.
	recScan sync.Mutex

	closeOnce sync.Once
	done      chan struct{}
}

// errStudioClosing is the reason guests are given when the studio closes.
var errStudioClosing = errors.New("the studio closed")

// The grace a gone guest has to come back (Config.ReconnectGrace): 10 s
// by default — long enough for a page to come back after a network blip
// or a move to another network (issue #9: 0.2–3.4 s after the link is
// back), short enough that a guest whose tab died does not leave a hole
// on stage for long — and what the window and serve accept.
const (
	DefaultReconnectGrace = 10 * time.Second
	MinReconnectGrace     = 2 * time.Second
	MaxReconnectGrace     = 10 * time.Minute
)

// CheckReconnectGrace refuses a grace outside [MinReconnectGrace,
// MaxReconnectGrace], in words for the user.
func CheckReconnectGrace(d time.Duration) error {
	if d < MinReconnectGrace || d > MaxReconnectGrace {
		return fmt.Errorf("the time a gone guest has to come back must be %d to %d seconds, not %g",
			int(MinReconnectGrace/time.Second), int(MaxReconnectGrace/time.Second), d.Seconds())
	}
	return nil
}

// Limits bounds the guests in the show (issue #14); the host counts in
// neither. Stage is how many guests may be on stage at once: putting one
// more there is refused (ErrStageFull). GreenRoom is how many may wait in
// the green room: one more joining is refused (ErrStudioFull), and their
// page says the studio is full rather than retrying. Guests whose place is
// held while their page comes back count where they are.
type Limits struct {
	Stage     int
	GreenRoom int
}

// DefaultLimits: ten on stage, as StreamYard; twenty waiting. MaxLimits
// bound what the window and serve take: the SFU forwards every track on
// stage to every guest, so the stage bounds each guest's download and the
// two together the studio's upload.
var (
	DefaultLimits = Limits{Stage: 10, GreenRoom: 20}
	MaxLimits     = Limits{Stage: 16, GreenRoom: 50}
)

// orDefault fills a zero field with its default.
func (l Limits) orDefault() Limits {
	if l.Stage == 0 {
		l.Stage = DefaultLimits.Stage
	}
	if l.GreenRoom == 0 {
		l.GreenRoom = DefaultLimits.GreenRoom
	}
	return l
}

// CheckLimits refuses limits outside 1 to MaxLimits, in words for the user.
func CheckLimits(l Limits) error {
	if l.Stage < 1 || l.Stage > MaxLimits.Stage {
		return fmt.Errorf("the guests on stage must be 1 to %d, not %d", MaxLimits.Stage, l.Stage)
	}
	if l.GreenRoom < 1 || l.GreenRoom > MaxLimits.GreenRoom {
		return fmt.Errorf("the guests in the green room must be 1 to %d, not %d", MaxLimits.GreenRoom, l.GreenRoom)
	}
	return nil
}

// DefaultListen is Config.Listen's default.
const DefaultListen = ":8443"

// New starts a studio: it binds the web and ICE ports and serves until
// Close.
func New(cfg Config) (_ *Studio, err error) {
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.ReconnectGrace <= 0 {
		cfg.ReconnectGrace = DefaultReconnectGrace
	}
	if cfg.MediaTimeout <= 0 {
		cfg.MediaTimeout = DefaultMediaTimeout
	}
	cfg.Limits = cfg.Limits.orDefault()
	if err := CheckLimits(cfg.Limits); err != nil {
		return nil, fmt.Errorf("studio: %w", err)
	}
	if cfg.GuestKbps == 0 {
		cfg.GuestKbps = DefaultGuestKbps
	}
	if err := CheckGuestKbps(cfg.GuestKbps); err != nil {
		return nil, fmt.Errorf("studio: %w", err)
	}
	s := &Studio{
		cfg:      cfg,
		log:      cfg.Logger.With("component", "studio"),
		show:     newShow(cfg.HostName, cfg.ReconnectGrace),
		done:     make(chan struct{}),
		reprobe:  make(chan struct{}, 1),
		mapFirst: make(chan struct{}),
	}
	s.show.setLimits(cfg.Limits)
	// Guests' takes and the guest link are kept across restarts in the
	// config folder (takestore.go, guestlink.go); without one, in memory
	// only.
	uploadsDir := ""
	freshLink, freshControl := false, false
	if d, err := s.configDir(); err == nil {
		uploadsDir = filepath.Join(d, "uploads")
		s.linkDir = d
		s.stage = newStageKeeper(d, cfg.Logger, time.Now())
		var lerr error
		if s.guestToken, freshLink, lerr = keptToken(d, guestLinkFile, "guest link"); lerr != nil {
			s.log.Warn("the guest link may change at the next start", "err", lerr)
		}
		if s.controlToken, freshControl, lerr = keptToken(d, controlTokenFile, "control token"); lerr != nil {
			s.log.Warn("the control token may change at the next start", "err", lerr)
		}
	} else {
		s.guestToken = NewSecret()
		s.controlToken = NewSecret()
		s.stage = newStageKeeper("", cfg.Logger, time.Now())
		s.log.Warn("guests' local recordings and the guest link will not survive a restart", "err", err)
	}
	s.uploads = newUploads(uploadsDir, s.log.With("component", "upload"))
	s.guestKbps.Store(int32(cfg.GuestKbps))
	s.ctx, s.cancel = context.WithCancelCause(context.Background())
	defer func() {
		if err != nil {
			s.cancel(errStudioClosing)
			if s.ln != nil {
				_ = s.ln.Close()
			}
			if s.sfu != nil {
				s.sfu.close()
			}
			if s.split != nil {
				s.split.wait()
			}
			if s.acmeHTTP != nil {
				_ = s.acmeHTTP.Close()
			}
		}
	}()

	host, _, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("studio: listen address %q: %w", cfg.Listen, err)
	}
	tlsCfg, err := s.tlsConfig(host)
	if err != nil {
		return nil, err
	}
	s.ln, err = net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("studio: listen: %w", err)
	}
	port := s.ln.Addr().(*net.TCPAddr).Port
	s.webPort = port
	var iceTCP net.Listener
	if cfg.ICETCPListen == "" && !cfg.DisableICETCP {
		s.split = newSplitListener(s.ln)
		s.ln, iceTCP = s.split.web, s.split.ice
	}
	if tlsCfg != nil {
		s.ln = tls.NewListener(s.ln, tlsCfg)
	}
	if s.cfg.ICEUDPListen == "" {
		s.cfg.ICEUDPListen = net.JoinHostPort(mediaHost(host, cfg.PublicURL), fmt.Sprint(port))
	}
	s.sfu, err = newSFU(&s.cfg, iceTCP, s.log.With("component", "sfu"))
	if err != nil {
		if iceTCP != nil {
			_ = iceTCP.Close()
		}
		return nil, err
	}
	if cfg.PublicURL == "" && s.acme != nil {
		// Port 443 whatever Listen says: that is where the CA validates
		// the name (TLS-ALPN-01, RFC 8737), so that is where the name
		// reaches the studio (often a router's 443 forwarded to :8443).
		// With HTTP-01 on port 80 instead, the name may reach any port.
		s.baseURL = "https://" + s.acme.domain
		if cfg.ACMEHTTPListen != "" && port != 443 {
			s.baseURL += ":" + fmt.Sprint(port)
		}
	} else if s.baseURL, err = baseURL(cfg.PublicURL, host, port, tlsCfg != nil); err != nil {
		return nil, err
	}

	s.scheme = "http"
	if tlsCfg != nil {
		s.scheme = "https"
	}
	if cfg.ACMEHTTPListen != "" {
		if err := s.serveHTTP01(); err != nil {
			return nil, err
		}
	}

	// No ReadTimeout or WriteTimeout: they would cut the long-lived
	// responses, the control API's event stream (net/http keeps them for
	// the whole response). The headers have a deadline, a control body
	// its own (readJSON), a WebSocket its own (guest.go, socket.go), and
	// a kept-alive connection between requests IdleTimeout.
	s.srv = &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	s.life.spawn(func() {
		if err := s.srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("web server stopped", "err", err)
		}
	})
	if s.acme != nil {
		s.life.spawn(func() {
			// With MapPorts the router's 443 is where the CA checks the
			// name: ask once the router has answered (a few seconds at
			// most), or the first try may come before the forward, fail,
			// and the next is minutes away.
			select {
			case <-s.mapFirst:
			case <-s.ctx.Done():
				return
			}
			s.acme.run(s.ctx)
		})
	}
	s.life.spawn(s.watchPublicAddr)
	if cfg.MapPorts {
		s.startMapping(port, s.sfu.udpAddr().(*net.UDPAddr).Port, s.acmeHTTPPort)
	} else {
		close(s.mapFirst)
	}
	s.life.spawn(func() { s.stage.run(s.ctx, s.show.stageGuests) })
	// Only now that New can no longer fail: a join runs off New, and
	// Close waits for it (a New that failed, its port taken, is made
	// again on another).
	s.uploads.rejoin()
	if freshLink {
		if err := keepToken(s.linkDir, guestLinkFile, "guest link", s.guestToken); err != nil {
			s.log.Warn("the guest link will change at the next start", "err", err)
		}
	}
	if freshControl {
		if err := keepToken(s.linkDir, controlTokenFile, "control token", s.controlToken); err != nil {
			s.log.Warn("the control token will change at the next start", "err", err)
		}
	}
	s.log.Info("studio started", "web", s.ln.Addr(), "ice_udp", s.sfu.udpAddr(), "ice_tcp", s.sfu.tcpAddr(), "tls", tlsCfg != nil)
	return s, nil
}

// Close throws every guest out, stops serving and waits for every goroutine
// of the studio to end. It is safe to call more than once; every call waits.
func (s *Studio) Close() error {
	s.closeOnce.Do(func() {
		defer close(s.done)
		s.life.close()
		s.cancel(errStudioClosing) // ends every guest session
		s.show.close()
		// Shutdown, not just Close: it also waits for the connections
		// net/http still lingers on (up to 500 ms after an error reply), so
		// nothing of the studio outlives Close. WebSockets are hijacked
		// and not its business: the cancel above ends them.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		if err := s.srv.Shutdown(ctx); err != nil {
			_ = s.srv.Close()
		}
		if s.acmeHTTP != nil {
			_ = s.acmeHTTP.Close()
		}
		cancel()
		if s.mapper != nil {
			// Takes the forwards off the router (about 2 s at most), and
			// ends the goroutine following it.
			if err := s.mapper.Close(); err != nil {
				s.log.Warn("the router's forwards were not removed", "err", err)
			}
		}
		s.life.wait()
		s.uploads.close()
		if s.acme != nil {
			s.acme.close()
		}
		s.sfu.close()
		if s.split != nil {
			s.split.wait()
		}
		s.log.Info("studio closed")
	})
	<-s.done
	return nil
}

// GuestURL is the link to give guests.
func (s *Studio) GuestURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.linkBase() + "/join/" + s.guestToken.Reveal()
}

// linkBase is where guests reach the studio: the router's address (or the
// Domain's port) once the router forwards, else baseURL. s.mu must be held.
func (s *Studio) linkBase() string {
	if s.guestBase != "" {
		return s.guestBase
	}
	return s.baseURL
}

// ControlURL is the control API's state endpoint with its token; the other
// endpoints sit beside it (see the package doc).
func (s *Studio) ControlURL() string {
	return s.baseURL + "/api/state?token=" + s.controlToken.Reveal()
}

// ControlToken is the bearer token of the control API.
func (s *Studio) ControlToken() Secret { return s.controlToken }

// Addr is the bound address of the web server.
func (s *Studio) Addr() net.Addr { return s.ln.Addr() }

// ICEAddr is the bound address of the ICE UDP port.
func (s *Studio) ICEAddr() net.Addr { return s.sfu.udpAddr() }

// ICETCPAddr is the bound address of ICE over TCP (the web port's, by
// default); nil when it is off.
func (s *Studio) ICETCPAddr() net.Addr { return s.sfu.tcpAddr() }

// RotateGuestToken replaces the guest link: the old link stops working,
// guests already connected stay (and may still reconnect after a blip with
// their resume key). The new one is kept for the next starts. It returns
// the new link.
func (s *Studio) RotateGuestToken() string {
	s.linkSave.Lock()
	defer s.linkSave.Unlock()
	tok := NewSecret()
	s.mu.Lock()
	s.retiredTokens = append(s.retiredTokens, s.guestToken)
	if len(s.retiredTokens) > maxRetiredTokens {
		s.retiredTokens = s.retiredTokens[1:]
	}
	s.guestToken = tok
	s.mu.Unlock()
	s.log.Info("guest link rotated")
	if s.linkDir != "" {
		if err := keepToken(s.linkDir, guestLinkFile, "guest link", tok); err != nil {
			// The old link must not come back at the next start: without
			// its file, that start makes a new one.
			rerr := os.Remove(filepath.Join(s.linkDir, guestLinkFile))
			s.log.Error("the new guest link will change at the next start", "err", err, "removed_old", rerr == nil)
		}
	}
	return s.GuestURL()
}

// maxRetiredTokens is how many rotated-away guest links still let their
// connected guests reconnect.
const maxRetiredTokens = 4

func (s *Studio) guestTokenMatches(tok string) bool {
	current, _ := s.guestTokenKind(tok)
	return current
}

// guestTokenKind says whether tok is the guest link's token, or one the
// host rotated away (good only for resuming a place).
func (s *Studio) guestTokenKind(tok string) (current, retired bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.guestToken.Matches(tok) {
		return true, false
	}
	for _, r := range s.retiredTokens {
		if r.Matches(tok) {
			return false, true
		}
	}
	return false, false
}

// State returns a snapshot of the show, with the certificate guests are
// served.
func (s *Studio) State() State {
	st := s.show.state()
	c := s.Certificate()
	st.Certificate = &c
	r := s.Reach()
	st.Reach = &r
	s.mu.Lock()
	rec, loud := s.recording, s.loudness
	s.mu.Unlock()
	if rec != nil {
		rs := rec()
		st.Recording = &rs
	}
	if loud != nil {
		l := loud.Loudness()
		st.Loudness = &l
	}
	if m, ok := s.MusicState(); ok {
		st.Music = &m
	}
	s.sfu.simulcastState(&st)
	st.LocalRecording = s.localRec.Load()
	st.AutoSpotlight = s.autoSpotlight.Load()
	st.Uploads = s.uploads.state()
	return st
}

// Certificate says which certificate guests are served: with
// Config.Domain, the CA's once the studio has it (CertACME), else the
// self-signed one with Err saying why.
func (s *Studio) Certificate() CertStatus {
	if s.acme != nil {
		return s.acme.certStatus()
	}
	return s.cert
}

// Subscribe returns the show's events and a function to stop them. The
// channel never blocks the studio: when the subscriber falls behind its
// oldest events are dropped and Event.Seq jumps; call State then. The
// channel is closed by cancel and by Close.
func (s *Studio) Subscribe() (events <-chan Event, cancel func()) { return s.show.subscribe() }

// Stage puts a participant on stage (on) or back in the green room.
func (s *Studio) Stage(id string, on bool) error {
	p, err := s.show.setPlace(id, on)
	if err != nil {
		return err
	}
	s.log.Info("stage", "participant", id, "place", p.Place)
	s.changed()
	return nil
}

// SetMuted mutes participant id (on) or unmutes them: a muted guest's sound
// is not forwarded to the other guests, and a muted participant (the host
// too) is out of the program's mix, though still metered. Their page says
// the host muted them. ErrNoParticipant for an unknown id.
func (s *Studio) SetMuted(id string, on bool) error {
	changed, err := s.show.setMuted(id, on)
	return s.announce("mute", id, on, changed, err)
}

// SetSolo puts participant id on solo (on) or takes them off, for the
// host's own listening: while anyone is on solo the host's speakers play
// only them. The program and what the guests hear do not change.
// ErrNoParticipant for an unknown id.
func (s *Studio) SetSolo(id string, on bool) error {
	changed, err := s.show.setSolo(id, on)
	return s.announce("solo", id, on, changed, err)
}

// SetMusicMode switches guest id's page into music mode (on) or back to
// a voice: their page turns the browser's echo cancellation, noise
// suppression and auto gain off (on) and sends Opus at 128 kb/s in
// stereo (or as before), and says the host switched it (issue #12). The
// studio offers the guest a renegotiation for the codec's new
// parameters. ErrNoParticipant for an unknown id, and for the host, who
// has no page.
func (s *Studio) SetMusicMode(id string, on bool) error {
	if id == HostID {
		return fmt.Errorf("music mode for %q: %w", id, ErrNoParticipant)
	}
	changed, err := s.show.setMusicMode(id, on)
	return s.announce("music mode", id, on, changed, err)
}

// announce is what a host's on/off command (op, for participant id) does
// after the show took it: the error, or a log line and the news if the
// setting changed.
func (s *Studio) announce(op, id string, on, changed bool, err error) error {
	if err != nil || !changed {
		return err
	}
	s.log.Info(op, "participant", id, "on", on)
	s.changed()
	return nil
}

// Kick removes a guest from the show and closes their connection.
func (s *Studio) Kick(id string) error {
	conn, err := s.show.remove(id, true)
	if err != nil {
		return fmt.Errorf("kick: %w", err)
	}
	s.log.Info("kicked", "participant", id)
	if conn != nil {
		conn.kick("the host removed you from the show")
	}
	s.changed()
	return nil
}

// SetLive starts or stops the live output through Config.GoLive and records
// the result. Calls are not serialised: the GUI and the control API are
// expected to send one at a time.
//
// Ending the show tells the guests' pages to stop recording at once,
// before GoLive: it finishes the program's file, everyone's own and the
// streams, which takes a while on a busy machine (over a second at a load
// of 23), and a page told only then recorded on past the program's end
// (issue #11).
func (s *Studio) SetLive(on bool) error {
	if !on {
		s.ending.Store(true)
		defer s.ending.Store(false)
		s.uploads.stop("")
		for _, c := range s.show.conns() {
			c.changed() // sendRecord: no show to record
		}
	}
	if s.cfg.GoLive != nil {
		if err := s.cfg.GoLive(on); err != nil {
			return fmt.Errorf("go live %v: %w", on, err)
		}
	}
	s.show.setLive(on)
	s.log.Info("live", "on", on)
	s.changed() // the guests' pages start recording
	return nil
}

// RequestKeyframe asks a participant for a keyframe on each of their video
// tracks (for the media side, after starting a decoder or on a decode
// error). It reports whether the participant publishes video.
func (s *Studio) RequestKeyframe(id string) bool { return s.sfu.requestKeyframe(id) }

// AddHostTrack sends a track of the host's (camera or mic, encoded by the
// media side as VP8, H.264 or Opus) to every guest, green room included,
// while the host is on stage; its stream ID is HostID. keyframe, if not nil,
// is called when a guest needs a keyframe (at most every 300 ms). Call
// remove to stop sending it.
func (s *Studio) AddHostTrack(track webrtc.TrackLocal, keyframe func()) (remove func(), err error) {
	if track.Kind() != webrtc.RTPCodecTypeAudio && track.Kind() != webrtc.RTPCodecTypeVideo {
		return nil, fmt.Errorf("studio: host track %q: kind %s", track.ID(), track.Kind())
	}
	return s.addHostTrack(newHostTrack(track, keyframe, s.log)), nil
}

// addHostTrack puts a track of the host's in the table; remove takes it
// out again, and is safe to call twice.
func (s *Studio) addHostTrack(t *pubTrack) (remove func()) {
	s.sfu.publish(t)
	s.changed()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.sfu.remove(t)
			s.changed()
		})
	}
}

// SetICEServers replaces the STUN/TURN servers (Config.ICEServers) for the
// guests who join from now on: their page gets them in "welcome" and the
// studio's side of their connection uses them. Guests already in keep the
// servers they joined with until they next connect. A server pion would
// refuse (a bad URL, a TURN server without a username and password)
// refuses the whole list and changes nothing. Safe for concurrent use; the
// log shows the servers' URLs, never their credentials.
//
// Config.NAT1To1IPs have no such method: pion fixes them in the studio's
// webrtc.API when New makes it, for every connection, so a change needs a
// new studio.
func (s *Studio) SetICEServers(servers []webrtc.ICEServer) error {
	if err := checkICEServers(servers); err != nil {
		return fmt.Errorf("studio: %w", err)
	}
	s.sfu.setICEServers(servers)
	select {
	case s.reprobe <- struct{}{}:
	default:
	}
	s.log.Info("ICE servers for guests joining from now on", "urls", iceURLs(servers))
	return nil
}

// SetReconnectGrace changes Config.ReconnectGrace for the guests who go
// from now on; those counting down already keep their deadline. A grace
// out of CheckReconnectGrace's range is refused and changes nothing.
func (s *Studio) SetReconnectGrace(d time.Duration) error {
	if err := CheckReconnectGrace(d); err != nil {
		return fmt.Errorf("studio: %w", err)
	}
	s.show.setGrace(d)
	s.log.Info("gone guests keep their place", "for", d)
	return nil
}

// SetLimits changes Config.Limits from now on: nobody is moved or sent
// away, a room over its new limit takes nobody more until it is under it.
// Limits out of CheckLimits's range are refused and change nothing.
func (s *Studio) SetLimits(l Limits) error {
	if err := CheckLimits(l); err != nil {
		return fmt.Errorf("studio: %w", err)
	}
	s.show.setLimits(l)
	s.log.Info("guest limits", "stage", l.Stage, "greenroom", l.GreenRoom)
	return nil
}

// holdPlace takes a disconnected guest out of the show at leaving
// (Participant.LeavingAt) unless it is back by then.
func (s *Studio) holdPlace(id string, leaving time.Time) {
	s.life.spawn(func() {
		t := time.NewTimer(time.Until(leaving))
		defer t.Stop()
		select {
		case <-t.C:
			if s.show.expire(id) {
				s.log.Info("guest did not come back", "participant", id)
				s.changed()
			}
		case <-s.ctx.Done():
		}
	})
}

// changed tells the SFU, the host's feeds, the program (which hides who is
// off stage and mutes whom the host muted) and every guest session that
// the show or the set of tracks changed; each session then re-syncs what
// it forwards and its roster.
func (s *Studio) changed() {
	st := s.show.state()
	s.sfu.setMuted(st)
	guests := false
	for _, p := range st.Participants {
		guests = guests || p.Role == RoleGuest
		if p.ID == HostID {
			s.hostMuted.Store(p.Muted)
		}
	}
	s.guestsIn.Store(guests)
	s.stage.changed()
	s.mu.Lock()
	prog := s.scene
	s.mu.Unlock()
	if prog != nil {
		prog.followShow()
	}
	for _, c := range s.show.conns() {
		c.changed()
	}
}

// mediaHost is where the media port listens by default: beside the web
// port, except behind a TLS front on this machine (the web port on
// loopback, a public URL elsewhere), where guests' media still comes
// straight to the studio (see the README), so on every interface.
func mediaHost(webHost, publicURL string) string {
	u, err := url.Parse(publicURL)
	if publicURL == "" || err != nil || !isLoopback(webHost) || isLoopback(u.Hostname()) {
		return webHost
	}
	return ""
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// baseURL is what guest and control links start with.
func baseURL(public, host string, port int, tls bool) (string, error) {
	if public != "" {
		u, err := url.Parse(public)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return "", fmt.Errorf("studio: public URL %q: want scheme://host[:port]", public)
		}
		return strings.TrimRight(public, "/"), nil
	}
	scheme := "http"
	if tls {
		scheme = "https"
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = lanAddress()
	}
	return scheme + "://" + net.JoinHostPort(host, fmt.Sprint(port)), nil
}

// lanAddress is this machine's first non-loopback IPv4 address, which is
// what a guest on the same network can reach; "localhost" if there is none.
func lanAddress() string {
	addrs, err := net.InterfaceAddrs()
	if err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil && !n.IP.IsLinkLocalUnicast() {
				return n.IP.String()
			}
		}
	}
	return "localhost"
}

// configDir is where the studio keeps its files.
func (s *Studio) configDir() (string, error) {
	if s.cfg.ConfigDir != "" {
		return s.cfg.ConfigDir, nil
	}
	d, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("studio: config dir: %w", err)
	}
	return filepath.Join(d, "greenroom"), nil
}
