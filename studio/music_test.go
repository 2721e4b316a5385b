package studio_test

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4/pkg/media/oggwriter"

	"greenroom/encode/mediatest"
	"greenroom/studio"
	"greenroom/studio/studiotest"
)

// The music reaches the guests: a pion guest records the host's Opus
// before and while POST /api/music plays a test-made WAV (a 440 Hz tone),
// and ffmpeg finds the tone's band in the second recording at its level,
// 20 dB over the first (the host's test pattern beeps at 1 kHz, out of
// the band; ducking is off here, or its beeps would duck the music).
// With the host muted, Ann hears the music and not the host. /api/state
// says what plays, and an event that it changed; a file that can't be
// played is a 400, a setting out of range too.
func TestGuestsHearTheMusic(t *testing.T) {
	judgesRealTime(t)
	s, _, _ := startShowAt(t, smallShow, studio.ProgramConfig{})
	dir := t.TempDir()
	song := filepath.Join(dir, "song.wav")
	mediatest.WriteTone(t, song, 440, 2*time.Second)
	var mu sync.Mutex
	var ogg *oggwriter.OggWriter // the host's sound at Ann, while set
	record := func(name string, d time.Duration) string {
		path := filepath.Join(dir, name)
		w, err := oggwriter.New(path, 48000, 2)
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		ogg = w
		mu.Unlock()
		time.Sleep(d)
		mu.Lock()
		ogg = nil
		mu.Unlock()
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return path
	}
	ann := join(t, s, "Ann", studiotest.Options{OnRTP: func(from, kind string, pkt *rtp.Packet) {
		mu.Lock()
		defer mu.Unlock()
		if from == studio.HostID && kind == "audio" && ogg != nil {
			_ = ogg.WriteRTP(pkt)
		}
	}})
	eventually(t, "Ann to hear the host", func() bool { return ann.Packets(studio.HostID, "audio") > 20 })
	before := record("before.ogg", 1500*time.Millisecond)
	events, cancel := s.Subscribe()
	defer cancel()
	if code, body := api(t, s, "POST", "/api/music", "", fmt.Sprintf(`{"play": %q, "loop": true, "volume": -3, "duck": {"db": 0}}`, song)); code != 200 {
		t.Fatalf("play: %d %v", code, body)
	}
	// The event the window keeps the music's levels from (ui's Music tab).
	for said := false; !said; {
		select {
		case ev := <-events:
			said = ev.Kind == studio.EventMusicPlayer
		case <-time.After(time.Second):
			t.Fatal("no musicPlayer event for POST /api/music")
		}
	}
	time.Sleep(300 * time.Millisecond) // the music on its way
	during := record("during.ogg", 1500*time.Millisecond)
	// The host mutes themselves: their sound goes, the music stays.
	if err := s.SetMuted(studio.HostID, true); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	muted := record("muted.ogg", time.Second)
	_, st := api(t, s, "GET", "/api/state", "", "")
	m, _ := st["music"].(map[string]any)
	if m["file"] != song || m["loop"] != true || m["volume"] != -3.0 {
		t.Errorf("/api/state's music: %v", m)
	}
	for _, bad := range []string{fmt.Sprintf(`{"play": %q}`, filepath.Join(dir, "nothing.mp3")), `{"volume": 40}`} {
		if code, body := api(t, s, "POST", "/api/music", "", bad); code != 400 {
			t.Errorf("POST /api/music %s: %d %v, want 400", bad, code, body)
		} else {
			t.Logf("POST /api/music %s: %v", bad, body["error"])
		}
	}
	if code, body := api(t, s, "POST", "/api/music", "", `{"stop": true}`); code != 200 {
		t.Errorf("stop: %d %v", code, body)
	}
	quiet := mediatest.BandLevel(t, before, 440, 0, time.Minute)
	loud := mediatest.BandLevel(t, during, 440, 0, time.Minute)
	withoutHost := mediatest.BandLevel(t, muted, 440, 0, time.Minute)
	heardBeeps := mediatest.BandLevel(t, before, 1000, 0, time.Minute)
	beeps := mediatest.BandLevel(t, muted, 1000, 0, time.Minute)
	t.Logf("the host's sound at Ann in the 440 Hz band: %.1f dBFS before the music, %.1f with it, %.1f with the host muted (their 1 kHz beeps: %.1f, %.1f before)",
		quiet, loud, withoutHost, beeps, heardBeeps)
	if withoutHost < loud-1 || beeps > heardBeeps-20 {
		t.Errorf("with the host muted Ann hears the music at %.1f dBFS (%.1f before) and the host's beeps at %.1f: want the music alone", withoutHost, loud, beeps)
	}
	// The band measures the tone at −24.2 dBFS in the program at 0 dB
	// (TestMusicInTheProgram): −27.2 at −3 dB, which Opus keeps.
	if loud < -30 || loud < quiet+20 {
		t.Errorf("Ann's recording of the host measures %.1f dBFS in the music's band with it, %.1f without: the guest does not hear it", loud, quiet)
	}
}

// The host's own file in the show's folder is the host alone: the music
// (a 440 Hz tone) plays in the program, and ffmpeg finds its band there
// and not in Host.webm, where the host's test-pattern beeps (1 kHz) are.
// Before, the host's file took its sound from the feed the guests hear,
// music and all.
func TestHostsFileHasNoMusic(t *testing.T) {
	dir := t.TempDir()
	s, _, _ := startShowAt(t, smallShow, studio.ProgramConfig{RecordDir: dir})
	song := filepath.Join(t.TempDir(), "song.wav")
	mediatest.WriteTone(t, song, 440, 2*time.Second)
	if code, body := api(t, s, "POST", "/api/music", "", fmt.Sprintf(`{"play": %q, "loop": true, "duck": {"db": 0}}`, song)); code != 200 {
		t.Fatalf("play: %d %v", code, body)
	}
	if err := s.SetLive(true); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	if err := s.SetLive(false); err != nil {
		t.Fatal(err)
	}
	folders, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(folders) != 1 {
		t.Fatalf("recordings folder holds %v, want one show", folders)
	}
	host, program := filepath.Join(folders[0], "Host.webm"), filepath.Join(folders[0], "program.mp4")
	// From 1 s: the music's fade-in and the feed's start behind.
	inHost := mediatest.BandLevel(t, host, 440, time.Second, time.Minute)
	inProgram := mediatest.BandLevel(t, program, 440, time.Second, time.Minute)
	beeps := mediatest.BandLevel(t, host, 1000, time.Second, time.Minute)
	t.Logf("the music's band: %.1f dBFS in the program, %.1f in the host's file (their beeps there: %.1f)", inProgram, inHost, beeps)
	if inProgram < -30 {
		t.Errorf("the program has the music at %.1f dBFS: want it there", inProgram)
	}
	// Without the music the band holds only what the double band-pass
	// lets through of the beeps, an octave up: −58.6 dBFS, the program's
	// −24.1 (with it: −24.1 in both).
	if inHost > inProgram-25 || beeps < -40 {
		t.Errorf("the host's file: the music's band at %.1f dBFS (the program %.1f), their beeps at %.1f: want the host alone", inHost, inProgram, beeps)
	}
}
