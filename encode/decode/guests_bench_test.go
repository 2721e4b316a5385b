package decode_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4/pkg/media/ivfreader"

	"greenroom/encode"
	"greenroom/encode/compositor"
	"greenroom/encode/decode"
	"greenroom/encode/mediatest"
)

// BenchmarkFourGuests1080p is the guests issue's budget: four guests
// sending 720p VP8 at 30 fps, decoded, composited into a 1080p30 program
// and encoded (x264 veryfast + AAC), in real time for GREENROOM_BENCH_SECONDS
// (default 10). It reports the CPU used in cores, the program frames
// encoded per frame due (x-realtime, 1 = kept up) and the preset the
// governor ended on. Run with -benchtime 1x; scripts/bench runs the ffmpeg
// CLI doing the same work beside it.
func BenchmarkFourGuests1080p(b *testing.B) {
	secs := 10
	if s, err := strconv.Atoi(os.Getenv("GREENROOM_BENCH_SECONDS")); err == nil && s > 0 {
		secs = s
	}
	ivf := filepath.Join(b.TempDir(), "guest.ivf")
	if out, err := execFFmpeg("-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30", "-t", "4",
		"-c:v", "libvpx", "-b:v", "2M", "-g", "120", "-deadline", "realtime", "-cpu-used", "8", ivf); err != nil {
		b.Fatalf("%v\n%s", err, out)
	}
	frames := packetize(b, ivf)
	for range b.N {
		p, err := encode.New(encode.Config{Width: 1920, Height: 1080, FPS: 30})
		if err != nil {
			b.Fatal(err)
		}
		var tracks []*decode.Track
		for range 4 {
			in := p.AddInput("guest")
			tr, err := decode.New(decode.Config{MimeType: "video/VP8", ClockRate: 90000, Target: in})
			if err != nil {
				b.Fatal(err)
			}
			tracks = append(tracks, tr)
		}
		startCPU, start := mediatest.CPUTime(), time.Now()
		// Four guests, one goroutine each as the studio runs them, each
		// sending its frames on time.
		done := make(chan struct{})
		for g, tr := range tracks {
			go func() {
				defer func() { done <- struct{}{} }()
				seq := uint16(g * 1000)
				for n := 0; time.Since(start) < time.Duration(secs)*time.Second; n++ {
					time.Sleep(time.Until(start.Add(time.Duration(n) * time.Second / 30)))
					writeFrame(tr, frames[n%len(frames)], &seq, n)
				}
			}()
		}
		for range tracks {
			<-done
		}
		wall := time.Since(start)
		cpu := mediatest.CPUTime() - startCPU
		st := p.Stats()
		p.Close()
		var decodeTime time.Duration
		for _, tr := range tracks {
			decodeTime += tr.Stats().DecodeTime / time.Duration(len(tracks))
			tr.Close()
		}
		// A guest's frame, from its last packet to its encoded program
		// frame leaving for the outputs (RTMP adds a queue hop and a write).
		b.ReportMetric(float64(decodeTime+st.Latency)/1e6, "ms-latency")
		b.ReportMetric(cpu.Seconds()/wall.Seconds(), "cores")
		b.ReportMetric(float64(st.Frames)/(wall.Seconds()*30), "x-realtime")
		b.Logf("%v: %d frames encoded, %d dropped, preset %s, encode %.1f ms/frame", wall.Round(time.Millisecond), st.Frames, st.Dropped, st.Preset, float64(st.EncodeTime)/1e6)
	}
}

// writeFrame hands tr frame number n of a 30 fps stream, its packets
// numbered on from *seq.
func writeFrame(tr *decode.Track, frame []*rtp.Packet, seq *uint16, n int) {
	for _, pkt := range frame {
		c := *pkt
		c.SequenceNumber = *seq
		c.Timestamp = uint32(n * 3000)
		*seq++
		tr.WriteRTP(&c)
	}
}

// packetize reads a VP8 IVF file into RTP packets, frame by frame.
func packetize(tb testing.TB, path string) [][]*rtp.Packet {
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	r, _, err := ivfreader.NewWith(f)
	if err != nil {
		tb.Fatal(err)
	}
	p := rtp.NewPacketizer(1200, 96, 1, &codecs.VP8Payloader{}, rtp.NewRandomSequencer(), 90000)
	var frames [][]*rtp.Packet
	for {
		data, _, err := r.ParseNextFrame()
		if errors.Is(err, io.EOF) {
			return frames
		}
		if err != nil {
			tb.Fatal(err)
		}
		frames = append(frames, p.Packetize(data, 3000))
	}
}

// releasing is a Target that lets each picture go at once: what decoding
// alone costs.
type releasing struct{ pool compositor.Pool }

func (r *releasing) NewFrame(w, h int) *compositor.Frame  { return r.pool.Get(w, h) }
func (r *releasing) WriteVideo(f *compositor.Frame)       { f.Release() }
func (r *releasing) WriteAudio([]float32, int, int) error { return nil }

// BenchmarkDecodeLayer is what the program saves by decoding a guest's
// smaller simulcast layer (issue #10): one guest's VP8 at each of the
// three sizes a browser sends (at the bit rates Chromium gives them),
// decoded as fast as it goes. It reports the CPU per second of video (30
// frames), in milliseconds: a core's share of one guest.
func BenchmarkDecodeLayer(b *testing.B) {
	for _, l := range []struct {
		name string
		size string
		rate string
	}{{"720p", "1280x720", "1700k"}, {"360p", "640x360", "500k"}, {"180p", "320x180", "150k"}} {
		b.Run(l.name, func(b *testing.B) {
			ivf := filepath.Join(b.TempDir(), "layer.ivf")
			if out, err := execFFmpeg("-f", "lavfi", "-i", "testsrc2=size="+l.size+":rate=30", "-t", "4",
				"-c:v", "libvpx", "-b:v", l.rate, "-g", "120", "-deadline", "realtime", "-cpu-used", "8", ivf); err != nil {
				b.Fatalf("%v\n%s", err, out)
			}
			frames := packetize(b, ivf)
			tr, err := decode.New(decode.Config{MimeType: "video/VP8", ClockRate: 90000, Target: &releasing{}})
			if err != nil {
				b.Fatal(err)
			}
			defer tr.Close()
			var seq uint16
			n := 0
			startCPU := mediatest.CPUTime()
			b.ResetTimer()
			for range b.N {
				for range len(frames) {
					writeFrame(tr, frames[n%len(frames)], &seq, n)
					n++
				}
			}
			cpu := mediatest.CPUTime() - startCPU
			b.ReportMetric(float64(cpu.Milliseconds())/(float64(n)/30), "cpu-ms/s-of-video")
		})
	}
}
