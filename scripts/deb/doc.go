// Package deb is the test of the Debian package scripts/package builds
// (issue #15): that it installs with apt-get into a clean Debian 12 and
// runs there with only the libraries it declares. It has no code of its
// own; the package is made by scripts/package.
package deb
