package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// The studio window is mostly started from a menu, where stderr goes
// nowhere anyone looks (issue #15). What stops it, or changes how it
// starts, is also appended to a log file in the user's state folder: the
// window names the file, and with no window at all (no display) it is the
// one place left to find the reason.

// startLogMax is the size past which the start log starts afresh (the old
// one kept beside it as .1): it holds a few lines per start, never the
// studio's running log.
const startLogMax = 1 << 20

// startLogPath is $XDG_STATE_HOME/greenroom/greenroom.log, or
// ~/.local/state/greenroom/greenroom.log when XDG_STATE_HOME is unset or
// not absolute (the XDG Base Directory rule).
func startLogPath() (string, error) {
	dir := os.Getenv("XDG_STATE_HOME")
	if !filepath.IsAbs(dir) {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("no state folder for the log: %w", err)
		}
		dir = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(dir, "greenroom", "greenroom.log"), nil
}

// reportStart writes a problem met while starting to stderr and to the
// start log, and returns the log's path ("" if it could not be written:
// stderr then says why as well).
func reportStart(stderr io.Writer, problem error) string {
	fmt.Fprintf(stderr, "greenroom: %v\n", problem)
	path, err := appendStartLog(problem)
	if err != nil {
		fmt.Fprintf(stderr, "greenroom: %v\n", err)
		return ""
	}
	return path
}

func appendStartLog(problem error) (string, error) {
	path, err := startLogPath()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("start log: %w", err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Size() > startLogMax {
		os.Rename(path, path+".1")
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return "", fmt.Errorf("start log: %w", err)
	}
	_, werr := fmt.Fprintf(f, "%s greenroom %s: %v\n", time.Now().Format(time.RFC3339), version, problem)
	if err := errors.Join(werr, f.Close()); err != nil {
		return "", fmt.Errorf("start log %s: %w", path, err)
	}
	return path, nil
}
