package music

import (
	"math"
	"slices"
	"time"

	"greenroom/encode/mixer"
)

// voice is one file playing: the music, or a jingle.
type voice struct {
	f      *file
	jingle bool
	pos    int64   // frames into the file (from its start again after a loop)
	played int64   // frames played in all (the fade in's clock)
	gain   float32 // the gain the last chunk ended on
	// fadeOut is the length of a stopping voice's fade, in frames, and
	// fadeLeft what is left of it; 0: not stopping.
	fadeOut, fadeLeft int64
	done              bool
}

// loop is the player's goroutine's own state: the voices and the ducking.
type loop struct {
	music   *voice   // the music, or nil
	gone    []*voice // music fading out after Stop or another Play
	jingles []*voice
	duck    float64       // dB the music is down for speech now (≤ 0)
	spoke   time.Duration // program time speech was last heard
	buf     []float32
	sum     []float32
}

// clickless is the shortest fade: a stop "at once" still takes 5 ms, so
// the sound does not end on a click.
const clickless = mixer.Rate / 200

func (l *loop) active() bool { return l.music != nil || len(l.gone) > 0 || len(l.jingles) > 0 }

// play makes f the music; what played fades out over fade.
func (l *loop) play(f *file, fade time.Duration) {
	l.stop(fade)
	l.music = &voice{f: f}
}

// stop starts the music's fade out.
func (l *loop) stop(fade time.Duration) {
	if l.music == nil {
		return
	}
	v := l.music
	v.fadeOut = max(int64(fade*mixer.Rate/time.Second), clickless)
	v.fadeLeft = v.fadeOut
	l.gone = append(l.gone, v)
	l.music = nil
}

func (l *loop) jingle(f *file) {
	if len(l.jingles) >= MaxJingles {
		l.jingles[0].f.close()
		l.jingles = l.jingles[1:]
	}
	l.jingles = append(l.jingles, &voice{f: f, jingle: true})
}

// closeAll ends every voice (the player closes).
func (l *loop) closeAll() {
	for _, v := range l.voices() {
		v.f.close()
	}
	l.music, l.gone, l.jingles = nil, nil, nil
}

func (l *loop) voices() []*voice {
	vs := slices.Concat(l.gone, l.jingles)
	if l.music != nil {
		vs = append(vs, l.music)
	}
	return vs
}

// moveDuck moves the ducking n frames on, toward −d.DB while someone
// spoke within hold, back to 0 after, at the attack's and release's
// rates (dB a frame).
func (l *loop) moveDuck(d Duck, speaking bool, now time.Duration, n int) {
	if speaking {
		l.spoke = now
	}
	target := 0.0
	if d.DB > 0 && (speaking || now-l.spoke < hold) && l.spoke > 0 {
		target = -d.DB
	}
	step := func(t time.Duration) float64 {
		if t <= 0 || d.DB <= 0 {
			return math.Inf(1)
		}
		return d.DB * float64(n) / (t.Seconds() * mixer.Rate)
	}
	switch {
	case l.duck > target:
		l.duck = max(target, l.duck-step(d.Attack))
	case l.duck < target:
		l.duck = min(target, l.duck+step(d.Release))
	}
}

// fill mixes the next n frames of every voice into l.sum (interleaved
// stereo), at the gains set says, and returns it; voices that have ended
// are closed. log is told of a file that fails.
func (l *loop) fill(n int, set Settings, log func(msg string, args ...any)) []float32 {
	l.sum = slices.Grow(l.sum[:0], n*mixer.Channels)[:n*mixer.Channels]
	l.buf = slices.Grow(l.buf[:0], n*mixer.Channels)[:n*mixer.Channels]
	clear(l.sum)
	for _, v := range l.voices() {
		got := l.read(v, set.Loop && v == l.music, log)
		target := l.gain(v, set, int64(n))
		ramp(l.sum, l.buf[:got], v.gain, target)
		v.gain = target
		if got < len(l.buf) || v.fadeOut > 0 && v.fadeLeft == 0 {
			v.done = true
		}
	}
	l.sweep()
	return l.sum
}

// read fills l.buf from v's file, from its start again at the end if
// loop; it returns how many samples it filled.
func (l *loop) read(v *voice, loop bool, log func(string, ...any)) int {
	got := 0
	for restarts := 0; got < len(l.buf) && restarts < 2; restarts++ {
		k, err := v.f.read(l.buf[got:])
		got += k
		v.pos += int64(k / mixer.Channels)
		if err != nil {
			log("music file failed", "file", v.f.path, "err", err)
			break
		}
		if got == len(l.buf) || !loop {
			break
		}
		again, err := openFile(v.f.path)
		if err != nil {
			log("music file cannot be read again to loop", "err", err)
			break
		}
		v.f.close()
		v.f, v.pos = again, 0
	}
	v.played += int64(got / mixer.Channels)
	return got
}

// gain is v's gain at the end of the chunk it has just read.
func (l *loop) gain(v *voice, set Settings, n int64) float32 {
	g := float32(1)
	if v.fadeOut > 0 {
		v.fadeLeft = max(0, v.fadeLeft-n)
		g = float32(v.fadeLeft) / float32(v.fadeOut)
	}
	if v.jingle {
		return g
	}
	g *= mixer.Gain(set.VolumeDB) * mixer.Gain(l.duck)
	if in := frames(set.FadeIn); in > 0 {
		g *= float32(min(1, float64(v.played)/float64(in)))
	}
	if out := frames(set.FadeOut); out > 0 && !set.Loop && v.f.length > 0 {
		g *= float32(min(1, max(0, float64(v.f.length-v.pos)/float64(out))))
	}
	return g
}

// sweep closes and forgets the voices that have ended.
func (l *loop) sweep() {
	ended := func(v *voice) bool {
		if v.done {
			v.f.close()
		}
		return v.done
	}
	if l.music != nil && ended(l.music) {
		l.music = nil
	}
	l.gone = slices.DeleteFunc(l.gone, ended)
	l.jingles = slices.DeleteFunc(l.jingles, ended)
}

// ramp adds src (interleaved stereo) into dst, its gain going linearly
// from g0 to g1 over the block: a change of volume without a click.
func ramp(dst, src []float32, g0, g1 float32) {
	n := len(dst) / mixer.Channels
	for i := 0; i < len(src); i++ {
		f := float32(i/mixer.Channels) / float32(n)
		dst[i] += src[i] * (g0 + (g1-g0)*f)
	}
}

func frames(d time.Duration) int64 { return int64(d * mixer.Rate / time.Second) }

// run is the player's goroutine: it serves requests and, while anything
// plays, writes chunk after chunk to keep lead ahead of the program's
// clock.
func (p *Player) run() {
	defer close(p.done)
	defer p.loop.closeAll()
	tick := time.NewTicker(time.Second * chunk / mixer.Rate)
	defer tick.Stop()
	written := int64(-1) // the program frame written up to; -1 idle
	for {
		var ticks <-chan time.Time
		if p.loop.active() {
			ticks = tick.C
		}
		select {
		case <-p.ctx.Done():
			return
		case f := <-p.requests:
			f()
		case <-ticks:
		}
		if !p.loop.active() {
			written = -1
			p.publish()
			continue
		}
		now := p.cfg.Now()
		// Starting, or late (the machine stalled): from now. The file goes
		// on where it was; the sinks' tracks wait for their prebuffer.
		written = max(written, frames(now))
		for written < frames(now)+lead {
			set := p.Settings()
			p.loop.moveDuck(set.Duck, p.speaking(), now, chunk)
			pcm := p.loop.fill(chunk, set, p.log.Warn)
			written += chunk
			p.write(pcm)
		}
		p.publish()
	}
}

func (p *Player) speaking() bool { return p.cfg.Speaking != nil && p.cfg.Speaking() }

// write hands pcm to every sink.
func (p *Player) write(pcm []float32) {
	p.mu.Lock()
	sinks := slices.Clone(p.sinks)
	p.mu.Unlock()
	for _, s := range sinks {
		if err := (*s).Write(pcm, mixer.Rate, mixer.Channels); err != nil {
			p.log.Warn("music sink", "err", err)
		}
	}
}

// publish makes what plays now the State.
func (p *Player) publish() {
	var s State
	if v := p.loop.music; v != nil {
		s.File = v.f.path
		s.Position = time.Duration(v.pos) * time.Second / mixer.Rate
		s.Length = time.Duration(v.f.length) * time.Second / mixer.Rate
	}
	s.Ducked = p.loop.duck
	for _, v := range p.loop.jingles {
		s.Jingles = append(s.Jingles, v.f.path)
	}
	p.mu.Lock()
	s.Settings = p.set
	p.state = s
	p.mu.Unlock()
}
