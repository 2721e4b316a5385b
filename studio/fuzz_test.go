package studio_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/ice/v4"

	"greenroom/studio"
	"greenroom/studio/signal"
)

// quietStudio is newStudio without the test log: fuzz workers may not log
// to their F once fuzzing.
func quietStudio(f *testing.F) *studio.Studio {
	return newStudio(f, func(c *studio.Config) { c.Logger = slog.New(slog.DiscardHandler) })
}

// FuzzParseICEServer: no URL panics ParseICEServer; what it accepts pion
// parses, and spelled back out (with the credentials) it reads the same;
// what it refuses never shows the password in the error.
func FuzzParseICEServer(f *testing.F) {
	for _, s := range []string{
		"stun:stun.l.google.com:19302",
		"stun:[2001:db8::1]:3478",
		"turn:ann:pa55word@turn.example.com:3478?transport=udp",
		"TURNS:ann:pa55word@turn.example.com:5349?transport=tcp",
		"turn:ann:pa55word@:3478?transport=carrier-pigeon",
		"turn:ann:pa:55@word@host",
		"stun:ann:pa55word@stun.example.com",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		srv, err := studio.ParseICEServer(in)
		if err != nil {
			// A password is what comes after the user's colon, before the
			// host's @; check the unambiguous ones.
			if _, rest, ok := strings.Cut(in, ":"); ok {
				if cred, _, ok := strings.Cut(rest, "@"); ok {
					if _, pass, ok := strings.Cut(cred, ":"); ok && len(pass) >= 6 && !strings.Contains(strings.Replace(in, pass, "", 1), pass) && strings.Contains(err.Error(), pass) {
						t.Fatalf("the password %q is in the error %q", pass, err)
					}
				}
			}
			return
		}
		if len(srv.URLs) != 1 {
			t.Fatalf("%d URLs", len(srv.URLs))
		}
		if _, err := ice.ParseURL(srv.URLs[0]); err != nil {
			t.Fatalf("accepted %q, which pion refuses: %v", srv.URLs[0], err)
		}
		again := srv.URLs[0]
		if srv.Username != "" {
			scheme, rest, _ := strings.Cut(again, ":")
			again = scheme + ":" + srv.Username + ":" + srv.Credential.(string) + "@" + rest
		}
		srv2, err := studio.ParseICEServer(again)
		if err != nil || srv2.URLs[0] != srv.URLs[0] || srv2.Username != srv.Username || srv2.Credential != srv.Credential {
			t.Fatalf("%q read back as %+v, %v; first %+v", again, srv2, err, srv)
		}
	})
}

// controlPaths are the control API's POST endpoints, by the fuzzer's index.
var controlPaths = []string{"/api/stage", "/api/mute", "/api/kick", "/api/live", "/api/scene", "/api/rotate", "/api/solo", "/api/volume"}

// FuzzControlAPI: every control endpoint's body, decoded and applied by the
// studio's own handler (with the right token). Whatever the body, the
// answer is JSON with a status the API documents, never a 500 or a panic.
func FuzzControlAPI(f *testing.F) {
	for i, body := range []string{
		`{"id":"host","on":true}`, `{"id":"g1","on":false}`, `{"id":"host"}`, `{"on":true}`,
		`{"layout":"spotlight","main":"host","fit":["host"],"banner":"Live","ticker":"Hi"}`, ``,
		`{"id":"host","on":true,"extra":1}`, `{"layout":"nope"}`, `{"on":null}`, `[]`, `{"id":1}`,
	} {
		f.Add(uint8(i), []byte(body))
	}
	f.Add(uint8(3), []byte(`{"dryRun":true}`)) // /api/live's preflight
	s := quietStudio(f)
	s.AttachTestScene()
	h := s.Handler()
	tok := "Bearer " + s.ControlToken().Reveal()
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		path := controlPaths[int(which)%len(controlPaths)]
		req := httptest.NewRequest("POST", path, bytes.NewReader(body))
		req.Header.Set("Authorization", tok)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusNotFound, http.StatusConflict, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("POST %s %q: %d %s", path, body, rec.Code, rec.Body)
		}
		var out map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("POST %s %q: %d, not JSON: %v", path, body, rec.Code, err)
		}
		if rec.Code != http.StatusOK && out["error"] == nil {
			t.Fatalf("POST %s %q: %d without an error message", path, body, rec.Code)
		}
	})
}

// FuzzSignaling: a guest's messages as the studio handles them, over a
// real WebSocket to an in-process studio. Each input is up to 8 messages,
// one a line, sent after a join; a second join then asks for the "already
// joined" error, which comes once the session has handled all of them (run
// takes them in order) — unless one ended it, which is fine too. The studio
// must neither panic nor stop answering.
func FuzzSignaling(f *testing.F) {
	for _, s := range []string{
		`{"type":"share","sharing":true}` + "\n" + `{"type":"devices","mic":false,"camera":true}`,
		`{"type":"candidate","candidate":{"candidate":"candidate:1 1 udp 2122260223 127.0.0.1 5000 typ host","sdpMid":"0"}}`,
		`{"type":"answer","sdp":"v=0\r\n"}` + "\n" + `{"type":"restart","stalled":true}`,
		`{"type":"offer","sdp":"v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n","sources":{"0":"screen"}}`,
		`{"type":"leave"}`,
		`{"type":"view","sizes":{"g1":[640,360],"host":[0,0]}}` + "\n" + `{"type":"view","sizes":{"g1":[-1,5]}}`,
		`{"type":"layers","paused":["h"]}` + "\n" + `{"type":"layers"}`, // the studio's to send
		`{"type":"nope"}` + "\n" + `[]`,
	} {
		f.Add(s)
	}
	s := quietStudio(f)
	wsURL := "ws" + strings.TrimPrefix(s.GuestURL(), "http") + "/ws"
	f.Fuzz(func(t *testing.T, in string) {
		ws, _, err := websocket.DefaultDialer.Dial(wsURL, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer ws.Close()
		_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
		if err := ws.WriteJSON(signal.Message{Type: signal.TypeJoin, Name: "Fuzz"}); err != nil {
			t.Fatal(err)
		}
		var welcome signal.Message
		if err := ws.ReadJSON(&welcome); err != nil || welcome.Type != signal.TypeWelcome {
			t.Fatalf("no welcome: %+v %v", welcome, err)
		}
		defer func() {
			// Leave, and wait until the studio has let the guest go, so
			// sessions don't pile up.
			_ = ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
			deadline := time.Now().Add(10 * time.Second)
			for find(s, welcome.ID).ID != "" {
				if time.Now().After(deadline) {
					t.Fatalf("guest %s still in the show", welcome.ID)
				}
				time.Sleep(time.Millisecond)
			}
		}()
		for i, line := range strings.SplitN(in, "\n", 8) {
			if i == 7 {
				break
			}
			if err := ws.WriteMessage(websocket.TextMessage, []byte(line)); err != nil {
				return // the studio ended the session
			}
		}
		if err := ws.WriteJSON(signal.Message{Type: signal.TypeJoin, Name: "again"}); err != nil {
			return
		}
		for {
			var m signal.Message
			err := ws.ReadJSON(&m)
			var closed *websocket.CloseError
			switch {
			case errors.As(err, &closed):
				return
			case err != nil:
				if strings.Contains(err.Error(), "timeout") {
					t.Fatalf("the studio did not answer within 10 s: %v", err)
				}
				return // it closed the socket
			case m.Type == signal.TypeError && m.Error == "already joined":
				return
			}
		}
	})
}
