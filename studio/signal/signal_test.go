package signal

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, in, wantErr string // wantErr: substring, "" for valid
	}{
		{"join", `{"type":"join","name":"Ann"}`, ""},
		{"join without name", `{"type":"join"}`, "needs a name"},
		{"join to keep a session", `{"type":"join","name":"Ann","id":"g1","resume":"k","keep":true}`, ""},
		{"join blank name", `{"type":"join","name":"  "}`, "needs a name"},
		{"offer", `{"type":"offer","sdp":"v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n"}`, ""},
		{"offer without sdp", `{"type":"offer"}`, "needs an sdp"},
		{"answer with junk sdp", `{"type":"answer","sdp":"hello"}`, "needs an sdp"},
		{"candidate", `{"type":"candidate","candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 5000 typ host","sdpMid":"0"}}`, ""},
		{"end of candidates", `{"type":"candidate","candidate":{"candidate":""}}`, ""},
		{"candidate missing", `{"type":"candidate"}`, "needs a candidate"},
		{"candidate wrong shape", `{"type":"candidate","candidate":"x"}`, "not a JSON object"},
		{"leave", `{"type":"leave"}`, ""},
		{"restart", `{"type":"restart"}`, ""},
		{"offer with sources", `{"type":"offer","sdp":"v=0\r\n","sources":{"0":"mic","1":"camera","2":"screen"}}`, ""},
		{"offer with unknown source", `{"type":"offer","sdp":"v=0\r\n","sources":{"0":"window"}}`, `unknown source kind "window"`},
		{"offer with empty mid", `{"type":"offer","sdp":"v=0\r\n","sources":{"":"screen"}}`, "1 to 32 bytes"},
		{"offer with long mid", `{"type":"offer","sdp":"v=0\r\n","sources":{"` + strings.Repeat("m", 33) + `":"screen"}}`, "1 to 32 bytes"},
		{"offer with many sources", `{"type":"offer","sdp":"v=0\r\n","sources":{"0":"mic","1":"mic","2":"mic","3":"mic","4":"mic","5":"mic","6":"mic","7":"mic","8":"mic"}}`, "over the limit"},
		{"share", `{"type":"share","sharing":true}`, ""},
		{"share stopped", `{"type":"share"}`, ""},
		{"music", `{"type":"music","music":true}`, ""},
		{"music off", `{"type":"music"}`, ""},
		{"music not a bool", `{"type":"music","music":"on"}`, "not a JSON object"},
		{"devices", `{"type":"devices","mic":false,"camera":true}`, ""},
		{"devices without camera", `{"type":"devices","mic":true}`, "needs mic and camera"},
		{"devices empty", `{"type":"devices"}`, "needs mic and camera"},
		{"devices null", `{"type":"devices","mic":null,"camera":false}`, "needs mic and camera"},
		{"devices not a bool", `{"type":"devices","mic":"off","camera":false}`, "not a JSON object"},
		{"view", `{"type":"view","sizes":{"g1":[640,360],"g2":[0,0],"g1/screen":[1280,720]}}`, ""},
		{"view of nobody", `{"type":"view"}`, ""},
		{"view negative", `{"type":"view","sizes":{"g1":[-1,360]}}`, "outside 0 to"},
		{"view huge", `{"type":"view","sizes":{"g1":[640,99999]}}`, "outside 0 to"},
		{"view fractional", `{"type":"view","sizes":{"g1":[640.5,360]}}`, "not a JSON object"},
		{"view empty id", `{"type":"view","sizes":{"":[640,360]}}`, "1 to 64 bytes"},
		{"view long id", `{"type":"view","sizes":{"` + strings.Repeat("g", 65) + `":[1,1]}}`, "1 to 64 bytes"},
		{"view of too many", `{"type":"view","sizes":{` + manyTiles(MaxViewSizes+1) + `}}`, "over the limit"},
		{"view not pairs", `{"type":"view","sizes":{"g1":"big"}}`, "not a JSON object"},
		// The studio's messages are not the guest's to send.
		{"record from a guest", `{"type":"record","take":"t","key":"k"}`, "studio's to send"},
		{"layers from a guest", `{"type":"layers","paused":["h"]}`, "studio's to send"},
		{"media from a guest", `{"type":"media","media":"failed","problem":"x"}`, `unknown message type "media"`},
		{"unknown type", `{"type":"launch"}`, `unknown message type "launch"`},
		{"no type", `{"name":"x"}`, "no type"},
		{"bad json", `{"type":`, "not a JSON object"},
		{"array", `[1,2]`, "not a JSON object"},
		{"empty", ``, "not a JSON object"},
		{"oversized", `{"type":"join","name":"` + strings.Repeat("a", MaxMessageSize) + `"}`, "over the"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.in))
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			case err != nil && !errors.Is(err, ErrInvalid):
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
		})
	}
}

// TestCheckLayers: what the studio may send in "layers" (paused rids).
func TestCheckLayers(t *testing.T) {
	for _, tc := range []struct {
		name    string
		m       Message
		wantErr string // substring, "" for valid
	}{
		{"none paused", Message{Type: TypeLayers}, ""},
		{"two paused", Message{Type: TypeLayers, Paused: []string{"h", "m"}}, ""},
		{"a long rid", Message{Type: TypeLayers, Paused: []string{"q_1-" + strings.Repeat("x", 12)}}, ""},
		{"not layers", Message{Type: TypeHealth, Paused: []string{"h"}}, "not a layers message"},
		{"empty rid", Message{Type: TypeLayers, Paused: []string{""}}, "1 to 16"},
		{"rid too long", Message{Type: TypeLayers, Paused: []string{strings.Repeat("h", 17)}}, "1 to 16"},
		{"rid with a quote", Message{Type: TypeLayers, Paused: []string{`h"`}}, "1 to 16"},
		{"rid twice", Message{Type: TypeLayers, Paused: []string{"h", "h"}}, "twice"},
		{"too many", Message{Type: TypeLayers, Paused: strings.Split("a b c d e f g h i", " ")}, "over the limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckLayers(tc.m)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

// manyTiles is n "view" entries, "t0":[1,1],...
func manyTiles(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"t%d":[1,1]`, i)
	}
	return b.String()
}
