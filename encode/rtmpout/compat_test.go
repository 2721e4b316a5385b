package rtmpout

import (
	"context"
	"testing"
	"time"

	"greenroom/encode/mediatest"
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
