package studio_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"

	"greenroom/encode"
	"greenroom/encode/mediatest"
	"greenroom/studio"
	"greenroom/studio/studiotest"
)

// BenchmarkForwardLatency measures RTP in → RTP out through the studio: a
// pion guest writes a packet stamped with the time, another guest reads it
// after the studio forwarded it (two SRTP legs on loopback and the SFU in
// between). One packet in flight at a time, so it is the path's latency,
// not queueing. Reported: p50 and p99 in milliseconds.
func BenchmarkForwardLatency(b *testing.B) {
	s := newStudio(b, nil)
	arrived := make(chan time.Duration, 16)
	pub := join(b, s, "Pub", studiotest.Options{RTPVideo: true})
	_ = join(b, s, "Sub", studiotest.Options{OnRTP: func(_, kind string, pkt *rtp.Packet) {
		if kind == "video" && len(pkt.Payload) == 9 {
			sent := time.Unix(0, int64(binary.BigEndian.Uint64(pkt.Payload[1:])))
			select {
			case arrived <- time.Since(sent):
			default:
			}
		}
	}})
	if err := s.Stage(pub.ID, true); err != nil {
		b.Fatal(err)
	}
	seq := uint16(0)
	send := func() {
		seq++
		payload := make([]byte, 9)
		payload[0] = 0x10 // VP8 payload descriptor: start of a partition
		binary.BigEndian.PutUint64(payload[1:], uint64(time.Now().UnixNano()))
		_ = pub.RTPVideo.WriteRTP(&rtp.Packet{
			Header:  rtp.Header{Version: 2, Marker: true, SequenceNumber: seq, Timestamp: uint32(seq) * 3000},
			Payload: payload,
		})
	}
	// Until the subscription is negotiated nothing arrives.
	deadline := time.Now().Add(15 * time.Second)
	for warm := false; !warm; {
		send()
		select {
		case <-arrived:
			warm = true
		case <-time.After(20 * time.Millisecond):
			if time.Now().After(deadline) {
				b.Fatal("nothing forwarded")
			}
		}
	}
	var lat []time.Duration
	b.ResetTimer()
	for range b.N {
		send()
		select {
		case d := <-arrived:
			lat = append(lat, d)
		case <-time.After(time.Second):
			b.Fatal("a packet was not forwarded within 1 s")
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2])/1e6, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100])/1e6, "p99-ms")
}

// benchSenders is the config of TestBenchSenders: N guests who send
// Layers, joining at URL.
type benchSenders struct {
	URL    string
	N      int
	Layers []studiotest.Layer
	// Tile is how big each guest's page draws each other guest, said
	// once all have joined ("view"); zero says nothing, and each is then
	// sent the others' layers by its downlink alone.
	Tile [2]int
}

// pageTile is how big a guest page in a 1280x800 window draws each of
// nine others on stage, device pixels: its grid (guest.css: columns of at
// least 18rem under a width of (100vh - 6rem) × 16/9, less 2rem of
// padding and .5rem gaps) is four 299-px columns of 16:9 tiles. 168 px
// tall, a tile needs a guest's 180p.
var pageTile = [2]int{299, 168}

// BenchmarkTenGuests1080p is issue #10's budget for a big show: ten pion
// guests, each sending its camera in three simulcast layers (VP8 720p,
// 360p, 180p at Chromium's rates, encoded once beforehand, so the senders
// encode nothing) and Opus, on stage in the grid of a 1080p30 program
// recorded live (x264 from veryfast, stepped down by the governor when the
// box cannot keep up, as in a show). The guests run in a second
// process (this test binary again, TestBenchSenders) and receive each
// other as guests do, each saying how big its page draws the nine others
// (pageTile, "view": their 180p, less if its downlink is short), so what
// is measured is the studio's process alone:
// the SFU receiving 30 layers and forwarding each guest to the nine
// others, and the program decoding, compositing and encoding.
// Sub-benchmarks: "layers", the program takes each guest's layer by its
// tile height (a 10-person grid at 1080p: 360p), and "720p", the same show
// with the program given every guest's top layer (the Sink without
// TileHeight). Over GREENROOM_BENCH_SECONDS (default 15) after every guest
// is decoded at the expected layer (or after a minute: it logs the layers
// the program had, and those a guest was sent of the others), it reports
// the studio's CPU in cores (CPU time, not wall time: the box is shared),
// the senders' cores apart, the program frames encoded per frame due
// (x-realtime), the frames dropped, and the CPU per second of program
// made. Run with -benchtime 1x.
func BenchmarkTenGuests1080p(b *testing.B) {
	secs := 15
	if s, err := strconv.Atoi(os.Getenv("GREENROOM_BENCH_SECONDS")); err == nil && s > 0 {
		secs = s
	}
	layers := studiotest.ChromiumCameraLayers(b, b.TempDir())
	for _, c := range []struct {
		name  string
		fit   bool
		layer string // the program's layer of every guest
	}{{"layers", true, "m"}, {"720p", false, "h"}} {
		b.Run(c.name, func(b *testing.B) {
			pipe, err := encode.New(encode.Config{Width: 1920, Height: 1080, FPS: 30})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { pipe.Close() })
			prog, err := studio.NewProgram(pipe, studio.ProgramConfig{RecordFile: filepath.Join(b.TempDir(), "show.mp4")})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { prog.Close() })
			var sink studio.Sink = prog
			if !c.fit {
				sink = topLayers{prog}
			}
			s := newStudio(b, func(cfg *studio.Config) { cfg.Sink = sink; cfg.GoLive = prog.SetLive })
			prog.Attach(s)
			senders := startHelper(b, "TestBenchSenders", benchSenders{URL: s.GuestURL(), N: 10, Layers: layers, Tile: pageTile})
			var ids []string
			for range 10 {
				id := senders.expect(b, "guest ")
				if err := s.Stage(id, true); err != nil {
					b.Fatal(err)
				}
				ids = append(ids, id)
			}
			if err := s.SetLive(true); err != nil {
				b.Fatal(err)
			}
			// Ten guests joining load the box for a while (their ICE, DTLS
			// and first keyframes). On a box loaded by others the senders
			// may pause a layer now and then, and the program leaves it
			// (simulcast.go): after a minute it is measured as it is, and
			// says so.
			layersNow := func() (at []string, all bool) {
				all = true
				for _, id := range ids {
					at = append(at, find(s, id).ProgramLayer)
					all = all && at[len(at)-1] == c.layer
				}
				return at, all
			}
			for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
				at, all := layersNow()
				if all {
					break
				}
				if time.Now().After(deadline) {
					b.Logf("not every guest at layer %q after a minute: %q", c.layer, at)
					break
				}
			}
			time.Sleep(2 * time.Second) // past the first keyframes and the encoder's start
			b.ResetTimer()
			for range b.N {
				st0, cpu0, sent0, start := pipe.Stats(), mediatest.CPUTime(), senders.cpu(b), time.Now()
				time.Sleep(time.Duration(secs) * time.Second)
				wall, cpu, sent, st := time.Since(start), mediatest.CPUTime()-cpu0, senders.cpu(b)-sent0, pipe.Stats()
				b.ReportMetric(cpu.Seconds()/wall.Seconds(), "cores")
				b.ReportMetric(sent.Seconds()/wall.Seconds(), "sender-cores")
				b.ReportMetric(float64(st.Frames-st0.Frames)/(wall.Seconds()*30), "x-realtime")
				b.ReportMetric(float64(st.Dropped-st0.Dropped), "dropped")
				// On a box too loaded to give the studio what it needs,
				// the program drops frames and does less: the CPU per
				// second of program it did make still compares the two.
				b.ReportMetric(cpu.Seconds()/(float64(st.Frames-st0.Frames)/30), "cpu-s/program-s")
				load, _ := os.ReadFile("/proc/loadavg")
				tile := pipe.Input(ids[0]).Video.Tile()
				at, _ := layersNow()
				b.Logf("%v: tiles %v, the program's layers %q, preset %s, encode %.1f ms/frame, latency %v; a guest is sent the others' layers %v; load %s",
					wall.Round(time.Millisecond), tile, at, st.Preset,
					float64(st.EncodeTime)/1e6, st.Latency.Round(time.Millisecond), slices.Sorted(maps.Values(find(s, ids[0]).Forwarded)),
					strings.TrimSpace(string(load)))
			}
		})
	}
}

// topLayers is the program without its TileHeight: the SFU then gives it
// every simulcast guest's top layer, as if it had no choice of layer.
type topLayers struct{ p *studio.Program }

func (t topLayers) WriteRTP(ti studio.TrackInfo, pkt *rtp.Packet) { t.p.WriteRTP(ti, pkt) }
func (t topLayers) EndTrack(ti studio.TrackInfo)                  { t.p.EndTrack(ti) }

// helper is a test of this binary run as a process of its own
// (startHelper): the benchmarks' guests, so that their CPU is not counted
// as the studio's. It says what it did in lines on its stdout, and ends
// when its stdin closes.
type helper struct {
	cmd   *exec.Cmd
	lines *bufio.Scanner
}

// helperEnv carries a helper's config, as JSON, to the test it runs.
const helperEnv = "GREENROOM_BENCH_HELPER"

// startHelper runs test (TestBenchSenders, TestBenchForwarder) in this test
// binary with cfg; it ends with the benchmark.
func startHelper(b *testing.B, test string, cfg any) *helper {
	spec, err := json.Marshal(cfg)
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$")
	cmd.Env = append(os.Environ(), helperEnv+"="+string(spec))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close()
		_, _ = io.Copy(io.Discard, stdout) // Wait closes it
		_ = cmd.Wait()
	})
	return &helper{cmd: cmd, lines: bufio.NewScanner(stdout)}
}

// expect reads the helper's lines up to the next that starts with prefix,
// and returns the rest of it.
func (h *helper) expect(b *testing.B, prefix string) string {
	for h.lines.Scan() {
		if rest, ok := strings.CutPrefix(h.lines.Text(), prefix); ok {
			return rest
		}
	}
	b.Fatalf("the helper ended before saying %q", prefix)
	return ""
}

// helperConfig reads the config startHelper gave this test into cfg; it
// skips the test when it is not run as a helper.
func helperConfig(t *testing.T, cfg any) {
	spec := os.Getenv(helperEnv)
	if spec == "" {
		t.Skip("a benchmark's helper, run by it")
	}
	if err := json.Unmarshal([]byte(spec), cfg); err != nil {
		t.Fatal(err)
	}
}

// cpu is the CPU time the helper's process has used so far.
func (h *helper) cpu(b *testing.B) time.Duration {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", h.cmd.Process.Pid))
	if err != nil {
		b.Fatal(err)
	}
	// utime and stime are fields 14 and 15, counted after the command
	// name's closing parenthesis (the name may hold spaces).
	f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / clockTicks
}

// clockTicks is the unit of /proc's CPU times (USER_HZ, 100 on Linux).
const clockTicks = 100

// TestBenchSenders is BenchmarkTenGuests1080p's guests (a helper): it
// joins them, says "guest <id>" for each, and keeps them until its stdin
// closes.
func TestBenchSenders(t *testing.T) {
	var cfg benchSenders
	helperConfig(t, &cfg)
	var cs []*studiotest.Client
	for i := range cfg.N {
		c := join2(t, cfg.URL, fmt.Sprintf("Guest %d", i+1), studiotest.Options{Simulcast: cfg.Layers, AudioOgg: audioOgg})
		cs = append(cs, c)
		fmt.Println("guest", c.ID)
	}
	// Each page then draws the others in its grid and says how big.
	if cfg.Tile != [2]int{} {
		for _, c := range cs {
			sizes := map[string][2]int{}
			for _, o := range cs {
				if o != c {
					sizes[o.ID] = cfg.Tile
				}
			}
			if err := c.View(sizes); err != nil {
				t.Fatal(err)
			}
		}
	}
	_, _ = io.Copy(io.Discard, os.Stdin)
}

// benchForward is the config of TestBenchForwarder.
type benchForward struct {
	URL       string
	Seconds   int
	DropEvery int // the publisher's uplink loses every Nth video packet; 0 none
}

// Forwarding a guest like a 720p camera: 30 frames a second of 5 packets
// of 1200 bytes, 1.44 Mb/s.
const (
	fwdFPS        = 30
	fwdPerFrame   = 5
	fwdPacketSize = 1200
)

// BenchmarkForwardGuest is what the SFU costs per guest forwarded (issue
// #10): a pion guest sends a 720p camera's packets (fwdFPS frames of
// fwdPerFrame packets, 1.44 Mb/s) through the studio to one other pion
// guest for GREENROOM_BENCH_SECONDS (default 10), each packet stamped with
// the time it was sent. Both guests run in a helper process
// (TestBenchForwarder), so the CPU measured is the studio's alone: it
// reports cores (a core's share for one guest forwarded to one receiver),
// the studio's cores while the sender is quiet (its reports, estimators
// and timers), µs of studio CPU per packet forwarded beyond those, and
// the latency from send to receipt, p50, p99 and the worst, of every
// packet that arrived. "loss5" loses every 20th packet on the sender's
// uplink (below NACK, as real loss is): the studio NACKs it and the guest
// retransmits it, so its latency is the repair's. Run with -benchtime 1x.
func BenchmarkForwardGuest(b *testing.B) {
	secs := 10
	if s, err := strconv.Atoi(os.Getenv("GREENROOM_BENCH_SECONDS")); err == nil && s > 0 {
		secs = s
	}
	for _, c := range []struct {
		name string
		drop int
	}{{"lossless", 0}, {"loss5", 20}} {
		b.Run(c.name, func(b *testing.B) {
			for range b.N {
				s := newStudio(b, nil)
				fw := startHelper(b, "TestBenchForwarder", benchForward{URL: s.GuestURL(), Seconds: secs, DropEvery: c.drop})
				if err := s.Stage(fw.expect(b, "guest "), true); err != nil {
					b.Fatal(err)
				}
				// The studio's own work that does not come with packets
				// (reports, estimators, timers), while the sender is quiet.
				fw.expect(b, "quiet")
				idle0, quiet := mediatest.CPUTime(), time.Now()
				fw.expect(b, "ready")
				cpu0, start := mediatest.CPUTime(), time.Now()
				idle := (cpu0 - idle0).Seconds() / start.Sub(quiet).Seconds()
				var sent, got int
				var p50, p99, worst float64
				if _, err := fmt.Sscan(fw.expect(b, "result "), &sent, &got, &p50, &p99, &worst); err != nil {
					b.Fatal(err)
				}
				cpu, wall := mediatest.CPUTime()-cpu0, time.Since(start)
				b.ReportMetric(cpu.Seconds()/wall.Seconds(), "cores")
				b.ReportMetric(idle, "idle-cores")
				b.ReportMetric((cpu.Seconds()-idle*wall.Seconds())*1e6/float64(got), "µs/packet")
				b.ReportMetric(p50, "p50-ms")
				b.ReportMetric(p99, "p99-ms")
				b.ReportMetric(worst, "max-ms")
				load, _ := os.ReadFile("/proc/loadavg")
				b.Logf("%d packets sent, %d arrived in %v; load %s", sent, got, wall.Round(time.Millisecond), strings.TrimSpace(string(load)))
			}
		})
	}
}

// TestBenchForwarder is BenchmarkForwardGuest's two guests (a helper):
// it says "guest <id>" of the sender, "quiet" once the studio forwards,
// then sends nothing for 3 s, says "ready", sends for the config's
// seconds and says "result <sent> <arrived> <p50> <p99> <max>"
// (milliseconds).
func TestBenchForwarder(t *testing.T) {
	var cfg benchForward
	helperConfig(t, &cfg)
	total := cfg.Seconds * fwdFPS * fwdPerFrame
	var mu sync.Mutex
	lat := make([]time.Duration, total+1) // by packet number, from 1; 0: not arrived
	warm := make(chan struct{}, 1)
	_ = join2(t, cfg.URL, "Sub", studiotest.Options{OnRTP: func(_, kind string, pkt *rtp.Packet) {
		if kind != "video" || len(pkt.Payload) != fwdPacketSize {
			return
		}
		d := time.Since(time.Unix(0, int64(binary.BigEndian.Uint64(pkt.Payload[1:]))))
		n := binary.BigEndian.Uint32(pkt.Payload[9:])
		mu.Lock()
		if n == 0 {
			select {
			case warm <- struct{}{}:
			default:
			}
		} else if int(n) <= total && lat[n] == 0 {
			lat[n] = d // the first copy: a retransmission may come twice
		}
		mu.Unlock()
	}})
	pub := join2(t, cfg.URL, "Pub", studiotest.Options{RTPVideo: true, DropEvery: cfg.DropEvery})
	fmt.Println("guest", pub.ID)
	var seq uint16
	frame := func(n, first int) {
		for i := range fwdPerFrame {
			seq++
			payload := make([]byte, fwdPacketSize)
			if i == 0 {
				payload[0] = 0x10 // VP8 payload descriptor: start of a partition
			}
			binary.BigEndian.PutUint64(payload[1:], uint64(time.Now().UnixNano()))
			if first > 0 {
				binary.BigEndian.PutUint32(payload[9:], uint32(first+i))
			}
			_ = pub.RTPVideo.WriteRTP(&rtp.Packet{
				Header:  rtp.Header{Version: 2, Marker: i == fwdPerFrame-1, SequenceNumber: seq, Timestamp: uint32(n) * 3000},
				Payload: payload,
			})
		}
	}
	// Until the subscription is negotiated nothing arrives.
	n := 0
	for deadline := time.Now().Add(15 * time.Second); ; n++ {
		frame(n, 0)
		select {
		case <-warm:
		case <-time.After(time.Second / fwdFPS):
			if time.Now().After(deadline) {
				t.Fatal("nothing forwarded")
			}
			continue
		}
		break
	}
	fmt.Println("quiet")
	time.Sleep(3 * time.Second)
	fmt.Println("ready")
	start := time.Now()
	for f := range cfg.Seconds * fwdFPS {
		time.Sleep(time.Until(start.Add(time.Duration(f) * time.Second / fwdFPS)))
		frame(n+1+f, 1+f*fwdPerFrame)
	}
	time.Sleep(time.Second) // the last retransmissions
	mu.Lock()
	var got []time.Duration
	for _, d := range lat[1:] {
		if d > 0 {
			got = append(got, d)
		}
	}
	mu.Unlock()
	if len(got) == 0 {
		t.Fatal("nothing arrived")
	}
	slices.Sort(got)
	ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
	fmt.Println("result", total, len(got), ms(got[len(got)/2]), ms(got[len(got)*99/100]), ms(got[len(got)-1]))
	_, _ = io.Copy(io.Discard, os.Stdin)
}
