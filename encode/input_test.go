package encode_test

import (
	"context"
	"image"
	"math"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"greenroom/encode"
	"greenroom/encode/mediatest"
	"greenroom/encode/scene"
)

// solid paints a whole picture one luma, grey.
func solid(y uint8) func(*image.YCbCr) {
	return func(img *image.YCbCr) {
		for i := range img.Y {
			img.Y[i] = y
		}
		for i := range img.Cb {
			img.Cb[i], img.Cr[i] = 128, 128
		}
	}
}

// feed is a live source: a w×h picture painted by paint 15 times a second
// and, if tone, a 440 Hz sine at half scale placed just ahead of the
// program clock, until ctx ends.
func feed(ctx context.Context, p *encode.Pipeline, in *encode.Input, w, h int, paint func(*image.YCbCr), tone bool) {
	const step = 20 * time.Millisecond
	pcm := make([]float32, 2*48000*int(step)/int(time.Second))
	at := p.Clock().Now() + 100*time.Millisecond
	sample := 0
	tick := time.NewTicker(step)
	defer tick.Stop()
	for n := 0; ; n++ {
		if n%3 == 0 {
			f := in.NewFrame(w, h)
			paint(&f.YCbCr)
			in.WriteVideo(f)
		}
		for tone && at < p.Clock().Now()+150*time.Millisecond {
			for i := 0; i < len(pcm); i += 2 {
				v := 0.5 * float32(math.Sin(2*math.Pi*440*float64(sample)/48000))
				pcm[i], pcm[i+1] = v, v
				sample++
			}
			in.WriteAudioAt(pcm, 48000, 2, at)
			at += step
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
}

// feedAll starts feed for each input and returns a function that stops
// them all and waits.
func feedAll(p *encode.Pipeline, start ...func(ctx context.Context)) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, f := range start {
		wg.Add(1)
		go func() { defer wg.Done(); f(ctx) }()
	}
	return func() { cancel(); wg.Wait() }
}

// A hidden input is out of the picture and the mix but metered; shown, it
// comes into both; muted, it stays in the picture, out of the mix, and
// metered. Judged by ffmpeg on a recording of the program.
func TestHiddenAndMutedInputs(t *testing.T) {
	p, err := encode.New(encode.Config{Width: 320, Height: 180, FPS: 30})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	path := filepath.Join(t.TempDir(), "program.mkv")
	rec := addRecorder(t, p, path)
	// Solo on b: while b is hidden the layout shows a alone, as if b did
	// not exist; shown, b (white, a tone) fills the frame.
	if err := p.SetScene(scene.Scene{Layout: scene.Solo, Main: "b"}); err != nil {
		t.Fatal(err)
	}
	a := p.AddInput("a")
	b := p.AddHiddenInput("b")
	if !b.Hidden() || p.Input("b") != b || p.Input("nobody") != nil {
		t.Fatal("AddHiddenInput: not hidden, or not found by name")
	}
	stop := feedAll(p,
		func(ctx context.Context) { feed(ctx, p, a, 320, 180, solid(60), false) },
		func(ctx context.Context) { feed(ctx, p, b, 320, 180, solid(235), true) })
	defer stop()

	// phase waits d and checks b's level all along: the meter works
	// whether b is hidden, shown or muted.
	phase := func(name string, d time.Duration) (from, to time.Duration) {
		from = p.Clock().Now()
		var loudest float32
		for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
			loudest = max(loudest, p.Levels()["b"])
		}
		if loudest < 0.4 || loudest > 0.55 {
			t.Errorf("%s: b's level at most %.2f, want its tone's 0.5", name, loudest)
		}
		return from, p.Clock().Now()
	}
	hidFrom, hidTo := phase("hidden", 1500*time.Millisecond)
	b.SetHidden(false)
	shownFrom, shownTo := phase("shown", 1500*time.Millisecond)
	b.SetMuted(true)
	mutedFrom, mutedTo := phase("muted", 1500*time.Millisecond)
	if err := p.RemoveOutput(rec); err != nil {
		t.Fatal(err)
	}

	margin := 400 * time.Millisecond // the tile's move, the tone's lead
	for _, c := range []struct {
		name       string
		from, to   time.Duration
		loud, dark bool
	}{
		{"hidden", hidFrom + margin, hidTo, false, true},
		{"shown", shownFrom + margin, shownTo, true, false},
		{"muted", mutedFrom + margin, mutedTo, false, false},
	} {
		level := mediatest.AudioLevel(t, path, c.from, c.to)
		if c.loud && level < -20 || !c.loud && level > -60 {
			t.Errorf("%s: the mix's mean volume %.1f dB, want the tone: %v", c.name, level, c.loud)
		}
		luma := mediatest.MeanLuma(mediatest.Frame(t, path, (c.from+c.to)/2))
		if c.dark && luma > 90 || !c.dark && luma < 200 {
			t.Errorf("%s: the picture's mean luma %.0f, want a's grey: %v (b's white otherwise)", c.name, luma, c.dark)
		}
	}
}

// Every input with a picture gets thumbnails, hidden ones too, at the size
// asked for, cropped (not letterboxed) to its shape, about fps a second;
// SetThumbnails(nil) stops them before it returns.
func TestThumbnails(t *testing.T) {
	p, err := encode.New(encode.Config{Width: 320, Height: 180, FPS: 30})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	a := p.AddInput("a")
	b := p.AddHiddenInput("b")
	p.AddInput("no picture")
	c := p.AddInput("c") // leaves after its first thumbnails
	// b is 4:3 with black bands above and below the part a 16:9 crop
	// keeps (rows 40 to 400 of 480: a third of the spare height above):
	// cropped, its thumbnail is white edge to edge; letterboxed, it would
	// have bars; scaled whole, the black bands.
	banded := func(img *image.YCbCr) {
		solid(235)(img)
		for y := range 480 {
			if y < 40 || y >= 400 {
				row := img.Y[y*img.YStride : y*img.YStride+640]
				for i := range row {
					row[i] = 16
				}
			}
		}
	}
	f := c.NewFrame(64, 36)
	solid(60)(&f.YCbCr)
	c.WriteVideo(f)
	stop := feedAll(p,
		func(ctx context.Context) { feed(ctx, p, a, 640, 360, solid(60), false) },
		func(ctx context.Context) { feed(ctx, p, b, 640, 480, banded, false) })
	defer stop()

	var mu sync.Mutex
	count := map[string]int{}
	luma := map[string][2]float64{} // mean, darkest
	gone := map[string]int{}        // nil thumbnails, by name
	p.SetThumbnails(160, 90, 5, func(name string, img *image.RGBA) {
		if img == nil {
			mu.Lock()
			gone[name]++
			mu.Unlock()
			return
		}
		if img.Rect.Dx() != 160 || img.Rect.Dy() != 90 {
			t.Errorf("%s: thumbnail %v, want 160x90", name, img.Rect)
		}
		var sum, darkest float64 = 0, 255
		for y := 0; y < 90; y++ {
			for x := 0; x < 160; x++ {
				l := float64(img.Pix[img.PixOffset(x, y)+1]) // green, about luma for grey
				sum += l
				darkest = min(darkest, l)
			}
		}
		mu.Lock()
		count[name]++
		luma[name] = [2]float64{sum / (160 * 90), darkest}
		mu.Unlock()
	})
	time.Sleep(time.Second)
	c.Close()
	time.Sleep(time.Second)
	p.SetThumbnails(0, 0, 0, nil)
	mu.Lock()
	got := map[string]int{}
	for k, v := range count {
		got[k] = v
	}
	mu.Unlock()
	for _, name := range []string{"a", "b"} {
		if n := got[name]; n < 7 || n > 12 {
			t.Errorf("%s: %d thumbnails in 2 s, want about 10 (5 a second)", name, n)
		}
	}
	if n := got["no picture"]; n != 0 {
		t.Errorf("an input without a picture got %d thumbnails", n)
	}
	if got["c"] != 1 || gone["c"] != 1 || len(gone) != 1 {
		t.Errorf("c (one picture, then closed): %d thumbnails, then %v nil ones; want 1 and one nil for c alone", got["c"], gone)
	}
	if l := luma["a"]; math.Abs(l[0]-51) > 8 {
		t.Errorf("a's thumbnail mean %.0f, want its grey (51)", l[0])
	}
	if l := luma["b"]; l[0] < 245 || l[1] < 200 {
		t.Errorf("b's thumbnail mean %.0f, darkest %.0f: want white edge to edge (cropped to 16:9)", l[0], l[1])
	}
	time.Sleep(500 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	for k, v := range count {
		if v != got[k] {
			t.Errorf("%s: %d thumbnails after SetThumbnails(nil) returned", k, v-got[k])
		}
	}
}

// A picture placed at its instant (WriteVideoAt: a guest's, by their
// sender's clock) is in the program frame nearest that instant, half a
// frame either way, not the first frame after it: a flash placed 5 or 12
// ms after a tick is in that tick's frame, one 22 or 28 ms after in the
// next, one 12 ms before in the tick's. Judged in a recording, by ffprobe.
func TestPicturePlacedInTheNearestFrame(t *testing.T) {
	p, err := encode.New(encode.Config{Width: 320, Height: 180, FPS: 30})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	in := p.AddInput("guest")
	put := func(y uint8, at time.Duration) {
		f := in.NewFrame(320, 180)
		solid(y)(&f.YCbCr)
		in.WriteVideoAt(f, at)
	}
	put(16, p.Clock().Now())
	rec := addRecorder(t, p, filepath.Join(t.TempDir(), "program.mkv"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start, err := rec.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const interval = time.Second / 30 // the pipeline's own (runVideo)
	var want []time.Duration          // each flash's nearest tick
	for _, off := range []time.Duration{5, 12, 22, 28, -12} {
		at := (p.Clock().Now()/interval+10)*interval + off*time.Millisecond // ~300 ms ahead
		put(235, at)
		put(16, at+interval)
		want = append(want, (at+interval/2)/interval*interval)
		time.Sleep(400 * time.Millisecond)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	flashes := mediatest.FlashTimes(t, rec.Name(), 200)
	t.Logf("flashes in the file %.3f s; start %v; want at program times %v", flashes, start, want)
	found := 0
	for i, w := range want {
		inFile := (w - start).Seconds()
		for _, f := range flashes {
			if d := f - inFile; math.Abs(d) < 0.003 {
				found++
			} else if math.Abs(d) < 0.05 {
				t.Errorf("flash %d in the frame at %+.0f ms from its nearest", i, d*1000)
			}
		}
	}
	// A frame the loop skipped (far behind, under load) loses its flash
	// without misplacing it.
	if found < 3 {
		t.Errorf("%d of %d flashes in their nearest frame, want ≥ 3", found, len(want))
	}
}
