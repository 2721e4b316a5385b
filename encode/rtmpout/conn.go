package rtmpout

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/yutopp/go-amf0"
	rtmp "github.com/yutopp/go-rtmp"
	"github.com/yutopp/go-rtmp/handshake"
	"github.com/yutopp/go-rtmp/message"
)

// Why not rtmp.Dial + ClientConn: in go-rtmp v0.0.7 the client side can
// connect but not be told no. Dial hides the net.Conn, so the RTMP
// handshake has no deadline; Connect and CreateStream wait on a channel
// with context.TODO(), so neither a timer nor closing the connection can
// stop them (the goroutine leaks); and onStatus is decoded as an "unknown
// command" and dropped with a log line, so Publish can never learn
// NetStream.Publish.Start or BadName (yutopp/go-rtmp#20). So we own the
// net.Conn and the read loop and use go-rtmp for what it does well: the
// handshake, chunking (rtmp.ChunkStreamer) and message encoding.

// Chunk stream IDs. 2 is reserved for protocol control (RTMP 5.3.1.1);
// media get their own so a large keyframe never delays audio.
const (
	csControl = 2
	csCommand = 3
	csData    = 5
	csVideo   = 6
	csAudio   = 7
)

const (
	chunkSize = 4096
	// writeStall is how long one message may wait for the previous one on
	// its chunk stream to reach the socket before we call the connection
	// dead; go-rtmp's own Stream.Write uses the same 5 s.
	writeStall = 5 * time.Second
	flashVer   = "FMLE/3.0 (compatible; Greenroom)"
)

// serverMsg is what the read loop hands to the session's owner.
type serverMsg struct {
	name string // "_result", "_error", "onStatus", "ping"
	tid  int64
	args []any
	ping uint32
	err  error // terminal: the connection is gone
}

// session is one RTMP connection. Its methods are called by one goroutine
// (the Output's actor); the read loop and go-rtmp's writer goroutine are
// its helpers and end in close.
type session struct {
	target   Target
	nc       net.Conn
	in       *connReader
	cs       *rtmp.ChunkStreamer
	streamID uint32
	msgs     chan serverMsg
	quit     chan struct{}
	readDone chan struct{}
	once     sync.Once
}

// dial opens the TCP (or TLS) connection and does the RTMP handshake; the
// caller's ctx bounds both.
func dial(ctx context.Context, t Target, tlsConf *tls.Config) (*session, error) {
	nc, err := (&net.Dialer{}).DialContext(ctx, "tcp", t.Host)
	if err != nil {
		return nil, err
	}
	if t.TLS {
		conf := tlsConf.Clone()
		if conf == nil {
			conf = &tls.Config{}
		}
		if conf.ServerName == "" {
			conf.ServerName, _, _ = net.SplitHostPort(t.Host)
		}
		// TLS after the TCP connection, not in one dial, so a failure
		// can say which answered: a plain RTMP server reads the
		// ClientHello as the start of its handshake and waits for more.
		tc := tls.Client(nc, conf)
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, &tlsError{err}
		}
		nc = tc
	}
	// Handshake reads and writes the bare conn: no deadline of its own.
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
	// Some servers answer a version-0 C1 with S2 that is not an echo of C1
	// (the digest handshake); like librtmp, don't insist on the echo.
	err = handshake.HandshakeWithServer(nc, nc, &handshake.Config{SkipHandshakeVerification: true})
	if !stop() || err != nil {
		nc.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &handshakeError{err}
	}
	s := &session{
		target: t,
		nc:     nc,
		// Outside the buffer, so that it sees the connection's end only
		// once every message read before it has been consumed.
		in:       &connReader{r: bufio.NewReaderSize(nc, 4096)},
		msgs:     make(chan serverMsg, 16),
		quit:     make(chan struct{}),
		readDone: make(chan struct{}),
	}
	s.cs = rtmp.NewChunkStreamer(s.in, bufio.NewWriterSize(nc, 64*1024), nil)
	// Set before the first Write: go-rtmp's writer goroutine reads it
	// unsynchronised, the channel hand-off of the first message orders it.
	// It cannot fail below rtmp.MaxChunkSize.
	_ = s.cs.SelfState().SetChunkSize(chunkSize)
	go s.readLoop()
	return s, nil
}

// tlsError: the TCP connection was made, the TLS handshake failed.
type tlsError struct{ err error }

func (e *tlsError) Error() string { return e.err.Error() }
func (e *tlsError) Unwrap() error { return e.err }

// handshakeError: something answered at the address, but not with RTMP's
// handshake (a web server, a plain port behind rtmps://'s TLS…).
type handshakeError struct{ err error }

func (e *handshakeError) Error() string { return "RTMP handshake: " + e.err.Error() }
func (e *handshakeError) Unwrap() error { return e.err }

// close tears the connection down and waits for the helpers. Safe twice.
func (s *session) close() {
	s.once.Do(func() {
		close(s.quit)
		s.nc.Close()
		s.cs.Close()
	})
	<-s.cs.Done()
	<-s.readDone
}

// readLoop decodes server messages and passes the ones we care about to
// msgs. It is the only reader of the ChunkStreamer.
func (s *session) readLoop() {
	defer close(s.readDone)
	err := s.read()
	select {
	case s.msgs <- serverMsg{err: err}:
	case <-s.quit:
	}
}

func (s *session) read() (err error) {
	// go-rtmp panics on some malformed chunks ("unsupported chunk").
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("RTMP read: %v", r)
		}
	}()
	var cm rtmp.ChunkMessage
	for bad := 0; ; {
		_, _, err := s.cs.Read(&cm)
		if err != nil {
			if s.in.err != nil {
				return s.in.err
			}
			// A message go-rtmp cannot decode was read whole; skip it,
			// unless the stream is clearly garbage. Not only AMF3 and
			// aggregates: FFmpeg's server answers FCPublish with a bare
			// onFCPublish (no transaction ID), whose decoding ends in
			// io.EOF — which must not be taken for the server hanging up.
			if bad++; bad > 10 {
				return fmt.Errorf("RTMP read: %w", err)
			}
			continue
		}
		bad = 0
		var m serverMsg
		switch msg := cm.Message.(type) {
		case *message.SetChunkSize:
			if err := s.cs.PeerState().SetChunkSize(msg.ChunkSize); err != nil {
				return err
			}
			continue
		case *message.UserCtrl:
			ping, ok := msg.Event.(*message.UserCtrlEventPingRequest)
			if !ok {
				continue
			}
			m = serverMsg{name: "ping", ping: ping.Timestamp}
		case *message.CommandMessage:
			m = serverMsg{name: msg.CommandName, tid: msg.TransactionID, args: decodeAMF(msg.Body)}
		default:
			// WinAckSize is ignored on purpose: go-rtmp's ack writer is
			// only wired up inside its own Conn, and a publisher receives
			// far less than any window.
			continue
		}
		select {
		case s.msgs <- m:
		case <-s.quit:
			return net.ErrClosed
		}
	}
}

// connReader is the read side of the connection as go-rtmp sees it. It
// remembers the first error, so the read loop can tell a lost connection
// from a message go-rtmp could not decode: both can come out of
// ChunkStreamer.Read as io.EOF. Only the read loop touches it.
type connReader struct {
	r   io.Reader
	err error
}

func (c *connReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err != nil && c.err == nil {
		c.err = err
	}
	return n, err
}

func decodeAMF(r io.Reader) []any {
	d := amf0.NewDecoder(r)
	var args []any
	for {
		var v any
		if err := d.Decode(&v); err != nil {
			return args
		}
		args = append(args, v)
	}
}

// field reads a string property of an AMF object (or ECMA array).
func field(v any, key string) string {
	var s any
	switch o := v.(type) {
	case map[string]any:
		s = o[key]
	case amf0.ECMAArray:
		s = o[key]
	}
	str, _ := s.(string)
	return str
}

// status is the info object of an onStatus or _error reply.
type status struct{ level, code, description string }

func statusOf(args []any) status {
	for _, a := range args {
		if c := field(a, "code"); c != "" {
			return status{field(a, "level"), c, field(a, "description")}
		}
	}
	return status{}
}

func (st status) String() string {
	if st.description == "" {
		return st.code
	}
	return st.code + " (" + st.description + ")"
}

// write sends one message. ctx bounds the wait for the chunk stream.
func (s *session) write(ctx context.Context, csid int, streamID uint32, ts uint32, msg message.Message) error {
	select {
	case <-s.cs.Done():
		// The writer goroutine stopped: writing now would queue into a
		// channel nobody reads.
		if err := s.cs.Err(); err != nil {
			return err
		}
		return net.ErrClosed
	default:
	}
	wctx, cancel := context.WithTimeout(ctx, writeStall)
	defer cancel()
	err := s.cs.Write(wctx, csid, ts, &rtmp.ChunkMessage{StreamID: streamID, Message: msg})
	if err != nil && ctx.Err() == nil && wctx.Err() != nil {
		return fmt.Errorf("network stalled: nothing sent for %v", writeStall)
	}
	return err
}

func (s *session) command(ctx context.Context, csid int, streamID uint32, name string, tid int64, args ...any) error {
	var body bytes.Buffer
	enc := amf0.NewEncoder(&body)
	for _, a := range args {
		if err := enc.Encode(a); err != nil {
			return err
		}
	}
	return s.write(ctx, csid, streamID, 0, &message.CommandMessage{
		CommandName: name, TransactionID: tid, Encoding: message.EncodingTypeAMF0, Body: &body,
	})
}

// await returns the first message for which match reports true, answering
// pings on the way.
func (s *session) await(ctx context.Context, match func(serverMsg) bool) (serverMsg, error) {
	for {
		select {
		case <-ctx.Done():
			return serverMsg{}, ctx.Err()
		case m := <-s.msgs:
			if m.err != nil {
				return m, m.err
			}
			if m.name == "ping" {
				if err := s.pong(ctx, m.ping); err != nil {
					return m, err
				}
				continue
			}
			if match(m) {
				return m, nil
			}
		}
	}
}

// handle deals with a server message that arrives while publishing:
// answers a ping, and returns an error if the server ended the stream or
// the connection.
func (s *session) handle(ctx context.Context, m serverMsg) error {
	switch {
	case m.err != nil:
		if errors.Is(m.err, io.EOF) {
			return errors.New("server closed the connection")
		}
		return m.err
	case m.name == "ping":
		return s.pong(ctx, m.ping)
	case m.name == "onStatus" && statusOf(m.args).level == "error":
		return errors.New("server stopped the stream: " + statusOf(m.args).String())
	}
	return nil
}

func (s *session) pong(ctx context.Context, ts uint32) error {
	return s.write(ctx, csControl, 0, 0, &message.UserCtrl{Event: &message.UserCtrlEventPingResponse{Timestamp: ts}})
}

// stage is the step of the publish sequence that failed, so the error can
// say where the server stopped us.
type stage int

const (
	stageConnect stage = iota
	stageCreateStream
	stagePublish
)

func (st stage) String() string {
	return [...]string{"connect", "createStream", "publish"}[st]
}

// setupError is a failed publish sequence: at stage the server answered
// with an error (answer), or the connection ended (cause: io.EOF when the
// server closed it, or the context's error when it went silent).
type setupError struct {
	stage   stage
	answer  string // the server's answer in its words, e.g. "NetStream.Publish.BadName (…)"
	sending bool   // cause came while sending stage's command, not awaiting its answer
	cause   error
}

func (e *setupError) Error() string {
	switch {
	case e.answer != "":
		return "the server answered " + e.stage.String() + " with " + e.answer
	case e.sending:
		return fmt.Sprintf("sending %s: %v", e.stage, e.cause)
	}
	return fmt.Sprintf("waiting for the answer to %s: %v", e.stage, e.cause)
}

func (e *setupError) Unwrap() error { return e.cause }

// answerOf is a refusing reply in the server's words: its status, or at
// least the command's name.
func answerOf(m serverMsg) string {
	if st := statusOf(m.args); st.code != "" {
		return st.String()
	}
	return m.name
}

// publish runs connect → createStream → publish and waits for
// NetStream.Publish.Start. ctx bounds all of it.
func (s *session) publish(ctx context.Context) error {
	const (
		tidConnect      = 1
		tidRelease      = 2
		tidFCPublish    = 3
		tidCreateStream = 4
	)
	t := s.target
	sendFailed := func(st stage, err error) error { return &setupError{stage: st, sending: true, cause: err} }
	// Our chunk size first, so the server reads everything after it right.
	if err := s.write(ctx, csControl, 0, 0, &message.SetChunkSize{ChunkSize: chunkSize}); err != nil {
		return sendFailed(stageConnect, err)
	}
	// A struct, not a map: go-amf0 writes a map's fields in random order,
	// a struct's in this one, FFmpeg's (librtmp's too, less its swfUrl).
	// The order means nothing to the spec, but a byte stream that is the
	// same on every run is one a capture can be compared against.
	connect := struct {
		App      string `amf0:"app"`
		Type     string `amf0:"type"`
		FlashVer string `amf0:"flashVer"`
		TCURL    string `amf0:"tcUrl"`
	}{t.App, "nonprivate", flashVer, t.TCURL}
	if err := s.command(ctx, csCommand, 0, "connect", tidConnect, connect); err != nil {
		return sendFailed(stageConnect, err)
	}
	m, err := s.await(ctx, func(m serverMsg) bool { return isReply(m, tidConnect) })
	if err != nil {
		return &setupError{stage: stageConnect, cause: err}
	}
	if m.name == "_error" {
		return &setupError{stage: stageConnect, answer: answerOf(m)}
	}

	// releaseStream and FCPublish are not in the RTMP spec but Twitch,
	// YouTube and Facebook expect them from encoders (OBS and FFmpeg send
	// both); their answers, if any, are ignored.
	key := string(t.Key)
	if err := s.command(ctx, csCommand, 0, "releaseStream", tidRelease, nil, key); err != nil {
		return sendFailed(stageCreateStream, err)
	}
	if err := s.command(ctx, csCommand, 0, "FCPublish", tidFCPublish, nil, key); err != nil {
		return sendFailed(stageCreateStream, err)
	}
	if err := s.command(ctx, csCommand, 0, "createStream", tidCreateStream, nil); err != nil {
		return sendFailed(stageCreateStream, err)
	}
	m, err = s.await(ctx, func(m serverMsg) bool { return isReply(m, tidCreateStream) })
	if err != nil {
		return &setupError{stage: stageCreateStream, cause: err}
	}
	id, ok := m.args[len(m.args)-1].(float64)
	if m.name == "_error" || !ok {
		return &setupError{stage: stageCreateStream, answer: answerOf(m)}
	}
	s.streamID = uint32(id)

	if err := s.command(ctx, csData, s.streamID, "publish", 0, nil, key, "live"); err != nil {
		return sendFailed(stagePublish, err)
	}
	m, err = s.await(ctx, func(m serverMsg) bool { return m.name == "onStatus" || m.name == "_error" })
	if err != nil {
		return &setupError{stage: stagePublish, cause: err}
	}
	if st := statusOf(m.args); st.code != "NetStream.Publish.Start" {
		return &setupError{stage: stagePublish, answer: answerOf(m)}
	}
	return nil
}

func isReply(m serverMsg, tid int64) bool {
	return (m.name == "_result" || m.name == "_error") && m.tid == tid && len(m.args) > 0
}

// unpublish tells the server we are done, politely: FCUnpublish and
// deleteStream, then waits (bounded by ctx) until everything queued in
// go-rtmp has reached the socket.
func (s *session) unpublish(ctx context.Context) {
	key := string(s.target.Key)
	if s.command(ctx, csCommand, 0, "FCUnpublish", 0, nil, key) != nil {
		return
	}
	if s.command(ctx, csCommand, 0, "deleteStream", 0, nil, float64(s.streamID)) != nil {
		return
	}
	// NewChunkWriter returns once the previous message on that chunk
	// stream is written: the only flush go-rtmp exposes.
	for _, cs := range []int{csControl, csCommand, csData, csVideo, csAudio} {
		if _, err := s.cs.NewChunkWriter(ctx, cs); err != nil {
			return
		}
	}
}

// redactIn masks key in text the server sent us (some servers echo the
// stream name in their status descriptions).
func redactIn(text string, key Key) string {
	if key == "" {
		return text
	}
	return strings.ReplaceAll(text, string(key), "****")
}
