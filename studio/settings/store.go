package settings

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
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

// Store is the settings of this user, loaded once and saved on every change.
// mu guards cur and serialises writes of the file, so two saves never race
// on the temporary file or land out of order.
type Store struct {
	path string

	mu  sync.Mutex
	cur Settings
}

// Open loads the settings from dir (DefaultDir when empty). A missing file
// gives the defaults. A damaged file is renamed to settings.json.corrupt-TIME
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
	if err := json.Unmarshal(b, &f); err != nil {
		return s, s.moveAside(err)
	}
	s.cur = f.settings()
	s.cur.fillDefaults()
	return s, nil
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
// ReconnectGrace out of range is refused likewise (ErrBadGrace).
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
	Enabled   bool    `json:"enabled"`
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
	}
	for _, d := range s.Destinations {
		f.Destinations = append(f.Destinations, fileDestination{
			ID: d.ID, Service: d.Service, Name: d.Name, URL: d.URL,
			StreamKey: d.Key.Reveal(), Enabled: d.Enabled,
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
	}
	for _, d := range f.Destinations {
		s.Destinations = append(s.Destinations, Destination{
			ID: d.ID, Service: d.Service, Name: d.Name, URL: d.URL,
			Key: NewStreamKey(d.StreamKey), Enabled: d.Enabled,
		})
	}
	return s
}
