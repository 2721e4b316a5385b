package encode

import (
	"log/slog"
	"strings"

	"github.com/asticode/go-astiav"
)

// RouteFFmpegLog sends FFmpeg's own log lines (warnings and worse) to l, so
// nothing is printed behind the program's back.
func RouteFFmpegLog(l *slog.Logger) {
	l = l.With("component", "ffmpeg")
	astiav.SetLogLevel(astiav.LogLevelWarning)
	astiav.SetLogCallback(func(c astiav.Classer, level astiav.LogLevel, _, msg string) {
		msg = strings.TrimSpace(msg)
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
