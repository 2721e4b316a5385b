// Package assets holds the files the studio serves to browsers, embedded in
// the binary so a studio works offline on a LAN: plain HTML, CSS and
// JavaScript, no build step, nothing fetched from a CDN.
package assets

import (
	"embed"
	"io/fs"
)

//go:embed guest
var files embed.FS

// Guest is the guest page: index.html (the page behind the guest link),
// forbidden.html (a wrong or expired link), guest.js, localrec.js (the
// guest's own local recording) and guest.css.
var Guest fs.FS

func init() {
	var err error
	Guest, err = fs.Sub(files, "guest")
	if err != nil {
		panic(err) // the embed pattern above guarantees the directory
	}
}
