//go:build linux

package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"

	"greenroom/studio/studiotest"
	"greenroom/studio/studiotest/netlab"
)

// Issue #10's climb after a cap: a receiver moved down a layer is moved up
// again only after a probe of its link passed (studio/probe.go).
const (
	// probeCap is the receiver's downlink under the cap: the middle
	// layers of Ann's camera (150 kb/s) and of the host's feed (200), with
	// both sounds, fit with room, so the studio tries her a layer up; a
	// top layer (Ann's 400, the host's 800) does not.
	probeCap = "700kbit"
	// probeCappedFor is how long the test watches under the cap: the
	// tries up are held back 2 s after a fall, doubling.
	probeCappedFor = 12 * time.Second
	// probeClimbWithin is how soon after the cap lifts she must be on
	// Ann's top layer again: a failed probe holds the next try back up
	// to 8 s (climbHoldMax), and GCC must first see the link clear.
	probeClimbWithin = 20 * time.Second
	// probeSettle is how long after she was moved down before the test
	// judges: the top layer's packets queued when the cap fell.
	probeSettle = 4 * time.Second
	// probeUpSlack: a still of her picture that began this long before
	// a move up was seen (the state is read four times a second) to a
	// third of it after is the move's.
	probeUpSlack = 1500 * time.Millisecond
)

func init() { netlab.Helper("probeguest", probeGuestHelper) }

// TestLabReceiverProbesBeforeClimbing: Ann, a pion guest on stage, sends
// her camera in three layers; Cat, a pion receiver with transport-cc
// feedback, reaches the studio over its LAN, whose link to her is capped
// (tc tbf on the studio's side) mid-test. Under the cap she is moved down
// and the studio tries her a layer up with probes (padding she receives),
// which the cap fails: her picture of Ann (and of the host) never stands
// still over a second, as it did when a try moved her up into a layer
// whose keyframe the cap dropped. Once the cap lifts she is back on Ann's
// top layer within probeClimbWithin, again without a stand-still.
func TestLabReceiverProbesBeforeClimbing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a network lab")
	}
	lab := netlab.New(t, netlab.Options{})
	if _, err := os.Stat("/usr/sbin/tc"); err != nil {
		t.Skip("no tc (Debian's iproute2):", err)
	}
	ls := startLabStudio(t, lab)
	link, _ := url.Parse(ls.guestURL)
	link.Host = "127.0.0.1:8443" // Ann is on the studio's own loopback
	var args []string
	for _, rid := range []string{"h", "m", "l"} {
		ivf, err := filepath.Abs("studio/testdata/simulcast-" + rid + ".ivf")
		if err != nil {
			t.Fatal(err)
		}
		args = append(args, rid+"="+ivf)
	}
	audio, err := filepath.Abs("studio/testdata/audio.ogg")
	if err != nil {
		t.Fatal(err)
	}
	annProc, err := lab.StartHelper(lab.Studio, "probeguest", append([]string{"send", link.String(), audio}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { annProc.Stdin.Close() })
	ann := helperSays(t, annProc, "sender ")
	ls.post(t, "/api/stage", `{"id":"`+ann+`","on":true}`)

	// Cat in the creator's router: her packets from the studio leave
	// by its eth0, which the cap is put on.
	link.Host = net.JoinHostPort(netlab.StudioIP.String(), "8443")
	catProc, err := lab.StartHelper(lab.CreatorRouter, "probeguest", "receive", link.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { catProc.Stdin.Close() })
	cat := helperSays(t, catProc, "receiver ")
	seenBy := followPictures(catProc)
	// pictures is what Cat saw of each participant's video: the padding
	// packets that came, and the times Ann's stood still over 1 s from a
	// frame shown after from (the cap's own fall, whose queue drains, is
	// not a try's), and the host's (logged: the host's feed is judged
	// elsewhere).
	pictures := func(from time.Time) (padding int, stills []studiotest.Still, host []string) {
		for id, p := range seenBy() {
			padding += p.padding
			for _, still := range p.stills {
				switch {
				case still.From.Before(from):
				case id == ann:
					stills = append(stills, still)
				default:
					host = append(host, fmt.Sprintf("from %s for %v", still.From.Format("15:04:05.000"), still.Took))
				}
			}
		}
		return padding, stills, host
	}
	// watch follows Cat's layer of Ann four times a second until done
	// says so or within has passed (seen: when it changed, when she was
	// moved up), and says how long it took.
	var seen studiotest.Layers
	watch := func(within time.Duration, done func(string) bool) (time.Duration, bool) {
		start := time.Now()
		for time.Since(start) < within {
			l := forwardedOf(ls.state(t), cat)[ann]
			seen.See(l, time.Now())
			if done(l) {
				return time.Since(start), true
			}
			time.Sleep(250 * time.Millisecond)
		}
		return time.Since(start), false
	}
	// judge fails on a still of Ann's picture that a move up caused (it
	// began within a moment of one: the new layer's keyframe did not come
	// through), or one longer than maxFreeze; the rest over 1 s are
	// logged, as the bad-network tests logged their targets before they
	// asserted them (a process starved of CPU on this box stands still
	// too).
	judge := func(when string, stills []studiotest.Still) {
		for _, st := range stills {
			byTry := slices.ContainsFunc(seen.Ups(), func(up time.Time) bool {
				return st.From.After(up.Add(-probeUpSlack)) && st.From.Before(up.Add(probeUpSlack/3))
			})
			msg := fmt.Sprintf("%s, Cat's picture of Ann stood still from %s for %v", when, st.From.Format("15:04:05.000"), st.Took)
			switch {
			case byTry:
				t.Errorf("%s, after a move up", msg)
			case st.Took > maxFreeze:
				t.Errorf("%s, want at most %v", msg, maxFreeze)
			default:
				t.Logf("issue #10's target not met: %s", msg)
			}
		}
	}
	if _, ok := watch(30*time.Second, func(l string) bool { return l == "h" }); !ok {
		t.Fatalf("Cat not on Ann's top layer 30 s after joining: %s", &seen)
	}

	if err := lab.Cap(lab.Studio, "eth0", probeCap); err != nil {
		t.Fatal(err)
	}
	took, ok := watch(10*time.Second, func(l string) bool { return l == "m" || l == "l" })
	if !ok {
		t.Fatalf("Cat not moved off Ann's top layer 10 s after the cap: %s", &seen)
	}
	t.Logf("capped at %s: Cat moved to %q in %v", probeCap, seen.Current(), took.Round(100*time.Millisecond))
	time.Sleep(probeSettle) // what queued when the cap fell drains
	settled := time.Now()
	padded, _, _ := pictures(settled)
	changed, flipped := seen.Changes(), seen.Flips()
	watch(probeCappedFor, func(string) bool { return false })
	padding, stills, host := pictures(settled)
	changes, flips := seen.Changes()-changed, seen.Flips()-flipped
	t.Logf("capped for %v: Cat's layer of Ann %s (%d changes, %d flips under the cap); %d padding packets came (the tries); the host's picture still over 1 s %q",
		probeCappedFor, &seen, changes, flips, padding-padded, host)
	if padding == padded {
		// GCC saw her link full throughout (a loaded box), where no
		// probe is sent: the test then proves less, and says so.
		t.Logf("under the cap Cat was never tried a layer up (no padding came)")
	}
	if seen.Current() == "h" {
		t.Errorf("under the cap Cat was moved onto Ann's top layer: %s", &seen)
	}
	// Settled, she stays on what her link carries: a move down after a
	// move up (a flip) costs a keyframe for every receiver of the layer.
	// The target is none; the test fails past one, as the other lab
	// tests assert what held in every run and log the target's misses:
	// one flip came in 1 of 3 runs at load 17 on this shared box
	// (10.2 s m, 12.5 s l), none in runs at loads 9-15.
	if flips > 0 {
		t.Logf("issue #10's target not met: under the cap Cat's layer of Ann flipped %d times (a move down after a move up): %s", flips, &seen)
	}
	if flips > 1 || changes > 3 {
		t.Errorf("under the cap Cat's layer of Ann changed %d times (%d moves down after a move up), want at most 3 and 1: %s", changes, flips, &seen)
	}
	judge("under the cap", stills)

	if err := lab.Cap(lab.Studio, "eth0", ""); err != nil {
		t.Fatal(err)
	}
	lifted := time.Now()
	took, ok = watch(30*time.Second, func(l string) bool { return l == "h" })
	t.Logf("cap lifted: Cat back on Ann's top layer in %v (%v): %s", took.Round(100*time.Millisecond), ok, &seen)
	if took > probeClimbWithin {
		t.Errorf("Cat back on Ann's top layer %v after the cap lifted, want within %v", took.Round(100*time.Millisecond), probeClimbWithin)
	}
	time.Sleep(time.Second) // the top layer's first frames shown, or not
	_, stills, host = pictures(lifted)
	judge("climbing back", stills)
	t.Logf("climbing back, the host's picture still over 1 s %q", host)
}

// helperSays waits for the helper's line with prefix and returns the rest.
func helperSays(t *testing.T, p *netlab.Proc, prefix string) string {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case line, ok := <-p.Lines:
			if !ok {
				t.Fatalf("the helper ended before saying %q: %v", prefix, p.Err())
			}
			if rest, ok := strings.CutPrefix(line, prefix); ok {
				return rest
			}
		case <-timeout:
			t.Fatalf("the helper did not say %q within 30 s", prefix)
		}
	}
}

// probeGuestHelper runs "probeguest send LINK AUDIO RID=IVF…" (Ann: her
// camera in those layers and her mic; prints "sender ID") or "probeguest
// receive LINK" (Cat: sends nothing, offers every address of her namespace,
// and prints "receiver ID", then four times a second "pictures ID=P/S…":
// for each participant whose video she gets, the padding packets that came
// and each time its picture stood still over 1 s as
// FROM_UNIX_MS:MS:MISSING:k, comma-separated, MISSING the packets that
// never came meanwhile and k, or -, whether a keyframe ended it) until its
// standard input closes.
// seenPictures is what a probeguest receiver said it saw of one
// participant's video: the padding packets that came, its stills over
// 1 s, and whether it showed a frame at all.
type seenPictures struct {
	padding int
	stills  []studiotest.Still
	shown   bool
}

// followPictures reads a probeguest receiver's "pictures" lines as they
// come; the func it returns gives the latest, by participant.
func followPictures(p *netlab.Proc) func() map[string]seenPictures {
	var mu sync.Mutex
	var last string
	go func() {
		for line := range p.Lines {
			if strings.HasPrefix(line, "pictures ") {
				mu.Lock()
				last = line
				mu.Unlock()
			}
		}
	}()
	return func() map[string]seenPictures {
		mu.Lock()
		line := last
		mu.Unlock()
		seen := map[string]seenPictures{}
		if line == "" {
			return seen
		}
		for _, f := range strings.Fields(line)[1:] {
			id, rest, _ := strings.Cut(f, "=")
			pad, rest, _ := strings.Cut(rest, "/")
			list, shown, _ := strings.Cut(rest, "/")
			p := seenPictures{shown: shown == "true"}
			p.padding, _ = strconv.Atoi(pad)
			for _, s := range strings.Split(list, ",") {
				f := strings.Split(s, ":") // FROM:MS:MISSING:k
				if len(f) < 4 {
					continue
				}
				ms, _ := strconv.ParseInt(f[0], 10, 64)
				d, _ := strconv.Atoi(f[1])
				missing, _ := strconv.Atoi(f[2])
				p.stills = append(p.stills, studiotest.Still{From: time.UnixMilli(ms), Took: time.Duration(d) * time.Millisecond, Missing: missing, Key: f[3] == "k"})
			}
			seen[id] = p
		}
		return seen
	}
}

func probeGuestHelper(args []string) error {
	if len(args) < 2 {
		return fmt.Errorf("usage: probeguest send|receive LINK …")
	}
	role, link := args[0], args[1]
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	opt := studiotest.Options{TLS: &tls.Config{InsecureSkipVerify: true}} // the studio's self-signed certificate
	var mu sync.Mutex
	seen := map[string]*studiotest.Pictures{}
	switch role {
	case "send":
		if len(args) < 4 {
			return fmt.Errorf("usage: probeguest send LINK AUDIO RID=IVF…")
		}
		opt.AudioOgg = args[2]
		for _, a := range args[3:] {
			rid, ivf, _ := strings.Cut(a, "=")
			opt.Simulcast = append(opt.Simulcast, studiotest.Layer{RID: rid, IVF: ivf})
		}
	case "receive":
		opt.AnyAddress = true
		opt.OnRTP = func(from, kind string, pkt *rtp.Packet) {
			if kind != "video" {
				return
			}
			mu.Lock()
			p := seen[from]
			if p == nil {
				p = &studiotest.Pictures{}
				seen[from] = p
			}
			mu.Unlock()
			p.See(pkt)
		}
	default:
		return fmt.Errorf("probeguest: no role %q", role)
	}
	c, err := studiotest.Join(ctx, link, role, opt)
	if err != nil {
		return fmt.Errorf("%s: %w", role, err)
	}
	defer c.Close()
	if role == "send" {
		fmt.Println("sender", c.ID)
	} else {
		fmt.Println("receiver", c.ID)
	}
	everyUntilStdinCloses(250*time.Millisecond, func() {
		if role != "receive" {
			return
		}
		line := "pictures"
		mu.Lock()
		for id, p := range seen {
			var stills []string
			for _, s := range p.StillsOver(time.Time{}, time.Second) {
				key := "-"
				if s.Key {
					key = "k"
				}
				stills = append(stills, fmt.Sprintf("%d:%d:%d:%s", s.From.UnixMilli(), s.Took.Milliseconds(), s.Missing, key))
			}
			line += fmt.Sprintf(" %s=%d/%s/%t", id, p.Padding(), strings.Join(stills, ","), p.Shown())
		}
		mu.Unlock()
		fmt.Println(line)
	})
	return nil
}
