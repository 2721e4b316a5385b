package studio

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/asticode/go-astiav"
)

// TestLastCutShort: only the newest show counts, only if nobody ended it
// and nobody has written it for liveWrites, and only once.
func TestLastCutShort(t *testing.T) {
	old := time.Now().Add(-time.Minute)
	write := func(t *testing.T, dir, name string, m showMeta, mod time.Time) string {
		folder := filepath.Join(dir, name)
		if err := os.Mkdir(folder, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := writeShowJSON(folder, m); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(filepath.Join(folder, "show.json"), mod, mod); err != nil {
			t.Fatal(err)
		}
		return folder
	}
	ended := showMeta{Title: "Ended", Start: "2026-12-01T10:00:00Z", EndMS: 5000}
	cut := showMeta{Title: "Cut", Start: "2026-12-02T10:00:00Z",
		Files: []showFile{{File: "Host.webm", EndMS: 4200}, {File: "Ann.webm", EndMS: 4700}}}

	for _, tc := range []struct {
		name   string
		shows  []showMeta
		mod    time.Time
		want   string // the cut-short show's title, "" for none
		wantMS int64
	}{
		{"newest cut short", []showMeta{ended, cut}, old, "Cut", 4700},
		{"newest ended", []showMeta{cut, {Title: "Later", Start: "2026-12-03T10:00:00Z", EndMS: 1}}, old, "", 0},
		{"live in another studio", []showMeta{ended, cut}, time.Now(), "", 0},
		{"no shows", nil, old, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var folder string
			for i, m := range tc.shows {
				if f := write(t, dir, fmt.Sprint(i), m, tc.mod); m.Title == tc.want {
					folder = f
				}
			}
			c := lastCutShort(dir, slog.Default())
			if tc.want == "" {
				if c != nil {
					t.Fatalf("cut short: %+v, want none", c)
				}
				return
			}
			if c == nil || c.Title != tc.want || c.Folder != folder || !strings.Contains(c.Message, folder) {
				t.Fatalf("cut short: %+v, want %q in %s", c, tc.want, folder)
			}
			b, _ := os.ReadFile(filepath.Join(folder, "show.json"))
			if !strings.Contains(string(b), fmt.Sprintf(`"end_ms": %d,`, tc.wantMS)) || !strings.Contains(string(b), `"cut_short": true`) {
				t.Errorf("show.json after: %s", b)
			}
			os.Chtimes(filepath.Join(folder, "show.json"), old, old)
			if again := lastCutShort(dir, slog.Default()); again != nil {
				t.Errorf("said again at the next start: %+v", again)
			}
		})
	}
}

func TestDiskWords(t *testing.T) {
	for _, err := range []error{syscall.ENOSPC, fmt.Errorf("iso: write: %w", astiav.Error(-int(syscall.ENOSPC))), &os.PathError{Op: "write", Err: syscall.ENOSPC}} {
		if !diskFull(err) {
			t.Errorf("diskFull(%v) = false", err)
		}
	}
	if diskFull(syscall.EIO) || diskFull(nil) {
		t.Error("diskFull of another error")
	}
	for d, want := range map[time.Duration]string{754 * time.Second: "12:34", 5 * time.Second: "0:05", 3723 * time.Second: "1:02:03"} {
		if got := showClock(d); got != want {
			t.Errorf("showClock(%v) = %q, want %q", d, got, want)
		}
	}
}
