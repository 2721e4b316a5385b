package rtmpout

import (
	"context"
	"fmt"
	"log/slog"
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

	// The last second arrives all at once and Close follows at once: it
	// must flush it.
	last := len(prog.packets) - 80
	feed(context.Background(), o, prog.packets[:last], 4)
	time.Sleep(100 * time.Millisecond) // let the meter see the packets
	st := o.Stats()
	for _, p := range prog.packets[last:] {
		o.Write(p)
	}
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

	judgeRecording(t, n.Recording(testKey), src)
	if strings.Contains(logs.String(), testKey) {
		t.Errorf("key in logs:\n%s", logs)
	}
	t.Logf("logs:\n%s", logs)
}

// judgeRecording checks what a server recorded of the program made from
// src (with audio, GOP 2 s) by probing it: h264 at src's size and rate,
// aac 48 kHz stereo, every frame, keyframes where we sent them.
func judgeRecording(t *testing.T, rec string, src mediatest.Source) {
	t.Helper()
	p := mediatest.ProbeFile(t, rec)
	if p.Video == nil || p.Video.Codec != "h264" || p.Video.Width != src.Width || p.Video.Height != src.Height {
		t.Errorf("video %+v, want h264 %dx%d", p.Video, src.Width, src.Height)
	}
	if p.Video != nil && math.Abs(p.Video.FPS-float64(src.FPS)) > 0.5 {
		t.Errorf("video at %v fps, want %d", p.Video.FPS, src.FPS)
	}
	if p.Audio == nil || p.Audio.Codec != "aac" || p.Audio.SampleRate != 48000 || p.Audio.Channels != 2 {
		t.Errorf("audio %+v, want aac 48000 Hz stereo", p.Audio)
	}
	if math.Abs(p.Duration-src.Duration.Seconds()) > 0.3 {
		t.Errorf("recording lasts %.2f s, want %.2f", p.Duration, src.Duration.Seconds())
	}
	// FLV timestamps: keyframes every GOP from 0.
	kf := mediatest.KeyframeTimes(t, rec)
	var want []float64
	for at := time.Duration(0); at < src.Duration; at += time.Duration(src.GOP) * time.Second / time.Duration(src.FPS) {
		want = append(want, at.Seconds())
	}
	if len(kf) != len(want) {
		t.Fatalf("keyframes at %v, want %v", kf, want)
	}
	for i := range kf {
		if math.Abs(kf[i]-want[i]) > 0.05 {
			t.Errorf("keyframes at %v, want %v", kf, want)
		}
	}
	if frames, want := mediatest.FrameCount(t, rec), int(src.Duration.Seconds()*float64(src.FPS)); frames != want {
		t.Errorf("%d frames recorded, want %d", frames, want)
	}
}

func TestNginxDenyPublish(t *testing.T) {
	n := mediatest.StartNginx(t, mediatest.NginxOptions{DenyPublish: true})
	logs := &logBuffer{}
	o := newOutput(t, n.URL(testKey), stream.Info{}, logs)
	err := waitFailed(t, o, ErrKeyRejected, 3*time.Second, logs)
	want := "rtmpout: publish to " + strings.Replace(n.URL(""), "/live/", "/live/****", 1) + ": the server refused the stream key: it accepted publish, then ended the stream"
	if !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %q, want it to start with %q", err, want)
	}
}

func TestNginxRejectKey(t *testing.T) {
	n := mediatest.StartNginx(t, mediatest.NginxOptions{RejectKeys: []string{testKey}})
	logs := &logBuffer{}
	o := newOutput(t, n.URL(testKey), stream.Info{}, logs)
	err := waitFailed(t, o, ErrKeyRejected, 3*time.Second, logs)
	if want := ": the server refused the stream key: it closed the connection after publish"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q, want it to say %q", err, want)
	}
}

// A connection lost after going live is retried on a fresh keyframe, and
// the stream continues.
func TestReconnectAfterDrop(t *testing.T) {
	src := mediatest.Source{Width: 320, Height: 180, FPS: 30, GOP: 30, Duration: 5 * time.Second, NoAudio: true}
	prog := makeProgram(t, src)
	prog.info.Video.Extradata = nil // parameter sets from the first keyframe, on each connection
	n := mediatest.StartNginx(t, mediatest.NginxOptions{})
	p := startProxy(t, fmt.Sprintf("127.0.0.1:%d", n.Port), nil)
	logs := &logBuffer{}
	o := newOutput(t, "rtmp://"+p.addr()+"/live/"+testKey, prog.info, logs)
	waitLive(t, o)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fed := make(chan struct{})
	go func() {
		defer close(fed)
		feed(ctx, o, prog.packets, 1)
	}()
	time.Sleep(1200 * time.Millisecond)
	p.cut()
	waitState(t, o, stream.Reconnecting, time.Second)
	if st := o.Stats(); st.Err == nil || strings.Contains(st.Err.Error(), testKey) {
		t.Errorf("Reconnecting with err %v", st.Err)
	}
	waitState(t, o, stream.Live, 4*time.Second) // 1 s backoff + 1 s probation
	if st := o.Stats(); st.Reconnects != 1 || p.accepted() != 2 {
		t.Errorf("stats %+v after %d connections: want 1 reconnect", st, p.accepted())
	}
	<-fed
	o.Close()
	n.WaitUnpublished(t, testKey, 5*time.Second)

	// The recording holds the second publish: it must start with a
	// keyframe and be decodable to the end.
	rec := n.Recording(testKey)
	pr := mediatest.ProbeFile(t, rec)
	if pr.Video == nil || pr.Video.Width != 320 {
		t.Fatalf("second publish probes as %+v", pr.Video)
	}
	kf := mediatest.KeyframeTimes(t, rec)
	frames := mediatest.VideoFrameTimes(t, rec)
	if len(kf) == 0 || len(frames) == 0 || kf[0] != frames[0] || frames[0] != 0 {
		t.Errorf("second publish: first frame at %v, keyframes at %v", frames[:min(len(frames), 1)], kf)
	}
	// Cut at 1.2 s, back at about 2.2 s, from the keyframe at 2 s to 5 s.
	if d := pr.Duration; d < 2 || d > 4 {
		t.Errorf("second publish lasts %.1f s, want about 3 s", d)
	}
	t.Logf("stats %+v; second publish %.2f s, keyframes %v", o.Stats(), pr.Duration, kf)
}

func waitState(t *testing.T, o *Output, want stream.State, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for o.Stats().State != want {
		if time.Now().After(deadline) {
			t.Fatalf("state %v after %v, want %v", o.Stats().State, limit, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// rtmps:// through a TLS front end, checking the certificate against the
// configured roots.
func TestPublishRTMPS(t *testing.T) {
	prog := makeProgram(t, mediatest.Source{Width: 320, Height: 180, Duration: 2 * time.Second})
	n := mediatest.StartNginx(t, mediatest.NginxOptions{})
	serverTLS, clientTLS := selfSigned(t)
	p := startProxy(t, fmt.Sprintf("127.0.0.1:%d", n.Port), serverTLS)
	url := "rtmps://" + p.addr() + "/live/" + testKey

	// Without the root the certificate is refused: unreachable, not live.
	logs := &logBuffer{}
	o := newOutput(t, url, prog.info, logs)
	err := waitFailed(t, o, ErrUnreachable, 2*time.Second, logs)
	if !strings.Contains(err.Error(), "certificate") {
		t.Errorf("error %q does not mention the certificate", err)
	}
	o.Close()

	o, err = New(Config{URL: url, Info: prog.info, TLS: clientTLS, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	waitLive(t, o)
	feed(context.Background(), o, prog.packets, 4)
	o.Close()
	n.WaitUnpublished(t, testKey, 5*time.Second)
	pr := mediatest.ProbeFile(t, n.Recording(testKey))
	if pr.Video == nil || pr.Audio == nil || math.Abs(pr.Duration-2) > 0.3 {
		t.Errorf("RTMPS recording probes as %+v, video %+v, audio %+v", pr, pr.Video, pr.Audio)
	}
}

// flood writes the program over and over, as fast as it can, until ctx
// ends: more than any network takes.
func flood(ctx context.Context, o *Output, prog program) {
	span := prog.packets[len(prog.packets)-1].DTS + time.Second
	for loop := time.Duration(0); ctx.Err() == nil; loop++ {
		for _, p := range prog.packets {
			q := *p
			q.PTS += loop * span
			q.DTS += loop * span
			o.Write(&q)
		}
		time.Sleep(time.Millisecond)
	}
}

// stall starts a live output behind a proxy, pauses the proxy and floods
// the output until its queue is backed up.
func stall(t *testing.T) (*Output, *logBuffer) {
	t.Helper()
	prog := makeProgram(t, mediatest.Source{Width: 640, Height: 360, Duration: time.Second})
	n := mediatest.StartNginx(t, mediatest.NginxOptions{})
	p := startProxy(t, fmt.Sprintf("127.0.0.1:%d", n.Port), nil)
	logs := &logBuffer{}
	o := newOutput(t, "rtmp://"+p.addr()+"/live/"+testKey, prog.info, logs)
	waitLive(t, o)
	p.pause()
	ctx, cancel := context.WithCancel(context.Background())
	flooded := make(chan struct{})
	go func() {
		defer close(flooded)
		flood(ctx, o, prog)
	}()
	t.Cleanup(func() { cancel(); <-flooded })
	// Stalled: packets wait, yet nothing has been written for a while.
	deadline := time.Now().Add(10 * time.Second)
	written, changed := o.Stats().Written, time.Now()
	for {
		st := o.Stats()
		if st.Written != written {
			written, changed = st.Written, time.Now()
		} else if st.Queue > 0 && time.Since(changed) > 500*time.Millisecond {
			return o, logs
		}
		if time.Now().After(deadline) {
			t.Fatalf("no stall 10 s into a paused network: %+v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A network that goes dark must not hold Close beyond its 2 s flush.
func TestCloseWhileStalled(t *testing.T) {
	o, _ := stall(t)
	start := time.Now()
	o.Close()
	if took := time.Since(start); took > flushTimeout+500*time.Millisecond {
		t.Errorf("Close on a stalled network took %v", took)
	}
	if st := o.Stats(); st.Dropped == 0 || st.State != stream.Closed {
		t.Errorf("stats %+v: want drops counted and closed", st)
	}
	t.Logf("Close took %v", time.Since(start).Round(time.Millisecond))
}

// A network that goes dark is a lost connection after writeStall.
func TestStallIsALostConnection(t *testing.T) {
	o, logs := stall(t)
	waitState(t, o, stream.Reconnecting, writeStall)
	st := o.Stats()
	if st.Err == nil || !strings.Contains(st.Err.Error(), "stalled") {
		t.Errorf("Reconnecting because of %v, want a stall", st.Err)
	}
	if strings.Contains(logs.String(), testKey) {
		t.Errorf("key in logs:\n%s", logs)
	}
	t.Logf("%v", st.Err)
}
