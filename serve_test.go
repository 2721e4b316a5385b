package main

import (
	"strings"
	"testing"
	"time"
)

func TestServeBadICEFlags(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "--ice", "turn:ann:pa55@"},
		{"serve", "--nat-ip", "my-router"},
	} {
		r := greenroom(t, 10*time.Second, args...)
		if r.code != 2 || len(lines(r.stderr)) != 1 || strings.Contains(r.stderr, "pa55") {
			t.Errorf("greenroom %v: exit %d, stderr %q; want 2 and one line without the password", args, r.code, r.stderr)
		}
	}
}
