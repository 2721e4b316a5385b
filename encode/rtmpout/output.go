// Package rtmpout owns publishing the program to one RTMP or RTMPS
// destination (Twitch, YouTube, Facebook, a custom server): URL and stream
// key handling, the RTMP connection and its publish handshake, FLV
// packaging of H.264/AAC, and reconnecting. An Output is a stream.Output:
// the rest of the studio hands it packets and reads its Stats.
//
// It does not encode, mix or choose destinations, and it keeps go-rtmp's
// sharp corners to itself (see conn.go).
package rtmpout

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"syscall"
	"time"

	"github.com/yutopp/go-amf0"
	"github.com/yutopp/go-rtmp/message"

	"greenroom/encode/stream"
)

// The kinds of a failed first connection are stream's, shared with the
// other publishers; test with errors.Is. A failed first connection is a
// *Failure, whose Reason says in words what happened and at which step:
//
//	rtmpout: publish to rtmp://host:1935/live/****: the server refused the stream key: it answered publish with NetStream.Publish.BadName (…)
//	rtmpout: publish to rtmp://host:1935/live/****: the server closed the connection after connect
var (
	// ErrKeyRejected: the server refused the publish itself — an error
	// status in answer to publish, or hanging up right after it (what
	// nginx-rtmp's deny rules and on_publish hooks do): the stream key, or
	// a stream already live under it. Retrying will not help.
	ErrKeyRejected = stream.ErrKeyRejected
	// ErrRefused: the server ended the session before publish — it
	// answered connect or createStream with an error, or closed the
	// connection after one of them. Nothing says it was the key.
	ErrRefused = stream.ErrRefused
	// ErrUnreachable: no RTMP server answered (DNS, refused, timeout, TLS).
	ErrUnreachable = stream.ErrUnreachable
	// ErrClosed: WaitLive was waiting when the Output was closed.
	ErrClosed = errors.New("rtmpout: output closed")
)

// Failure is why a first connection failed (stream.Failure, Output
// "rtmpout").
type Failure = stream.Failure

// Config describes one destination.
type Config struct {
	// Name is shown in stats and logs ("twitch"); the redacted URL if empty.
	Name string
	// URL is rtmp://host[:1935]/app[/...]/key or rtmps://host[:443]/app/key.
	// It contains the stream key: never log it.
	URL  string
	Info stream.Info
	// Logger gets this output's logs; slog.Default() if nil.
	Logger *slog.Logger
	// QueueSize is how many packets may wait for the network (256 if 0).
	QueueSize int
	// DialTimeout bounds dial, RTMP handshake, connect, createStream and
	// the publish answer together (5 s if 0).
	DialTimeout time.Duration
	// TLS configures rtmps:// (extra roots, say); nil uses the system's.
	TLS *tls.Config
}

const (
	defaultQueueSize   = 256
	defaultDialTimeout = 5 * time.Second
	flushTimeout       = 2 * time.Second
	// liveProbation is how long the server must keep a stream after
	// NetStream.Publish.Start before we call it live: some servers accept
	// and then hang up on a key they refuse.
	liveProbation = time.Second
)

// Output publishes to one RTMP destination. It is an actor: run owns the
// connection and everything about it; Write, Stats and WaitLive only touch
// its stream.Outbox.
//
// Its state goes Connecting → Live once the server has kept the stream for
// a second after NetStream.Publish.Start → Reconnecting when the
// connection is lost (retrying after 1, 2, 4… at most 10 s, forever, on a
// fresh queue that starts at a keyframe) → Live again … → Closed. If the
// very first connection fails, it goes to Failed and stays there: that
// failure (a refused key, no server) is the user's to fix.
type Output struct {
	name   string
	target Target
	info   stream.Info
	log    *slog.Logger
	cfg    Config

	// ctx ends at Close: stop connecting, stop pumping, start flushing.
	ctx    context.Context
	cancel context.CancelFunc
	// hard bounds every network write: it ends flushTimeout after Close,
	// so a stalled connection cannot hold Close longer.
	hard       context.Context
	hardCancel context.CancelFunc
	done       chan struct{}

	box *stream.Outbox
	// Write, Stats and WaitLive. Expect WaitLive's nil a second after
	// the server's answer: see liveProbation.
	stream.Front
}

// New validates cfg and starts publishing in the background; it returns at
// once. Use WaitLive to learn how the first connection went.
func New(cfg Config) (*Output, error) {
	t, err := ParseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("rtmpout: %w", err)
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = defaultQueueSize
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = defaultDialTimeout
	}
	name := cfg.Name
	if name == "" {
		name = t.Redacted()
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	hard, hardCancel := context.WithCancel(context.Background())
	o := &Output{
		name:       name,
		target:     t,
		info:       cfg.Info,
		log:        log.With("component", "rtmpout", "output", name),
		cfg:        cfg,
		ctx:        ctx,
		cancel:     cancel,
		hard:       hard,
		hardCancel: hardCancel,
		done:       make(chan struct{}),
		box:        stream.NewOutbox(name, cfg.QueueSize),
	}
	o.Front = o.box.Front()
	go o.run()
	return o, nil
}

// Name is the configured name, or the redacted URL.
func (o *Output) Name() string { return o.name }

// Close flushes what is queued (for at most 2 s), unpublishes, closes the
// connection and waits for every goroutine. Safe to call twice.
func (o *Output) Close() error {
	o.cancel()
	stop := time.AfterFunc(flushTimeout, o.hardCancel)
	<-o.done
	stop.Stop()
	o.hardCancel()
	o.box.SetState(stream.Closed, nil)
	return nil
}

func (o *Output) run() {
	defer close(o.done)
	stream.Run(o.ctx, stream.Publisher{
		Box: o.box,
		Log: o.log,
		Connect: func(ctx context.Context) (stream.Session, error) {
			o.log.Debug("connecting", "url", o.target.Redacted())
			s, err := connect(ctx, o.target, o.cfg)
			if err != nil {
				return nil, err
			}
			return &publishing{o: o, w: &writer{s: s, info: o.info, clock: clock{lead: o.info.Audio.Priming}}}, nil
		},
		Lost: func(err error) error { return o.publishError(err, "connection lost") },
		Refused: func(err error) *stream.Failure {
			return endedOnProbation(o.target, err)
		},
	}, ErrClosed)
}

// connect dials t and publishes, bounded by cfg.DialTimeout and by parent.
// Its errors are *Failure, or parent's error once parent has ended. The
// Output and Check share it: a preflight tries the very path a Go Live
// takes.
func connect(parent context.Context, t Target, cfg Config) (*session, error) {
	ctx, cancel := context.WithTimeout(parent, cfg.DialTimeout)
	defer cancel()
	s, err := dial(ctx, t, cfg.TLS)
	if err != nil {
		if parent.Err() != nil {
			return nil, parent.Err()
		}
		return nil, failure(t, ErrUnreachable, dialFailure(ctx, t, cfg, err))
	}
	if err := s.publish(ctx); err != nil {
		s.close()
		if parent.Err() != nil {
			return nil, parent.Err()
		}
		return nil, setupFailure(ctx, t, cfg, err)
	}
	return s, nil
}

func failure(t Target, kind error, reason string) *Failure {
	return &Failure{Output: "rtmpout", URL: t.Redacted(), Kind: kind, Reason: redactIn(reason, t.Key)}
}

// dialFailure says why no RTMP server answered.
func dialFailure(ctx context.Context, t Target, cfg Config, err error) string {
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var tlsErr *tlsError
	var hsErr *handshakeError
	switch {
	case ctx.Err() != nil && errors.As(err, &tlsErr):
		return fmt.Sprintf("no TLS answer from %s within %v (an rtmps:// URL for a plain rtmp:// server?)", t.Host, cfg.DialTimeout)
	case ctx.Err() != nil:
		return fmt.Sprintf("no answer within %v", cfg.DialTimeout)
	case errors.As(err, &dnsErr):
		return "cannot find the server: " + err.Error()
	case errors.As(err, &certErr):
		return "its TLS certificate is not trusted: " + err.Error()
	case errors.Is(err, syscall.ECONNREFUSED):
		return "nothing listens at " + t.Host + " (connection refused)"
	case errors.As(err, &hsErr):
		return "no RTMP server answered at " + t.Host + " (it failed the " + err.Error() + ")"
	}
	return "cannot connect: " + err.Error()
}

// setupFailure says how the publish sequence failed, and at which step.
// Only a refused publish may blame the key: a server that hangs up after
// connect may be full, or not speak our RTMP.
func setupFailure(ctx context.Context, t Target, cfg Config, err error) *Failure {
	var se *setupError
	if !errors.As(err, &se) {
		return failure(t, ErrRefused, err.Error())
	}
	step := se.stage.String()
	var detail string // what ended the connection, unless the server simply closed it
	if se.cause != nil && !errors.Is(se.cause, io.EOF) {
		detail = " (" + se.cause.Error() + ")"
	}
	switch {
	case ctx.Err() != nil:
		return failure(t, ErrUnreachable, fmt.Sprintf("no answer to %s within %v", step, cfg.DialTimeout))
	case se.stage == stagePublish && se.answer != "":
		return failure(t, ErrKeyRejected, "the server refused the stream key: it answered publish with "+se.answer)
	case se.stage == stagePublish && !se.sending:
		return failure(t, ErrKeyRejected, "the server refused the stream key: it closed the connection after publish"+detail)
	case se.answer != "":
		return failure(t, ErrRefused, se.Error())
	case se.sending:
		return failure(t, ErrRefused, "the server closed the connection before "+step+detail)
	}
	return failure(t, ErrRefused, "the server closed the connection after "+step+detail)
}

// endedOnProbation is the failure of a publish the server accepted and
// then ended within liveProbation: nginx-rtmp's "deny publish" sends
// Publish.Start and then hangs up, a refusal in all but name.
func endedOnProbation(t Target, err error) *Failure {
	return failure(t, ErrKeyRejected, fmt.Sprintf(
		"the server refused the stream key: it accepted publish, then ended the stream within %v (%v)", liveProbation, err))
}

func (o *Output) publishError(err error, what string) error {
	if err == nil {
		return nil
	}
	if what == "" {
		return fmt.Errorf("rtmpout: publish to %s: %v", o.target.Redacted(), o.redact(err))
	}
	return fmt.Errorf("rtmpout: publish to %s: %s: %v", o.target.Redacted(), what, o.redact(err))
}

// redact returns err's text with the key masked.
func (o *Output) redact(err error) string {
	return redactIn(err.Error(), o.target.Key)
}

// publishing is one RTMP session as stream.Run drives it. Its network
// writes are bounded by o.hard, so a stalled connection cannot hold
// Close longer than flushTimeout.
type publishing struct {
	o *Output
	w *writer
}

// Pump sends the stream headers, then queued packets until the connection
// fails or Close is called. It calls live once the server has kept the
// stream for liveProbation.
func (p *publishing) Pump(ctx context.Context, live func()) error {
	s, hard, q := p.w.s, p.o.hard, p.o.box.Queue() // q is current until Run renews it, after Pump
	probation := time.NewTimer(liveProbation)
	defer probation.Stop()
	if err := p.w.start(hard); err != nil {
		return err
	}
	write := func(pkt *stream.Packet) error { return p.w.packet(hard, pkt) }
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-probation.C:
			live()
		case m := <-s.msgs:
			if err := s.handle(hard, m); err != nil {
				return err
			}
		case <-q.Ready():
			if err := p.o.box.Send(ctx, q, write); err != nil {
				return err
			}
		}
	}
}

// Finish sends what is still queued, then unpublishes and closes the
// session, all within flushTimeout of Close.
func (p *publishing) Finish() {
	hard := p.o.hard
	defer p.w.s.close()
	if err := p.o.box.Flush(func(pkt *stream.Packet) error { return p.w.packet(hard, pkt) }); err != nil {
		return
	}
	p.w.s.unpublish(hard)
}

func (p *publishing) Drop() { p.w.s.close() }

// writer turns packets into RTMP messages on one session.
type writer struct {
	s       *session
	info    stream.Info
	clock   clock
	videoHd bool   // AVC sequence header sent
	record  []byte // the AVCDecoderConfigurationRecord last sent
	// buf is reused: go-rtmp copies a message into its chunk buffer
	// before Write returns.
	buf []byte
}

// start sends onMetaData and the sequence headers.
func (w *writer) start(ctx context.Context) error {
	var body bytes.Buffer
	enc := amf0.NewEncoder(&body)
	if err := enc.Encode("onMetaData"); err != nil {
		return err
	}
	if err := enc.Encode(metadata(w.info)); err != nil {
		return err
	}
	if err := w.s.write(ctx, csData, w.s.streamID, 0, &message.DataMessage{
		Name: "@setDataFrame", Encoding: message.EncodingTypeAMF0, Body: &body,
	}); err != nil {
		return err
	}
	if len(w.info.Video.Extradata) > 0 {
		if err := w.videoHeader(ctx, 0, w.info.Video.Extradata); err != nil {
			return err
		}
	}
	if asc := w.info.Audio.Extradata; len(asc) > 0 {
		if err := w.s.write(ctx, csAudio, w.s.streamID, 0, &message.AudioMessage{Payload: bytes.NewReader(audioSequenceHeader(asc))}); err != nil {
			return err
		}
	}
	return nil
}

func (w *writer) videoHeader(ctx context.Context, ts uint32, paramSets []byte) error {
	rec, err := avcDecoderConfig(paramSets)
	if err != nil {
		return err
	}
	w.videoHd, w.record = true, rec
	return w.s.write(ctx, csVideo, w.s.streamID, ts, &message.VideoMessage{Payload: bytes.NewReader(videoSequenceHeader(rec))})
}

func (w *writer) packet(ctx context.Context, p *stream.Packet) error {
	ts, ok := w.clock.timestamp(p.Kind, p.DTS)
	if !ok {
		return nil // before the stream's start (see clock): nothing lost
	}
	if p.Kind == stream.Audio {
		w.buf = appendAudioTag(w.buf[:0], p)
		return w.s.write(ctx, csAudio, w.s.streamID, ts, &message.AudioMessage{Payload: bytes.NewReader(w.buf)})
	}
	if !w.videoHd {
		// No global header from the encoder: take the parameter sets from
		// the first keyframe (the queue starts every connection at one).
		if err := w.videoHeader(ctx, ts, p.Data); err != nil {
			return fmt.Errorf("no H.264 parameter sets before the first frame: %w", err)
		}
	} else if p.Key {
		// The encoder changed (a faster preset when the machine fell
		// behind) and its keyframes carry new parameter sets in-band: FLV
		// announces them with a new sequence header, which players and
		// servers apply from the next frame on.
		if sps, _ := parameterSets(p.Data); len(sps) > 0 {
			if rec, err := avcDecoderConfig(p.Data); err == nil && !bytes.Equal(rec, w.record) {
				if err := w.videoHeader(ctx, ts, p.Data); err != nil {
					return err
				}
			}
		}
	}
	w.buf = appendVideoTag(w.buf[:0], p)
	return w.s.write(ctx, csVideo, w.s.streamID, ts, &message.VideoMessage{Payload: bytes.NewReader(w.buf)})
}

var _ stream.Output = (*Output)(nil)
