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
	"github.com/yutopp/go-rtmp/message"

	"greenroom/encode/stream"
)

// nginx-rtmp refuses by hanging up. Servers that answer in words — an
// _error to connect, an onStatus error to publish — are played by
// go-rtmp's own server, a second implementation that shares none of our
// client code.

type refuser struct {
	rtmp.DefaultHandler
	connect, publish bool // refuse which
}

func (h *refuser) OnConnect(uint32, *message.NetConnectionConnect) error {
	if h.connect {
		return errors.New("no such app")
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

func TestServerRefusesInWords(t *testing.T) {
	tests := []struct {
		name string
		h    refuser
		want string
	}{
		{"connect _error", refuser{connect: true}, "server refused the stream (wrong app in the URL?): server refused the connection: NetConnection.Connect.Failed (Connection failed.)"},
		{"publish onStatus error", refuser{publish: true}, "server refused the stream (wrong stream key?): server answered NetStream.Publish.Failed (Publish failed.)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := startRefuser(t, &tt.h)
			logs := &logBuffer{}
			o := newOutput(t, "rtmp://"+addr+"/live/"+testKey, stream.Info{}, logs)
			err := waitFailed(t, o, ErrKeyRejected, time.Second, logs)
			if !strings.HasSuffix(err.Error(), tt.want) {
				t.Errorf("error %q, want it to end with %q", err, tt.want)
			}
			o.Close()
		})
	}
}
