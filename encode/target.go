package encode

import (
	"errors"
	"time"

	"greenroom/encode/compositor"
)

// Target is where a source writes its pictures and samples: a program
// Input, the host's conference feed (package feed), or a Tee of several.
type Target interface {
	NewFrame(w, h int) *compositor.Frame
	WriteVideo(f *compositor.Frame) // takes the caller's reference
	WriteAudio(pcm []float32, rate, channels int) error
}

// AudioAt is a Target that can place samples by their media time (a
// program Input); sources that know when their sound belongs use it.
type AudioAt interface {
	WriteAudioAt(pcm []float32, rate, channels int, at time.Duration) error
}

// writeAudio writes with the time when the target takes it, else plainly.
func writeAudio(t Target, pcm []float32, rate, channels int, at time.Duration) error {
	if ta, ok := t.(AudioAt); ok {
		return ta.WriteAudioAt(pcm, rate, channels, at)
	}
	return t.WriteAudio(pcm, rate, channels)
}

// VideoAt is a Target that can show pictures at their media time (a
// program Input: the frame nearest it); sources that know when their
// picture belongs use it.
type VideoAt interface {
	WriteVideoAt(f *compositor.Frame, at time.Duration)
}

// writeVideo writes with the time when the target takes it, else plainly.
func writeVideo(t Target, f *compositor.Frame, at time.Duration) {
	if tv, ok := t.(VideoAt); ok {
		tv.WriteVideoAt(f, at)
		return
	}
	t.WriteVideo(f)
}

// Tee writes one source into several targets: the host's camera goes into
// the program and, smaller, to the guests. Pictures are shared, not
// copied: each target gets a reference of its own.
func Tee(targets ...Target) Target { return tee(targets) }

type tee []Target

func (t tee) NewFrame(w, h int) *compositor.Frame { return t[0].NewFrame(w, h) }

func (t tee) WriteVideo(f *compositor.Frame) {
	for range t[1:] {
		f.Retain()
	}
	for _, x := range t {
		x.WriteVideo(f)
	}
}

func (t tee) WriteVideoAt(f *compositor.Frame, at time.Duration) {
	for range t[1:] {
		f.Retain()
	}
	for _, x := range t {
		writeVideo(x, f, at)
	}
}

func (t tee) WriteAudio(pcm []float32, rate, channels int) error {
	var errs []error
	for _, x := range t {
		if err := x.WriteAudio(pcm, rate, channels); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (t tee) WriteAudioAt(pcm []float32, rate, channels int, at time.Duration) error {
	var errs []error
	for _, x := range t {
		if err := writeAudio(x, pcm, rate, channels, at); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
