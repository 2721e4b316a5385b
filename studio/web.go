package studio

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"greenroom/assets"
)

// Handler is the studio's web side: the guest page and its signaling, and
// the control API. New already serves it on Config.Listen; it is exposed for
// embedding the studio in another server and for tests.
//
//	GET  /join/{token}         the guest page (403 page for a bad token)
//	GET  /join/{token}/ws      guest signaling (WebSocket, package signal)
//	GET  /assets/guest/...     the page's script and style
//	GET  /upload/{take}        a guest's local recording: where to resume
//	POST /upload/{take}/{n}    ... its chunk n (upload.go; the take's own key)
//	GET  /api/state            control API, Bearer token or ?token=
//	GET  /api/events           the show's events (Server-Sent Events)
//	POST /api/stage            {"id": "g1", "on": true} (409 when the stage is full)
//	POST /api/kick             {"id": "g1"}
//	POST /api/live             {"on": true}, or {"dryRun": true}: the preflight (preflight.go)
//	POST /api/localrec         {"on": true}: guests record locally and upload
//	POST /api/rotate           new guest link: {"guest_url": "..."}
//	GET  /api/scene            the scene: layout, main, fit, banner, ticker
//	POST /api/scene            change some of it: {"layout": "pip", "banner": "..."}
//	GET  /api/recordings       the past shows in the recordings folder (recordings.go)
func (s *Studio) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /join/{token}", s.serveGuestPage)
	mux.HandleFunc("GET /join/{token}/ws", s.serveSignal)
	mux.Handle("GET /assets/guest/", http.StripPrefix("/assets/guest/", http.FileServerFS(assets.Guest)))
	mux.HandleFunc("GET /upload/{take}", s.serveChunks)
	mux.HandleFunc("POST /upload/{take}/{n}", s.serveChunks)
	mux.HandleFunc("GET /api/state", s.control(s.apiState))
	mux.HandleFunc("POST /api/localrec", s.control(s.apiSwitch("localrec", s.SetLocalRecording)))
	mux.HandleFunc("GET /api/events", s.control(s.apiEvents))
	mux.HandleFunc("POST /api/stage", s.control(s.apiStage))
	mux.HandleFunc("POST /api/mute", s.control(s.apiMute))
	mux.HandleFunc("POST /api/solo", s.control(s.apiSolo))
	mux.HandleFunc("POST /api/musicmode", s.control(s.apiMusicMode))
	mux.HandleFunc("POST /api/volume", s.control(s.apiVolume))
	mux.HandleFunc("POST /api/delay", s.control(s.apiDelay))
	mux.HandleFunc("POST /api/loudness", s.control(s.apiLoudness))
	mux.HandleFunc("POST /api/autospotlight", s.control(s.apiSwitch("autospotlight", s.SetAutoSpotlight)))
	mux.HandleFunc("POST /api/music", s.control(s.apiMusic))
	mux.HandleFunc("POST /api/kick", s.control(s.apiKick))
	mux.HandleFunc("POST /api/live", s.control(s.apiLive))
	mux.HandleFunc("POST /api/rotate", s.control(s.apiRotate))
	mux.HandleFunc("GET /api/scene", s.control(s.apiScene))
	mux.HandleFunc("POST /api/scene", s.control(s.apiScene))
	mux.HandleFunc("GET /api/recordings", s.control(s.apiRecordings))
	mux.HandleFunc("/api/", s.control(func(w http.ResponseWriter, r *http.Request) {
		writeJSONError(w, http.StatusNotFound, fmt.Sprintf("no %s %s in the control API", r.Method, r.URL.Path))
	}))
	return securityHeaders(mux)
}

// securityHeaders applies to every response. The guest link carries its
// token in the path, so no page may leak it through a Referer header.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
		h.ServeHTTP(w, r)
	})
}

// The web server's limits (issue #14). A browser's request headers are a
// few hundred bytes; the guest link's token is in the path.
const (
	readHeaderTimeout = 10 * time.Second
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 16 << 10
	bodyTimeout       = 10 * time.Second // to send a control API body
)

func (s *Studio) serveGuestPage(w http.ResponseWriter, r *http.Request) {
	if s.tokenRefused(w, r, false) {
		return
	}
	if !s.guestTokenMatches(r.PathValue("token")) {
		s.forbidden(w, r)
		return
	}
	s.serveAsset(w, "index.html", http.StatusOK)
}

// forbidden is the friendly page for a wrong or old guest link, which
// costs the address a try (guard.go).
func (s *Studio) forbidden(w http.ResponseWriter, r *http.Request) {
	s.tokenFailed(r)
	s.log.Info("refused a guest link", "remote", r.RemoteAddr) // never the token
	s.serveAsset(w, "forbidden.html", http.StatusForbidden)
}

func (s *Studio) serveAsset(w http.ResponseWriter, name string, code int) {
	b, err := fs.ReadFile(assets.Guest, name)
	if err != nil { // only if the binary was built without its assets
		http.Error(w, "page missing from this build", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

// control wraps a control API handler with the token check.
func (s *Studio) control(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.tokenRefused(w, r, true) {
			return
		}
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			tok = r.URL.Query().Get("token")
		}
		if !s.controlToken.Matches(strings.TrimSpace(tok)) {
			s.tokenFailed(r)
			w.Header().Set("WWW-Authenticate", `Bearer realm="greenroom"`)
			writeJSONError(w, http.StatusUnauthorized, "missing or wrong control token")
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		h(w, r)
	}
}

func (s *Studio) apiState(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.State())
}

// eventsHeartbeat keeps idle event streams alive through proxies.
const eventsHeartbeat = 25 * time.Second

// apiEvents streams the show as Server-Sent Events: first "state" with the
// whole State, then one event per change named by its kind ("joined",
// "staged", ...) with the Event as data. After a gap in Seq (the client
// fell behind) a fresh "state" comes first, so a client never has to poll.
func (s *Studio) apiEvents(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		writeJSONError(w, http.StatusInternalServerError, "streaming unsupported")
		return
	}
	events, cancel := s.Subscribe()
	defer cancel()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no")
	send := func(name string, v any) bool {
		b, _ := json.Marshal(v)
		_, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name, b)
		flusher.Flush()
		return err == nil
	}
	// Subscribing before the snapshot means no change falls between them;
	// one may show twice, which a client applying state tolerates.
	if !send("state", s.State()) {
		return
	}
	beat := time.NewTicker(eventsHeartbeat)
	defer beat.Stop()
	var last uint64
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				return // the studio closed
			}
			if last != 0 && ev.Seq != last+1 && !send("state", s.State()) {
				return
			}
			last = ev.Seq
			if !send(string(ev.Kind), ev) {
				return
			}
		case <-beat.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return
			}
			flusher.Flush()
		case <-r.Context().Done():
			return
		}
	}
}

func (s *Studio) apiStage(w http.ResponseWriter, r *http.Request) { s.apiIDOn(w, r, "stage", s.Stage) }

func (s *Studio) apiMute(w http.ResponseWriter, r *http.Request) { s.apiIDOn(w, r, "mute", s.SetMuted) }

func (s *Studio) apiSolo(w http.ResponseWriter, r *http.Request) { s.apiIDOn(w, r, "solo", s.SetSolo) }

func (s *Studio) apiMusicMode(w http.ResponseWriter, r *http.Request) {
	s.apiIDOn(w, r, "musicmode", s.SetMusicMode)
}

// apiIDOn serves the commands that take {"id": "g1", "on": true}: /api/stage,
// /api/mute, /api/solo and /api/musicmode. An unknown id is a 404; a guest put on a full stage, 409.
func (s *Studio) apiIDOn(w http.ResponseWriter, r *http.Request, what string, do func(id string, on bool) error) {
	var req struct {
		ID string `json:"id"`
		On *bool  `json:"on"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	if req.ID == "" || req.On == nil {
		writeJSONError(w, http.StatusBadRequest, what+` needs {"id": "...", "on": true|false}`)
		return
	}
	if err := do(req.ID, *req.On); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, s.State())
}

func (s *Studio) apiKick(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ID string `json:"id"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	if req.ID == "" {
		writeJSONError(w, http.StatusBadRequest, `kick needs {"id": "..."}`)
		return
	}
	if err := s.Kick(req.ID); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, s.State())
}

// readOn reads the body {"on": true|false} of command what.
func readOn(w http.ResponseWriter, r *http.Request, what string) (on, ok bool) {
	var req struct {
		On *bool `json:"on"`
	}
	if !readJSON(w, r, &req) {
		return false, false
	}
	if req.On == nil {
		writeJSONError(w, http.StatusBadRequest, what+` needs {"on": true|false}`)
		return false, false
	}
	return *req.On, true
}

func (s *Studio) apiLive(w http.ResponseWriter, r *http.Request) {
	var req struct {
		On     *bool `json:"on"`
		DryRun bool  `json:"dryRun"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	if req.DryRun {
		// A preflight: the request succeeded whatever the destinations
		// said, so 200 either way; "ok" says whether all would take it.
		checks := []DestinationCheck{}
		if s.cfg.CheckLive != nil {
			checks = s.cfg.CheckLive(r.Context())
		}
		ok := true
		for _, c := range checks {
			ok = ok && c.OK
		}
		writeJSON(w, http.StatusOK, map[string]any{"ok": ok, "destinations": checks})
		return
	}
	if req.On == nil {
		writeJSONError(w, http.StatusBadRequest, `live needs {"on": true|false} or {"dryRun": true}`)
		return
	}
	on := *req.On
	if err := s.SetLive(on); err != nil {
		// The output failed, not the request: the message is for the user.
		writeJSONError(w, http.StatusBadGateway, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, s.State())
}

// apiSwitch is a POST {"on": true} that turns what (its path's name) on
// or off with set → State.
func (s *Studio) apiSwitch(what string, set func(on bool)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		on, ok := readOn(w, r, what)
		if !ok {
			return
		}
		set(on)
		writeJSON(w, http.StatusOK, s.State())
	}
}

func (s *Studio) apiRotate(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"guest_url": s.RotateGuestToken()})
}

// maxControlBody bounds control API requests; they are a few dozen bytes.
const maxControlBody = 4 << 10

func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	// A body that trickles in would hold the handler; the server has no
	// ReadTimeout (see New). Not every ResponseWriter can (tests').
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(bodyTimeout))
	defer func() { _ = rc.SetReadDeadline(time.Time{}) }()
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxControlBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			writeJSONError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body over %d bytes", maxControlBody))
		case errors.Is(err, io.EOF):
			writeJSONError(w, http.StatusBadRequest, "request body is empty; want a JSON object")
		default:
			writeJSONError(w, http.StatusBadRequest, "request body is not the expected JSON: "+err.Error())
		}
		return false
	}
	return true
}

func writeError(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	switch {
	case errors.Is(err, ErrNoParticipant):
		code = http.StatusNotFound
	case errors.Is(err, ErrClosed), errors.Is(err, ErrNoProgram):
		code = http.StatusServiceUnavailable
	case errors.Is(err, ErrStageFull):
		code = http.StatusConflict
	case isBadRequest(err), isBadMusic(err):
		code = http.StatusBadRequest
	}
	writeJSONError(w, code, err.Error())
}

func writeJSONError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
