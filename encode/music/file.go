package music

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/asticode/go-astiav"

	"greenroom/encode/filter"
	"greenroom/encode/mixer"
	"greenroom/encode/shim"
)

// file is one audio file being read: FFmpeg demuxes and decodes its first
// audio stream, and a filter graph (aresample, aformat) turns whatever it
// decodes to — any rate, any sample format, any channel layout (5.1 is
// downmixed) — into the mix format, 48 kHz interleaved stereo float. It is
// opened by Play's caller, then used by the player's goroutine only.
type file struct {
	path     string
	fc       *astiav.FormatContext
	cc       *astiav.CodecContext
	stream   int
	pkt      *astiav.Packet
	frame    *astiav.Frame // decoded
	out      *astiav.Frame // converted
	graph    *astiav.FilterGraph
	src, snk *astiav.FilterContext
	pcm      []float32 // converted, not yet read
	eof      bool      // the decoder and the graph gave everything
	bad      int       // damaged packets in a row
	length   int64     // frames in the mix format, from the container (0: unknown)
}

// openFile opens path for reading; its error says in words what is wrong
// with the file.
func openFile(path string) (*file, error) {
	f := &file{path: path, stream: -1}
	fail := func(err error) (*file, error) {
		f.close()
		return nil, fmt.Errorf("music: %s %w: %w", path, ErrBadFile, err)
	}
	f.fc = astiav.AllocFormatContext()
	if f.fc == nil {
		return fail(errors.New("cannot allocate a format context"))
	}
	if err := f.fc.OpenInput(path, nil, nil); err != nil {
		f.fc.Free()
		f.fc = nil // OpenInput freed what it had on failure
		return fail(fmt.Errorf("not a file FFmpeg can read: %w", err))
	}
	if err := f.fc.FindStreamInfo(nil); err != nil {
		return fail(fmt.Errorf("cannot read its streams: %w", err))
	}
	var par *astiav.CodecParameters
	var tb astiav.Rational
	for _, s := range f.fc.Streams() {
		if s.CodecParameters().MediaType() == astiav.MediaTypeAudio {
			f.stream, par, tb = s.Index(), s.CodecParameters(), s.TimeBase()
			break
		}
	}
	if par == nil {
		return fail(errors.New("it has no sound"))
	}
	dec := astiav.FindDecoder(par.CodecID())
	if dec == nil {
		return fail(fmt.Errorf("FFmpeg has no decoder for its sound (%s)", par.CodecID()))
	}
	f.cc = astiav.AllocCodecContext(dec)
	if err := par.ToCodecContext(f.cc); err != nil {
		return fail(fmt.Errorf("decoder parameters: %w", err))
	}
	f.cc.SetThreadCount(1)
	// The packets' time base: without it a decoder that trims its
	// padding (MP3, AAC) warns at every start that it cannot move the
	// timestamps for it.
	d := astiav.NewDictionary()
	defer d.Free()
	if err := d.Set("pkt_timebase", fmt.Sprintf("%d/%d", tb.Num(), tb.Den()), 0); err != nil {
		return fail(err)
	}
	if err := f.cc.Open(dec, d); err != nil {
		return fail(fmt.Errorf("open the %s decoder: %w", dec.Name(), err))
	}
	if d := f.fc.Duration(); d > 0 {
		f.length = d * mixer.Rate / int64(astiav.TimeBase)
	}
	f.pkt, f.frame, f.out = astiav.AllocPacket(), astiav.AllocFrame(), astiav.AllocFrame()
	return f, nil
}

// maxBadPackets is how many damaged packets in a row a file may have
// before it is given up (a second or so of MP3).
const maxBadPackets = 50

// layout names a decoder's channel layout as abuffer takes it: a file
// that does not say which channels it has (a plain WAV) is given the
// usual layout for its count.
func layout(l astiav.ChannelLayout) string {
	if s := l.String(); l.Valid() && !strings.Contains(s, "channels") {
		return s
	}
	switch n := l.NbChannels(); n {
	case 1:
		return "mono"
	case 2:
		return "stereo"
	default:
		return strconv.Itoa(n) + "c"
	}
}

// convertChain turns any decoded sound into the mix format.
var convertChain = "aresample=" + strconv.Itoa(mixer.Rate) + ",aformat=sample_fmts=flt:channel_layouts=stereo"

// buildGraph makes the conversion for the decoder's format, which is
// known for sure only once it has decoded a frame.
func (f *file) buildGraph(fr *astiav.Frame) error {
	g, src, snk, err := filter.Graph(astiav.FilterArgs{
		"sample_rate":    strconv.Itoa(fr.SampleRate()),
		"sample_fmt":     fr.SampleFormat().Name(),
		"channel_layout": layout(fr.ChannelLayout()),
		"time_base":      "1/" + strconv.Itoa(fr.SampleRate()),
	}, convertChain)
	if err != nil {
		return err
	}
	f.graph, f.src, f.snk = g, src, snk
	return nil
}

// read fills dst (interleaved stereo) from the file and returns how many
// samples it wrote: fewer than len(dst) only at the end of the file.
func (f *file) read(dst []float32) (int, error) {
	n := 0
	for n < len(dst) {
		if len(f.pcm) > 0 {
			k := copy(dst[n:], f.pcm)
			f.pcm = f.pcm[k:]
			n += k
			continue
		}
		if f.eof {
			break
		}
		if err := f.decode(); err != nil {
			return n, err
		}
	}
	return n, nil
}

// decode reads packets until the graph gives converted sound, or the file
// ends (eof).
func (f *file) decode() error {
	f.pcm = f.pcm[:0]
	for len(f.pcm) == 0 && !f.eof {
		err := f.fc.ReadFrame(f.pkt)
		switch {
		case errors.Is(err, astiav.ErrEof):
			err = f.cc.SendPacket(nil) // drain the decoder
		case err != nil:
			return fmt.Errorf("music: %s: read: %w", f.path, err)
		case f.pkt.StreamIndex() != f.stream:
			f.pkt.Unref()
			continue
		default:
			err = f.cc.SendPacket(f.pkt)
			f.pkt.Unref()
		}
		if err != nil && !errors.Is(err, astiav.ErrEagain) && !errors.Is(err, astiav.ErrEof) {
			// A damaged packet is skipped, as a player does; a file that
			// is damaged throughout ends.
			if f.bad++; f.bad > maxBadPackets {
				return fmt.Errorf("music: %s: decode: %d damaged packets in a row: %w", f.path, f.bad, err)
			}
			continue
		}
		f.bad = 0
		if err := f.receive(); err != nil {
			return err
		}
	}
	return nil
}

// receive takes every frame the decoder has, through the graph.
func (f *file) receive() error {
	for {
		err := f.cc.ReceiveFrame(f.frame)
		if errors.Is(err, astiav.ErrEagain) {
			return nil
		}
		if errors.Is(err, astiav.ErrEof) {
			f.eof = true
			if f.graph == nil {
				return nil
			}
			if err := f.src.BuffersrcAddFrame(nil, astiav.NewBuffersrcFlags()); err != nil {
				return fmt.Errorf("music: %s: convert: %w", f.path, err)
			}
			return f.pull()
		}
		if err != nil {
			return fmt.Errorf("music: %s: decode: %w", f.path, err)
		}
		if f.graph == nil {
			if err := f.buildGraph(f.frame); err != nil {
				f.frame.Unref()
				return fmt.Errorf("music: %s: %w", f.path, err)
			}
		}
		err = f.src.BuffersrcAddFrame(f.frame, astiav.NewBuffersrcFlags())
		f.frame.Unref()
		if err != nil {
			return fmt.Errorf("music: %s: convert: %w", f.path, err)
		}
		if err := f.pull(); err != nil {
			return err
		}
	}
}

// pull appends what the graph has converted to pcm.
func (f *file) pull() error {
	for {
		err := f.snk.BuffersinkGetFrame(f.out, astiav.NewBuffersinkFlags())
		if errors.Is(err, astiav.ErrEagain) || errors.Is(err, astiav.ErrEof) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("music: %s: convert: %w", f.path, err)
		}
		f.pcm, err = shim.Interleave(f.pcm, f.out, mixer.Channels)
		f.out.Unref()
		if err != nil {
			return fmt.Errorf("music: %s: %w", f.path, err)
		}
	}
}

// close frees everything. Safe on a partly opened file and twice.
func (f *file) close() {
	if f.graph != nil {
		f.graph.Free()
		f.graph = nil
	}
	for _, fr := range []*astiav.Frame{f.frame, f.out} {
		if fr != nil {
			fr.Free()
		}
	}
	f.frame, f.out = nil, nil
	if f.pkt != nil {
		f.pkt.Free()
		f.pkt = nil
	}
	if f.cc != nil {
		f.cc.Free()
		f.cc = nil
	}
	if f.fc != nil {
		f.fc.CloseInput()
		f.fc.Free()
		f.fc = nil
	}
}
