package settings

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"greenroom/studio"
)

// FileName is the settings file inside the config directory.
const FileName = "settings.json"

// DefaultDir is os.UserConfigDir()/greenroom, the directory the studio also
// keeps its self-signed certificate in.
func DefaultDir() (string, error) {
	d, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("settings: no config folder: %w", err)
	}
	return filepath.Join(d, "greenroom"), nil
}

// DamagedError says the settings file could not be read as settings. Open
// still returns a working Store (with the defaults); the damaged file was
// moved aside to Saved so that nothing the user typed is lost.
type DamagedError struct {
	Path  string // where the file was
	Saved string // where it is now; empty if it could not be moved
	Err   error  // why it was unreadable
}

func (e *DamagedError) Error() string {
	if e.Saved == "" {
		return fmt.Sprintf("your settings file %s was damaged and could not be moved aside; started fresh", e.Path)
	}
	return fmt.Sprintf("your settings file was damaged; saved a copy at %s and started fresh", e.Saved)
}

func (e *DamagedError) Unwrap() error { return e.Err }

// FieldError says one value in the settings file was out of range or of
// the wrong kind, and what is used instead. Open loads the rest of the
// file and returns the Store with one FieldError per value (errors.Join)
// for the UI to show; the file is left as the user wrote it until the
// next save.
type FieldError struct {
	File  string // the settings file
	Field string // as in the file: "output.fps"
	Value string // as written in the file, or its kind ("a string")
	Why   string // "is out of range (1–60)"
	Kept  string // the value used instead
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("%s: %q: %s %s; keeping %s", filepath.Base(e.File), e.Field, e.Value, e.Why, e.Kept)
}

// fieldError is a problem found before the file and the kept value are
// known.
type fieldError struct{ field, value, why string }

// Store is the settings of this user, loaded once and saved on every change.
// mu guards cur and serialises writes of the file, so two saves never race
// on the temporary file or land out of order.
type Store struct {
	path string

	mu  sync.Mutex
	cur Settings
}

// Open loads the settings from dir (DefaultDir when empty). A missing file
// gives the defaults. A value out of range or of the wrong kind keeps its
// default and Open returns the Store with the rest of the file loaded and
// a *FieldError per such value (errors.Join), the file untouched. A file
// that is not JSON (damaged) is renamed to settings.json.corrupt-TIME
// and Open returns the Store with the defaults together with a *DamagedError
// for the UI to show; any other error (a file it may not read) returns no
// Store.
func Open(dir string) (*Store, error) {
	if dir == "" {
		var err error
		if dir, err = DefaultDir(); err != nil {
			return nil, err
		}
	}
	s := &Store{path: filepath.Join(dir, FileName), cur: Defaults()}
	b, err := os.ReadFile(s.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return s, nil
	case err != nil:
		return nil, fmt.Errorf("settings: %w", err)
	}
	var f file
	var problems []fieldError
	var typeErr *json.UnmarshalTypeError
	switch err := json.Unmarshal(b, &f); {
	case errors.As(err, &typeErr) && typeErr.Field != "":
		// One value of the wrong type (a hand edit): encoding/json skips
		// it, loads the rest and names the first such field. The field
		// keeps its default; the file stays as it is until the user saves.
		fe := fieldError{field: typeErr.Field, value: "a " + typeErr.Value, why: "is not " + jsonKind(typeErr.Type.String())}
		if n, ok := strings.CutPrefix(typeErr.Value, "number "); ok { // 1e39, 1.5 for an int
			fe.value, fe.why = n, "is out of range"
		}
		problems = append(problems, fe)
	case err != nil:
		return s, s.moveAside(err)
	}
	s.cur = f.settings()
	for _, p := range s.cur.fillDefaults() {
		// A field of the wrong kind was left zero: said once, above.
		if typeErr == nil || !strings.HasPrefix(typeErr.Field, p.field) {
			problems = append(problems, p)
		}
	}
	return s, s.fieldErrors(problems)
}

// fieldErrors names the file in each problem and fills in the value kept;
// nil when there is none.
func (s *Store) fieldErrors(problems []fieldError) error {
	var errs []error
	for _, p := range problems {
		errs = append(errs, &FieldError{File: s.path, Field: p.field, Value: p.value, Why: p.why, Kept: s.cur.valueOf(p.field)})
	}
	return errors.Join(errs...)
}

// jsonKind says in words what JSON a Go type wants.
func jsonKind(goType string) string {
	switch goType {
	case "int", "float32", "float64":
		return "a number"
	case "string", "settings.Service":
		return "text"
	case "bool", "*bool":
		return "true or false"
	}
	if strings.HasPrefix(goType, "[]") || strings.HasPrefix(goType, "*[]") {
		return "a list"
	}
	return "the right kind of value"
}

func (s *Store) moveAside(why error) error {
	saved := s.path + ".corrupt-" + time.Now().UTC().Format("20060102T150405Z")
	if err := os.Rename(s.path, saved); err != nil {
		saved = ""
	}
	return &DamagedError{Path: s.path, Saved: saved, Err: why}
}

// Path is the settings file.
func (s *Store) Path() string { return s.path }

// Get returns a copy of the current settings.
func (s *Store) Get() Settings {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur.clone()
}

// Update applies change to a copy of the settings and saves the result. On a
// write error the settings in memory stay as they were. A change that
// brings a bad or repeated STUN/TURN server or a bad NAT IP into the Network
// is refused (errors.Is ErrBadICEServer or ErrBadNATIP), nothing saved; a bad
// entry already in the file (a hand edit) does not stop other changes. A
// ReconnectGrace out of range is refused likewise (ErrBadGrace), and so are
// Limits and GuestKbps (ErrBadGuests).
func (s *Store) Update(change func(*Settings)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := s.cur.clone()
	change(&next)
	if err := next.Network.checkChange(s.cur.Network); err != nil {
		return err
	}
	if next.ReconnectGrace != s.cur.ReconnectGrace {
		if err := checkGrace(next.ReconnectGrace); err != nil {
			return err
		}
	}
	if next.Limits != s.cur.Limits || next.GuestKbps != s.cur.GuestKbps {
		if err := checkGuests(next); err != nil {
			return err
		}
	}
	next.fillDefaults()
	if err := s.write(next); err != nil {
		return err
	}
	s.cur = next
	return nil
}

// write saves atomically: a reader (or a crash) sees the old file or the new
// one, never half of one. The directory is private (0700) and so is the file
// (0600), since it holds stream keys and TURN passwords.
func (s *Store) write(v Settings) error {
	dir := filepath.Dir(s.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("settings: %w", err)
	}
	b, err := json.MarshalIndent(fileOf(v), "", "\t")
	if err != nil {
		return fmt.Errorf("settings: %w", err)
	}
	tmp, err := os.CreateTemp(dir, FileName+".tmp-*")
	if err != nil {
		return fmt.Errorf("settings: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	// CreateTemp already makes the file 0600; say so for umasks and readers.
	err = tmp.Chmod(0o600)
	if err == nil {
		_, err = tmp.Write(append(b, '\n'))
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), s.path)
	}
	if err != nil {
		return fmt.Errorf("settings: save: %w", err)
	}
	return nil
}

// file is the on-disk form. It exists so that StreamKey can marshal as
// [redacted] everywhere else while the file keeps the real key.
type file struct {
	Destinations []fileDestination `json:"destinations"`
	Output       fileOutput        `json:"output"`
	RecordingDir string            `json:"recording_dir"`
	Host         fileHost          `json:"host"`
	Window       fileWindow        `json:"window"`
	Brands       []studio.BrandKit `json:"brands,omitempty"`
	Brand        string            `json:"brand,omitempty"`
	Banners      []string          `json:"banners,omitempty"`
	Ticker       string            `json:"ticker,omitempty"`
	Network      fileNetwork       `json:"network"`
	// Whole seconds; 0 (an older file): the default.
	ReconnectGraceSeconds int `json:"reconnect_grace_seconds,omitempty"`
	// 0 (an older file): the defaults.
	MaxOnStage     int `json:"max_on_stage,omitempty"`
	MaxInGreenRoom int `json:"max_in_green_room,omitempty"`
	GuestKbps      int `json:"guest_kbps,omitempty"`
	// LUFS, 0 for none; absent (an older file): the default, −14. A
	// pointer, since 0 is a choice here.
	LoudnessTarget *float64 `json:"loudness_target,omitempty"`
	// Absent (an older file): the defaults.
	Music *fileMusic `json:"music,omitempty"`
}

type fileMusic struct {
	File    string      `json:"file,omitempty"`
	Volume  float64     `json:"volume_db"`
	Loop    bool        `json:"loop"`
	Duck    studio.Duck `json:"duck"`
	Jingles [9]string   `json:"jingles"`
}

type fileHost struct {
	Camera string `json:"camera"`
	Mic    string `json:"mic"`
}

type fileDestination struct {
	ID        string  `json:"id"`
	Service   Service `json:"service"`
	Name      string  `json:"name"`
	URL       string  `json:"url"`
	StreamKey string  `json:"stream_key"`
	// Passphrase is an SRT destination's (issue #13); omitted otherwise.
	Passphrase string `json:"passphrase,omitempty"`
	Enabled    bool   `json:"enabled"`
	// Vertical: it gets the vertical (9:16) program; omitted (an older
	// file) for landscape.
	Vertical bool `json:"vertical,omitempty"`
}

type fileOutput struct {
	Width     int `json:"width"`
	Height    int `json:"height"`
	FPS       int `json:"fps"`
	VideoKbps int `json:"video_kbps"`
}

type fileWindow struct {
	Width  float32 `json:"width"`
	Height float32 `json:"height"`
	X      int     `json:"x,omitempty"`
	Y      int     `json:"y,omitempty"`
	Placed bool    `json:"placed,omitempty"`
}

func fileOf(s Settings) file {
	f := file{
		Destinations: []fileDestination{},
		Output:       fileOutput(s.Output),
		RecordingDir: s.RecordingDir,
		Host:         fileHost(s.Host),
		Window:       fileWindow(s.Window),
		Brands:       s.Brands,
		Brand:        s.Brand,
		Banners:      s.Banners,
		Ticker:       s.Ticker,
		Network:      fileNetworkOf(s.Network),

		ReconnectGraceSeconds: int(s.ReconnectGrace / time.Second),
		MaxOnStage:            s.Limits.Stage,
		MaxInGreenRoom:        s.Limits.GreenRoom,
		GuestKbps:             s.GuestKbps,
		LoudnessTarget:        &s.LoudnessTarget,
		Music:                 (*fileMusic)(&s.Music),
	}
	for _, d := range s.Destinations {
		f.Destinations = append(f.Destinations, fileDestination{
			ID: d.ID, Service: d.Service, Name: d.Name, URL: d.URL,
			StreamKey: d.Key.Reveal(), Passphrase: d.Passphrase.Reveal(), Enabled: d.Enabled, Vertical: d.Vertical,
		})
	}
	return f
}

func (f file) settings() Settings {
	s := Settings{
		Output:       Output(f.Output),
		RecordingDir: f.RecordingDir,
		Host:         Host(f.Host),
		Window:       Window(f.Window),
		Brands:       f.Brands,
		Brand:        f.Brand,
		Banners:      f.Banners,
		Ticker:       f.Ticker,
		Network:      f.Network.network(),

		ReconnectGrace: time.Duration(f.ReconnectGraceSeconds) * time.Second,
		Limits:         studio.Limits{Stage: f.MaxOnStage, GreenRoom: f.MaxInGreenRoom},
		GuestKbps:      f.GuestKbps,
		LoudnessTarget: studio.DefaultLoudnessTarget,
	}
	if f.LoudnessTarget != nil {
		s.LoudnessTarget = *f.LoudnessTarget
	}
	s.Music = defaultMusic
	if f.Music != nil {
		s.Music = Music(*f.Music)
	}
	for _, d := range f.Destinations {
		s.Destinations = append(s.Destinations, Destination{
			ID: d.ID, Service: d.Service, Name: d.Name, URL: d.URL,
			Key: NewStreamKey(d.StreamKey), Passphrase: NewStreamKey(d.Passphrase), Enabled: d.Enabled, Vertical: d.Vertical,
		})
	}
	return s
}
