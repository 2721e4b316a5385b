package settings

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"greenroom/studio"
	"greenroom/studio/presets"
)

const key = "live_1234_SECRETxyz"

func sample() Settings {
	s := Defaults()
	s.Destinations = []Destination{
		{ID: "d1", Service: Twitch, Name: "Twitch", URL: "rtmp://live.twitch.tv/app", Key: NewStreamKey(key), Enabled: true},
		{ID: "d2", Service: Custom, Name: "My server", URL: "rtmps://example.com:1936/live", Key: NewStreamKey(" other\n")},
	}
	s.Output = Output{Width: 1920, Height: 1080, FPS: 60, VideoKbps: 9000}
	s.RecordingDir = "/tmp/rec"
	s.Window = Window{Width: 1500, Height: 900, X: -40, Y: 60, Placed: true} // partly off the left edge: still placed
	s.Host = Host{Camera: "HD Webcam;video0", Mic: "616c73615f696e707574"}
	return s
}

func TestRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "greenroom")
	st, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Get(); got.Output.Width != 1280 || len(got.Destinations) != 0 || got.Host != (Host{}) {
		t.Fatalf("a new user's settings are not the defaults: %+v", got)
	}
	want := sample()
	if err := st.Update(func(s *Settings) { *s = want }); err != nil {
		t.Fatal(err)
	}
	st2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := st2.Get()
	if fmt.Sprintf("%#v", got.Output) != fmt.Sprintf("%#v", want.Output) || got.RecordingDir != want.RecordingDir || got.Window != want.Window || got.Host != want.Host {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if len(got.Destinations) != 2 {
		t.Fatalf("destinations: %+v", got.Destinations)
	}
	for i, d := range got.Destinations {
		w := want.Destinations[i]
		if d.ID != w.ID || d.Service != w.Service || d.Name != w.Name || d.URL != w.URL || d.Enabled != w.Enabled || d.Key.Reveal() != w.Key.Reveal() {
			t.Errorf("destination %d: got %+v (key %q), want %+v", i, d, d.Key.Reveal(), w)
		}
	}
	if got.Destinations[1].Key.Reveal() != "other" {
		t.Errorf("pasted key not trimmed: %q", got.Destinations[1].Key.Reveal())
	}
	// The file holds the real key; nothing else about the value does.
	b, err := os.ReadFile(st.Path())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(key)) {
		t.Errorf("the settings file lost the stream key:\n%s", b)
	}
}

// TestBrandsAndBannersRoundTrip: the brand kits, the chosen one, the
// banners and the ticker come back as saved, in a file only the user reads.
func TestBrandsAndBannersRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "greenroom")
	st, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := st.Get().BrandKit(); ok {
		t.Error("a new user wears a brand kit")
	}
	kits := []studio.BrandKit{
		{Name: "Morning show", Colour: "#15803d", Background: "#101418", Logo: "/home/me/logo.png", LogoCorner: "bottom-left", LogoSize: 0.15, Overlay: "/home/me/frame.png"},
		{Name: "Plain"},
	}
	banners := []string{"Ann Lee — Greenroom", "Q&A in ten minutes", "日本語のバナー"}
	if err := st.Update(func(s *Settings) {
		s.Brands, s.Brand, s.Banners, s.Ticker = kits, "Morning show", banners, "Subscribe!"
	}); err != nil {
		t.Fatal(err)
	}
	st2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := st2.Get()
	if !reflect.DeepEqual(got.Brands, kits) || got.Brand != "Morning show" || !reflect.DeepEqual(got.Banners, banners) || got.Ticker != "Subscribe!" {
		t.Errorf("got brands %+v (%q), banners %q, ticker %q", got.Brands, got.Brand, got.Banners, got.Ticker)
	}
	if k, ok := got.BrandKit(); !ok || k != kits[0] {
		t.Errorf("BrandKit() = %+v, %v", k, ok)
	}
	fi, err := os.Stat(st2.Path())
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("settings file mode %v, %v", fi.Mode(), err)
	}
	// Get's slices are the caller's own.
	got.Brands[0].Name, got.Banners[0] = "changed", "changed"
	if again := st2.Get(); again.Brands[0].Name != "Morning show" || again.Banners[0] != banners[0] {
		t.Error("Get shares the kits or banners with the store")
	}
}

func TestGetIsACopy(t *testing.T) {
	st, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Update(func(s *Settings) { s.Destinations = sample().Destinations }); err != nil {
		t.Fatal(err)
	}
	s := st.Get()
	s.Destinations[0].Name = "changed"
	if st.Get().Destinations[0].Name == "changed" {
		t.Error("Get shares its slice with the store")
	}
}

func TestPermissions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cfg", "greenroom")
	st, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Update(func(s *Settings) { *s = sample() }); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{dir: 0o700, st.Path(): 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %v, want %v", path, got, want)
		}
	}
	// Saving twice leaves no temporary file behind.
	if err := st.Update(func(s *Settings) { s.Output.FPS = 25 }); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("the config dir holds %v, want only %s", ents, FileName)
	}
}

func TestDamagedFile(t *testing.T) {
	for name, content := range map[string]string{
		"truncated": `{"destinations": [{"id": "d1", "stream_key": "abc`,
		"garbage":   "\x00\x01 not json",
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, FileName)
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			st, err := Open(dir)
			var de *DamagedError
			if !errors.As(err, &de) {
				t.Fatalf("Open: %v, want a *DamagedError", err)
			}
			if st == nil || st.Get().Output.Width != 1280 {
				t.Fatalf("no store with defaults after a damaged file: %v", st)
			}
			if !strings.Contains(de.Saved, FileName+".corrupt-") {
				t.Errorf("saved at %q", de.Saved)
			}
			b, err := os.ReadFile(de.Saved)
			if err != nil || string(b) != content {
				t.Errorf("the damaged file was not kept as it was: %q, %v", b, err)
			}
			if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the damaged file is still in place: %v", err)
			}
			msg := de.Error()
			if !strings.Contains(msg, "damaged") || !strings.Contains(msg, de.Saved) || strings.Contains(msg, "abc") {
				t.Errorf("message for the user: %q", msg)
			}
			// The store still saves.
			if err := st.Update(func(s *Settings) { s.Output.FPS = 25 }); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// A value out of range or of the wrong kind keeps its default, the rest of
// the file loads, the message names the file, the field, the value and
// what is kept, and the file stays as the user wrote it.
func TestBadFieldsNamed(t *testing.T) {
	for _, tc := range []struct {
		file string // inside {"destinations": [...], ...}
		want []string
	}{
		{`"output": {"width": 333, "height": 10, "fps": 30}`, []string{`settings.json: "output": 333×10 is not a size the encoder makes (1280×720 or 1920×1080); keeping 1280×720`}},
		{`"output": {"width": 1920, "height": 1080, "fps": 500}`, []string{`settings.json: "output.fps": 500 is out of range (1–60); keeping 30`}},
		{`"output": {"width": 1280, "height": 720, "fps": -1}`, []string{`"output.fps": -1 is out of range (1–60); keeping 30`}},
		{`"output": {"width": 1920, "height": 1080, "video_kbps": 1}`, []string{`settings.json: "output.video_kbps": 1 is out of range (300–50000 kb/s); keeping 6000`}},
		{`"output": {"width": 1280, "height": 720, "video_kbps": 90000}`, []string{`"output.video_kbps": 90000 is out of range (300–50000 kb/s); keeping 4500`}},
		{`"window": {"width": 10, "height": 900}`, []string{`settings.json: "window": 10×900 is smaller than 320×240; keeping a size that fits the screen`}},
		{`"reconnect_grace_seconds": 1`, []string{`settings.json: "reconnect_grace_seconds": 1 is out of range (2–600 s); keeping 10`}},
		{`"reconnect_grace_seconds": 9999`, []string{`"reconnect_grace_seconds": 9999 is out of range (2–600 s); keeping 10`}},
		{`"max_on_stage": 40`, []string{`settings.json: "max_on_stage": 40 is out of range (1–16); keeping 10`}},
		{`"max_in_green_room": "lots"`, []string{`"max_in_green_room": a string is not a number; keeping 20`}},
		{`"guest_kbps": 5`, []string{`"guest_kbps": 5 is out of range (800–20000 kb/s); keeping 2500`}},
		{`"loudness_target": -20`, []string{`"loudness_target": -20 is not a target offered (-14, -16, -23, or 0 for none); keeping -14`}},
		{`"output": {"width": 1280, "height": 720, "fps": "thirty"}`, []string{`settings.json: "output.fps": a string is not a number; keeping 30`}},
		{`"output": {"width": "big", "height": 720}`, []string{`settings.json: "output.width": a string is not a number; keeping 1280×720`}},
		{`"reconnect_grace_seconds": "10s"`, []string{`"reconnect_grace_seconds": a string is not a number; keeping 10`}},
		{`"window": {"width": true}`, []string{`"window.width": a bool is not a number; keeping a size that fits the screen`}},
		{`"recording_dir": 7`, []string{`"recording_dir": a number is not text; keeping the default`}},
		{`"output": {"width": 333, "height": 10, "fps": 500}, "reconnect_grace_seconds": 1`, []string{`"output": 333×10`, `"output.fps": 500`, `"reconnect_grace_seconds": 1`}},
		// Absent or zero (a file from before the field): the default, quietly.
		{`"output": {}`, nil},
		{`"reconnect_grace_seconds": 0`, nil},
	} {
		t.Run(tc.file, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, FileName)
			content := `{"destinations": [{"id": "d1", "service": "twitch", "name": "Twitch", "url": "rtmp://live.twitch.tv/app", "stream_key": "` + key + `", "enabled": true}], "ticker": "kept", ` + tc.file + `}`
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			st, err := Open(dir)
			if st == nil {
				t.Fatalf("no store: %v", err)
			}
			var de *DamagedError
			if errors.As(err, &de) {
				t.Fatalf("one bad field moved the whole file aside: %v", err)
			}
			msg := ""
			if err != nil {
				msg = err.Error()
			}
			if len(tc.want) == 0 && err != nil {
				t.Errorf("Open: %v, want no error", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message\n%s\nwant it to say\n%s", msg, w)
				}
			}
			var fe *FieldError
			if len(tc.want) > 0 && (!errors.As(err, &fe) || fe.File != path) {
				t.Errorf("Open: %#v, want a *FieldError naming %s", err, path)
			}
			if strings.Contains(msg, key) {
				t.Errorf("message has the stream key: %s", msg)
			}
			// The rest of the file is there; what was bad is the default.
			got := st.Get()
			if len(got.Destinations) != 1 || got.Destinations[0].Key.Reveal() != key || got.Ticker != "kept" {
				t.Errorf("the rest of the file was not loaded: %+v", got)
			}
			d := Defaults()
			if got.Output.FPS < 1 || got.Output.FPS > 60 || !validSize(got.Output.Width, got.Output.Height) ||
				(got.Window != Window{} && got.Window.Width < 320) || got.RecordingDir == "" || checkGrace(got.ReconnectGrace) != nil {
				t.Errorf("settings %+v, want values in range (defaults %+v)", got, d)
			}
			// Not rewritten until the user saves.
			if b, err := os.ReadFile(path); err != nil || string(b) != content {
				t.Errorf("the file changed on Open: %q, %v", b, err)
			}
		})
	}
}

// The grace a gone guest has: 10 s for a new user (and for a file from
// before it was a setting), kept in whole seconds, and a change out of
// range refused in words, nothing saved.
func TestReconnectGrace(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte(`{"output": {"width": 1280, "height": 720}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if g := st.Get().ReconnectGrace; g != 10*time.Second || Defaults().ReconnectGrace != 10*time.Second {
		t.Errorf("grace %v, want 10 s", g)
	}
	for _, bad := range []time.Duration{0, time.Second, 11 * time.Minute} {
		err := st.Update(func(s *Settings) { s.ReconnectGrace = bad })
		if !errors.Is(err, ErrBadGrace) || !strings.Contains(err.Error(), "must be 2 to 600 seconds") {
			t.Errorf("grace %v: %v, want it refused, saying the range", bad, err)
		}
	}
	if err := st.Update(func(s *Settings) { s.ReconnectGrace = 30 * time.Second }); err != nil {
		t.Fatal(err)
	}
	st2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if g := st2.Get().ReconnectGrace; g != 30*time.Second {
		t.Errorf("reloaded grace %v, want 30 s", g)
	}
}

// The guest limits and the upload cap: the studio's defaults for a new
// user (and a file from before them), a change out of range refused in
// words, nothing saved; a change in range kept.
func TestGuestLimits(t *testing.T) {
	dir := t.TempDir()
	st, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Get(); got.Limits != studio.DefaultLimits || got.GuestKbps != studio.DefaultGuestKbps {
		t.Errorf("limits %+v, cap %d; want the studio's defaults", got.Limits, got.GuestKbps)
	}
	for _, tc := range []struct {
		change func(*Settings)
		want   string
	}{
		{func(s *Settings) { s.Limits.Stage = 0 }, "the guests on stage must be 1 to 16, not 0"},
		{func(s *Settings) { s.Limits.GreenRoom = 51 }, "the guests in the green room must be 1 to 50, not 51"},
		{func(s *Settings) { s.GuestKbps = 100 }, "the most a guest may send must be 800 to 20000 kb/s, not 100"},
	} {
		if err := st.Update(tc.change); !errors.Is(err, ErrBadGuests) || err.Error() != tc.want {
			t.Errorf("%v, want it refused: %s", err, tc.want)
		}
	}
	if err := st.Update(func(s *Settings) { s.Limits, s.GuestKbps = studio.Limits{Stage: 4, GreenRoom: 8}, 1200 }); err != nil {
		t.Fatal(err)
	}
	st2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := st2.Get(); got.Limits != (studio.Limits{Stage: 4, GreenRoom: 8}) || got.GuestKbps != 1200 {
		t.Errorf("reloaded limits %+v, cap %d", got.Limits, got.GuestKbps)
	}
}

// The loudness target: −14 LUFS for a new user and a file from before
// it; the host's choice, off (0) included, kept across a restart.
func TestLoudnessTarget(t *testing.T) {
	dir := t.TempDir()
	st, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Get().LoudnessTarget; got != -14 {
		t.Errorf("a new user's loudness target %g, want -14", got)
	}
	for _, lufs := range []float64{0, -23} {
		if err := st.Update(func(s *Settings) { s.LoudnessTarget = lufs }); err != nil {
			t.Fatal(err)
		}
		st2, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		if got := st2.Get().LoudnessTarget; got != lufs {
			t.Errorf("reloaded loudness target %g, want %g", got, lufs)
		}
	}
	older := t.TempDir()
	if err := os.WriteFile(filepath.Join(older, FileName), []byte(`{"destinations": [], "guest_kbps": 1200}`), 0o600); err != nil {
		t.Fatal(err)
	}
	st3, err := Open(older)
	if err != nil {
		t.Fatal(err)
	}
	if got := st3.Get().LoudnessTarget; got != -14 {
		t.Errorf("a file from before the target: %g, want -14", got)
	}
}

func TestKeyRedacted(t *testing.T) {
	d := sample().Destinations[0]
	for _, out := range printings(t, d.Key, d, sample()) {
		if strings.Contains(out, key) {
			t.Errorf("the stream key leaked: %s", out)
		}
		if !strings.Contains(out, "[redacted]") {
			t.Errorf("no [redacted] in %s", out)
		}
	}
}

// printings are the ways each of vs may end up printed: fmt's verbs,
// slog's text and JSON handlers, json.Marshal and a wrapped error.
func printings(t *testing.T, vs ...any) []string {
	t.Helper()
	var out []string
	for _, v := range vs {
		var buf bytes.Buffer
		for _, h := range []slog.Handler{slog.NewTextHandler(&buf, nil), slog.NewJSONHandler(&buf, nil)} {
			slog.New(h).Info("going live", "v", v)
		}
		js, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprint(v), fmt.Sprintf("%v %+v %#v %s %q", v, v, v, v, v),
			buf.String(), string(js), fmt.Errorf("wrapped: %v", v).Error())
	}
	return out
}

func TestValidate(t *testing.T) {
	k := NewStreamKey(key)
	for _, tc := range []struct {
		url  string
		key  StreamKey
		want error
	}{
		{"rtmp://a.rtmp.youtube.com/live2", k, nil},
		{"rtmps://live-api-s.facebook.com:443/rtmp", k, nil},
		{"rtmp://127.0.0.1:1935/live/", k, nil},
		{" rtmp://host/app ", k, nil},
		{"", k, ErrBadURL},
		{"http://example.com/live", k, ErrBadURL},
		{"example.com/live", k, ErrBadURL},
		{"rtmp:///live", k, ErrBadURL},
		{"rtmp://", k, ErrBadURL},
		{"rtmp://host:99999/app", k, ErrBadURL},
		{"rtmp://user:pw@host/app", k, ErrBadURL},
		{"rtmp://host", k, ErrBadURL},              // no app: the output could not publish it
		{"rtmp://host/app?backup=1", k, nil},       // YouTube's backup: the query is the app's
		{"rtmp://host/app/inst?a=b", k, ErrBadURL}, // after an app of two parts it goes after the key
		{"rtmp://host/app", StreamKey{}, ErrNoKey},
	} {
		err := Destination{Service: Custom, URL: tc.url, Key: tc.key}.Validate()
		if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("Validate(%q): %v, want %v", tc.url, err, tc.want)
		}
		if err != nil && (strings.Contains(err.Error(), key) || strings.Contains(err.Error(), "pw")) {
			t.Errorf("Validate(%q) leaks a secret: %v", tc.url, err)
		}
	}
}

func TestPublishURL(t *testing.T) {
	for _, u := range []string{"rtmp://live.twitch.tv/app", "rtmp://live.twitch.tv/app/"} {
		d := Destination{URL: u, Key: NewStreamKey("k1")}
		if got := d.PublishURL(); got != "rtmp://live.twitch.tv/app/k1" {
			t.Errorf("PublishURL(%q) = %q", u, got)
		}
	}
}

// An SRT destination (issue #13): its key is the streamid and its
// passphrase a field of its own, both added to the URL's query and kept in
// the settings file, never printed; no key is fine (a listener that takes
// anyone with the passphrase); a streamid or passphrase in the URL belongs
// in its field.
func TestSRTDestination(t *testing.T) {
	const srv = "srt://ingest.example.com:9000?latency=2000000"
	d := Destination{ID: "s1", Service: Custom, Name: "SRT", URL: srv, Key: NewStreamKey("live/show 1"), Passphrase: NewStreamKey("pass-phrase-1")}
	if err := d.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if got, want := d.PublishURL(), srv+"&streamid=live%2Fshow+1&passphrase=pass-phrase-1"; got != want {
		t.Errorf("PublishURL = %q, want %q", got, want)
	}
	if s := fmt.Sprintf("%v %+v", d, d); strings.Contains(s, "pass-phrase") {
		t.Errorf("the passphrase printed: %s", s)
	}
	dir := t.TempDir()
	st, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Update(func(s *Settings) { s.Destinations = []Destination{d} }); err != nil {
		t.Fatal(err)
	}
	again, err := Open(dir)
	if err != nil || len(again.Get().Destinations) != 1 || again.Get().Destinations[0].PublishURL() != d.PublishURL() {
		t.Fatalf("read back: %v, %v", again.Get().Destinations, err)
	}
	d.Key, d.Passphrase = StreamKey{}, StreamKey{}
	if err := d.Validate(); err != nil || d.PublishURL() != srv {
		t.Errorf("without a key: Validate %v, PublishURL %q", err, d.PublishURL())
	}
	if got := (Destination{URL: "srt://ingest.example.com:9000", Key: NewStreamKey("k1")}).PublishURL(); got != "srt://ingest.example.com:9000?streamid=k1" {
		t.Errorf("PublishURL = %q", got)
	}
	for _, bad := range []string{"srt://ingest.example.com:9000?streamid=k1", "srt://ingest.example.com", "srt://ingest.example.com:9000?passphrase=short-pass-1"} {
		err := (Destination{URL: bad, Key: NewStreamKey("k1")}).Validate()
		if !errors.Is(err, ErrBadURL) || strings.Contains(err.Error(), "k1") || strings.Contains(err.Error(), "short") {
			t.Errorf("Validate(%q) = %v, want ErrBadURL without a secret", bad, err)
		}
	}
}

// A destination remembers its preset in the settings file, every preset's
// default ingest is a server URL Validate takes, and an unknown service
// (a file from a newer Greenroom) reads as Custom.
func TestPresets(t *testing.T) {
	dir := t.TempDir()
	st, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var want []Destination
	for i, p := range presets.All {
		d := NewDestination(Service(p.ID))
		d.ID, d.Key = fmt.Sprint("d", i), NewStreamKey("k1")
		if d.URL == "" {
			d.URL = "rtmps://ingest.example.com:443/app" // typed from the producer page
		}
		if err := d.Validate(); err != nil {
			t.Errorf("preset %s: %v", p.Name, err)
		}
		want = append(want, d)
	}
	if err := st.Update(func(s *Settings) { s.Destinations = want }); err != nil {
		t.Fatal(err)
	}
	again, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := again.Get().Destinations
	for i := range want {
		if i >= len(got) || got[i].Service != want[i].Service || PresetFor(got[i].Service).Name != want[i].Name {
			t.Errorf("destination %d read back as %+v, want service %s", i, got, want[i].Service)
		}
		// Instagram's and TikTok's start vertical (issue #13), and stay
		// so; the others landscape.
		if v := want[i].Service == Instagram || want[i].Service == TikTok; want[i].Vertical != v || i < len(got) && got[i].Vertical != v {
			t.Errorf("%s: vertical %v, read back %v; want %v", want[i].Name, want[i].Vertical, i < len(got) && got[i].Vertical, v)
		}
		// A vertical one is checked as the vertical program: TikTok's
		// 1080x1920 at most takes 720x1280.
		if w := want[i].Warnings(Defaults().Output); want[i].Vertical && len(w) != 0 {
			t.Errorf("%s, vertical: warnings %q", want[i].Name, w)
		}
	}
	if PresetFor("nonsense").ID != presets.Custom {
		t.Error("an unknown service is not Custom")
	}
}

func TestEnabled(t *testing.T) {
	on := sample().Enabled()
	if len(on) != 1 || on[0].ID != "d1" {
		t.Errorf("Enabled() = %+v", on)
	}
}

func TestFailedSaveKeepsSettings(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "greenroom")
	st, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	// A file where the config directory should be: no save can succeed,
	// even as root.
	if err := os.WriteFile(dir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := st.Update(func(s *Settings) { s.Output.FPS = 25 }); err == nil {
		t.Fatal("saved with no directory to save into")
	}
	if st.Get().Output.FPS != 30 {
		t.Error("a change that could not be saved is in memory")
	}
}

// The Music tab's settings and jingle board: the defaults for a new user
// and a file from before them; the host's choices kept across a restart;
// a hand-edited volume out of range said, and the levels back to the
// defaults (the board kept).
func TestMusicKept(t *testing.T) {
	dir := t.TempDir()
	st, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Get().Music; got != (Music{Duck: studio.DefaultDuck}) {
		t.Errorf("a new user's music %+v", got)
	}
	want := Music{File: "/music/bed.mp3", Volume: -9, Loop: true, Duck: studio.Duck{}}
	want.Jingles[0], want.Jingles[8] = "/music/ding.wav", "/music/applause.ogg"
	if err := st.Update(func(s *Settings) { s.Music = want }); err != nil {
		t.Fatal(err)
	}
	st2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := st2.Get().Music; got != want {
		t.Errorf("reloaded music %+v, want %+v", got, want)
	}
	for _, c := range []struct {
		file string
		want Music
		said string
	}{
		{`{"destinations": []}`, Music{Duck: studio.DefaultDuck}, ""},
		{`{"music": {"volume_db": 40, "loop": true, "duck": {"db": 6}, "jingles": ["/a.wav"]}}`,
			Music{Duck: studio.DefaultDuck, Jingles: [9]string{"/a.wav"}},
			`"music": volume 40 dB, ducking 6 dB (0 ms down, 0 ms back) is out of range`},
	} {
		d := t.TempDir()
		if err := os.WriteFile(filepath.Join(d, FileName), []byte(c.file), 0o600); err != nil {
			t.Fatal(err)
		}
		st, err := Open(d)
		if got := st.Get().Music; got != c.want {
			t.Errorf("%s: music %+v, want %+v", c.file, got, c.want)
		}
		if (err == nil) != (c.said == "") || err != nil && !strings.Contains(err.Error(), c.said) {
			t.Errorf("%s: Open says %v, want %q", c.file, err, c.said)
		}
	}
}
