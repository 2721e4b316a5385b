package rtmpout

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"go.uber.org/goleak"

	"greenroom/encode/mediatest"
	"greenroom/encode/stream"
)

// TestMain checks what no single test can: every test must leave no
// goroutine behind (Close waits for all of ours, go-rtmp's included), and
// go-rtmp, which logs through the global logrus, must have said nothing:
// we do not use the parts of it that log, so we need not silence logrus
// for the whole program.
func TestMain(m *testing.M) {
	var logged atomic.Int64
	logrus.SetOutput(io.Discard)
	logrus.SetLevel(logrus.TraceLevel)
	logrus.AddHook(countHook{&logged})
	code := m.Run()
	if code == 0 {
		if n := logged.Load(); n > 0 {
			fmt.Fprintf(os.Stderr, "go-rtmp logged %d lines through logrus\n", n)
			code = 1
		}
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goroutines left behind: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

type countHook struct{ n *atomic.Int64 }

func (countHook) Levels() []logrus.Level     { return logrus.AllLevels }
func (h countHook) Fire(*logrus.Entry) error { h.n.Add(1); return nil }

const testKey = "sk_live_1234567890abcdef"

// logBuffer collects an output's logs so a test can check the key never
// appears in them.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newOutput(t *testing.T, url string, info stream.Info, logs io.Writer) *Output {
	t.Helper()
	if logs == nil {
		logs = io.Discard
	}
	o, err := New(Config{
		URL:         url,
		Info:        info,
		Logger:      slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		DialTimeout: 2 * time.Second,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { o.Close() })
	return o
}

// waitFailed waits for the first connection to fail and checks the error
// is is, within limit, and carries no key.
func waitFailed(t *testing.T, o *Output, is error, limit time.Duration, logs *logBuffer) error {
	t.Helper()
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), limit+5*time.Second)
	defer cancel()
	err := o.WaitLive(ctx)
	took := time.Since(start)
	if !errors.Is(err, is) {
		t.Fatalf("WaitLive = %v, want %v", err, is)
	}
	if took > limit {
		t.Errorf("failure took %v, want at most %v", took, limit)
	}
	st := o.Stats()
	if st.State != stream.Failed || !errors.Is(st.Err, is) {
		t.Errorf("Stats: state %v, err %v; want failed, %v", st.State, st.Err, is)
	}
	for _, s := range []string{err.Error(), fmt.Sprint(st), logs.String()} {
		if strings.Contains(s, testKey) {
			t.Errorf("key leaked: %s", s)
		}
	}
	t.Logf("error: %v (after %v)", err, took.Round(time.Millisecond))
	return err
}

func TestNewRejectsBadURL(t *testing.T) {
	_, err := New(Config{URL: "http://example.com/app/" + testKey})
	if err == nil || !strings.Contains(err.Error(), "unsupported scheme http") || strings.Contains(err.Error(), testKey) {
		t.Fatalf("New = %v", err)
	}
}

func TestUnreachable(t *testing.T) {
	port := mediatest.FreeTCPPort(t) // nothing listens there
	logs := &logBuffer{}
	o := newOutput(t, fmt.Sprintf("rtmp://127.0.0.1:%d/live/%s", port, testKey), stream.Info{}, logs)
	err := waitFailed(t, o, ErrUnreachable, time.Second, logs)
	want := fmt.Sprintf("rtmpout: publish to rtmp://127.0.0.1:%d/live/****: nothing listens at 127.0.0.1:%[1]d (connection refused)", port)
	if err.Error() != want {
		t.Errorf("error %q, want it to start with %q", err, want)
	}
	o.Write(&stream.Packet{Kind: stream.Video, Key: true}) // a failed output still takes packets
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	if err := o.Close(); err != nil { // twice
		t.Fatal(err)
	}
	if st := o.Stats(); st.State != stream.Closed {
		t.Errorf("state after Close = %v", st.State)
	}
}

// serveTCP runs handle on each connection to a fresh 127.0.0.1 port until
// the test ends, then closes the listener and every connection and waits
// for the handlers.
func serveTCP(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() { handle(c) })
		}
	})
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return l.Addr().String()
}

// silentServer accepts TCP connections and never says a word, like a
// firewall that lets the SYN through, or a server that is hung.
func silentServer(t *testing.T) string {
	return serveTCP(t, func(c net.Conn) { io.Copy(io.Discard, c) })
}

func TestSilentServerTimesOut(t *testing.T) {
	logs := &logBuffer{}
	o := newOutput(t, "rtmp://"+silentServer(t)+"/live/"+testKey, stream.Info{}, logs)
	err := waitFailed(t, o, ErrUnreachable, 3*time.Second, logs)
	if !strings.Contains(err.Error(), "no answer within 2s") {
		t.Errorf("error %q does not say it timed out", err)
	}
}

func TestCloseWhileConnecting(t *testing.T) {
	o := newOutput(t, "rtmp://"+silentServer(t)+"/live/"+testKey, stream.Info{}, nil)
	time.Sleep(100 * time.Millisecond) // in the handshake by now
	start := time.Now()
	o.Close()
	if took := time.Since(start); took > 200*time.Millisecond {
		t.Errorf("Close took %v", took)
	}
	if err := o.WaitLive(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("WaitLive after Close = %v, want ErrClosed", err)
	}
}
