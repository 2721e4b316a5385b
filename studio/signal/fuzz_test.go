package signal

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
)

// FuzzParse: whatever a page sends, Parse neither panics nor lets through a
// message the studio's handler would trip on (the fields its type needs),
// and what it accepts survives a round trip through JSON (the studio
// re-encodes what it forwards). The seeds are the messages a page sends;
// testdata/fuzz/FuzzParse holds any input that once broke it.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"type":"join","name":"Ann"}`,
		`{"type":"join","name":"Ann","id":"g1","resume":"k","keep":true}`,
		`{"type":"offer","sdp":"v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n","sources":{"0":"mic","1":"camera","2":"screen"}}`,
		`{"type":"answer","sdp":"v=0\r\n"}`,
		`{"type":"candidate","candidate":{"candidate":"candidate:1 1 udp 2122260223 192.168.1.2 54321 typ host","sdpMid":"0","sdpMLineIndex":0}}`,
		`{"type":"candidate","candidate":{"candidate":""}}`,
		`{"type":"devices","mic":true,"camera":false}`,
		`{"type":"share","sharing":true}`,
		`{"type":"restart","stalled":true}`,
		`{"type":"leave"}`,
		`{"type":"music","music":true}`,
		`{"type":"music"}`,
		`{"type":"view","sizes":{"g1":[640,360],"g2":[0,0],"g1/screen":[1280,720]}}`,
		`{"type":"view","sizes":{"g1":[1,2,3]}}`,
		`{"type":"view","sizes":{"g1":[-5,1e9]}}`,
		`{"type":"layers","paused":["h","m"]}`, // the studio's: refused
		`{"type":"candidate","candidate":null}`,
		`{"type":"devices","mic":null}`,
		`[]`, `null`, `{"type":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkLayersRoundTrip(t, data)
		m, err := Parse(data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		switch m.Type {
		case TypeJoin:
			if strings.TrimSpace(m.Name) == "" {
				t.Fatal("join without a name accepted")
			}
		case TypeOffer, TypeAnswer:
			if !strings.HasPrefix(m.SDP, "v=0") || len(m.Sources) > MaxSources {
				t.Fatalf("%s accepted: sdp %.20q, %d sources", m.Type, m.SDP, len(m.Sources))
			}
		case TypeDevices:
			if m.Mic == nil || m.Camera == nil {
				t.Fatal("devices accepted without mic or camera")
			}
		case TypeCandidate:
			if m.Candidate == nil {
				t.Fatal("candidate accepted without a candidate")
			}
		case TypeView:
			if len(m.Sizes) > MaxViewSizes {
				t.Fatalf("view of %d tiles accepted", len(m.Sizes))
			}
			for id, wh := range m.Sizes {
				if id == "" || len(id) > 64 || min(wh[0], wh[1]) < 0 || max(wh[0], wh[1]) > MaxViewPixels {
					t.Fatalf("view accepted: %q %v", id, wh)
				}
			}
		case TypeShare, TypeLeave, TypeRestart, TypeMusic:
		default:
			t.Fatalf("type %q accepted", m.Type)
		}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("marshal what Parse accepted: %v", err)
		}
		if len(b) <= MaxMessageSize {
			if _, err := Parse(b); err != nil {
				t.Fatalf("re-encoded message refused: %v\n%s", err, b)
			}
		}
	})
}

// checkLayersRoundTrip: a "layers" the studio would send (CheckLayers
// passes) reaches the page as it was, every rid valid again.
func checkLayersRoundTrip(t *testing.T, data []byte) {
	var m Message
	if json.Unmarshal(data, &m) != nil || m.Type != TypeLayers || CheckLayers(m) != nil {
		return
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatalf("marshal a valid layers: %v", err)
	}
	var back Message
	if err := json.Unmarshal(b, &back); err != nil || CheckLayers(back) != nil || !slices.Equal(back.Paused, m.Paused) {
		t.Fatalf("layers %q came back as %q (%v)", m.Paused, back.Paused, err)
	}
}
