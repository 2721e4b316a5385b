package rtmpout

import (
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	rtmp "github.com/yutopp/go-rtmp"
	"github.com/yutopp/go-rtmp/handshake"
	"github.com/yutopp/go-rtmp/message"

	"greenroom/encode/stream"
)

// nginx-rtmp refuses by hanging up. Servers that answer in words — an
// _error to connect, an onStatus error to publish — are played by
// go-rtmp's own server, a second implementation that shares none of our
// client code.

type refuser struct {
	rtmp.DefaultHandler
	connect, createStream, publish bool // refuse which
}

func (h *refuser) OnConnect(uint32, *message.NetConnectionConnect) error {
	if h.connect {
		return errors.New("no such app")
	}
	return nil
}

// OnCreateStream's error makes go-rtmp's server answer a bare _error,
// with no status object.
func (h *refuser) OnCreateStream(uint32, *message.NetConnectionCreateStream) error {
	if h.createStream {
		return errors.New("too many streams")
	}
	return nil
}

func (h *refuser) OnPublish(_ *rtmp.StreamContext, _ uint32, cmd *message.NetStreamPublish) error {
	if h.publish {
		return errors.New("bad key " + cmd.PublishingName)
	}
	return nil
}

// closeTracker tells when the server has closed a connection it served.
type closeTracker struct {
	net.Conn
	wg   *sync.WaitGroup
	once sync.Once
}

func (c *closeTracker) Close() error {
	c.once.Do(c.wg.Done)
	return c.Conn.Close()
}

func startRefuser(t *testing.T, h *refuser) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	quiet := logrus.New()
	quiet.Out = io.Discard
	var conns, serving sync.WaitGroup
	srv := rtmp.NewServer(&rtmp.ServerConfig{
		OnConnect: func(c net.Conn) (io.ReadWriteCloser, *rtmp.ConnConfig) {
			conns.Add(1)
			return &closeTracker{Conn: c, wg: &conns}, &rtmp.ConnConfig{Handler: h, Logger: quiet}
		},
	})
	serving.Go(func() { srv.Serve(l) })
	t.Cleanup(func() {
		srv.Close()
		serving.Wait()
		conns.Wait()
	})
	return l.Addr().String()
}

// startHangUp is a server that does the handshake, reads the chunk size
// and connect, and closes the connection without a word.
func startHangUp(t *testing.T) string {
	return serveTCP(t, func(c net.Conn) {
		defer c.Close()
		c.SetDeadline(time.Now().Add(2 * time.Second))
		if handshake.HandshakeWithClient(c, c, &handshake.Config{}) != nil {
			return
		}
		// SetChunkSize (a 12-byte chunk header and 4 bytes), then
		// connect's header, whose bytes 4–6 are its length. All of it is
		// read, so the close is a FIN, not a reset.
		buf := make([]byte, 16+12)
		if _, err := io.ReadFull(c, buf); err != nil {
			return
		}
		n := int(buf[16+4])<<16 | int(buf[16+5])<<8 | int(buf[16+6])
		io.ReadFull(c, make([]byte, n))
	})
}

// Each way a server can turn us away is said in words, naming the step;
// only a refused publish blames the key.
func TestServerRefusesInWords(t *testing.T) {
	tests := []struct {
		name string
		h    *refuser // nil: startHangUp
		is   error
		want string
	}{
		{"connect _error", &refuser{connect: true}, ErrRefused, "the server answered connect with NetConnection.Connect.Failed (Connection failed.)"},
		{"hang-up at connect", nil, ErrRefused, "the server closed the connection after connect"},
		{"createStream _error", &refuser{createStream: true}, ErrRefused, "the server answered createStream with _error"},
		{"publish onStatus error", &refuser{publish: true}, ErrKeyRejected, "the server refused the stream key: it answered publish with NetStream.Publish.Failed (Publish failed.)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var addr string
			if tt.h == nil {
				addr = startHangUp(t)
			} else {
				addr = startRefuser(t, tt.h)
			}
			logs := &logBuffer{}
			o := newOutput(t, "rtmp://"+addr+"/live/"+testKey, stream.Info{}, logs)
			err := waitFailed(t, o, tt.is, time.Second, logs)
			if want := "rtmpout: publish to rtmp://" + addr + "/live/****: " + tt.want; err.Error() != want {
				t.Errorf("error %q, want %q", err, want)
			}
			if tt.is != ErrKeyRejected && strings.Contains(err.Error(), "key") {
				t.Errorf("error %q blames the key", err)
			}
			o.Close()
		})
	}
}
