// Package presets owns what Greenroom knows about the platforms a show goes
// live to (issue #13 item 2): each one's ingest servers, where its stream
// key is shown, whether it wants a vertical picture, and the format and bit
// rate it takes. Check tells, in a creator's words, what in the program's
// output a platform would reject, before going live.
//
// It is data and validation only: it dials nothing (rtmpout.Check does)
// and keeps no state. The settings file remembers a destination's preset
// by its ID.
package presets

import (
	"fmt"
	"net"
	"strings"
	"time"
)

// Preset is one platform as the destination editor offers it.
type Preset struct {
	// ID is what the settings file keeps ("youtube"); never changes.
	ID string
	// Name is shown to the user and names a new destination.
	Name string
	// Ingests are the platform's servers, the first the default. None: the
	// platform gives each creator their own URL (Kick, Instagram, TikTok)
	// or it is the creator's own server (Custom).
	Ingests []Ingest
	// KeyHelp says where the platform shows the stream key (and the
	// server URL, when Ingests is empty).
	KeyHelp string
	// Vertical: the platform expects a 9:16 picture.
	Vertical bool
	// Limits is what the platform takes; zero fields are not limited.
	Limits Limits
}

// Ingest is one server of a platform.
type Ingest struct {
	Label string // "Primary (RTMPS)", "Auto (nearest)"
	URL   string // without the stream key
}

// Limits is the format a platform takes. Width and height are of the
// picture's longer and shorter side, so that a limit reads the same for a
// vertical platform.
type Limits struct {
	MaxLong, MaxShort int // pixels, e.g. 1920 and 1080
	MaxFPS            int
	MaxVideoKbps      int
	// MaxKeyframe is the longest keyframe interval it takes.
	MaxKeyframe time.Duration
}

// Format is the program's output as the settings have it.
type Format struct {
	Width, Height int
	FPS           int
	VideoKbps     int
	Keyframe      time.Duration // the encoder's GOP; 0: not known
}

// The preset IDs, as the settings file keeps them.
const (
	YouTube   = "youtube"
	Twitch    = "twitch"
	Facebook  = "facebook"
	Kick      = "kick"
	Instagram = "instagram"
	TikTok    = "tiktok"
	Custom    = "custom"
)

// All are the platforms offered, in the order shown; Custom last, which
// also takes srt:// (encode/srtout).
//
// The figures are the platforms' published ones:
//   - YouTube: "Choose live encoder settings, bitrates, and resolutions"
//     (support.google.com/youtube/answer/2853702) — up to 2160p60 at
//     51 Mb/s; 1080p30 recommended 4.5–9 Mb/s (10 Mb/s in the newer
//     table), keyframe every 2 s, at most 4 s. Ingests from YouTube Studio's
//     stream settings; the backup URLs carry ?backup=1 (the app's query:
//     rtmpout.ParseServer), and YouTube wants the same stream on both, so
//     the host adds YouTube twice, primary and backup, with the same key.
//   - Twitch: "Broadcasting Guidelines" (help.twitch.tv/s/article/
//     broadcasting-guidelines) — at most 6000 kb/s video, 1080p60,
//     keyframe interval 2 s. rtmp://live.twitch.tv/app routes to the
//     nearest ingest; the hand-picked ones are from Twitch's ingest list
//     (ingest.twitch.tv/ingests), a few regions of it.
//   - Facebook: "Live Video Specs" (facebook.com/business/help/
//     162540111070395) and the Live API docs — RTMPS only, at most 1080p
//     at 60 fps, 6 Mb/s (4 Mb/s recommended), keyframe every 2 s.
//   - Kick: kick.com's stream settings page — RTMPS, the URL shown there
//     (it is per account), recommended at most 1080p60 and 8 Mb/s.
//   - Instagram Live (Live Producer) and TikTok LIVE (LIVE Producer):
//     vertical 720x1280 (up to 1080x1920) at 30 fps, about 4–6 Mb/s; the
//     server URL and key come from the producer page and change per live.
var All = []Preset{
	{
		ID: YouTube, Name: "YouTube",
		Ingests: []Ingest{
			{"Primary (RTMP)", "rtmp://a.rtmp.youtube.com/live2"},
			{"Backup (RTMP)", "rtmp://b.rtmp.youtube.com/live2?backup=1"},
			{"Primary (RTMPS)", "rtmps://a.rtmps.youtube.com:443/live2"},
			{"Backup (RTMPS)", "rtmps://b.rtmps.youtube.com:443/live2?backup=1"},
		},
		KeyHelp: "YouTube Studio → Create → Go live → Stream → Stream key. For YouTube's backup ingest, add YouTube again with a Backup server and the same key: both go live with the same stream.",
		Limits:  Limits{MaxLong: 3840, MaxShort: 2160, MaxFPS: 60, MaxVideoKbps: 51000, MaxKeyframe: 4 * time.Second},
	},
	{
		ID: Twitch, Name: "Twitch",
		Ingests: []Ingest{
			{"Auto (nearest)", "rtmp://live.twitch.tv/app"},
			{"Global", "rtmp://ingest.global-contribute.live-video.net/app"},
			{"Europe: Stockholm", "rtmp://arn04.contribute.live-video.net/app"},
			{"US East: Miami", "rtmp://mia01.contribute.live-video.net/app"},
			{"South America: São Paulo", "rtmp://sao03.contribute.live-video.net/app"},
			{"Asia: Mumbai", "rtmp://bom01.contribute.live-video.net/app"},
		},
		KeyHelp: "Twitch Creator Dashboard → Settings → Stream → Primary Stream key.",
		Limits:  upTo1080(60, 6000),
	},
	{
		ID: Facebook, Name: "Facebook",
		Ingests: []Ingest{{"RTMPS", "rtmps://live-api-s.facebook.com:443/rtmp"}},
		KeyHelp: "Facebook Live Producer → Streaming software → Stream key.",
		Limits:  upTo1080(60, 6000),
	},
	{
		ID: Kick, Name: "Kick",
		KeyHelp: "Kick → Creator Dashboard → Settings → Stream URL & Key: copy both (the URL is rtmps://…/app).",
		Limits:  upTo1080(60, 8000),
	},
	{
		ID: Instagram, Name: "Instagram Live", Vertical: true,
		KeyHelp: "Instagram on the web → Create → Live video → Stream URL and Stream key (new for each live).",
		Limits:  upTo1080(30, 6000),
	},
	{
		ID: TikTok, Name: "TikTok LIVE", Vertical: true,
		KeyHelp: "TikTok LIVE Producer (tiktok.com/live/producer) → Server URL and Stream key (new for each live).",
		Limits:  upTo1080(30, 6000),
	},
	{
		ID: Custom, Name: "Custom RTMP(S) or SRT",
		KeyHelp: "The server URL is everything before the stream key, e.g. rtmp://example.com/live or rtmps://example.com:443/live. For SRT: srt://example.com:9000 (with ?passphrase=… if the server wants one); the stream key is its streamid.",
	},
}

// upTo1080 is the usual limit: 1080p, a keyframe every 2 s, at most fps
// and kbps of video.
func upTo1080(fps, kbps int) Limits {
	return Limits{MaxLong: 1920, MaxShort: 1080, MaxFPS: fps, MaxVideoKbps: kbps, MaxKeyframe: 2 * time.Second}
}

// ByID returns the preset with that ID; an unknown or empty ID is Custom
// (a settings file from an older or newer Greenroom).
func ByID(id string) Preset {
	for _, p := range All {
		if p.ID == id {
			return p
		}
	}
	return All[len(All)-1]
}

// For is the preset a destination checks against: the one with ID id, or
// when id is "" (a --to URL, a destination from the CLI) the platform
// whose ingest publishURL goes to (ForURL), else Custom, which limits
// nothing.
func For(id, publishURL string) Preset {
	if id != "" {
		return ByID(id)
	}
	if p, ok := ForURL(publishURL); ok {
		return p
	}
	return ByID(Custom)
}

// ForURL is the platform whose ingest servers u's host is one of
// (YouTube, Twitch, Facebook: the platforms with fixed ingests); false for
// any other host.
func ForURL(u string) (Preset, bool) {
	host := hostOf(u)
	for _, p := range All {
		for _, in := range p.Ingests {
			if host != "" && hostOf(in.URL) == host {
				return p, true
			}
		}
	}
	return Preset{}, false
}

// hostOf is the host of a URL, lower case, without the port: enough to
// compare ingests, without parsing what may hold a key.
func hostOf(u string) string {
	_, rest, ok := strings.Cut(strings.TrimSpace(u), "://")
	if !ok {
		return ""
	}
	end := strings.IndexAny(rest, "/?#")
	if end >= 0 {
		rest = rest[:end]
	}
	if h, _, err := net.SplitHostPort(rest); err == nil {
		rest = h
	}
	return strings.ToLower(rest)
}

// URL is the default ingest server, "" when the creator types their own.
func (p Preset) URL() string {
	if len(p.Ingests) == 0 {
		return ""
	}
	return p.Ingests[0].URL
}

// Check says what in f the platform would refuse or the viewers would get
// wrong, a sentence each, naming the platform and what to change; none
// when f is fine.
func (p Preset) Check(f Format) []string {
	var warn []string
	l := p.Limits
	long, short := max(f.Width, f.Height), min(f.Width, f.Height)
	if l.MaxLong > 0 && (long > l.MaxLong || short > l.MaxShort) {
		warn = append(warn, fmt.Sprintf("%s takes at most %dx%d; the program is %dx%d: pick a smaller size under Settings → Output.",
			p.Name, l.MaxLong, l.MaxShort, f.Width, f.Height))
	}
	if l.MaxFPS > 0 && f.FPS > l.MaxFPS {
		warn = append(warn, fmt.Sprintf("%s takes at most %d fps; the program is %d fps: lower it under Settings → Output.",
			p.Name, l.MaxFPS, f.FPS))
	}
	if l.MaxVideoKbps > 0 && f.VideoKbps > l.MaxVideoKbps {
		warn = append(warn, fmt.Sprintf("%s takes at most %d kb/s of video; the program sends %d kb/s: lower it under Settings → Output.",
			p.Name, l.MaxVideoKbps, f.VideoKbps))
	}
	if l.MaxKeyframe > 0 && f.Keyframe > l.MaxKeyframe {
		warn = append(warn, fmt.Sprintf("%s wants a keyframe at least every %v; the program has one every %v.",
			p.Name, l.MaxKeyframe, f.Keyframe))
	}
	if p.Vertical && f.Width > f.Height {
		warn = append(warn, fmt.Sprintf("%s expects a vertical (9:16) picture, and this destination is set to the landscape program: choose Vertical for it.",
			p.Name))
	}
	return warn
}
