package main

import (
	"errors"
	"log/slog"

	"greenroom/encode"
	"greenroom/encode/feed"
	"greenroom/studio"
)

// session is one running studio, as serve and the window run it: the
// program pipeline with the host's source, the studio (guest server, SFU,
// control API) and the Program between them, and the host's feed to the
// guests.
type session struct {
	pipe     *encode.Pipeline
	prog     *studio.Program
	studio   *studio.Studio
	stopFeed func()
}

// startSession builds a session. scfg gets the Program as its Sink and
// GoLive; a scfg.Listen that is taken falls back to any free port when
// anyPort is set.
func startSession(enc encode.Config, scfg studio.Config, pcfg studio.ProgramConfig, anyPort bool, log *slog.Logger) (*session, error) {
	pipe, err := encode.New(enc)
	if err != nil {
		return nil, err
	}
	s := &session{pipe: pipe}
	if s.prog, err = studio.NewProgram(pipe, pcfg); err != nil {
		pipe.Close()
		return nil, err
	}
	scfg.Sink, scfg.GoLive, scfg.Logger = s.prog, s.prog.SetLive, log
	if s.studio, err = studio.New(scfg); err != nil && anyPort {
		// Another program (or another Greenroom) has the usual port: any
		// free one will do, the guest link says which.
		scfg.Listen = ":0"
		s.studio, err = studio.New(scfg)
	}
	if err != nil {
		s.prog.Close()
		pipe.Close()
		return nil, err
	}
	s.prog.Attach(s.studio)
	// The host: the test pattern (the camera, when the window picks one),
	// into the program and, at conference size, to the guests.
	f, stop, err := s.studio.StartHostFeed(feed.Config{Logger: log})
	if err != nil {
		s.Close()
		return nil, err
	}
	s.stopFeed = stop
	cfg := pipe.Config()
	if _, err := pipe.AddTestPatternWith(studio.HostID, cfg.Width, cfg.Height, f); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close ends the session: the studio first (no more RTP into the program),
// the feed, the program's outputs, then the pipeline.
func (s *session) Close() error {
	err := s.studio.Close()
	if s.stopFeed != nil {
		s.stopFeed()
	}
	return errors.Join(err, s.prog.Close(), s.pipe.Close())
}
