package decode_test

import (
	"math"
	"testing"
	"time"

	"github.com/asticode/go-astiav"
	"github.com/pion/rtp"
	"gopkg.in/hraban/opus.v2"

	"greenroom/encode/decode"
	"greenroom/encode/mediatest"
	"greenroom/encode/shim"
)

// fecTone is 1 s of a 440 Hz sine at half scale, sent by libopus as a
// browser sends a guest's voice with useinbandfec=1: 20 ms packets,
// 32 kb/s, FEC on and 10 % loss expected (which makes libopus code SILK,
// the layer that carries FEC; hybrid, fullband). Without fec, SILK
// packets that carry none.
func fecTone(t testing.TB, channels int, fec bool) [][]byte {
	t.Helper()
	enc, err := opus.NewEncoder(48000, channels, opus.AppVoIP)
	if err != nil {
		t.Fatal(err)
	}
	errs := []error{enc.SetBitrate(32000), enc.SetInBandFEC(fec), enc.SetPacketLossPerc(10)}
	if !fec {
		// Wideband at 16 kb/s keeps libopus on SILK, which it
		// leaves for CELT on a tone when FEC does not hold it there.
		errs = append(errs, enc.SetMaxBandwidth(opus.Wideband), enc.SetBitrate(16000))
	}
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	var packets [][]byte
	pcm := make([]float32, 960*channels)
	for i := range 50 {
		for j := range 960 {
			v := float32(0.5 * math.Sin(2*math.Pi*440*float64(i*960+j)/48000))
			for c := range channels {
				pcm[j*channels+c] = v
			}
		}
		buf := make([]byte, 1500)
		n, err := enc.EncodeFloat32(pcm, buf)
		if err != nil {
			t.Fatal(err)
		}
		packets = append(packets, buf[:n])
	}
	return packets
}

// plcOnly decodes packets with libopus directly, concealing those in lost
// with its PLC alone: what the track would play without FEC.
func plcOnly(t *testing.T, packets [][]byte, lost map[int]bool, channels int) []float32 {
	t.Helper()
	dec, err := opus.NewDecoder(48000, channels)
	if err != nil {
		t.Fatal(err)
	}
	var out []float32
	for i, data := range packets {
		pcm := make([]float32, 960*channels)
		if lost[i] {
			err = dec.DecodePLCFloat32(pcm)
		} else {
			_, err = dec.DecodeFloat32(data, pcm)
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, pcm...)
	}
	return out
}

// snr is how far got is from want over samples [from, to), in dB.
func snr(got, want []float32, from, to int) float64 {
	var sig, noise float64
	for i := from; i < to; i++ {
		d := float64(got[i] - want[i])
		sig += float64(want[i]) * float64(want[i])
		noise += d * d
	}
	return 10 * math.Log10(sig/max(noise, 1e-12))
}

// maxStep is the largest jump from one sample of a channel to the next
// in [from, to).
func maxStep(pcm []float32, channels, from, to int) float64 {
	var m float64
	for i := max(from, channels); i < min(to, len(pcm)); i++ {
		m = max(m, math.Abs(float64(pcm[i]-pcm[i-channels])))
	}
	return m
}

// TestOpusFEC: a lost Opus packet is recovered from the next one's
// in-band FEC, a burst is concealed by libopus, and neither clicks nor
// falls silent (issue #10).
func TestOpusFEC(t *testing.T) {
	for _, c := range []struct {
		name           string
		sent, channels int
		fec            bool
	}{
		{"mono sender, stereo track", 1, 2, true}, // a browser's microphone, as WebRTC negotiates Opus
		{"stereo sender, mono track", 2, 1, true},
		{"no FEC sent", 1, 2, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			packets := fecTone(t, c.sent, c.fec)
			ch := c.channels
			clean, _ := playOpus(t, packets, nil, ch)
			// A single loss at 400 ms, a burst of three (60 ms) at 700 ms.
			lost := map[int]bool{20: true, 35: true, 36: true, 37: true}
			got, st := playOpus(t, packets, lost, ch)
			plc := plcOnly(t, packets, lost, ch)
			n := min(len(clean.samples), len(got.samples), len(plc))
			if n < 40*960*ch {
				t.Fatalf("%d samples of %d packets", n/ch, len(packets))
			}
			// The lost packet and the one after it, which carries on
			// from whatever filled it.
			from, to := 20*960*ch, 22*960*ch
			heard, concealed := snr(got.samples, clean.samples, from, to), snr(plc, clean.samples, from, to)
			toneStep := maxStep(clean.samples, ch, 960*ch, n)
			step := maxStep(got.samples, ch, 960*ch, n)
			t.Logf("single loss: %.1f dB from the lossless decode, %.1f dB with PLC alone; largest step %.4f, the tone's own %.4f; stats %+v",
				heard, concealed, step, toneStep, st)
			// The single loss and the burst's last packet come from
			// FEC, the rest of the burst from libopus's PLC.
			recovered := int64(2 * 960)
			if !c.fec {
				recovered = 0
			}
			if st.Lost != 4 || st.Concealed != 4*960 || st.Recovered != recovered {
				t.Errorf("stats %+v: want 4 packets lost and their 4×960 samples filled, %d from FEC", st, recovered)
			}
			// (a) FEC recovers the single loss: PLC alone guesses
			// the tone on from before it, FEC decodes a coarser copy.
			switch {
			case c.fec && (heard < 20 || heard < concealed+10):
				t.Errorf("a single lost packet %.1f dB from the lossless decode, %.1f dB with PLC alone: want 20 dB and 10 dB better", heard, concealed)
			case !c.fec && math.Abs(heard-concealed) > 0.1:
				t.Errorf("with no FEC sent, a single lost packet %.1f dB from the lossless decode, %.1f dB with PLC alone: want the same", heard, concealed)
			}
			// (b) The burst is concealed, never digital silence.
			if run := longestSilence(got.samples, ch, 960*ch, n); run > 48 {
				t.Errorf("silent for %d samples in a row (1 ms is 48)", run)
			}
			// (c) No click: nothing jumps further from one sample to
			// the next than the tone itself does.
			if step > 1.5*toneStep {
				t.Errorf("a step of %.4f from one sample to the next, the tone's own at most %.4f: a click", step, toneStep)
			}
		})
	}
}

// longestSilence is the longest run of digital silence in the first
// channel of pcm over [from, to), in samples.
func longestSilence(pcm []float32, channels, from, to int) int {
	run, longest := 0, 0
	for i := from; i < to; i += channels {
		if v := pcm[i]; v > -1e-4 && v < 1e-4 {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return longest
}

// BenchmarkDecodeOpus is the CPU one guest's voice costs the studio to
// decode: a second of it (50 packets of fecTone, mono, to stereo as
// WebRTC negotiates) through a Track, against FFmpeg 5.1's native Opus
// decoder as the track used it before (decode and interleave; no
// concealment). It reports CPU milliseconds per second of audio.
func BenchmarkDecodeOpus(b *testing.B) {
	packets := fecTone(b, 1, true)
	b.Run("libopus", func(b *testing.B) {
		var s discard
		tr, err := decode.New(decode.Config{MimeType: "audio/opus", ClockRate: 48000, Channels: 2, Target: &s})
		if err != nil {
			b.Fatal(err)
		}
		defer tr.Close()
		write := replay(tr, 48000)
		seq := uint16(0)
		benchCPU(b, func() {
			for _, data := range packets {
				write(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: seq, Timestamp: uint32(seq) * 960, SSRC: 7}, Payload: data})
				seq++
			}
		})
	})
	b.Run("ffmpeg", func(b *testing.B) {
		c := astiav.FindDecoder(astiav.CodecIDOpus)
		cc := astiav.AllocCodecContext(c)
		defer cc.Free()
		cc.SetSampleRate(48000)
		cc.SetChannels(2)
		cc.SetChannelLayout(astiav.ChannelLayoutStereo)
		if err := cc.Open(c, nil); err != nil {
			b.Fatal(err)
		}
		pkt, frame := astiav.AllocPacket(), astiav.AllocFrame()
		defer pkt.Free()
		defer frame.Free()
		var pcm []float32
		benchCPU(b, func() {
			for _, data := range packets {
				if err := pkt.FromData(data); err != nil {
					b.Fatal(err)
				}
				err := cc.SendPacket(pkt)
				pkt.Unref()
				if err != nil {
					b.Fatal(err)
				}
				for cc.ReceiveFrame(frame) == nil {
					if pcm, err = shim.Interleave(pcm[:0], frame, 2); err != nil {
						b.Fatal(err)
					}
					frame.Unref()
				}
			}
		})
	})
}

// benchCPU runs decode1s, which decodes a second of audio, b.N times and
// reports the process's CPU per second of audio.
func benchCPU(b *testing.B, decode1s func()) {
	start := mediatest.CPUTime()
	for b.Loop() {
		decode1s()
	}
	b.ReportMetric(float64(mediatest.CPUTime()-start)/float64(time.Millisecond)/float64(b.N), "cpu-ms/s")
}

// discard is a Target that keeps nothing.
type discard struct{ sink }

func (*discard) WriteAudio([]float32, int, int) error { return nil }
