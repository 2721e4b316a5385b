// Package srtout owns publishing the program to one SRT destination
// (issue #13): the srt:// URL and its secrets (streamid, passphrase), the
// program as MPEG-TS through FFmpeg's own libsrt protocol (caller mode),
// and reconnecting. An Output is a stream.Output beside rtmpout's, with
// the same states and the same kinds of failure (stream.Failure), so the
// studio, the CLI and the window treat both alike.
//
// It does not encode, and it never logs the URL: only its Redacted form.
package srtout

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/asticode/go-astiav"

	"greenroom/encode/record"
	"greenroom/encode/stream"
)

// ErrClosed: WaitLive was waiting when the Output was closed.
var ErrClosed = errors.New("srtout: output closed")

// Config describes one destination.
type Config struct {
	// Name is shown in stats and logs; the redacted URL if empty.
	Name string
	// URL is srt://host:port?streamid=…&passphrase=…: a secret, never
	// logged.
	URL    string
	Info   stream.Info
	Logger *slog.Logger
	// QueueSize is how many packets may wait for the network (256 if 0).
	QueueSize int
	// DialTimeout bounds the name lookup and SRT's handshake, and each
	// write after: a receiver gone silent fails the connection (and
	// Close's flush) after this long (5 s if 0).
	DialTimeout time.Duration
}

const (
	defaultQueueSize   = 256
	defaultDialTimeout = 5 * time.Second
	// refusedWithin: FFmpeg's libsrt says "Input/output error" both for a
	// listener that rejected the handshake (a wrong passphrase or
	// streamid: an answer within a round trip) and for no answer at all
	// after SRT's connect timeout (ETIMEDOUT when its I/O timeout comes
	// first). What tells them apart is how long it took: an error well
	// before the timeout was an answer.
	refusedWithin = 0.8
)

// Output publishes to one SRT destination. It is an actor: run owns the
// muxer and the connection; Write, Stats and WaitLive touch only its
// stream.Outbox. Its states are rtmpout's: Connecting → Live once the
// listener accepted the handshake → Reconnecting when a write fails
// (retrying after 1, 2, 4… at most 10 s, on a fresh queue that starts at a
// keyframe) → Live … → Closed; Failed if the very first connection fails.
type Output struct {
	name   string
	target Target
	cfg    Config
	log    *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	box          *stream.Outbox
	stream.Front // Write, Stats and WaitLive
}

// New validates cfg and starts publishing in the background; it returns at
// once. WaitLive tells how the first connection went.
func New(cfg Config) (*Output, error) {
	t, err := ParseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("srtout: %w", err)
	}
	cfg = withDefaults(cfg)
	name := cfg.Name
	if name == "" {
		name = t.Redacted()
	}
	ctx, cancel := context.WithCancel(context.Background())
	o := &Output{
		name:   name,
		target: t,
		cfg:    cfg,
		log:    cfg.Logger.With("component", "srtout", "output", name),
		ctx:    ctx,
		cancel: cancel,
		done:   make(chan struct{}),
		box:    stream.NewOutbox(name, cfg.QueueSize),
	}
	o.Front = o.box.Front()
	go o.run()
	return o, nil
}

func withDefaults(cfg Config) Config {
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = defaultQueueSize
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = defaultDialTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return cfg
}

// Name is the configured name, or the redacted URL.
func (o *Output) Name() string { return o.name }

// Close sends what is queued (each write bounded by DialTimeout), ends the
// MPEG-TS stream, closes the connection and waits. Safe to call twice. A
// Close during the first handshake waits for it (at most DialTimeout):
// go-astiav's avio_open has no interrupt callback.
func (o *Output) Close() error {
	o.cancel()
	<-o.done
	o.box.SetState(stream.Closed, nil)
	return nil
}

func (o *Output) run() {
	defer close(o.done)
	stream.Run(o.ctx, stream.Publisher{
		Box: o.box,
		Log: o.log,
		Connect: func(ctx context.Context) (stream.Session, error) {
			m, err := connect(ctx, o.target, o.cfg)
			if err != nil {
				return nil, err
			}
			return session{m: m, box: o.box}, nil
		},
		Lost: func(err error) error {
			return fmt.Errorf("srtout: publish to %s: connection lost: %s", o.target.Redacted(), o.target.redact(err.Error()))
		},
	}, ErrClosed)
}

// session is one SRT connection as stream.Run drives it: live as soon as
// the listener took the handshake.
type session struct {
	m   *muxer
	box *stream.Outbox
}

func (s session) Pump(ctx context.Context, live func()) error {
	live()
	q := s.box.Queue() // current until Run renews it, after Pump
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-q.Ready():
			if err := s.box.Send(ctx, q, s.m.write); err != nil {
				return err
			}
		}
	}
}

// Finish sends what is still queued and ends the stream (each write
// bounded by DialTimeout).
func (s session) Finish() {
	err := s.box.Flush(s.m.write)
	s.m.close(err == nil)
}

func (s session) Drop() { s.m.close(false) }

// muxer is one SRT connection and the MPEG-TS muxer writing into it,
// owned by one goroutine.
type muxer struct {
	fc     *astiav.FormatContext
	io     *astiav.IOContext
	pkt    *astiav.Packet
	vs, as *astiav.Stream
}

// connect opens the SRT connection (dial) and writes the MPEG-TS header
// into it. Its errors are *stream.Failure, or parent's error once parent
// has ended.
func connect(parent context.Context, t Target, cfg Config) (*muxer, error) {
	io, err := dial(parent, t, cfg)
	if err != nil {
		return nil, err
	}
	m := &muxer{io: io}
	if m.fc, err = astiav.AllocOutputFormatContext(nil, "mpegts", ""); err != nil {
		m.close(false)
		return nil, fmt.Errorf("srtout: mpegts muxer: %w", err)
	}
	if m.vs, m.as, err = record.AddStreams(m.fc, cfg.Info); err != nil {
		m.close(false)
		return nil, fmt.Errorf("srtout: %w", err)
	}
	m.fc.SetPb(io)
	if err := m.fc.WriteHeader(nil); err != nil {
		m.close(false)
		return nil, failure(t, stream.ErrRefused, "the connection ended at once: "+err.Error())
	}
	m.pkt = astiav.AllocPacket()
	return m, nil
}

// dial looks the host up and opens the SRT connection: the handshake, in
// which the listener takes or rejects the streamid and passphrase. Output
// and Check share it: a preflight tries the very path a Go Live takes.
// Its errors are *stream.Failure, or parent's error once parent has ended.
func dial(parent context.Context, t Target, cfg Config) (*astiav.IOContext, error) {
	ctx, cancel := context.WithTimeout(parent, cfg.DialTimeout)
	defer cancel()
	host, _, _ := net.SplitHostPort(t.Host)
	// Looked up here, not only by libsrt, for a sentence of its own: libsrt
	// says "Input/output error" for a name that does not resolve too.
	if _, err := net.DefaultResolver.LookupHost(ctx, host); err != nil {
		if parent.Err() != nil {
			return nil, parent.Err()
		}
		if ctx.Err() != nil {
			return nil, failure(t, stream.ErrUnreachable, fmt.Sprintf("no answer within %v", cfg.DialTimeout))
		}
		return nil, failure(t, stream.ErrUnreachable, "cannot find the server: "+err.Error())
	}
	left := time.Until(deadline(ctx))
	start := time.Now()
	io, err := astiav.OpenIOContext(t.ffmpegURL(left), astiav.NewIOContextFlags(astiav.IOContextFlagWrite))
	if err == nil {
		return io, nil
	}
	if parent.Err() != nil {
		return nil, parent.Err()
	}
	if took := time.Since(start); took < time.Duration(refusedWithin*float64(left)) && !errors.Is(err, astiav.ErrEtimedout) {
		return nil, failure(t, stream.ErrKeyRejected, fmt.Sprintf(
			"the SRT server at %s rejected the connection in %v (a wrong streamid or passphrase?)", t.Host, took.Round(time.Millisecond)))
	}
	return nil, failure(t, stream.ErrUnreachable, fmt.Sprintf(
		"no SRT answer from %s within %v (nothing listens there, or a firewall drops it)", t.Host, cfg.DialTimeout))
}

func deadline(ctx context.Context) time.Time {
	d, _ := ctx.Deadline()
	return d
}

func failure(t Target, kind error, reason string) *stream.Failure {
	return &stream.Failure{Output: "srtout", URL: t.Redacted(), Kind: kind, Reason: t.redact(reason)}
}

func (m *muxer) write(p *stream.Packet) error {
	tb, idx := m.vs.TimeBase(), m.vs.Index()
	if p.Kind == stream.Audio {
		tb, idx = m.as.TimeBase(), m.as.Index()
	}
	return record.Mux(m.fc, m.pkt, p, idx, tb, true)
}

// close ends the stream (with trailer: the muxer's last packets) and
// frees everything.
func (m *muxer) close(trailer bool) {
	if trailer && m.io != nil {
		_ = m.fc.WriteTrailer()
	}
	if m.pkt != nil {
		m.pkt.Free()
	}
	if m.fc != nil {
		m.fc.Free() // an output context's Free leaves its pb alone
	}
	if m.io != nil {
		_ = m.io.Close()
	}
	*m = muxer{}
}

// Check is a preflight: it opens the SRT connection the way an Output
// would — the listener takes or rejects the streamid and passphrase in
// the handshake — and hangs up, sending no media. nil if a Go Live now
// would be taken, else a *stream.Failure (or ctx's error). It takes at
// most cfg.DialTimeout.
func Check(ctx context.Context, cfg Config) error {
	t, err := ParseURL(cfg.URL)
	if err != nil {
		return fmt.Errorf("srtout: %w", err)
	}
	io, err := dial(ctx, t, withDefaults(cfg))
	if err != nil {
		return err
	}
	return io.Close()
}

var _ stream.Output = (*Output)(nil)
