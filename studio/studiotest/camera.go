package studiotest

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// CameraLayers encodes a moving test picture (ffmpeg's testsrc2, which
// changes every frame) into dir as the three simulcast layers Chromium
// sends a 720p camera in: h 1280x720, m 640x360, l 320x180, at 900, 300
// and 100 kb/s. That is about half Chromium's rates (1.7 Mb/s, 500 and
// 150 kb/s), so that a few such guests and their receivers fit this
// 2-core box, yet a downlink cap in Mb/s bites; the testdata layers are
// ten times smaller. Each file is 3 s with one keyframe, its first, as a
// browser sends one only when asked (a Client starts a layer's file over
// when the studio asks for that layer's keyframe); encoding them takes a
// second or two of CPU.
func CameraLayers(t testing.TB, dir string) []Layer {
	t.Helper()
	return cameraLayers(t, dir, [3]string{"900k", "300k", "100k"})
}

// ChromiumCameraLayers are CameraLayers at Chromium's own rates (1.7 Mb/s,
// 500 and 150 kb/s): what the program decodes of a real guest, for
// benchmarks of its CPU.
func ChromiumCameraLayers(t testing.TB, dir string) []Layer {
	t.Helper()
	return cameraLayers(t, dir, [3]string{"1700k", "500k", "150k"})
}

// cameraLayers encodes the three layers at rates (h, m, l).
func cameraLayers(t testing.TB, dir string, rates [3]string) []Layer {
	t.Helper()
	var layers []Layer
	for i, l := range []struct{ rid, size string }{
		{"h", "1280x720"}, {"m", "640x360"}, {"l", "320x180"},
	} {
		f := filepath.Join(dir, "camera-"+l.rid+".ivf")
		out, err := exec.Command("ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size="+l.size+":rate=30", "-t", "3",
			"-c:v", "libvpx", "-b:v", rates[i], "-g", "90", "-deadline", "realtime", "-cpu-used", "8", f).CombinedOutput()
		if err != nil {
			t.Fatalf("studiotest: encode layer %s: %v\n%s", l.rid, err, out)
		}
		layers = append(layers, Layer{RID: l.rid, IVF: f})
	}
	return layers
}
