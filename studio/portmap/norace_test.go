//go:build !race

package portmap

const raceOn = false
