package encode

import (
	"log/slog"
	"strings"

	"github.com/asticode/go-astiav"

	"greenroom/encode/srtout"
)

// RouteFFmpegLog sends FFmpeg's own log lines (warnings and worse) to l, so
// nothing is printed behind the program's back, and no SRT streamid or
// passphrase reaches the log.
func RouteFFmpegLog(l *slog.Logger) {
	l = l.With("component", "ffmpeg")
	astiav.SetLogLevel(astiav.LogLevelWarning)
	astiav.SetLogCallback(func(c astiav.Classer, level astiav.LogLevel, _, msg string) {
		// libsrt quotes the URL it failed to open, secrets and all.
		msg = srtout.RedactLog(strings.TrimSpace(msg))
		if msg == "" {
			return
		}
		switch {
		case level <= astiav.LogLevelError:
			l.Warn(msg)
		case level <= astiav.LogLevelWarning:
			l.Info(msg)
		default:
			l.Debug(msg)
		}
	})
}
