package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"greenroom/studio/settings"
)

// HostDevices is what the Settings tab's camera and microphone pickers need.
// A Show that has it gets the pickers; one without (a test's fake) does not.
type HostDevices interface {
	// Devices lists this machine's cameras and microphones.
	Devices() (cameras, mics []Device)
	// SetHostDevices makes the host's picture and sound the camera and
	// microphone with these labels — "" is the built-in test pattern's
	// picture or sound — at once, live or not. A device that cannot be
	// opened is replaced by the test pattern, and the error says which. It
	// may take a moment (a device opens): the window calls it off the UI
	// thread.
	SetHostDevices(camera, mic string) error
	// HostLevel is the host's sound level now, the peak of the last few
	// milliseconds, 0…1. It is cheap: the host's card polls it ten times a
	// second (when Monitor.Levels has no level for the host).
	HostLevel() float32
}

// Device is a camera or microphone as the pickers show it.
type Device struct {
	Label string // what the settings keep (settings.Host)
	Name  string // what the picker shows
}

// testPattern is the pickers' first choice, the label "".
const testPattern = "Test pattern"

// hostPickers are the Settings tab's camera and microphone pickers. Each
// choice is saved and applied at once.
type hostPickers struct {
	s      *Studio
	hd     HostDevices
	camera *widget.Select
	mic    *widget.Select
	err    *widget.Label
	labels map[*widget.Select]map[string]string // shown name → label

	// Quick changes must not end on an older one.
	switches latestOnly
}

// build returns the pickers, or nil if the show has no host devices.
func (p *hostPickers) build(s *Studio) fyne.CanvasObject {
	hd, ok := s.show.(HostDevices)
	if !ok {
		return nil
	}
	p.s, p.hd = s, hd
	cams, mics := hd.Devices()
	host := s.st.Get().Host
	p.labels = map[*widget.Select]map[string]string{}
	p.camera = p.picker(cams, host.Camera)
	p.mic = p.picker(mics, host.Mic)
	p.err = widget.NewLabel("")
	p.err.Importance = widget.DangerImportance
	p.err.Wrapping = fyne.TextWrapWord
	p.err.Hide()
	hint := widget.NewLabel("Test pattern: moving stripes and a clock; its sound is a beep every second.")
	hint.Wrapping = fyne.TextWrapWord
	hint.Importance = widget.LowImportance
	return container.NewVBox(
		widget.NewLabelWithStyle("You: camera and microphone", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		widget.NewForm(
			widget.NewFormItem("Camera", p.camera),
			widget.NewFormItem("Microphone", p.mic),
		),
		p.err, hint,
	)
}

// picker offers the test pattern and the devices, with chosen selected (and
// listed even if it is not plugged in now, so the choice stays visible).
func (p *hostPickers) picker(devs []Device, chosen string) *widget.Select {
	names := map[string]string{testPattern: ""}
	opts := []string{testPattern}
	selected := testPattern
	for _, d := range devs {
		name := d.Name
		if _, dup := names[name]; dup || name == "" {
			name = d.Label
		}
		names[name] = d.Label
		opts = append(opts, name)
		if d.Label == chosen {
			selected = name
		}
	}
	if chosen != "" && selected == testPattern {
		selected = chosen + " (not found)"
		names[selected] = chosen
		opts = append(opts, selected)
	}
	sel := widget.NewSelect(opts, nil)
	sel.SetSelected(selected)
	sel.OnChanged = func(string) { p.apply() }
	p.labels[sel] = names
	return sel
}

// apply saves the pickers' choice and switches the host to it.
func (p *hostPickers) apply() {
	camera, mic := p.labels[p.camera][p.camera.Selected], p.labels[p.mic][p.mic.Selected]
	p.s.save(func(set *settings.Settings) { set.Host = settings.Host{Camera: camera, Mic: mic} }, nil)
	p.switches.run(p.s, func() error { return p.hd.SetHostDevices(camera, mic) }, func(err error) {
		if err != nil {
			p.err.SetText(p.s.explain(err))
			p.err.Show()
		} else {
			p.err.Hide()
		}
	})
}
