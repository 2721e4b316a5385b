package mediatest

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"text/template"
	"time"
)

// rtmpModule is where Debian's libnginx-mod-rtmp puts the module.
const rtmpModule = "/usr/lib/nginx/modules/ngx_rtmp_module.so"

// NginxOptions configures StartNginx.
type NginxOptions struct {
	// DenyPublish makes the server refuse every publish ("deny publish all;").
	DenyPublish bool
	// RejectKeys are stream names that the on_publish hook answers 403 for;
	// every other name is answered 200.
	RejectKeys []string
	// Push relays every stream published here to these applications
	// (nginx-rtmp's "push", e.g. another Nginx's App()), under the same
	// stream name: nginx as a relay that fans one upload out.
	Push []string
}

// Nginx is a running nginx-rtmp server with one application, "live", that
// records every publish. It is stopped when the test ends.
//
// nginx-rtmp answers a refused publish (DenyPublish, RejectKeys) by closing
// the connection after the publish command, without an onStatus error or
// _error reply: a client sees EOF or a broken pipe, not
// NetStream.Publish.BadName. The ffmpeg CLI, which does not wait for
// NetStream.Publish.Start, fails about 0.3 s in with "Input/output error"
// (RejectKeys) or "Broken pipe" on its first writes (DenyPublish).
type Nginx struct {
	Port int
	Dir  string // temp dir with nginx.conf, error.log and rec/

	bin     string
	opt     NginxOptions
	cmd     *exec.Cmd
	exited  chan struct{} // closed when nginx has exited
	waitErr error         // set before exited is closed

	hooks *hookServer
}

var nginxConf = template.Must(template.New("nginx.conf").Parse(`# Written by greenroom/encode/mediatest.
load_module "{{.Module}}";
{{if .Root}}user root;
{{end}}daemon off;
master_process off;
pid "{{.Dir}}/nginx.pid";
error_log "{{.Dir}}/error.log" info;

events {
	worker_connections 256;
}

rtmp {
	server {
		listen 127.0.0.1:{{.Port}};
		application live {
			live on;
			# A player joining mid-stream starts at a keyframe: nginx-rtmp
			# keeps no GOP cache, so without this ffprobe would first see
			# frames it cannot decode.
			wait_key on;
{{if .Deny}}			deny publish all;
{{end}}{{range .Push}}			push {{.}};
{{end}}			on_publish {{.Hook}}/publish;
			on_publish_done {{.Hook}}/publish_done;
			record all;
			record_path "{{.Dir}}/rec";
			record_unique off;
		}
	}
}
`))

// StartNginx starts Debian's nginx with libnginx-mod-rtmp on a free port of
// 127.0.0.1, waits until it accepts connections, and stops it when the test
// ends. A publish to URL(key) is recorded to Recording(key). If the test
// fails, the tail of nginx's error log is written to the test log.
func StartNginx(t testing.TB, opt NginxOptions) *Nginx {
	t.Helper()
	bin, err := lookTool("nginx")
	if err == nil {
		if _, serr := os.Stat(rtmpModule); serr != nil {
			err = fmt.Errorf("mediatest: the nginx RTMP module is missing (%v); install it with: sudo apt-get install -y libnginx-mod-rtmp (scripts/test does this)", serr)
		}
	}
	if err != nil {
		t.Fatal(err)
	}

	hooks := newHookServer(opt.RejectKeys)
	t.Cleanup(hooks.close)
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "rec"), 0o755); err != nil {
		t.Fatalf("mediatest: %v", err)
	}

	// The port is free when FreeTCPPort returns but may be taken before
	// nginx binds it; try a few.
	for attempt := 1; ; attempt++ {
		n := &Nginx{Port: FreeTCPPort(t), Dir: dir, bin: bin, opt: opt, hooks: hooks, exited: make(chan struct{})}
		err := n.start()
		if err == nil {
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("mediatest: nginx error log %s:\n%s", n.logPath(), n.LogTail(40))
				}
				n.stop()
			})
			return n
		}
		if attempt == 3 || !strings.Contains(n.Log(), "Address already in use") {
			t.Fatalf("mediatest: start nginx: %v\nnginx log:\n%s", err, n.LogTail(40))
		}
	}
}

func (n *Nginx) start() error {
	opt := n.opt
	conf := filepath.Join(n.Dir, "nginx.conf")
	f, err := os.Create(conf)
	if err != nil {
		return err
	}
	err = nginxConf.Execute(f, map[string]any{
		"Module": rtmpModule,
		"Root":   os.Geteuid() == 0,
		"Dir":    n.Dir,
		"Port":   n.Port,
		"Deny":   opt.DenyPublish,
		"Push":   opt.Push,
		"Hook":   n.hooks.srv.URL,
	})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	// A previous attempt's log would confuse the "already in use" check.
	os.Remove(n.logPath())

	stderr, err := os.Create(filepath.Join(n.Dir, "stderr.log"))
	if err != nil {
		return err
	}
	defer stderr.Close()
	// -e: nginx opens its default error log before it reads the config.
	n.cmd = exec.Command(n.bin, "-p", n.Dir, "-c", conf, "-e", n.logPath())
	n.cmd.Stdout, n.cmd.Stderr = stderr, stderr
	if err := n.cmd.Start(); err != nil {
		return err
	}
	go func() {
		n.waitErr = n.cmd.Wait()
		close(n.exited)
	}()

	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", n.Port), time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-n.exited:
			return fmt.Errorf("nginx exited: %v", n.waitErr)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			n.stop()
			return fmt.Errorf("port %d does not accept connections after 10s: %v", n.Port, err)
		}
	}
}

// stop ends nginx. SIGTERM is nginx's fast shutdown; a graceful one
// (SIGQUIT) would wait for publishers that are still connected.
func (n *Nginx) stop() {
	n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.exited:
	case <-time.After(5 * time.Second):
		n.cmd.Process.Kill()
		<-n.exited
	}
}

// Restart stops nginx at once (its fast shutdown: publishers see their
// connection drop), keeps it down for down, and starts it again on the
// same port and config: a server restarted under its publishers. It
// returns once the server accepts connections again. A new publish of a
// key overwrites its recording.
func (n *Nginx) Restart(t testing.TB, down time.Duration) {
	t.Helper()
	n.stop()
	n.hooks.record(HookCall{Call: "restart"}) // no publish_done comes for what it cut
	time.Sleep(down)
	n.exited = make(chan struct{})
	if err := n.start(); err != nil {
		t.Fatalf("mediatest: restart nginx: %v\nnginx log:\n%s", err, n.LogTail(40))
	}
}

// App is the address of the server's application, "live", without a
// stream name: where another server's Push sends to.
func (n *Nginx) App() string { return fmt.Sprintf("rtmp://127.0.0.1:%d/live", n.Port) }

// URL returns the address to publish or play key at.
func (n *Nginx) URL(key string) string {
	return fmt.Sprintf("rtmp://127.0.0.1:%d/live/%s", n.Port, key)
}

// Recording returns the path nginx records a publish of key to. It holds
// the last publish of key; it is complete once WaitUnpublished returns.
// A publish refused by DenyPublish leaves an empty file there (nginx-rtmp
// opens the recording before it applies its access rules); one refused by
// RejectKeys leaves none.
func (n *Nginx) Recording(key string) string {
	return filepath.Join(n.Dir, "rec", key+".flv")
}

func (n *Nginx) logPath() string { return filepath.Join(n.Dir, "error.log") }

// Log returns nginx's error log (level info: it lists every connect,
// publish and disconnect) followed by anything nginx wrote to stderr.
func (n *Nginx) Log() string {
	b, _ := os.ReadFile(n.logPath())
	if e, _ := os.ReadFile(filepath.Join(n.Dir, "stderr.log")); len(e) > 0 {
		b = append(append(b, "stderr:\n"...), e...)
	}
	return string(b)
}

// LogTail returns the last lines of Log, for failure messages.
func (n *Nginx) LogTail(lines int) string { return tail(n.Log(), lines) }

// HookCall is one notification nginx sent to the hook server.
type HookCall struct {
	Call     string // "publish" or "publish_done"; "restart" where Restart stopped nginx
	Key      string // the stream name, without query arguments
	ClientID string // nginx's connection id, the same in a publish and its publish_done
	Status   int    // what the hook answered
}

// HookCalls returns the notifications nginx has sent so far, in order.
// nginx-rtmp sends publish_done also for publishes it refused, and it asks
// on_publish before it applies "deny publish": with DenyPublish the hook
// answers 200 and nginx refuses the publish after.
func (n *Nginx) HookCalls() []HookCall { return n.hooks.snapshot() }

// WaitPublishing waits until the on_publish hook has accepted a publish of
// key that has not ended, and fails the test after timeout. (With
// DenyPublish nginx refuses such a publish right after; see HookCalls.)
func (n *Nginx) WaitPublishing(t testing.TB, key string, timeout time.Duration) {
	t.Helper()
	n.wait(t, key, timeout, "being published", func(accepted int, live bool) bool { return live })
}

// WaitUnpublished waits until key has been published at least once and
// every publish of it has ended, so that its recording is complete, and
// fails the test after timeout. A publisher exiting is not enough: nginx
// finishes the recording when it notices the disconnect.
func (n *Nginx) WaitUnpublished(t testing.TB, key string, timeout time.Duration) {
	t.Helper()
	n.wait(t, key, timeout, "published and then ended", func(accepted int, live bool) bool { return accepted > 0 && !live })
}

// WaitPublishes waits until the on_publish hook has accepted count
// publishes of key (a publisher that came back after a Restart makes
// two), and fails the test after timeout.
func (n *Nginx) WaitPublishes(t testing.TB, key string, count int, timeout time.Duration) {
	t.Helper()
	n.wait(t, key, timeout, fmt.Sprintf("published %d times", count), func(accepted int, live bool) bool { return accepted >= count })
}

func (n *Nginx) wait(t testing.TB, key string, timeout time.Duration, what string, done func(accepted int, live bool) bool) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		accepted, live, changed := n.hooks.state(key)
		if done(accepted, live) {
			return
		}
		select {
		case <-changed:
		case <-n.exited:
			t.Fatalf("mediatest: nginx exited (%v) while waiting for %q to be %s\nnginx log:\n%s", n.waitErr, key, what, n.LogTail(30))
		case <-deadline:
			t.Fatalf("mediatest: %q not %s after %v; hook calls %v\nnginx log:\n%s", key, what, timeout, n.HookCalls(), n.LogTail(30))
		}
	}
}

// hookServer answers nginx-rtmp's on_publish and on_publish_done
// notifications and remembers them. Its state is guarded by mu.
type hookServer struct {
	srv    *httptest.Server
	reject []string

	mu      sync.Mutex
	calls   []HookCall
	changed chan struct{} // closed and replaced on every call
}

func newHookServer(reject []string) *hookServer {
	h := &hookServer{reject: slices.Clone(reject), changed: make(chan struct{})}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	return h
}

func (h *hookServer) close() { h.srv.Close() }

// serve handles nginx-rtmp's POST of an urlencoded form (app, name, call,
// clientid, addr, ...). nginx-rtmp accepts the publish on any 2xx and drops
// the connection on anything else.
func (h *hookServer) serve(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c := HookCall{Call: r.PostForm.Get("call"), Key: r.PostForm.Get("name"), ClientID: r.PostForm.Get("clientid"), Status: http.StatusOK}
	if c.Call == "publish" && slices.Contains(h.reject, c.Key) {
		c.Status = http.StatusForbidden
	}
	h.record(c)
	w.WriteHeader(c.Status)
}

func (h *hookServer) record(c HookCall) {
	h.mu.Lock()
	h.calls = append(h.calls, c)
	close(h.changed)
	h.changed = make(chan struct{})
	h.mu.Unlock()
}

func (h *hookServer) snapshot() []HookCall {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.calls)
}

// state reports how many times key was accepted for publishing, whether a
// publish of it is live, and a channel closed at the next call. nginx also
// sends publish_done for publishes the hook refused, so publishes are
// matched by client id.
func (h *hookServer) state(key string) (accepted int, live bool, changed <-chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	open := map[string]bool{}
	for _, c := range h.calls {
		if c.Call == "restart" {
			clear(open)
			continue
		}
		if c.Key != key {
			continue
		}
		switch {
		case c.Call == "publish" && c.Status/100 == 2:
			accepted++
			open[c.ClientID] = true
		case c.Call == "publish_done":
			delete(open, c.ClientID)
		}
	}
	return accepted, len(open) > 0, h.changed
}
