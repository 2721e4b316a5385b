package settings

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"greenroom/studio"
)

// FuzzOpen: whatever is in the settings file (a hand edit, a crash, another
// version), Open neither panics nor fails: it loads it or moves it aside
// with the defaults. What it loads, the studio can use without panicking
// (every destination, server and the brand checked as the window does), and
// saving it as Update does and opening again gives the same settings.
func FuzzOpen(f *testing.F) {
	def, _ := json.Marshal(fileOf(Defaults()))
	f.Add(def)
	f.Add([]byte(`{"destinations":[{"id":"d1","service":"youtube","name":"YT","url":"rtmp://a.rtmp.youtube.com/live2","stream_key":"k","enabled":true}],` +
		`"output":{"width":1920,"height":1080,"fps":60,"video_kbps":6000},"recording_dir":"/tmp","host":{"camera":"/dev/video0","mic":"default"},` +
		`"window":{"width":1200,"height":800},"brands":[{"name":"B","color":"#ff0000"}],"brand":"B","banners":["hi"],"ticker":"t",` +
		`"network":{"ice_servers":["stun:stun.example.com:3478","turn:u:p@turn.example.com"],"nat_ip":"203.0.113.1"}}`))
	f.Add([]byte(`{"output":{"width":-1,"height":0,"fps":1e9},"network":{"ice_servers":["nope"]}}`))
	f.Add([]byte(`{"destinations":null,"brands":[null],"window":{"width":1e39}}`))
	f.Add([]byte(`{`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, FileName), data, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := Open(dir)
		var damaged *DamagedError
		var field *FieldError
		if err != nil && !errors.As(err, &damaged) && !errors.As(err, &field) {
			t.Fatalf("Open: %v", err)
		}
		if s == nil {
			t.Fatal("Open gave no Store")
		}
		got := s.Get()
		for _, d := range got.Destinations {
			_ = d.Validate()
			_ = d.PublishURL()
		}
		_, _ = got.BrandKit()
		_ = got.Network.Validate()
		var cfg studio.Config
		_ = got.Network.Configure(&cfg)
		// What Update saves (write, without its fsync, which would make
		// this target a disk benchmark).
		b, err := json.MarshalIndent(fileOf(got), "", "\t")
		if err != nil {
			t.Fatalf("saving what was loaded: %v", err)
		}
		if err := os.WriteFile(filepath.Join(dir, FileName), b, 0o600); err != nil {
			t.Fatal(err)
		}
		again, err := Open(dir)
		if err != nil {
			t.Fatalf("reopening what was saved: %v", err)
		}
		if back := again.Get(); !reflect.DeepEqual(back, got) {
			t.Fatalf("saved and reopened:\n%+v\nloaded:\n%+v", back, got)
		}
	})
}
