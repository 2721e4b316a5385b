package studio

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"unicode"

	"greenroom/encode"
	"greenroom/encode/scene"
)

// Scene is how the stage looks in the program: the layout (one of
// Layouts) and who is shown large in the layouts that have a main tile
// (solo, spotlight, picture-in-picture). Everyone on stage wears a name
// tag with their display name.
type Scene struct {
	Layout string `json:"layout"`
	// Main is the participant ID shown large; "" means the first on stage.
	Main string `json:"main"`
	// Fit lists the participants whose whole picture is shown, letterboxed
	// (a slide, a screen, a phone held upright); everyone else's picture
	// is cropped to fill their tile.
	Fit []string `json:"fit,omitempty"`
	// Banner is the lower-third text on screen, Ticker the text running
	// along the bottom; "" for none.
	Banner string `json:"banner,omitempty"`
	Ticker string `json:"ticker,omitempty"`
}

// Layouts are the names Scene.Layout accepts.
var Layouts = encode.Layouts

// look is the Program's scene model. mu is held while the scene is handed
// to the pipeline, so that concurrent changes reach it in the order they
// were made and the last one made is the one shown.
type look struct {
	mu    sync.Mutex
	scene Scene
	kit   BrandKit
	brand scene.Brand  // kit, loaded
	state func() State // the studio's participants, for their names; nil until Attach
	// before is the layout ShowScreen replaced, to go back to when the
	// screen leaves; "" when ShowScreen is not in effect.
	before string
}

// Scene returns the program's scene.
func (p *Program) Scene() Scene {
	p.look.mu.Lock()
	defer p.look.mu.Unlock()
	s := p.current()
	s.Fit = slices.Clone(s.Fit)
	return s
}

// current is the scene, with the pipeline's layout until one was chosen.
// Call with look.mu held.
func (p *Program) current() Scene {
	s := p.look.scene
	if s.Layout == "" {
		s.Layout = p.pipe.Scene().Layout
	}
	return s
}

// SetLayout arranges the stage in the named layout; tiles move to their
// new places over a third of a second.
func (p *Program) SetLayout(name string) error {
	if err := (scene.Scene{Layout: name}).Valid(); err != nil {
		return fmt.Errorf("studio: %w", err)
	}
	return p.changeScene(func(s *Scene) { s.Layout = name })
}

// Spotlight makes participant id the one shown large (in solo, spotlight,
// picture-in-picture and screen); "" gives the place back to the first on
// stage. A shared screen is ScreenInput(id).
func (p *Program) Spotlight(id string) error {
	p.look.mu.Lock()
	state := p.look.state
	p.look.mu.Unlock()
	if id != "" && state != nil && !hasParticipant(state(), id) {
		return fmt.Errorf("studio: spotlight %s: %w", id, ErrNoParticipant)
	}
	return p.changeScene(func(s *Scene) { s.Main = id })
}

// ShowScreen shows participant id's shared screen (ScreenInput(id)) in the
// screen layout: whole and large, the speakers in a strip beside it. When
// that screen stops being shared the scene goes back to the layout it had
// before (see inputGone).
func (p *Program) ShowScreen(id string) error {
	p.look.mu.Lock()
	state := p.look.state
	p.look.mu.Unlock()
	if state != nil && !hasParticipant(state(), id) {
		return fmt.Errorf("studio: show screen of %s: %w", id, ErrNoParticipant)
	}
	return p.changeScene(func(s *Scene) {
		if s.Layout != scene.Screen {
			p.look.before = s.Layout
		}
		s.Layout, s.Main = scene.Screen, ScreenInput(id)
	})
}

// inputGone lets the scene fall back when the input it shows large leaves
// the program: the first on stage is shown large again, and a screen
// layout put up by ShowScreen gives way to the layout before it.
func (p *Program) inputGone(name string) {
	p.look.mu.Lock()
	defer p.look.mu.Unlock()
	s := p.current()
	if s.Main != name {
		return
	}
	s.Main = ""
	if s.Layout == scene.Screen && p.look.before != "" {
		s.Layout = p.look.before
	}
	p.look.before = ""
	p.look.scene = s
	if err := p.applyLocked(); err != nil {
		p.log.Warn("scene", "err", err)
	}
}

// SetFit letterboxes participant id's picture (on) or crops it to fill
// their tile (off, the default).
func (p *Program) SetFit(id string, on bool) error {
	return p.changeScene(func(s *Scene) {
		s.Fit = slices.DeleteFunc(slices.Clone(s.Fit), func(x string) bool { return x == id })
		if on {
			s.Fit = append(s.Fit, id)
		}
	})
}

// ShowBanner puts text on screen as a lower-third banner (it slides in;
// the one before slides out); "" takes the banner down.
func (p *Program) ShowBanner(text string) error {
	text = oneLine(text)
	return p.changeScene(func(s *Scene) { s.Banner = text })
}

// SetTicker runs text along the bottom of the program; "" stops it.
func (p *Program) SetTicker(text string) error {
	text = oneLine(text)
	return p.changeScene(func(s *Scene) { s.Ticker = text })
}

// oneLine makes text fit for one line on screen: no control characters or
// line breaks, runs of spaces as one, at most 500 letters.
func oneLine(text string) string {
	text = strings.Join(strings.Fields(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, text)), " ")
	if r := []rune(text); len(r) > 500 {
		text = string(r[:500])
	}
	return text
}

// SetScene sets the layout, the main participant, who is letterboxed, the
// banner and the ticker at once.
func (p *Program) SetScene(sc Scene) error {
	if err := (scene.Scene{Layout: sc.Layout}).Valid(); err != nil {
		return fmt.Errorf("studio: %w", err)
	}
	sc.Fit = slices.Clone(sc.Fit)
	sc.Banner, sc.Ticker = oneLine(sc.Banner), oneLine(sc.Ticker)
	return p.changeScene(func(s *Scene) { *s = sc })
}

func (p *Program) changeScene(change func(*Scene)) error {
	p.look.mu.Lock()
	defer p.look.mu.Unlock()
	s := p.current()
	change(&s)
	p.look.scene = s
	return p.applyLocked()
}

// applyScene hands the scene to the pipeline again, with the names of the
// participants as they are now: when someone new comes into the program.
func (p *Program) applyScene() {
	p.look.mu.Lock()
	defer p.look.mu.Unlock()
	if err := p.applyLocked(); err != nil {
		p.log.Warn("scene", "err", err)
	}
}

func (p *Program) applyLocked() error {
	s := p.current()
	names := map[string]string{}
	fit := map[string]bool{}
	if p.look.state != nil {
		for _, pt := range p.look.state().Participants {
			names[pt.ID] = pt.Name
		}
	}
	// A shared screen is named for its owner and shown whole wherever it
	// is: text cropped off is lost. (p.mu is taken inside look.mu, never
	// the other way round.)
	for _, in := range p.inputNames(true) {
		if id := owner(in); id != in {
			names[in] = names[id] + "'s screen"
			fit[in] = true
		}
	}
	for _, id := range s.Fit {
		fit[id] = true
	}
	err := p.pipe.SetScene(scene.Scene{Layout: s.Layout, Main: s.Main, Names: names, Fit: fit, Brand: p.look.brand,
		Banner: s.Banner, Ticker: s.Ticker})
	if r := p.rec.Load(); r != nil && err == nil {
		r.layout(s.Layout)
	}
	return err
}

// hasParticipant says whether id is in the show, or is the screen of
// someone who is.
func hasParticipant(st State, id string) bool {
	id = owner(id)
	for _, pt := range st.Participants {
		if pt.ID == id {
			return true
		}
	}
	return false
}

// sceneControl is what the control API's /api/scene drives, and what
// follows the show as it changes: the Program.
type sceneControl interface {
	Scene() Scene
	changeScene(func(*Scene)) error
	followShow()
}

func (s *Studio) attachScene(c sceneControl) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scene = c
}

// apiScene is GET and POST /api/scene. A POST changes the fields it has
// and leaves the others: {"layout": "spotlight", "main": "g1"}.
func (s *Studio) apiScene(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	c := s.scene
	s.mu.Unlock()
	if c == nil {
		writeJSONError(w, http.StatusServiceUnavailable, "this studio has no program to arrange")
		return
	}
	if r.Method == http.MethodGet {
		writeJSON(w, http.StatusOK, c.Scene())
		return
	}
	var req struct {
		Layout *string   `json:"layout"`
		Main   *string   `json:"main"`
		Fit    *[]string `json:"fit"`
		Banner *string   `json:"banner"`
		Ticker *string   `json:"ticker"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	if req.Layout != nil {
		if err := (scene.Scene{Layout: *req.Layout}).Valid(); err != nil {
			writeJSONError(w, http.StatusBadRequest, err.Error())
			return
		}
	}
	if req.Main != nil && *req.Main != "" && !hasParticipant(s.State(), *req.Main) {
		writeError(w, fmt.Errorf("studio: spotlight %s: %w", *req.Main, ErrNoParticipant))
		return
	}
	err := c.changeScene(func(sc *Scene) {
		if req.Layout != nil {
			sc.Layout = *req.Layout
		}
		if req.Main != nil {
			sc.Main = *req.Main
		}
		if req.Fit != nil {
			sc.Fit = slices.Clone(*req.Fit)
		}
		if req.Banner != nil {
			sc.Banner = oneLine(*req.Banner)
		}
		if req.Ticker != nil {
			sc.Ticker = oneLine(*req.Ticker)
		}
	})
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, c.Scene())
}
