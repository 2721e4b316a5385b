// Command greenroom is the Greenroom studio.
//
//	greenroom                 the studio window
//	greenroom live [flags]    headless: the test-pattern host, live to RTMP(S) and/or recorded
//	greenroom serve [flags]   headless studio: guests join by link, the control API runs the show
//	greenroom --version       the version it was built as
package main

import (
	// First, before Fyne reads the locale in its own init: see the
	// package comment.
	_ "bootlocale"

	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"greenroom/encode"
	"greenroom/encode/publish"
	"greenroom/encode/record"
	"greenroom/encode/stream"
	"greenroom/studio"
	"greenroom/studio/presets"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// version is what --version prints: scripts/run and scripts/package set it
// to `git describe --tags --always --dirty` with -ldflags -X
// main.version=…; a plain go build is "dev".
var version = "dev"

const usage = `usage:
  greenroom                      open the studio window (needs a display; see serve)
  greenroom live [flags]         go live headless with the test-pattern host
      --to URL                   rtmp:// or rtmps:// server URL ending in the stream key, or an SRT ingest,
                                 srt://HOST:PORT?streamid=KEY&passphrase=SECRET (MPEG-TS, caller mode;
                                 libsrt's options in FFmpeg's units: latency in µs) (repeatable)
      --check                    only try each --to (connect and publish, no media, at once, a few
                                 seconds) and say what is wrong with any; exit 1 if one fails
      --record FILE              also record to FILE (.mp4 fragmented, .mkv, .flv)
      --to-vertical URL          send the vertical (9:16) program there, beside the landscape one (repeatable)
      --record-vertical FILE     record the vertical program to FILE
      --for DURATION             stop after DURATION (e.g. 30s, 1h); default: until Ctrl-C
      --size WxH                 program size, 1280x720 (default) or 1920x1080
      --fps N                    frames per second (default 30)
      --video-kbps N             H.264 bit rate (default 4500 at 720p, 6000 at 1080p)
      --preset NAME              x264 preset (default veryfast)
      -v                         log what happens inside (to stderr)
  greenroom serve [flags]        the studio without a window: prints the guest link and the control URL
      --listen ADDR              guest page, signaling and control API (default :8443; ICE on the same
                                 port: every guest's media over UDP, or over TCP where UDP is blocked)
      --public-url URL           the base URL guests are given, when reached through a name or port forward
      --cert FILE --key FILE     your TLS certificate (default: a self-signed one kept in the config folder)
      --domain NAME              get a certificate browsers trust for NAME from Let's Encrypt, renewed by itself;
                                 NAME must resolve to this machine and port 443 there reach --listen
                                 (the studio asks the router for it, with its own ports); self-signed
                                 until it arrives or if the CA refuses; the guest link uses NAME
      --acme-ca URL              another ACME CA's directory URL for --domain (default Let's Encrypt)
      --acme-email ADDR          a contact address for the CA (optional)
      --acme-http ADDR           also answer the CA on ADDR (:80) over plain HTTP, when port 443 is not the studio's;
                                 the guest link then keeps the --listen port
      --plain-http               plain HTTP, allowed only on a loopback --listen (tests, a guest on this machine)
      --ice URL                  a STUN or TURN server for guests behind strict networks (repeatable):
                                 stun:HOST:PORT, turn:USER:PASS@HOST:PORT?transport=udp, or TURN over TLS
                                 turns:USER:PASS@HOST:443?transport=tcp (offices that allow only the web)
      --no-default-stun          leave out the public STUN servers used by default
                                 (stun.l.google.com:19302, stun.cloudflare.com:3478)
      --no-port-mapping          don't ask the router (UPnP, NAT-PMP) to forward the studio's ports
      --nat-ip IP                the public address to offer guests when this machine is behind a 1:1 NAT
      --guest-grace SECONDS      how long a gone guest (tab closed, network gone) keeps their place for
                                 their page to come back, counting down on their card (default 10; 2 to 600)
      --max-on-stage N           guests on stage at once (default 10; 1 to 16)
      --max-in-green-room N      guests waiting in the green room; one more is told the studio is full
                                 (default 20; 1 to 50)
      --guest-kbps N             the most each guest may send, camera layers together (default 2500; 800 to 20000)
      --loudness LUFS            the program's loudness target: -14, -16, -23 or off (default -14; POST /api/loudness)
      --to URL, --record FILE    where POST /api/live {"on":true} sends the show (as for live); with --record
                                 each person's own recording and show.json go in a folder named after FILE;
                                 POST /api/live {"dryRun":true} tries every --to first, as live --check
      --to-vertical URL, --record-vertical FILE   the same for the vertical (9:16) program, which is
                                 made only while one of them is live
      --recordings DIR           record each show instead into a folder of its own in DIR,
                                 "YYYY-MM-DD HH.MM <title>": program.mp4, a file per person, show.json
      --title TITLE              the show's title, for its folder and show.json (default "Show")
      --size, --fps, --video-kbps, --preset, -v   as for live
  greenroom --version            the version of this build
  greenroom help                 this text
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		return runGUI(stdout, stderr)
	}
	switch args[0] {
	case "live":
		return runLive(ctx, args[1:], stdout, stderr)
	case "serve":
		return runServe(ctx, args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	case "version", "-version", "--version":
		fmt.Fprintf(stdout, "greenroom %s\n", version)
		return 0
	}
	fmt.Fprintf(stderr, "greenroom: unknown command %q\n%s", args[0], usage)
	return 2
}

type liveFlags struct {
	to     []string
	record string
	// The vertical program's (9:16) destinations and recording.
	toVertical     []string
	recordVertical string
	duration       time.Duration
	w, h, fps      int
	kbps           int
	preset         string
	verbose        bool
	check          bool
}

func parseLiveFlags(args []string) (liveFlags, error) {
	f := liveFlags{w: 1280, h: 720, fps: 30}
	fs := flag.NewFlagSet("greenroom live", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Func("to", "", func(s string) error {
		f.to = append(f.to, s)
		return nil
	})
	fs.StringVar(&f.record, "record", "", "")
	fs.Func("to-vertical", "", func(s string) error {
		f.toVertical = append(f.toVertical, s)
		return nil
	})
	fs.StringVar(&f.recordVertical, "record-vertical", "", "")
	fs.DurationVar(&f.duration, "for", 0, "")
	fs.Func("size", "", func(s string) (err error) {
		f.w, f.h, err = parseSize(s)
		return err
	})
	fs.IntVar(&f.fps, "fps", 30, "")
	fs.IntVar(&f.kbps, "video-kbps", 0, "")
	fs.StringVar(&f.preset, "preset", "", "")
	fs.BoolVar(&f.verbose, "v", false, "")
	fs.BoolVar(&f.check, "check", false, "")
	if err := fs.Parse(args); err != nil {
		return f, err // --to never fails here, so no stream key is echoed
	}
	if fs.NArg() > 0 {
		arg := fs.Arg(0)
		if _, err := publish.Redacted(arg); err == nil {
			return f, fmt.Errorf("unexpected argument %s: did you mean --to?", redactArg(arg))
		}
		return f, fmt.Errorf("unexpected argument %q", arg)
	}
	if f.fps < 1 || f.fps > 60 {
		return f, fmt.Errorf("--fps %d: want 1 to 60", f.fps)
	}
	if len(f.to) == 0 && f.record == "" && len(f.toVertical) == 0 && f.recordVertical == "" {
		return f, errors.New("nothing to do: give --to URL and/or --record FILE (or --to-vertical, --record-vertical)")
	}
	if f.check && len(f.to)+len(f.toVertical) == 0 {
		return f, errors.New("--check: nothing to check: give --to URL")
	}
	return f, nil
}

func runLive(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f, err := parseLiveFlags(args)
	if err != nil {
		fmt.Fprintf(stderr, "greenroom live: %v (see greenroom help)\n", err)
		return 2
	}
	log := newLogger(stderr, f.verbose)

	targets, err := redactTargets(f.to, f.toVertical)
	if err != nil {
		fmt.Fprintf(stderr, "greenroom live: %v\n", err)
		return 2
	}
	ecfg := encode.Config{Width: f.w, Height: f.h, FPS: f.fps, VideoBitRate: f.kbps * 1000, Preset: f.preset, Logger: log}
	if f.check {
		return checkLive(ctx, targets, append(slices.Clone(f.to), f.toVertical...), len(f.to), studio.FormatOf(ecfg), stdout, stderr)
	}

	p, err := encode.New(ecfg)
	if err != nil {
		fmt.Fprintf(stderr, "greenroom live: %v\n", err)
		return 2
	}
	if _, err := p.AddTestPattern("host", f.w, f.h); err != nil {
		p.Close()
		fmt.Fprintf(stderr, "greenroom live: %v\n", err)
		return 1
	}
	cfg := p.Config()
	fmt.Fprintf(stdout, "program: %dx%d@%d H.264 %d kb/s + AAC %d kb/s, test-pattern host\n",
		cfg.Width, cfg.Height, cfg.FPS, cfg.VideoBitRate/1000, cfg.AudioBitRate/1000)

	if f.record != "" {
		rec, err := record.New(record.Config{Path: f.record, Info: p.Info(), Logger: log})
		if err != nil {
			p.Close()
			fmt.Fprintf(stderr, "greenroom live: %v\n", err)
			return 1
		}
		p.AddOutput(rec)
		fmt.Fprintf(stdout, "recording to %s\n", f.record)
	}
	for i, t := range targets[:len(f.to)] {
		o, err := publish.New(publish.Config{Name: t, URL: f.to[i], Info: p.Info(), Logger: log})
		if err != nil {
			p.Close()
			fmt.Fprintf(stderr, "greenroom live: %v\n", err)
			return 1
		}
		p.AddOutput(o)
		fmt.Fprintf(stdout, "connecting to %s\n", t)
	}
	if err := addVertical(p, f, targets[len(f.to):], stdout, log); err != nil {
		p.Close()
		fmt.Fprintf(stderr, "greenroom live: %v\n", err)
		return 1
	}
	return watch(ctx, p, f.duration, stdout, stderr)
}

// redactTargets is every --to URL then every --to-vertical one, as
// logs may show them (publish.Redacted), or which flag has a bad one.
func redactTargets(to, toVertical []string) ([]string, error) {
	var targets []string
	for i, u := range append(slices.Clone(to), toVertical...) {
		t, err := publish.Redacted(u)
		if err != nil {
			flag := "--to"
			if i >= len(to) {
				flag = "--to-vertical"
			}
			return nil, fmt.Errorf("%s: %w", flag, err)
		}
		targets = append(targets, t)
	}
	return targets, nil
}

// addVertical opens the vertical program if live was asked for one, with
// its recording and destinations (targets, f.toVertical's).
func addVertical(p *encode.Pipeline, f liveFlags, targets []string, stdout io.Writer, log *slog.Logger) error {
	if len(targets) == 0 && f.recordVertical == "" {
		return nil
	}
	info, err := p.Vertical()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "vertical program: %dx%d@%d H.264 %d kb/s, the same sound\n",
		info.Video.Width, info.Video.Height, p.Config().FPS, p.Config().VideoBitRate/1000)
	if f.recordVertical != "" {
		rec, err := record.New(record.Config{Path: f.recordVertical, Info: info, Logger: log})
		if err != nil {
			return err
		}
		if err := p.AddVerticalOutput(rec); err != nil {
			rec.Close()
			return err
		}
		fmt.Fprintf(stdout, "recording the vertical program to %s\n", f.recordVertical)
	}
	for i, t := range targets {
		o, err := publish.New(publish.Config{Name: t + " (vertical)", URL: f.toVertical[i], Info: info, Logger: log})
		if err != nil {
			return err
		}
		if err := p.AddVerticalOutput(o); err != nil {
			o.Close()
			return err
		}
		fmt.Fprintf(stdout, "connecting to %s (vertical)\n", t)
	}
	return nil
}

// checkLive is live --check: every destination dialled and the publish
// tried at once (publish.CheckAll), a line each, and under it what in
// format the destination's platform (known by its host: presets.ForURL)
// would refuse, as the window warns. The URLs from the landscape-th on
// are --to-vertical's, judged by the vertical program's format.
func checkLive(ctx context.Context, targets []string, urls []string, landscape int, format presets.Format, stdout, stderr io.Writer) int {
	cfgs := make([]publish.Config, len(urls))
	for i, u := range urls {
		cfgs[i] = publish.Config{URL: u}
	}
	code := 0
	for i, err := range publish.CheckAll(ctx, cfgs) {
		if err != nil {
			code = 1
			fmt.Fprintf(stderr, "check: %s: %s\n", targets[i], stream.Reason(err))
		} else {
			fmt.Fprintf(stdout, "check: %s: ok, it takes the stream\n", targets[i])
		}
		f := format
		if i >= landscape {
			f = studio.VerticalFormat(format)
		}
		for _, w := range presets.For("", urls[i]).Check(f) {
			fmt.Fprintf(stdout, "check: %s: warning: %s\n", targets[i], w)
		}
	}
	return code
}

// watch reports each output's changes of state until the duration is up,
// the user interrupts, or no output is left working.
func watch(ctx context.Context, p *encode.Pipeline, d time.Duration, stdout, stderr io.Writer) int {
	if d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	var seen []stream.State // by output index: two destinations may print alike
	failed := 0
	lastStatus := time.Now()
	code := 0
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-tick.C:
		}
		healthy := 0
		for i, s := range p.Outputs() {
			if i == len(seen) {
				seen = append(seen, stream.Connecting)
			}
			if s.State != seen[i] {
				seen[i] = s.State
				switch s.State {
				case stream.Live:
					fmt.Fprintf(stdout, "live: %s\n", s.Name)
				case stream.Reconnecting:
					fmt.Fprintf(stderr, "greenroom: connection lost, reconnecting: %v\n", s.Err)
				case stream.Failed:
					failed++
					fmt.Fprintf(stderr, "greenroom: %v\n", s.Err) // the error names the output
				}
			}
			if s.State != stream.Failed {
				healthy++
			}
		}
		if healthy == 0 {
			code = 1
			break
		}
		if time.Since(lastStatus) >= 5*time.Second {
			lastStatus = time.Now()
			fmt.Fprintln(stdout, statusLine(p))
		}
	}
	// Close returns every output's failure; those reported above are not
	// news, but one that failed while finishing (a full disk at the last
	// write) is.
	if err := p.Close(); err != nil && failed == 0 {
		fmt.Fprintf(stderr, "greenroom: finishing: %v\n", err)
		code = 1
	}
	st := p.Stats()
	fmt.Fprintf(stdout, "stopped after %s: %d frames encoded, %d dropped\n", st.Uptime.Round(time.Second), st.Frames, st.Dropped)
	return code
}

func statusLine(p *encode.Pipeline) string {
	st := p.Stats()
	var b strings.Builder
	fmt.Fprintf(&b, "%s  %d frames, %d dropped, encode %.1f ms/frame (%s), latency %d ms",
		st.Uptime.Round(time.Second), st.Frames, st.Dropped, float64(st.EncodeTime)/1e6, st.Preset, st.Latency.Milliseconds())
	if st.Behind {
		b.WriteString(" BEHIND real time: stepping to a faster preset")
	}
	for _, s := range p.Outputs() {
		fmt.Fprintf(&b, " | %s: %s %.0f kb/s %.0f fps", s.Name, s.State, s.BitRate/1000, s.FPS)
		if s.Dropped > 0 {
			fmt.Fprintf(&b, " dropped %d", s.Dropped)
		}
	}
	return b.String()
}
