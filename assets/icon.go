package assets

import _ "embed"

// Icon is the application icon, a 512x512 PNG: the window's and the desktop
// entry's (FyneApp.toml points `fyne package` at the same file). It is
// generated, not drawn by hand: a screen with two people and a live light.
//
//go:embed icon.png
var Icon []byte

// Headphones is the solo button's icon on a guest's card (the host
// listens to them alone), a 24x24 SVG: Material Design's "headphones"
// (Apache License 2.0), which Fyne's theme has no equivalent of.
//
//go:embed headphones.svg
var Headphones []byte
