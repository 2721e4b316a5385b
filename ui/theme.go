package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
)

// studioTheme is Fyne's default theme, always dark — a studio is looked at
// next to video, and bright chrome around a program preview distracts — with
// a brand blue for primary actions and a broadcast red for "live".
type studioTheme struct{}

var (
	colorBrand    = color.NRGBA{R: 0x3d, G: 0x7b, B: 0xff, A: 0xff}
	colorLive     = color.NRGBA{R: 0xe5, G: 0x2b, B: 0x35, A: 0xff}
	colorOK       = color.NRGBA{R: 0x2e, G: 0xc2, B: 0x7e, A: 0xff}
	colorWarn     = color.NRGBA{R: 0xf5, G: 0xa6, B: 0x23, A: 0xff}
	colorMuted    = color.NRGBA{R: 0x8a, G: 0x90, B: 0x9c, A: 0xff}
	colorCard     = color.NRGBA{R: 0x24, G: 0x27, B: 0x2e, A: 0xff}
	colorPanel    = color.NRGBA{R: 0x1b, G: 0x1d, B: 0x22, A: 0xff}
	colorBG       = color.NRGBA{R: 0x13, G: 0x14, B: 0x18, A: 0xff}
	colorProgram  = color.NRGBA{R: 0x00, G: 0x00, B: 0x00, A: 0xff}
	colorErrorBox = color.NRGBA{R: 0x5c, G: 0x1a, B: 0x1f, A: 0xff}
)

func (studioTheme) Color(n fyne.ThemeColorName, _ fyne.ThemeVariant) color.Color {
	switch n {
	case theme.ColorNamePrimary, theme.ColorNameFocus:
		return colorBrand
	case theme.ColorNameError:
		return colorLive
	case theme.ColorNameSuccess:
		return colorOK
	case theme.ColorNameWarning:
		return colorWarn
	case theme.ColorNameBackground:
		return colorBG
	case theme.ColorNameInputBackground:
		return colorCard
	case theme.ColorNameMenuBackground, theme.ColorNameOverlayBackground:
		return colorPanel
	}
	return theme.DefaultTheme().Color(n, theme.VariantDark)
}

func (studioTheme) Font(s fyne.TextStyle) fyne.Resource     { return theme.DefaultTheme().Font(s) }
func (studioTheme) Icon(n fyne.ThemeIconName) fyne.Resource { return theme.DefaultTheme().Icon(n) }
func (studioTheme) Size(n fyne.ThemeSizeName) float32 {
	if n == theme.SizeNameInputRadius || n == theme.SizeNameSelectionRadius {
		return 6
	}
	return theme.DefaultTheme().Size(n)
}

// pill is a rounded badge of colour c around t, like a broadcast tally light.
func pill(c color.Color, t *canvas.Text) *fyne.Container {
	bg := canvas.NewRectangle(c)
	bg.CornerRadius = 12
	return container.NewStack(bg, container.New(layout.NewCustomPaddedLayout(4, 4, 12, 12), t))
}

// minWidth is an invisible object that keeps a stack at least w wide.
func minWidth(w float32) fyne.CanvasObject {
	r := canvas.NewRectangle(color.Transparent)
	r.SetMinSize(fyne.NewSize(w, 0))
	return r
}
