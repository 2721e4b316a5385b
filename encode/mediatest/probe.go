package mediatest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// toolTimeout bounds every ffprobe/ffmpeg run on a file; they take well
// under a second on the short files tests make.
const toolTimeout = time.Minute

// VideoStream describes the first video stream ffprobe found.
type VideoStream struct {
	Codec   string // "h264"
	Profile string // "High", "Constrained Baseline", ...
	PixFmt  string // "yuv420p"
	Width   int
	Height  int
	FPS     float64 // average frame rate, or the container's nominal one
}

// AudioStream describes the first audio stream ffprobe found.
type AudioStream struct {
	Codec      string // "aac"
	SampleRate int
	Channels   int
}

// Probe is what ffprobe says about a file or a live stream. Video and Audio
// are nil when there is no such stream.
type Probe struct {
	Video    *VideoStream
	Audio    *AudioStream
	Duration float64 // seconds; 0 when unknown (live streams)
	// StartTime is the first timestamp, seconds: a file that starts later
	// on a shared timeline (a person's own recording) says by how much.
	StartTime float64
	Format    string // ffprobe's format_name: "flv", "mov,mp4,m4a,3gp,3g2,mj2", ...
	BitRate   int    // bits per second over all streams; 0 when unknown
}

// ProbeFile runs ffprobe on a file and fails the test if it cannot.
func ProbeFile(t testing.TB, path string) Probe {
	t.Helper()
	return mustProbe(t, path, toolTimeout)
}

// ProbeProgram probes the file at path as a program's output (the landscape
// or the vertical one): an error on t unless it is H.264 at w×h with AAC;
// ok says whether it is.
func ProbeProgram(t testing.TB, path string, w, h int) (p Probe, ok bool) {
	t.Helper()
	p = ProbeFile(t, path)
	if v, a := p.Video, p.Audio; v == nil || a == nil || v.Codec != "h264" || v.Width != w || v.Height != h || a.Codec != "aac" {
		t.Errorf("%s: %+v + %+v, want h264 %dx%d + aac", filepath.Base(path), v, a, w, h)
		return p, false
	}
	return p, true
}

// ProbeURL runs ffprobe on a live stream, such as an Nginx URL, and fails
// the test if it has no answer within timeout. Expect it to take up to one
// GOP (Nginx starts a player at a keyframe) plus about a second of ffprobe
// analysis: 1 to 4 s for a 2 s GOP. nginx-rtmp lets a player wait for a
// stream that is not published yet, so a probe may also start first.
func ProbeURL(t testing.TB, url string, timeout time.Duration) Probe {
	t.Helper()
	return mustProbe(t, url, timeout)
}

func mustProbe(t testing.TB, target string, timeout time.Duration) Probe {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	p, err := ProbeContext(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// ProbeContext runs ffprobe on a file or URL until ctx ends, for tests that
// expect a probe to fail. For URLs, ctx's deadline also becomes ffprobe's
// -rw_timeout, so a silent server makes ffprobe give up with its own error.
func ProbeContext(ctx context.Context, target string) (Probe, error) {
	args := []string{"-v", "error"}
	if strings.Contains(target, "://") {
		if d, ok := ctx.Deadline(); ok {
			args = append(args, "-rw_timeout", strconv.FormatInt(time.Until(d).Microseconds(), 10))
		}
	}
	args = append(args, "-print_format", "json", "-show_streams", "-show_format", target)
	out, _, err := runTool(ctx, "ffprobe", args...)
	if err != nil {
		return Probe{}, fmt.Errorf("mediatest: probe %s: %w", target, err)
	}
	p, err := parseProbe(out)
	if err != nil {
		return Probe{}, fmt.Errorf("mediatest: probe %s: %w\n%s", target, err, out)
	}
	return p, nil
}

func parseProbe(out []byte) (Probe, error) {
	var raw struct {
		Streams []struct {
			CodecType  string `json:"codec_type"`
			CodecName  string `json:"codec_name"`
			Profile    string `json:"profile"`
			PixFmt     string `json:"pix_fmt"`
			Width      int    `json:"width"`
			Height     int    `json:"height"`
			AvgRate    string `json:"avg_frame_rate"`
			RealRate   string `json:"r_frame_rate"`
			SampleRate string `json:"sample_rate"`
			Channels   int    `json:"channels"`
		} `json:"streams"`
		Format struct {
			FormatName string `json:"format_name"`
			Duration   string `json:"duration"`
			StartTime  string `json:"start_time"`
			BitRate    string `json:"bit_rate"`
		} `json:"format"`
	}
	if err := json.Unmarshal(out, &raw); err != nil {
		return Probe{}, err
	}
	var p Probe
	for _, s := range raw.Streams {
		switch {
		case s.CodecType == "video" && p.Video == nil:
			fps := rate(s.AvgRate)
			if fps == 0 {
				fps = rate(s.RealRate)
			}
			p.Video = &VideoStream{Codec: s.CodecName, Profile: s.Profile, PixFmt: s.PixFmt, Width: s.Width, Height: s.Height, FPS: fps}
		case s.CodecType == "audio" && p.Audio == nil:
			sr, _ := strconv.Atoi(s.SampleRate)
			p.Audio = &AudioStream{Codec: s.CodecName, SampleRate: sr, Channels: s.Channels}
		}
	}
	p.Format = raw.Format.FormatName
	p.Duration, _ = strconv.ParseFloat(raw.Format.Duration, 64) // "N/A" for live streams
	p.StartTime, _ = strconv.ParseFloat(raw.Format.StartTime, 64)
	p.BitRate, _ = strconv.Atoi(raw.Format.BitRate)
	return p, nil
}

// rate parses ffprobe's "30000/1001"; "0/0" is 0.
func rate(s string) float64 {
	num, den, ok := strings.Cut(s, "/")
	n, err1 := strconv.ParseFloat(num, 64)
	d, err2 := strconv.ParseFloat(den, 64)
	if !ok || err1 != nil || err2 != nil || d == 0 {
		return 0
	}
	return n / d
}

// KeyframeTimes returns the pts_time of every keyframe of the first video
// stream. The frames are decoded with -skip_frame nokey, so a keyframe is
// what the H.264 decoder accepts as one (an IDR picture), not what the
// container's flags claim.
func KeyframeTimes(t testing.TB, path string) []float64 {
	t.Helper()
	return frameTimes(t, path, "-skip_frame", "nokey")
}

// VideoFrameTimes returns the pts_time of every decoded frame of the first
// video stream.
func VideoFrameTimes(t testing.TB, path string) []float64 {
	t.Helper()
	return frameTimes(t, path)
}

// LastPacketTime returns the pts_time of the last video packet in path, 0
// with none. It reads packets without decoding them, so it is cheap enough
// to ask every minute of a recording that is still being written (the
// container's duration is not known until it is closed); and it runs at
// the lowest CPU priority (nice 19), so that a test judging the program in
// real time (the soak) does not drop frames to its own measuring.
func LastPacketTime(t testing.TB, path string) float64 {
	t.Helper()
	var last float64
	for _, v := range entryTimes(t, path, "packet=pts_time", true) {
		last = max(last, v)
	}
	return last
}

func frameTimes(t testing.TB, path string, extra ...string) []float64 {
	t.Helper()
	return entryTimes(t, path, "frame=pts_time", false, extra...)
}

// entryTimes returns what ffprobe's -show_entries entry (a time) says of
// each frame or packet of the first video stream; niced, at nice 19.
func entryTimes(t testing.TB, path, entry string, niced bool, extra ...string) []float64 {
	t.Helper()
	args := append([]string{"-v", "error", "-select_streams", "v:0"}, extra...)
	args = append(args, "-show_entries", entry, "-of", "csv=p=0", path)
	tool := "ffprobe"
	if niced {
		tool, args = "nice", append([]string{"-n", "19", "ffprobe"}, args...)
	}
	out, _ := mustRun(t, toolTimeout, tool, args...)
	var times []float64
	for _, f := range strings.Fields(string(out)) {
		// A frame with side data prints as "0.021000,side_data,".
		v, err := strconv.ParseFloat(strings.Split(f, ",")[0], 64)
		if err != nil {
			continue // "N/A": a frame without a timestamp
		}
		times = append(times, v)
	}
	return times
}

// FrameCount returns how many frames of the first video stream decode.
func FrameCount(t testing.TB, path string) int {
	t.Helper()
	out, _ := mustRun(t, toolTimeout, "ffprobe", "-v", "error", "-select_streams", "v:0", "-count_frames",
		"-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", path)
	// MPEG-TS lists the stream again under its program: the first line.
	first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	n, err := strconv.Atoi(strings.Trim(strings.TrimSpace(first), ","))
	if err != nil {
		t.Fatalf("mediatest: frame count of %s: ffprobe said %q", path, out)
	}
	return n
}

// Frame decodes the video frame shown at time at.
func Frame(t testing.TB, path string, at time.Duration) image.Image {
	t.Helper()
	out, _ := mustRun(t, toolTimeout, "ffmpeg", "-v", "error", "-ss", seconds(at), "-i", path,
		"-frames:v", "1", "-f", "image2pipe", "-vcodec", "png", "-")
	img, err := png.Decode(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("mediatest: frame of %s at %v: %v (ffmpeg wrote %d bytes; is at past the end?)", path, at, err, len(out))
	}
	return img
}

var meanVolume = regexp.MustCompile(`mean_volume: (-?[0-9.]+|-inf) dB`)

// AudioLevel returns the mean volume, in dBFS, of the first audio stream
// between from and to: about -91 for digital silence, -21 for a sine at
// ffmpeg's default amplitude. Speech or music sits between -35 and -10.
func AudioLevel(t testing.TB, path string, from, to time.Duration) float64 {
	t.Helper()
	return audioLevel(t, path, "", from, to)
}

// ChannelLevel is AudioLevel of one channel (0 the left, 1 the right):
// whether a file carries stereo, or its channels are the same sound.
func ChannelLevel(t testing.TB, path string, channel int, from, to time.Duration) float64 {
	t.Helper()
	return audioLevel(t, path, fmt.Sprintf("pan=mono|c0=c%d,", channel), from, to)
}

// BandLevel is AudioLevel of the band around hz alone (two band-pass
// filters of Q 10: a tone an octave and a half away is 70 dB down): one
// tone's level in a mix of several, such as music under a voice.
func BandLevel(t testing.TB, path string, hz int, from, to time.Duration) float64 {
	t.Helper()
	bp := fmt.Sprintf("bandpass=f=%d:width_type=q:w=10,", hz)
	return audioLevel(t, path, bp+bp, from, to)
}

// audioLevel is AudioLevel through filter first ("" or filters ending in a comma).
func audioLevel(t testing.TB, path, filter string, from, to time.Duration) float64 {
	t.Helper()
	// volumedetect reports at level info.
	_, stderr := mustRun(t, toolTimeout, "ffmpeg", "-hide_banner", "-nostats", "-v", "info",
		"-ss", seconds(from), "-t", seconds(to-from), "-i", path,
		"-map", "0:a:0", "-af", filter+"volumedetect", "-f", "null", "-")
	m := meanVolume.FindSubmatch(stderr)
	if m == nil {
		t.Fatalf("mediatest: audio level of %s from %v to %v: no audio measured\n%s", path, from, to, tail(string(stderr), 15))
	}
	if string(m[1]) == "-inf" {
		return -200
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}

// R128 is ffmpeg's EBU R128 summary of a file's first audio stream
// (ebur128=peak=true): integrated loudness (LUFS) and true peak (dBTP).
type R128 struct{ Integrated, TruePeak float64 }

var (
	r128Integrated = regexp.MustCompile(`(?s)Integrated loudness:\s+I:\s+(-?[0-9.]+|-inf) LUFS`)
	r128TruePeak   = regexp.MustCompile(`(?s)True peak:\s+Peak:\s+(-?[0-9.]+|-inf) dBFS`)
)

// Loudness measures path with ffmpeg's ebur128 filter: the independent
// judge of the master bus's limiter and meters.
func Loudness(t testing.TB, path string) R128 {
	t.Helper()
	_, stderr := mustRun(t, toolTimeout, "ffmpeg", "-hide_banner", "-nostats", "-v", "info", "-i", path,
		"-map", "0:a:0", "-af", "ebur128=peak=true", "-f", "null", "-")
	var r R128
	for _, f := range []struct {
		re  *regexp.Regexp
		dst *float64
	}{{r128Integrated, &r.Integrated}, {r128TruePeak, &r.TruePeak}} {
		m := f.re.FindAllSubmatch(stderr, -1)
		if m == nil {
			t.Fatalf("mediatest: loudness of %s: no summary\n%s", path, tail(string(stderr), 15))
		}
		*f.dst = -200
		if v := string(m[len(m)-1][1]); v != "-inf" {
			*f.dst, _ = strconv.ParseFloat(v, 64)
		}
	}
	return r
}

// FlashTimes returns the pts_time of every video frame whose mean luma
// (signalstats YAVG, 0–255) is at least minLuma: the test pattern's white
// flash frames, for measuring A/V sync.
func FlashTimes(t testing.TB, path string, minLuma float64) []float64 {
	t.Helper()
	return frameLumas(t, path).atLeast(minLuma)
}

// lumas is each video frame's pts_time and mean luma.
type lumas []struct{ at, y float64 }

// frameLumas decodes the file at path once for its frames' mean luma
// (signalstats YAVG, 0–255): the costly part of judging flashes (some
// 3 s of CPU for 12 s of 720p), so a caller that wants two thresholds
// decodes once.
func frameLumas(t testing.TB, path string) lumas {
	t.Helper()
	// movie= takes a filter-graph-escaped file name.
	src := "movie=" + strings.NewReplacer(`\`, `\\\\`, `'`, `\\\'`, `:`, `\\:`, `,`, `\,`).Replace(path) + ",signalstats"
	out, _ := mustRun(t, toolTimeout, "ffprobe", "-v", "error", "-f", "lavfi", "-i", src,
		"-show_entries", "frame=pts_time:frame_tags=lavfi.signalstats.YAVG", "-of", "csv=p=0")
	var l lumas
	for _, line := range strings.Fields(string(out)) {
		f := strings.Split(line, ",")
		if len(f) < 2 {
			continue
		}
		ts, err1 := strconv.ParseFloat(f[0], 64)
		y, err2 := strconv.ParseFloat(f[1], 64)
		if err1 == nil && err2 == nil {
			l = append(l, struct{ at, y float64 }{ts, y})
		}
	}
	return l
}

// atLeast is the pts_time of every frame whose mean luma is at least
// minLuma.
func (l lumas) atLeast(minLuma float64) []float64 {
	var times []float64
	for _, f := range l {
		if f.y >= minLuma {
			times = append(times, f.at)
		}
	}
	return times
}

// ToneOnsets returns when sound starts after at least minGap of silence:
// the time of the first sample whose magnitude reaches 10% of full scale,
// on the file's own time line (decoded at 48 kHz mono), to a sample.
// Where the file's sound has a gap in its timestamps (a guest's file
// whose playout delay grew: its packets placed later from there on), the
// gap is decoded as silence, as a player or an editor plays it; ffmpeg's
// raw output would close it up and put every later beep early by it.
func ToneOnsets(t testing.TB, path string, minGap time.Duration) []float64 {
	t.Helper()
	pcm, _ := mustRun(t, toolTimeout, "ffmpeg", "-v", "error", "-i", path,
		"-map", "0:a:0", "-af", "aresample=async=1:min_hard_comp=0.001", "-ac", "1", "-ar", "48000", "-f", "s16le", "-")
	// The decoded samples start at the audio stream's start time, which a
	// container may place after zero (an AAC edit list, FLV offsets).
	start := 0.0
	if out, _ := mustRun(t, toolTimeout, "ffprobe", "-v", "error", "-select_streams", "a:0",
		"-show_entries", "stream=start_time", "-of", "csv=p=0", path); len(out) > 0 {
		start, _ = strconv.ParseFloat(strings.Trim(strings.TrimSpace(string(out)), ","), 64)
	}
	gap := int(minGap.Seconds() * 48000)
	var onsets []float64
	last := -gap
	for i := 0; i+1 < len(pcm); i += 2 {
		v := int16(uint16(pcm[i]) | uint16(pcm[i+1])<<8)
		if v > 3276 || v < -3276 {
			n := i / 2
			if n-last >= gap {
				onsets = append(onsets, start+float64(n)/48000)
			}
			last = n
		}
	}
	return onsets
}

// MeanLuma is a picture's mean brightness, 0–255 (BT.601 weights), from
// every 4th pixel of every 4th row: enough to tell black from a picture.
func MeanLuma(img image.Image) float64 {
	b := img.Bounds()
	var sum, n float64
	for y := b.Min.Y; y < b.Max.Y; y += 4 {
		for x := b.Min.X; x < b.Max.X; x += 4 {
			r, g, bl, _ := img.At(x, y).RGBA()
			sum += (0.299*float64(r) + 0.587*float64(g) + 0.114*float64(bl)) / 257
			n++
		}
	}
	return sum / n
}

// DecodeErrors decodes the whole file with ffmpeg and returns what it
// reports at level error ("" for a file that plays to its end cleanly).
// The frames keep their own times (-fps_mode vfr): a browser's recording
// has frames a millisecond apart, which a constant rate's null muxer
// would call non-monotonic.
func DecodeErrors(t testing.TB, path string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, stderr, err := runTool(ctx, "ffmpeg", "-v", "error", "-i", path, "-fps_mode", "vfr", "-f", "null", "-")
	if err != nil {
		return err.Error()
	}
	return string(stderr)
}

// PlaysThrough checks that path decodes to its end without an error and
// that its pictures come in the order of their times (a piece of the
// file written twice, or out of place, breaks either); it returns the
// pictures' times.
func PlaysThrough(t testing.TB, path string) []float64 {
	t.Helper()
	if errs := DecodeErrors(t, path); errs != "" {
		t.Errorf("%s does not play to its end: %s", path, strings.TrimSpace(errs))
	}
	frames := VideoFrameTimes(t, path)
	for i := 1; i < len(frames); i++ {
		if frames[i] < frames[i-1] {
			t.Errorf("%s: picture %d at %.3f s after one at %.3f s", path, i, frames[i], frames[i-1])
			break
		}
	}
	return frames
}
