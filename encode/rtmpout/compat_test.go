package rtmpout

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib"
	"github.com/bluenviron/gortmplib/pkg/codecs"

	"greenroom/encode/mediatest"
	"greenroom/encode/stream"
)

// Servers other than nginx-rtmp (TestPublishToNginx), each judged by
// ffprobe on what it wrote. Platforms run servers of their own (issue
// #13): the publisher must follow the protocol, not one server's habits.

// FFmpeg's server (libavformat/rtmpproto.c) answers FCPublish with a bare
// onFCPublish: a command with no transaction ID, which go-rtmp cannot
// decode. That decode failure once ended in io.EOF and was taken for the
// server hanging up ("server closed the connection while waiting for
// createStream answer"); it must be skipped like any message we don't use.
func TestPublishToFFmpegServer(t *testing.T) {
	src := mediatest.Source{Width: 320, Height: 180, FPS: 30, GOP: 30, Duration: 2 * time.Second}
	prog := makeProgram(t, src)
	srv := mediatest.StartFFmpegServer(t, testKey)
	logs := &logBuffer{}
	o := newOutput(t, srv.URL(), prog.info, logs)
	waitLive(t, o)
	feed(context.Background(), o, prog.packets, 4)
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	if st := o.Stats(); st.Written != int64(len(prog.packets)) || st.Dropped != 0 || st.Reconnects != 0 {
		t.Errorf("stats %+v: want all %d packets written, no drops or reconnects", st, len(prog.packets))
	}
	srv.Wait(t, 5*time.Second)
	judgeRecording(t, srv.Recording, src)
}

// mtxResult is what the MediaMTX server took of a publish.
type mtxResult struct {
	err         error  // why the session ended, if not by our hanging up
	video       []byte // the H.264 it received, Annex B, parameter sets included
	videoAUs    int
	audioAUs    int
	audioConfig string // "48000 Hz, 2 channels"
}

// startMediaMTX serves one publish with gortmplib, MediaMTX's RTMP code as
// a library: a third server implementation, written from the spec in Go
// (Enhanced RTMP too), sharing nothing with go-rtmp. With reject it
// refuses the publish as MediaMTX does on bad credentials: an onStatus
// error, NetStream.Publish.Unauthorized.
func startMediaMTX(t *testing.T, reject bool) (string, <-chan mtxResult) {
	done := make(chan mtxResult, 1)
	addr := serveTCP(t, func(c net.Conn) {
		defer c.Close()
		var res mtxResult
		res.err = serveMediaMTX(c, reject, &res)
		if errors.Is(res.err, io.EOF) {
			res.err = nil // we hung up: the end of the publish
		}
		done <- res
	})
	return addr, done
}

func serveMediaMTX(c net.Conn, reject bool, res *mtxResult) error {
	c.SetDeadline(time.Now().Add(10 * time.Second))
	sc := &gortmplib.ServerConn{RW: c}
	if err := sc.Initialize(); err != nil {
		return err
	}
	if err := sc.AcceptConn(); err != nil {
		return err
	}
	if !sc.Publish {
		return errors.New("not a publish")
	}
	if reject {
		return sc.RejectAction()
	}
	r := &gortmplib.Reader{Conn: sc}
	if err := r.Initialize(); err != nil {
		return err
	}
	for _, track := range r.Tracks() {
		switch codec := track.Codec.(type) {
		case *codecs.H264:
			r.OnDataH264(track, func(_, _ time.Duration, au [][]byte) {
				res.videoAUs++
				for _, nalu := range au {
					res.video = append(append(res.video, 0, 0, 0, 1), nalu...)
				}
			})
		case *codecs.MPEG4Audio:
			res.audioConfig = fmt.Sprintf("%d Hz, %d channels", codec.Config.SampleRate, codec.Config.ChannelConfig)
			r.OnDataMPEG4Audio(track, func(time.Duration, []byte) { res.audioAUs++ })
		}
	}
	for {
		if err := r.Read(); err != nil {
			return err
		}
	}
}

func TestPublishToMediaMTXServer(t *testing.T) {
	src := mediatest.Source{Width: 320, Height: 180, FPS: 30, GOP: 30, Duration: 2 * time.Second}
	prog := makeProgram(t, src)
	addr, done := startMediaMTX(t, false)
	logs := &logBuffer{}
	o := newOutput(t, "rtmp://"+addr+"/live/"+testKey, prog.info, logs)
	waitLive(t, o)
	feed(context.Background(), o, prog.packets, 4)
	o.Close()
	var res mtxResult
	select {
	case res = <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the server did not see the publish end")
	}
	if res.err != nil {
		t.Fatalf("the server ended the session: %v", res.err)
	}
	var video, audio int
	for _, p := range prog.packets {
		if p.Kind == stream.Video {
			video++
		} else {
			audio++
		}
	}
	// The sequence header counts as one more video access unit.
	if res.videoAUs != video+1 || res.audioAUs != audio || res.audioConfig != "48000 Hz, 2 channels" {
		t.Errorf("server took %d video AUs, %d audio AUs of %s; want %d, %d of 48000 Hz, 2 channels",
			res.videoAUs, res.audioAUs, res.audioConfig, video+1, audio)
	}
	es := filepath.Join(t.TempDir(), "mediamtx.h264")
	if err := os.WriteFile(es, res.video, 0o644); err != nil {
		t.Fatal(err)
	}
	p := mediatest.ProbeFile(t, es)
	if p.Video == nil || p.Video.Codec != "h264" || p.Video.Width != src.Width || p.Video.Height != src.Height {
		t.Errorf("video %+v, want h264 %dx%d", p.Video, src.Width, src.Height)
	}
	if n := mediatest.FrameCount(t, es); n != video {
		t.Errorf("%d frames decode, want %d", n, video)
	}
}

// MediaMTX refuses a publish in words: that, and only that, blames the key.
func TestMediaMTXRefusesInWords(t *testing.T) {
	addr, done := startMediaMTX(t, true)
	logs := &logBuffer{}
	o := newOutput(t, "rtmp://"+addr+"/live/"+testKey, stream.Info{}, logs)
	err := waitFailed(t, o, ErrKeyRejected, time.Second, logs)
	if want := ": the server refused the stream key: it answered publish with NetStream.Publish.Unauthorized (authentication failed)"; !strings.HasSuffix(err.Error(), want) {
		t.Errorf("error %q, want it to end with %q", err, want)
	}
	o.Close()
	<-done
}
