package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pion/webrtc/v4"

	"greenroom/encode"
	"greenroom/encode/publish"
	"greenroom/studio"
)

// runServe is `greenroom serve`: the studio without a window. Guests join by
// the printed link; the control API (or, later, the window) runs the show.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("greenroom serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var (
		listen, publicURL, cert, key, recordFile, preset string
		recordVertical                                   string
		recordDir, title                                 string
		domain, acmeCA, acmeEmail, acmeHTTP              string
		to, toVertical, natIPs                           []string
		ice                                              []webrtc.ICEServer
		plain, verbose, noDefaultSTUN, noPortMapping     bool
		w, h                                             = 1280, 720
		fps, kbps                                        int
		grace                                            = studio.DefaultReconnectGrace
		limits                                           = studio.DefaultLimits
		guestKbps                                        = studio.DefaultGuestKbps
		loudness                                         = studio.DefaultLoudnessTarget
	)
	fs.StringVar(&listen, "listen", ":8443", "")
	fs.StringVar(&publicURL, "public-url", "", "")
	fs.StringVar(&cert, "cert", "", "")
	fs.StringVar(&key, "key", "", "")
	fs.BoolVar(&plain, "plain-http", false, "")
	fs.StringVar(&domain, "domain", "", "")
	fs.StringVar(&acmeCA, "acme-ca", "", "")
	fs.StringVar(&acmeEmail, "acme-email", "", "")
	fs.StringVar(&acmeHTTP, "acme-http", "", "")
	fs.Func("to", "", func(s string) error { to = append(to, s); return nil })
	fs.Func("to-vertical", "", func(s string) error { toVertical = append(toVertical, s); return nil })
	fs.StringVar(&recordVertical, "record-vertical", "", "")
	var iceErr error // reported after Parse: the flag package would quote the password
	fs.Func("ice", "", func(v string) error {
		srv, err := studio.ParseICEServer(v)
		ice = append(ice, srv)
		if err != nil {
			iceErr = cmp.Or(iceErr, fmt.Errorf("--ice: %w", err))
		}
		return nil
	})
	fs.BoolVar(&noDefaultSTUN, "no-default-stun", false, "")
	fs.BoolVar(&noPortMapping, "no-port-mapping", false, "")
	fs.Func("nat-ip", "", func(v string) error {
		if net.ParseIP(v) == nil {
			return fmt.Errorf("--nat-ip %q: want an IP address", v)
		}
		natIPs = append(natIPs, v)
		return nil
	})
	var graceErr error // reported after Parse, without the flag package's wrapping
	fs.Func("guest-grace", "", func(v string) error {
		secs, err := strconv.ParseFloat(v, 64)
		if grace = time.Duration(secs * float64(time.Second)); err != nil {
			graceErr = fmt.Errorf("--guest-grace %q: want a number of seconds", v)
		} else if err := studio.CheckReconnectGrace(grace); err != nil {
			graceErr = fmt.Errorf("--guest-grace: %w", err)
		}
		return nil
	})
	// The guest limits and cap, checked after Parse like the grace.
	var limitErr error
	intFlag := func(name string, v *int) {
		fs.Func(name, "", func(s string) error {
			n, err := strconv.Atoi(s)
			if *v = n; err != nil {
				limitErr = cmp.Or(limitErr, fmt.Errorf("--%s %q: want a whole number", name, s))
			}
			return nil
		})
	}
	intFlag("max-on-stage", &limits.Stage)
	intFlag("max-in-green-room", &limits.GreenRoom)
	intFlag("guest-kbps", &guestKbps)
	fs.Func("loudness", "", func(v string) (err error) {
		if loudness, err = studio.ParseLoudnessTarget(v); err != nil {
			limitErr = cmp.Or(limitErr, fmt.Errorf("--loudness: %w", err))
		}
		return nil
	})
	fs.StringVar(&recordFile, "record", "", "")
	fs.StringVar(&recordDir, "recordings", "", "")
	fs.StringVar(&title, "title", "", "")
	fs.Func("size", "", func(s string) (err error) { w, h, err = parseSize(s); return err })
	fs.IntVar(&fps, "fps", 30, "")
	fs.IntVar(&kbps, "video-kbps", 0, "")
	fs.StringVar(&preset, "preset", "", "")
	fs.BoolVar(&verbose, "v", false, "")
	if err := fs.Parse(args); err != nil {
		fmt.Fprintf(stderr, "greenroom serve: %v (see greenroom help)\n", err)
		return 2
	}
	if limitErr == nil {
		if err := studio.CheckLimits(limits); err != nil {
			limitErr = fmt.Errorf("--max-on-stage, --max-in-green-room: %w", err)
		} else if err := studio.CheckGuestKbps(guestKbps); err != nil {
			limitErr = fmt.Errorf("--guest-kbps: %w", err)
		}
	}
	if err := cmp.Or(iceErr, graceErr, limitErr); err != nil {
		fmt.Fprintf(stderr, "greenroom serve: %v\n", err)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "greenroom serve: unexpected argument %q\n", redactArg(fs.Arg(0)))
		return 2
	}
	if recordFile != "" && recordDir != "" {
		fmt.Fprintln(stderr, "greenroom serve: give --record FILE or --recordings DIR, not both")
		return 2
	}
	if (cert == "") != (key == "") {
		fmt.Fprintln(stderr, "greenroom serve: give both --cert and --key, or neither")
		return 2
	}
	if domain != "" && (cert != "" || plain) {
		fmt.Fprintln(stderr, "greenroom serve: with --domain the studio gets its own certificate: drop --cert, --key and --plain-http")
		return 2
	}
	if domain == "" && (acmeCA != "" || acmeEmail != "" || acmeHTTP != "") {
		fmt.Fprintln(stderr, "greenroom serve: --acme-ca, --acme-email and --acme-http go with --domain")
		return 2
	}
	log := newLogger(stderr, verbose)
	if !noDefaultSTUN {
		defaults, err := studio.ParseICEServers(studio.DefaultSTUN)
		if err != nil {
			panic(err) // a bad default is a bug
		}
		ice = append(defaults, ice...)
	}

	if _, err := redactTargets(to, toVertical); err != nil {
		fmt.Fprintf(stderr, "greenroom serve: %v\n", err)
		return 2
	}
	var dests []studio.Destination
	for i, u := range append(slices.Clone(to), toVertical...) {
		dests = append(dests, studio.Destination{Name: "destination " + strconv.Itoa(i+1), URL: u, Vertical: i >= len(to)})
	}
	sess, err := startSession(
		encode.Config{Width: w, Height: h, FPS: fps, VideoBitRate: kbps * 1000, Preset: preset, Logger: log},
		studio.Config{Listen: listen, PublicURL: publicURL, CertFile: cert, KeyFile: key, PlainHTTP: plain,
			Domain: domain, ACMECA: acmeCA, ACMEEmail: acmeEmail, ACMEHTTPListen: acmeHTTP, ICEServers: ice, NAT1To1IPs: natIPs,
			ReconnectGrace: grace, Limits: limits, GuestKbps: guestKbps,
			// A studio on loopback (plain HTTP) has nothing to forward.
			MapPorts: !noPortMapping && !plain},
		studio.ProgramConfig{Destinations: dests, RecordFile: recordFile, RecordDir: recordDir, RecordVertical: recordVertical, ShowTitle: title, LoudnessTarget: loudness, Logger: log}, false, log)
	if err != nil {
		fmt.Fprintf(stderr, "greenroom serve: %v\n", err)
		return 1
	}
	s := sess.studio
	// The router's answer may change the link (its public address).
	select {
	case <-s.ReachKnown():
	case <-time.After(10 * time.Second):
	case <-ctx.Done():
	}
	if r := s.Reach(); plain {
		// On loopback: guests are on this machine.
	} else if r.Problem != "" {
		fmt.Fprintf(stderr, "greenroom serve: %s\n", r.Problem)
	} else if r.Via != studio.ReachLAN {
		fmt.Fprintf(stdout, "guests reach the studio %s\n", r.Via.Words())
	}
	if c := sess.prog.Recording().CutShort; c != nil {
		fmt.Fprintf(stderr, "greenroom serve: %s\n", c.Message)
	}
	go reportRecording(s, stderr)
	fmt.Fprintf(stdout, "guest link: %s\n", s.GuestURL())
	fmt.Fprintf(stdout, "control: %s\n", s.ControlURL())
	if domain != "" {
		reportCertificate(ctx, s, stdout, stderr)
	}
	<-ctx.Done()
	if closeErr := sess.Close(); closeErr != nil {
		fmt.Fprintf(stderr, "greenroom serve: %v\n", closeErr)
		return 1
	}
	return 0
}

// reportRecording says on stderr, one line each, what the studio has to
// say about the recordings while it runs: a disk short of space, the
// recordings stopped on a full disk. It ends when the studio closes.
func reportRecording(s *studio.Studio, stderr io.Writer) {
	events, cancel := s.Subscribe()
	defer cancel()
	var said studio.RecordingStatus
	for ev := range events {
		if ev.Kind != studio.EventRecording {
			continue
		}
		st := s.State().Recording
		if st == nil {
			continue
		}
		if st.Warning != "" && st.Warning != said.Warning {
			fmt.Fprintf(stderr, "greenroom serve: %s\n", st.Warning)
		}
		if st.Stopped != "" && st.Stopped != said.Stopped {
			fmt.Fprintf(stderr, "greenroom serve: %s\n", st.Stopped)
		}
		said = *st
	}
}

// reportCertificate says where getting the certificate for --domain is, and
// then how it ended: on stdout when browsers will trust the studio, on
// stderr (one line) when guests will see a warning.
func reportCertificate(ctx context.Context, s *studio.Studio, stdout, stderr io.Writer) {
	st := s.Certificate()
	if st.Pending {
		fmt.Fprintf(stdout, "certificate: getting one for %s (guests get the self-signed one meanwhile)\n", st.Domain)
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for st.Pending {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			st = s.Certificate()
		}
	}
	if st.Err != nil {
		fmt.Fprintf(stderr, "greenroom serve: certificate: %v (guests get the self-signed one meanwhile)\n", st.Err)
		return
	}
	fmt.Fprintf(stdout, "certificate: %s, %s\n", st.Domain, st)
}

func parseSize(s string) (int, int, error) {
	ws, hs, ok := strings.Cut(strings.ToLower(s), "x")
	w, err1 := strconv.Atoi(ws)
	h, err2 := strconv.Atoi(hs)
	if !ok || err1 != nil || err2 != nil {
		return 0, 0, errors.New("want WIDTHxHEIGHT, like 1920x1080")
	}
	return w, h, nil
}

// redactArg hides the key of an argument that looks like a stream URL.
func redactArg(arg string) string {
	if t, err := publish.Redacted(arg); err == nil {
		return t
	}
	return arg
}

// newLogger logs to stderr: everything with -v, else nothing — failures
// reach the user as one sentence from the command itself.
func newLogger(stderr io.Writer, verbose bool) *slog.Logger {
	level := slog.LevelError + 4
	if verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	encode.RouteFFmpegLog(log)
	return log
}
