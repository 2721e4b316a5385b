package decode

import (
	"fmt"
	"time"

	"gopkg.in/hraban/opus.v2"

	"greenroom/encode/rtpframe"
)

// opusRate is what Opus's RTP clock counts (RFC 7587) and what a track
// decodes to, so that a sample played is an RTP tick.
const opusRate = 48000

// maxOpusPacket is the longest an Opus packet lasts, 120 ms (RFC 6716),
// in samples.
const maxOpusPacket = opusRate * 120 / 1000

// opusStep: libopus conceals, and decodes FEC, only in whole steps of
// 2.5 ms.
const opusStep = opusRate / 400

// maxConceal is the longest loss an audio track fills: beyond it the
// guest's link was down rather than lossy, and libopus's concealment has
// faded to silence long before (it decays over a few packets).
const maxConceal = 120 * time.Millisecond

// opusDecoder is a track's libopus decoder and where it is in the stream.
type opusDecoder struct {
	dec      *opus.Decoder
	channels int
	pcm      []float32 // reused: a target copies what it is handed
	// nextTS is the RTP time the next packet should have, once haveNext.
	nextTS   uint32
	haveNext bool
}

// newOpusDecoder decodes to 48 kHz, in stereo unless channels is 1:
// libopus mixes a mono sender up or a stereo one down, as FFmpeg did.
func newOpusDecoder(channels int) (*opusDecoder, error) {
	if channels != 1 {
		channels = 2
	}
	dec, err := opus.NewDecoder(opusRate, channels)
	if err != nil {
		return nil, fmt.Errorf("libopus decoder: %w", err)
	}
	return &opusDecoder{dec: dec, channels: channels, pcm: make([]float32, maxOpusPacket*channels)}, nil
}

// buf is room for n samples a channel. Its capacity is exactly that:
// hraban/opus tells libopus the capacity as the length to decode, which
// for concealment and FEC must be the length lost.
func (o *opusDecoder) buf(n int) []float32 { return o.pcm[: n*o.channels : n*o.channels] }

// audio1 plays one Opus packet, after filling the time lost before it.
func (t *Track) audio1(f rtpframe.Frame) {
	o := t.opus
	if len(f.Data) == 0 {
		return
	}
	if gap := int32(f.Timestamp - o.nextTS); o.haveNext && gap > 0 {
		t.fill(f.Data, int(gap))
	}
	n, err := o.dec.DecodeFloat32(f.Data, o.buf(maxOpusPacket))
	if err != nil {
		// The next packet fills this one's time, as if it were lost.
		t.stats.DecodeErrors++
		t.log.Debug("decode error", "err", err)
		return
	}
	if !t.writeOpus(n, f.Timestamp) {
		return
	}
	o.nextTS, o.haveNext = f.Timestamp+uint32(n), true
	t.stats.Frames++
}

// fill plays the gap samples lost before next, the packet that came after
// them, in one call to libopus: it conceals all but the last packet's
// length (its PLC), and decodes that from next's in-band FEC, a coarser
// copy of the packet before it. SILK and hybrid packets carry it when
// the sender has FEC on and expects loss (browsers do, on useinbandfec=1);
// for CELT-only packets, or when gap is shorter than next, libopus
// conceals all of it.
func (t *Track) fill(next []byte, gap int) {
	o := t.opus
	if time.Duration(gap)*time.Second/opusRate > maxConceal {
		return
	}
	n := gap - gap%opusStep
	if n == 0 {
		return
	}
	pcm := o.buf(n)
	fec := fecSamples(next)
	if fec > n {
		fec = 0 // libopus conceals a gap shorter than next's frame
	}
	if err := o.dec.DecodeFECFloat32(next, pcm); err != nil {
		// A packet libopus can't parse for FEC: conceal it all.
		t.log.Debug("decode FEC", "err", err)
		if err := o.dec.DecodePLCFloat32(pcm); err != nil {
			t.stats.DecodeErrors++
			t.log.Debug("conceal", "err", err)
			return
		}
		fec = 0
	}
	if t.writeOpus(n, o.nextTS) {
		t.stats.Concealed += int64(n)
		t.stats.Recovered += int64(fec)
		if t.cfg.OnConceal != nil {
			t.cfg.OnConceal(n, fec)
		}
	}
}

// fecSamples is how many samples of the audio before it an Opus packet's
// in-band FEC recovers: its first frame's length if it carries LBRR
// data, else 0. libopus 1.3 can't tell (opus_packet_has_lbrr is 1.5's),
// so this reads the flag: in a SILK or hybrid packet (RFC 6716 3.1: TOC
// configs 0–15), the SILK layer starts the range-coded frame with a VAD
// flag per SILK frame and then the LBRR flag (4.2.3), each of
// probability one half, which a range decoder at its start reads as the
// frame's first bits, most significant first. Only packets of one frame
// or two equal ones (TOC code 0 or 1, what browsers send) are read; 0
// for the rest.
func fecSamples(p []byte) int {
	if len(p) < 2 {
		return 0
	}
	config, code := p[0]>>3, p[0]&3
	if config >= 16 || code > 1 { // CELT-only carries no FEC
		return 0
	}
	// SILK-only: 10, 20, 40, 60 ms by config%4, in 20 ms SILK frames
	// beyond 20 ms; hybrid (12–15): 10, 20 ms by config%2.
	ms10, silkFrames := []int{1, 2, 4, 6}[config%4], 1
	if config >= 12 {
		ms10 = 1 + int(config%2)
	} else if ms10 > 2 {
		silkFrames = ms10 / 2
	}
	if p[1]&(0x80>>silkFrames) == 0 {
		return 0
	}
	return ms10 * opusRate / 100
}

// writeOpus hands the n samples a channel just decoded, of RTP time ts,
// to the target; false if it refused them.
func (t *Track) writeOpus(n int, ts uint32) bool {
	err := t.writeAudio(t.opus.buf(n), opusRate, t.opus.channels, ts)
	if err != nil && !t.loggedFx {
		t.loggedFx = true
		t.log.Warn("cannot use decoded audio", "err", err)
	}
	return err == nil
}
