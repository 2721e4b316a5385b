//go:build unix

package studio_test

import (
	"net/url"
	"slices"
	"testing"
	"time"

	"greenroom/encode"
	"greenroom/encode/mediatest"
	"greenroom/studio"
	"greenroom/studio/studiotest"
)

// liveSync goes live for d with s, whose program records to rec (kept as
// keep, see keepRecording), and returns the recording's flashes and how
// long after each the nearest beep starts (mediatest.FileSync).
func liveSync(t *testing.T, s *studio.Studio, rec, keep string, d time.Duration) mediatest.AVSync {
	t.Helper()
	if err := s.SetLive(true); err != nil {
		t.Fatal(err)
	}
	time.Sleep(d)
	if err := s.SetLive(false); err != nil {
		t.Fatal(err)
	}
	keepRecording(rec, keep)
	return mediatest.FileSync(t, rec)
}

// flashingGuestSolo starts a 720p program recording to rec, its studio
// and a Chromium guest called Ann whose camera flashes as her mic beeps
// (mediatest.FlashBeep), alone in the program's solo layout; see
// chromiumGuestInProgram.
func flashingGuestSolo(t *testing.T, rec string) (s *studio.Studio, page *studiotest.Page, id string, sent *sentSync) {
	t.Helper()
	flags := fakeAVFlags(t)
	sent = newSentSync(t)
	s, prog, _, page, id := chromiumGuestTapped(t, encode.Config{Width: 1280, Height: 720, FPS: 30},
		studio.ProgramConfig{RecordFile: rec}, "Ann", flags, sent)
	if err := prog.SetLayout("solo"); err != nil {
		t.Fatal(err)
	}
	if err := prog.Spotlight(id); err != nil {
		t.Fatal(err)
	}
	return s, page, id, sent
}

// chromiumGuestInProgram starts a program of format cfg, a studio whose
// Sink and GoLive it is, and a headless Chromium guest called name with
// Chromium's flags (fakeAVFlags for a camera that flashes as the
// microphone beeps; nil for Chromium's own fake devices); it puts the
// guest on stage and returns when they are in the program, with their ID.
// It skips the test without a browser; everything closes at its end.
func chromiumGuestInProgram(t *testing.T, cfg encode.Config, pcfg studio.ProgramConfig, name string, flags []string) (
	s *studio.Studio, prog *studio.Program, pipe *encode.Pipeline, page *studiotest.Page, id string) {
	t.Helper()
	return chromiumGuestTapped(t, cfg, pcfg, name, flags, nil)
}

// chromiumGuestTapped is chromiumGuestInProgram with tap, if not nil,
// given every packet the program is (teeSink).
func chromiumGuestTapped(t *testing.T, cfg encode.Config, pcfg studio.ProgramConfig, name string, flags []string, tap *sentSync) (
	s *studio.Studio, prog *studio.Program, pipe *encode.Pipeline, page *studiotest.Page, id string) {
	t.Helper()
	needChromium(t)
	pipe, err := encode.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pipe.Close() })
	prog, err = studio.NewProgram(pipe, pcfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { prog.Close() })
	s = newStudio(t, func(c *studio.Config) {
		c.Sink, c.GoLive = prog, prog.SetLive
		if tap != nil {
			c.Sink = teeSink{prog, tap}
		}
	})
	if tap != nil {
		tap.studio.Store(s)
	}
	prog.Attach(s)

	page, id = chromiumGuestOnStage(t, s, prog, name, flags)
	if tap != nil {
		tap.only(id)
	}
	return s, prog, pipe, page, id
}

// chromiumGuestOnStage opens a headless Chromium (with flags) whose page
// joins s as a guest called name, puts them on stage and returns when
// they are in prog, with their ID. Everything closes at the test's end.
func chromiumGuestOnStage(t *testing.T, s *studio.Studio, prog *studio.Program, name string, flags []string) (page *studiotest.Page, id string) {
	t.Helper()
	_, pages := chromiumWith(t, flags, s.GuestURL()+"?name="+url.QueryEscape(name)+"&join=1")
	page = pages[0]
	eventually(t, name+" in the green room", func() bool {
		for _, p := range s.State().Participants {
			if p.Role == studio.RoleGuest && p.Name == name {
				id = p.ID
			}
		}
		return id != ""
	})
	if err := s.Stage(id, true); err != nil {
		t.Fatal(err)
	}
	eventually(t, name+" in the program", func() bool { return slices.Contains(prog.Inputs(), id) })
	return page, id
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// fakeAVFlags are Chromium's flags for mediatest.FlashBeep's camera and microphone. It
// skips the test first without a browser (and with -short): its callers
// make it before they start one, and the files take ffmpeg some 3 s
// under -race, for nothing.
func fakeAVFlags(t *testing.T) []string {
	needChromium(t)
	video, audio := mediatest.FlashBeep(t)
	return []string{"--use-file-for-fake-video-capture=" + video, "--use-file-for-fake-audio-capture=" + audio}
}
