package rtmpout

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"greenroom/encode/mediatest"
)

// The preflight: every kind of broken destination at once, each its own
// sentence, all within the dial timeout; the good one is published to and
// left again, with nothing sent.
func TestCheckAll(t *testing.T) {
	const bad = "bad_" + testKey
	n := mediatest.StartNginx(t, mediatest.NginxOptions{RejectKeys: []string{bad}})
	serverTLS, _ := selfSigned(t)
	untrusted := startProxy(t, fmt.Sprintf("127.0.0.1:%d", n.Port), serverTLS)
	web := httptest.NewServer(http.NotFoundHandler())
	defer web.Close()
	tests := []struct {
		name, url string
		is        error // nil: ok
		want      string
	}{
		{"good", n.URL(testKey), nil, ""},
		{"refused key", n.URL(bad), ErrKeyRejected, "the server refused the stream key: it closed the connection after publish"},
		{"unknown host", "rtmp://nohost.invalid/live/" + testKey, ErrUnreachable, "cannot find the server: "},
		{"nothing listens", fmt.Sprintf("rtmp://127.0.0.1:%d/live/%s", mediatest.FreeTCPPort(t), testKey), ErrUnreachable, "nothing listens at"},
		{"never answers", "rtmp://" + silentServer(t) + "/live/" + testKey, ErrUnreachable, "no answer within 2s"},
		{"untrusted certificate", "rtmps://" + untrusted.addr() + "/live/" + testKey, ErrUnreachable, "its TLS certificate is not trusted: "},
		{"rtmps:// to a plain port", fmt.Sprintf("rtmps://127.0.0.1:%d/live/%s", n.Port, testKey), ErrUnreachable, "no TLS answer from 127.0.0.1:" + strconv.Itoa(n.Port) + " within 2s (an rtmps:// URL for a plain rtmp:// server?)"},
		{"not an RTMP server", "rtmp://" + web.Listener.Addr().String() + "/live/" + testKey, ErrUnreachable, "no RTMP server answered at " + web.Listener.Addr().String() + " (it failed the RTMP handshake: "},
	}
	cfgs := make([]Config, len(tests))
	for i, tt := range tests {
		cfgs[i] = Config{URL: tt.url, DialTimeout: 2 * time.Second}
	}
	start := time.Now()
	errs := CheckAll(context.Background(), cfgs)
	took := time.Since(start)
	for i, tt := range tests {
		err := errs[i]
		switch {
		case tt.is == nil && err != nil:
			t.Errorf("%s: %v, want ok", tt.name, err)
		case tt.is == nil:
		case !errors.Is(err, tt.is) || !strings.HasPrefix(Reason(err), tt.want):
			t.Errorf("%s: %v, want %v saying %q", tt.name, err, tt.is, tt.want)
		case strings.Contains(err.Error(), testKey):
			t.Errorf("%s: key in %q", tt.name, err)
		default:
			t.Logf("%s: %s", tt.name, Reason(err))
		}
	}
	// The slowest is the silent server's 2 s; the good one holds its
	// publish for liveProbation.
	if took > 3*time.Second {
		t.Errorf("preflight took %v, want at most 3 s", took)
	}
	n.WaitUnpublished(t, testKey, 2*time.Second)
	t.Logf("preflight of %d took %v", len(tests), took.Round(time.Millisecond))
}

// BenchmarkPreflightFour: the preflight of four destinations that all take
// the stream (issue #13's benchmark): as long as the slowest connect, plus
// the second each is held.
func BenchmarkPreflightFour(b *testing.B) {
	n := mediatest.StartNginx(b, mediatest.NginxOptions{})
	var cfgs []Config
	for i := range 4 {
		cfgs = append(cfgs, Config{URL: n.URL(fmt.Sprintf("dest%d", i))})
	}
	for b.Loop() {
		for i, err := range CheckAll(context.Background(), cfgs) {
			if err != nil {
				b.Fatalf("destination %d: %v", i, err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/preflight")
}
