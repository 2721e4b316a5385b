//go:build linux

package portmap

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"greenroom/studio/studiotest/netlab"
)

// The Mapper under test runs in the studio's namespace as the "mapper"
// helper mode of this test binary (see netlab.Main): a whole process in the
// namespace, so every socket goupnp and go-nat-pmp open — from whatever
// goroutine — is in the lab. It listens on the mapped ports, prints each
// Status as a JSON line, and closes the Mapper when told "close" on stdin.
func TestMain(m *testing.M) {
	netlab.Helper("mapper", mapperHelper)
	netlab.Main(m)
}

// wireStatus is a Status as the helper prints it.
type wireStatus struct {
	Method     Method
	ExternalIP string
	Mapped     []Mapping
	Err        string
	Refused    bool
	NoRouter   bool
	Advice     string
	Renewed    time.Time
	Closed     bool
	CloseErr   string
	Leaked     string
}

// studioGreeting is what the helper's TCP listeners say to whoever
// connects: the proof a connection reached the studio.
const studioGreeting = "greenroom studio"

// mapperHelper args: LEASE then PROTO/PORT for each mapping.
func mapperHelper(args []string) error {
	lease, err := time.ParseDuration(args[0])
	if err != nil {
		return err
	}
	var cfg Config
	cfg.Lease = lease
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	for _, a := range args[1:] {
		proto, port, _ := strings.Cut(a, "/")
		p, err := strconv.Atoi(port)
		if err != nil {
			return err
		}
		cfg.Mappings = append(cfg.Mappings, Mapping{Protocol: proto, InternalPort: p})
		addr := fmt.Sprintf(":%d", p)
		if proto == "tcp" {
			ln, err := net.Listen("tcp4", addr)
			if err != nil {
				return err
			}
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					fmt.Fprintln(c, studioGreeting)
					c.Close()
				}
			}()
		} else if _, err := net.ListenPacket("udp4", addr); err != nil {
			return err
		}
	}
	out := json.NewEncoder(os.Stdout)
	ignore := goleak.IgnoreCurrent()
	m := Start(context.Background(), cfg)
	changesDone := make(chan struct{})
	go func() {
		defer close(changesDone)
		for st := range m.Changes() {
			w := wireStatus{Method: st.Method, Mapped: st.Mapped, Advice: st.Advice, Renewed: st.Renewed,
				Refused: errors.Is(st.Err, ErrRefused), NoRouter: errors.Is(st.Err, ErrNoRouter)}
			if st.ExternalIP != nil {
				w.ExternalIP = st.ExternalIP.String()
			}
			if st.Err != nil {
				w.Err = st.Err.Error()
			}
			_ = out.Encode(w)
		}
	}()
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() && sc.Text() != "close" {
	}
	w := wireStatus{Closed: true}
	if err := m.Close(); err != nil {
		w.CloseErr = err.Error()
	}
	if err := m.Close(); err != nil && w.CloseErr == "" {
		w.CloseErr = "second Close: " + err.Error()
	}
	<-changesDone
	if err := goleak.Find(ignore, goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"), goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop")); err != nil {
		w.Leaked = err.Error()
	}
	return out.Encode(w)
}

// mapper is the helper seen from the test.
type mapper struct {
	t *testing.T
	p *netlab.Proc
}

func startMapper(t *testing.T, lab *netlab.Lab, lease time.Duration, mappings ...string) *mapper {
	t.Helper()
	p, err := lab.StartHelper(lab.Studio, "mapper", append([]string{lease.String()}, mappings...)...)
	if err != nil {
		t.Fatal(err)
	}
	return &mapper{t: t, p: p}
}

// next returns the next Status the helper prints.
func (m *mapper) next(timeout time.Duration) wireStatus {
	m.t.Helper()
	select {
	case line, ok := <-m.p.Lines:
		if !ok {
			m.t.Fatalf("mapper helper exited: %v", m.p.Err())
		}
		var w wireStatus
		if err := json.Unmarshal([]byte(line), &w); err != nil {
			m.t.Fatalf("mapper helper said %q: %v", line, err)
		}
		return w
	case <-time.After(timeout):
		m.t.Fatalf("no status from the mapper in %v", timeout)
	}
	panic("unreachable")
}

// close closes the Mapper and returns the helper's last word.
func (m *mapper) close() wireStatus {
	m.t.Helper()
	if _, err := fmt.Fprintln(m.p.Stdin, "close"); err != nil {
		m.t.Fatal(err)
	}
	for {
		if w := m.next(5 * time.Second); w.Closed {
			if w.Leaked != "" {
				m.t.Errorf("goroutines left after Close: %s", w.Leaked)
			}
			return w
		}
	}
}

func forwards(t *testing.T, lab *netlab.Lab) []netlab.Forward {
	t.Helper()
	fs, err := lab.Forwards()
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

func hasForward(fs []netlab.Forward, proto string, ext, internal int) bool {
	to := fmt.Sprintf("%s:%d", netlab.StudioIP, internal)
	for _, f := range fs {
		if f.Protocol == proto && f.ExternalPort == ext && f.To == to {
			return true
		}
	}
	return false
}

const testPort = 7400

// TestMapsAndRemoves maps a TCP and a UDP port over each protocol alone,
// checks them with the router's own rules, Debian's upnpc and a TCP
// connection from the internet, then checks Close removes them.
func TestMapsAndRemoves(t *testing.T) {
	for _, method := range []Method{UPnP, NATPMP} {
		t.Run(string(method), func(t *testing.T) {
			lab := netlab.New(t, netlab.Options{})
			opts := netlab.MiniupnpdOptions{NoUPnP: method == NATPMP, NoNATPMP: method == UPnP}
			if _, err := lab.StartMiniupnpd(opts); err != nil {
				t.Fatal(err)
			}
			m := startMapper(t, lab, time.Hour, "tcp/"+strconv.Itoa(testPort), "udp/"+strconv.Itoa(testPort))
			st := m.next(10 * time.Second)
			if st.Err != "" || st.Method != method || len(st.Mapped) != 2 {
				t.Fatalf("status %+v, want both ports mapped over %s", st, method)
			}
			// The address the STUN server saw miniupnpd come from.
			if st.ExternalIP != netlab.CreatorRouterWANIP.String() {
				t.Errorf("external IP %s, want %s", st.ExternalIP, netlab.CreatorRouterWANIP)
			}
			if st.Advice != "" {
				t.Errorf("advice for a reachable router: %q", st.Advice)
			}
			fs := forwards(t, lab)
			for _, mp := range st.Mapped {
				if mp.ExternalPort != testPort {
					t.Errorf("%v: external port %d, want %d", mp, mp.ExternalPort, testPort)
				}
				if !hasForward(fs, mp.Protocol, mp.ExternalPort, testPort) {
					t.Errorf("router does not forward %v: %+v", mp, fs)
				}
			}
			if method == UPnP {
				list, err := lab.Upnpc("-l")
				if err != nil {
					t.Fatal(err)
				}
				for _, p := range []string{"TCP", "UDP"} {
					if want := fmt.Sprintf("%s  %d->%s:%d  'Greenroom'", p, testPort, netlab.StudioIP, testPort); !strings.Contains(list, want) {
						t.Errorf("upnpc -l lacks %q:\n%s", want, list)
					}
				}
			}
			got, err := lab.DialTCP(lab.Internet, net.JoinHostPort(st.ExternalIP, strconv.Itoa(testPort)))
			if err != nil || got != studioGreeting {
				t.Errorf("from the internet to %s:%d: %q, %v; want %q", st.ExternalIP, testPort, got, err, studioGreeting)
			}
			if w := m.close(); w.CloseErr != "" {
				t.Errorf("Close: %s", w.CloseErr)
			}
			if fs := forwards(t, lab); len(fs) != 0 {
				t.Errorf("router still forwards after Close: %+v", fs)
			}
			if method == UPnP {
				if list, _ := lab.Upnpc("-l"); strings.Contains(list, "Greenroom") {
					t.Errorf("upnpc -l after Close:\n%s", list)
				}
			}
		})
	}
}
