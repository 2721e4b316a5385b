package decode_test

import (
	"errors"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4/pkg/media/h264reader"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"

	"greenroom/encode/compositor"
	"greenroom/encode/decode"
)

// sink is a Target that keeps what it gets.
type sink struct {
	pool    compositor.Pool
	frames  []*compositor.Frame
	samples []float32
	rate    int
	chans   int
}

func (s *sink) NewFrame(w, h int) *compositor.Frame { return s.pool.Get(w, h) }
func (s *sink) WriteVideo(f *compositor.Frame)      { s.frames = append(s.frames, f) }
func (s *sink) WriteAudio(pcm []float32, rate, ch int) error {
	s.samples = append(s.samples, pcm...)
	s.rate, s.chans = rate, ch
	return nil
}

func ffmpeg(t *testing.T, args ...string) {
	t.Helper()
	if out, err := execFFmpeg(args...); err != nil {
		t.Fatalf("ffmpeg %v: %v\n%s", args, err, out)
	}
}

func execFFmpeg(args ...string) ([]byte, error) {
	return exec.Command("ffmpeg", append([]string{"-v", "error", "-y"}, args...)...).CombinedOutput()
}

// vp8Packets makes 2 s of 320x240 VP8 (keyframe every second) and
// packetizes it the way a browser would.
func vp8Packets(t *testing.T) [][]*rtp.Packet {
	path := filepath.Join(t.TempDir(), "v.ivf")
	ffmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-t", "2", "-c:v", "libvpx", "-g", "30", "-deadline", "realtime", path)
	return packetize(t, path)
}

// vp8Track opens a VP8 track into s that counts its keyframe requests in
// asks, and what writes packets to it at their pace (replay); it is
// closed at the test's end.
func vp8Track(t *testing.T, s *sink, asks *int) (*decode.Track, func(*rtp.Packet)) {
	tr, err := decode.New(decode.Config{MimeType: "video/VP8", ClockRate: 90000, Target: s, OnKeyframeNeeded: func() { *asks++ }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr.Close)
	return tr, replay(tr, 90000)
}

// replay returns what writes packets to tr as if they came at the pace
// of their RTP timestamps (clock rate rate) from the first one on: a
// packet older than one before it (a retransmission) comes when it is
// written. The jitter buffer waits on the clock of arrival, which a
// test that writes a minute of packets at once would otherwise stop.
func replay(tr *decode.Track, rate uint32) func(*rtp.Packet) {
	var first uint32
	var now time.Duration
	started := false
	return func(p *rtp.Packet) {
		if !started {
			started, first = true, p.Timestamp
		}
		now = max(now, time.Duration(int32(p.Timestamp-first))*time.Second/time.Duration(rate))
		tr.WriteRTPAt(p, time.Unix(0, 0).Add(now))
	}
}

func TestVP8(t *testing.T) {
	frames := vp8Packets(t)
	var s sink
	asks := 0
	tr, write := vp8Track(t, &s, &asks)
	// Lose one packet in frame 5: nothing more is shown until the
	// keyframe at frame 30, and the sender is asked for one.
	for i, pkts := range frames {
		for j, p := range pkts {
			if i == 5 && j == 0 {
				continue
			}
			write(p)
		}
	}
	st := tr.Stats()
	if len(s.frames) < 25 || len(s.frames) > 60-24 {
		t.Fatalf("%d pictures from 60 frames with frames 5..29 unusable; stats %+v", len(s.frames), st)
	}
	if st.Lost == 0 || asks == 0 || st.KeyframeAsks == 0 {
		t.Errorf("loss not noticed: stats %+v, %d keyframe requests", st, asks)
	}
	f := s.frames[len(s.frames)-1]
	if f.Rect.Dx() != 320 || f.Rect.Dy() != 240 {
		t.Fatalf("picture %v, want 320x240", f.Rect)
	}
	var sum int
	for _, v := range f.Y {
		sum += int(v)
	}
	if mean := sum / len(f.Y); mean < 40 {
		t.Errorf("decoded picture mean luma %d: black", mean)
	}
}

// TestVP8AsksWhileItWaits: a packet still missing some 250 ms of video
// later (its retransmission is late, or will never come) makes the track
// ask for a keyframe while it still waits, so that one is on its way when
// the wait ends (issue #10); a retransmission that comes in time after
// all still mends the frame: nothing is lost.
func TestVP8AsksWhileItWaits(t *testing.T) {
	frames := vp8Packets(t)
	var s sink
	asks := 0
	tr, write := vp8Track(t, &s, &asks)
	missing := frames[5][0]
	// 30 frames a second: frame 14 comes 267 ms after frame 6, the
	// first held behind the loss (300 ms after frame 5's rest, if it
	// has more packets); frame 12, 200 ms.
	for i, pkts := range frames[:15] {
		for _, p := range pkts {
			if p != missing {
				write(p)
			}
		}
		if i <= 12 && asks != 0 {
			t.Fatalf("%d keyframe requests by frame %d, want none yet", asks, i)
		}
	}
	if st := tr.Stats(); asks != 1 || st.Lost != 0 {
		t.Fatalf("%d keyframe requests and stats %+v some 270 ms after a loss, want one request and nothing given up yet", asks, st)
	}
	write(missing) // the retransmission, in time
	for _, pkts := range frames[15:] {
		for _, p := range pkts {
			write(p)
		}
	}
	if st := tr.Stats(); len(s.frames) < 59 || st.Lost != 0 {
		t.Errorf("%d pictures from 60 frames, stats %+v: want the retransmission to mend the frame", len(s.frames), st)
	}
}

// TestVP8LatePackets: packets that come after their frame was decoded (a
// retransmission the sender sent twice, one a jittery path delayed) are
// left out, and cost nothing: every frame is shown, no keyframe asked
// for (issue #10).
func TestVP8LatePackets(t *testing.T) {
	frames := vp8Packets(t)
	var s sink
	asks := 0
	tr, write := vp8Track(t, &s, &asks)
	if len(frames[0]) < 2 || len(frames[30]) < 2 {
		t.Fatalf("keyframes of %d and %d packets, want several", len(frames[0]), len(frames[30]))
	}
	for i, pkts := range frames {
		for _, p := range pkts {
			write(p)
		}
		// Again, packets of frames already shown: the first ones and,
		// worse, middle ones of the keyframes, which make no frame alone.
		switch i {
		case 10, 40:
			write(frames[i-10][1])
			write(frames[i-2][0])
		}
	}
	st := tr.Stats()
	if len(s.frames) < 59 || st.Lost != 0 || asks != 0 || st.Late == 0 {
		t.Errorf("%d pictures from 60 frames, stats %+v, %d keyframe requests: want every picture, none lost, none asked for", len(s.frames), st, asks)
	}
}

// TestH264: access units put together at the marker bit decode; one
// with a lost fragment (FU-A) is not decoded, nor anything after it, until
// the next IDR (2 s GOP: frame 30), and a keyframe is asked for.
func TestH264(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v.h264")
	ffmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30", "-t", "2", "-c:v", "libx264", "-profile:v", "baseline",
		"-g", "30", "-bsf:v", "h264_metadata=aud=insert", path)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := h264reader.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	// Access units begin at an access unit delimiter (type 9).
	var aus [][]byte
	for {
		nal, err := r.NextNAL()
		if err != nil || nal == nil {
			break
		}
		if nal.UnitType == 9 || len(aus) == 0 {
			aus = append(aus, nil)
		}
		aus[len(aus)-1] = append(aus[len(aus)-1], append([]byte{0, 0, 0, 1}, nal.Data...)...)
	}
	p := rtp.NewPacketizer(1200, 102, 1, &codecs.H264Payloader{}, rtp.NewRandomSequencer(), 90000)
	var s sink
	asks := 0
	tr, err := decode.New(decode.Config{MimeType: "video/H264", ClockRate: 90000, Target: &s, OnKeyframeNeeded: func() { asks++ }})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	write := replay(tr, 90000)
	lostIn := -1
	for i, au := range aus {
		pkts := p.Packetize(au, 3000)
		for j, pkt := range pkts {
			if i >= 5 && lostIn < 0 && len(pkts) > 2 && j == 1 { // a middle fragment
				lostIn = i
				continue
			}
			write(pkt)
		}
	}
	st := tr.Stats()
	if len(aus) < 59 || lostIn < 0 {
		t.Fatalf("%d access units, a fragment lost in %d", len(aus), lostIn)
	}
	// The pictures before the loss, and those from the IDR at frame 30
	// on (the decoder may hold the last one back).
	if want := lostIn + (len(aus) - 30); len(s.frames) < want-1 || len(s.frames) > want {
		t.Errorf("%d pictures of %d access units with %d..29 unusable, want %d; stats %+v", len(s.frames), len(aus), lostIn, want, st)
	}
	if st.Lost != 1 || asks == 0 || st.DecodeErrors != 0 {
		t.Errorf("stats %+v, %d keyframe requests: want one packet lost, a keyframe asked for, no decode errors", st, asks)
	}
}

func TestOpus(t *testing.T) { testOpus(t, nil) }

// TestOpusLoss: a lost Opus packet (20 ms) is played as a concealed
// frame, not skipped: the sound lasts as long as what was sent, and no
// stretch of it is silent (issue #10).
func TestOpusLoss(t *testing.T) {
	lost := map[int]bool{10: true, 20: true, 21: true, 30: true, 31: true, 32: true}
	s, st := testOpus(t, lost)
	if want := int64(6 * 960); st.Concealed != want || st.Recovered != 0 {
		t.Errorf("%d samples concealed, %d of them from FEC; want %d (six 20 ms packets), none from FEC (CELT at 64 kb/s, FEC off)", st.Concealed, st.Recovered, want)
	}
	// Without concealment, 120 ms of the 1 s would be missing; the
	// shortfall is the decoder's delay (312 samples) and the packets
	// still waiting for reordered ones (up to three).
	if n := len(s.samples) / 2; n < 48000-5*960 {
		t.Errorf("%d samples from 1 s with 6 packets lost: the losses were skipped", n)
	}
	if longest := longestSilence(s.samples, 2, 9600, len(s.samples)); longest > 48 { // a millisecond: a sine's zero crossings are a sample or two
		t.Errorf("silent for %d samples in a row", longest)
	}
}

// testOpus decodes 1 s of a 440 Hz sine sent as 20 ms Opus packets,
// leaving out the packets numbered in lost.
func testOpus(t *testing.T, lost map[int]bool) (*sink, decode.Stats) {
	path := filepath.Join(t.TempDir(), "a.ogg")
	ffmpeg(t, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "1", "-ac", "2", "-c:a", "libopus", "-b:a", "64k", "-page_duration", "20000", path) // one Opus packet per page
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, _, err := oggreader.NewWith(f)
	if err != nil {
		t.Fatal(err)
	}
	var packets [][]byte
	for {
		page, _, err := r.ParseNextPage()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(page) > 8 && string(page[:8]) == "OpusTags" || len(page) > 8 && string(page[:8]) == "OpusHead" {
			continue
		}
		packets = append(packets, page)
	}
	s, st := playOpus(t, packets, lost, 2)
	if n := len(s.samples) / 2; n < 40000 {
		t.Fatalf("%d samples decoded from 1 s", n)
	}
	var rms float64
	for _, v := range s.samples[9600:] {
		rms += float64(v) * float64(v)
	}
	rms = math.Sqrt(rms / float64(len(s.samples)-9600))
	if rms < 0.05 {
		t.Errorf("decoded sine RMS %.3f: silence", rms)
	}
	return s, st
}

// playOpus sends 20 ms Opus packets to a track of channels channels as
// RTP at their pace, leaving out those numbered in lost, and returns what
// it decoded, checking that OnConceal told what the stats count.
func playOpus(t *testing.T, packets [][]byte, lost map[int]bool, channels int) (*sink, decode.Stats) {
	t.Helper()
	var s sink
	var told decode.Stats // what OnConceal told, to match the stats
	tr, err := decode.New(decode.Config{MimeType: "audio/opus", ClockRate: 48000, Channels: channels, Target: &s,
		OnConceal: func(n, fec int) { told.Concealed += int64(n); told.Recovered += int64(fec) }})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	write := replay(tr, 48000)
	for i, data := range packets {
		if !lost[i] {
			write(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: uint16(100 + i), Timestamp: uint32(i * 960), SSRC: 7}, Payload: data})
		}
	}
	if s.rate != 48000 || s.chans != channels {
		t.Fatalf("audio %d Hz %d ch, want 48000 Hz %d ch", s.rate, s.chans, channels)
	}
	st := tr.Stats()
	if told.Concealed != st.Concealed || told.Recovered != st.Recovered {
		t.Errorf("OnConceal told %d samples concealed, %d recovered; the stats say %d, %d", told.Concealed, told.Recovered, st.Concealed, st.Recovered)
	}
	return &s, st
}

func TestUnsupportedCodec(t *testing.T) {
	if _, err := decode.New(decode.Config{MimeType: "video/AV1", ClockRate: 90000, Target: &sink{}}); err == nil {
		t.Fatal("AV1 accepted")
	}
}
