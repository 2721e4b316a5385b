package rtmpout

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"greenroom/encode/mediatest"
	"greenroom/encode/stream"
)

// feed writes packets as an encoder would, speed times faster than real
// time, and stops early when ctx ends.
func feed(ctx context.Context, o *Output, packets []*stream.Packet, speed float64) {
	start := time.Now()
	base := packets[0].DTS
	for _, p := range packets {
		due := time.Duration(float64(p.DTS-base) / speed)
		if d := due - time.Since(start); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				return
			}
		}
		o.Write(p)
	}
}

func waitLive(t *testing.T, o *Output) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := o.WaitLive(ctx); err != nil {
		t.Fatalf("WaitLive: %v", err)
	}
	if st := o.Stats(); st.State != stream.Live {
		t.Fatalf("state %v after WaitLive", st.State)
	}
}

// The reference test: what nginx-rtmp records from us must probe as the
// program we sent.
func TestPublishToNginx(t *testing.T) {
	src := mediatest.Source{Width: 640, Height: 360, FPS: 30, GOP: 60, Duration: 4 * time.Second}
	prog := makeProgram(t, src)
	n := mediatest.StartNginx(t, mediatest.NginxOptions{})
	logs := &logBuffer{}
	o := newOutput(t, n.URL(testKey), prog.info, logs)
	waitLive(t, o)

	feed(context.Background(), o, prog.packets, 4)
	time.Sleep(100 * time.Millisecond) // let the meter see the last packets
	st := o.Stats()
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("stats before Close: %+v", st)
	if st.Dropped != 0 || st.Reconnects != 0 || st.Err != nil {
		t.Errorf("stats %+v: want no drops, reconnects or error", st)
	}
	if st.BitRate <= 0 || st.FPS <= 0 {
		t.Errorf("stats %+v: want a bit rate and a frame rate", st)
	}
	if final := o.Stats(); final.Written != int64(len(prog.packets)) || final.State != stream.Closed {
		t.Errorf("after Close: written %d of %d, state %v", final.Written, len(prog.packets), final.State)
	}
	n.WaitUnpublished(t, testKey, 5*time.Second)

	rec := n.Recording(testKey)
	p := mediatest.ProbeFile(t, rec)
	if p.Video == nil || p.Video.Codec != "h264" || p.Video.Width != 640 || p.Video.Height != 360 {
		t.Errorf("video %+v, want h264 640x360", p.Video)
	}
	if p.Video != nil && math.Abs(p.Video.FPS-30) > 0.5 {
		t.Errorf("video at %v fps, want 30", p.Video.FPS)
	}
	if p.Audio == nil || p.Audio.Codec != "aac" || p.Audio.SampleRate != 48000 || p.Audio.Channels != 2 {
		t.Errorf("audio %+v, want aac 48000 Hz stereo", p.Audio)
	}
	if math.Abs(p.Duration-src.Duration.Seconds()) > 0.3 {
		t.Errorf("recording lasts %.2f s, want %.2f", p.Duration, src.Duration.Seconds())
	}
	// FLV timestamps: keyframes every GOP (2 s) from 0.
	kf := mediatest.KeyframeTimes(t, rec)
	want := []float64{0, 2}
	if len(kf) != len(want) {
		t.Fatalf("keyframes at %v, want %v", kf, want)
	}
	for i := range kf {
		if math.Abs(kf[i]-want[i]) > 0.05 {
			t.Errorf("keyframes at %v, want %v", kf, want)
		}
	}
	if frames := mediatest.FrameCount(t, rec); frames != 120 {
		t.Errorf("%d frames recorded, want 120", frames)
	}
	if strings.Contains(logs.String(), testKey) {
		t.Errorf("key in logs:\n%s", logs)
	}
	t.Logf("logs:\n%s", logs)
}

func TestNginxDenyPublish(t *testing.T) {
	n := mediatest.StartNginx(t, mediatest.NginxOptions{DenyPublish: true})
	logs := &logBuffer{}
	o := newOutput(t, n.URL(testKey), stream.Info{}, logs)
	err := waitFailed(t, o, ErrKeyRejected, 3*time.Second, logs)
	want := "rtmpout: publish to " + strings.Replace(n.URL(""), "/live/", "/live/****", 1) + ": server refused the stream (wrong stream key?)"
	if !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %q, want it to start with %q", err, want)
	}
}

func TestNginxRejectKey(t *testing.T) {
	n := mediatest.StartNginx(t, mediatest.NginxOptions{RejectKeys: []string{testKey}})
	logs := &logBuffer{}
	o := newOutput(t, n.URL(testKey), stream.Info{}, logs)
	waitFailed(t, o, ErrKeyRejected, 3*time.Second, logs)
}
