# shellcheck shell=bash
# Sourced by scripts/test and scripts/run: the one list of the Debian
# packages Greenroom builds, tests and runs with, and the functions that
# install the missing ones and find Go. Works on Debian 12 and Ubuntu, as
# root or through sudo, with no terminal (CI).

# What each group is for:
#   build      git for go itself, gcc and pkg-config for cgo, FFmpeg 5.1's
#              libraries for go-astiav (encode/...), libopus for guests'
#              audio (encode/decode: FEC and loss concealment, which
#              FFmpeg's API lacks) and libopusfile, which hraban/opus
#              links whether or not it is used
#   judge      ffmpeg/ffprobe and nginx with the RTMP module: the real peers
#              and the independent judge of encode/mediatest
#   gui/guest  OpenGL and X11 headers for the studio window (ui/...), a
#              virtual display to run it in, Chromium for browser guests
#   fonts      for name tags beyond what encode/scene embeds (Go fonts for
#              Latin, Noto Sans Arabic and Hebrew): Chinese, Japanese and
#              Korean, and colour emoji; without them such characters are
#              left out of a tag, never drawn as boxes
GREENROOM_PACKAGES=(
	ca-certificates git gcc pkg-config
	libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libswresample-dev libavfilter-dev libavdevice-dev
	libopus-dev libopusfile-dev
	ffmpeg nginx libnginx-mod-rtmp
	libgl1-mesa-dev xorg-dev xvfb chromium
	fonts-droid-fallback fonts-noto-color-emoji
)

# Only the tests need these (scripts/test installs them, scripts/run does
# not): servers the tests start themselves, on loopback or in network
# namespaces they make.
#   proxy      Caddy: the creator's own TLS front (reverse proxy) before the
#              studio, with a certificate from its internal CA
#   nat lab    namespaces, links and NAT (iproute2, nftables) for
#              studio/studiotest/netlab; a real home router's UPnP and
#              NAT-PMP (miniupnpd-nftables: a bare binary, no service,
#              nothing starts on install) and Debian's own clients as
#              judges (miniupnpc's upnpc, natpmpc) for studio/portmap
#   srt        srt-live-transmit (srt-tools): Haivision's reference SRT
#              listener, the independent ingest encode/srtout publishes to
#   package    mmdebstrap: a clean Debian 12 root to install the .deb of
#              scripts/package into (scripts/deb/), which itself installs
#              dpkg-dev and lintian
#   window     xdotool: finds, measures and resizes the studio window on
#              a virtual display, as a window manager would
#   trust      certutil (libnss3-tools): a lab guest's Chromium trusts the
#              test's CAs (the proxy's, a TURN server's over TLS) through
#              an NSS database, as it checks TURN certificates for real
GREENROOM_TEST_PACKAGES=(
	caddy
	iproute2 nftables miniupnpd-nftables miniupnpc natpmpc
	libnss3-tools
	srt-tools
	xdotool
	mmdebstrap dpkg-dev lintian
)

# missing_packages prints, one a line, the packages of GREENROOM_PACKAGES
# (and GREENROOM_TEST_PACKAGES with "test") that dpkg does not have fully
# installed.
missing_packages() {
	local p pkgs=("${GREENROOM_PACKAGES[@]}")
	if [[ ${1:-} == test ]]; then
		pkgs+=("${GREENROOM_TEST_PACKAGES[@]}")
	fi
	for p in "${pkgs[@]}"; do
		if [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]]; then
			echo "$p"
		fi
	done
}

# as_root runs a command as root: directly when we are root, else with sudo.
as_root() {
	if [[ $EUID -eq 0 ]]; then
		"$@"
	elif command -v sudo >/dev/null; then
		sudo "$@"
	else
		echo "deps: need root to run: $*" >&2
		echo "deps: run this as root, or install sudo" >&2
		return 1
	fi
}

# ensure_packages installs the missing system packages; it touches apt only
# when something is missing, so a prepared machine starts at once.
ensure_packages() {
	local missing
	mapfile -t missing < <(missing_packages "${1:-}")
	if [[ -f /etc/os-release ]] && grep -q '^ID=ubuntu' /etc/os-release; then
		# Ubuntu ships Chromium only as a snap, which apt cannot install
		# in a container; the guest tests say so when they need it.
		local keep=() p
		for p in "${missing[@]}"; do
			if [[ $p == chromium ]]; then
				echo "deps: Ubuntu has no chromium deb; install it with 'snap install chromium' for the guest tests" >&2
			else
				keep+=("$p")
			fi
		done
		missing=("${keep[@]}")
	fi
	if ((${#missing[@]} == 0)); then
		return 0
	fi
	echo "deps: installing ${missing[*]}" >&2
	# "|| return": callers may source this without set -e.
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q || return
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" || return
}

# ensure_go puts Go on PATH: /usr/local/go/bin is where these machines and
# the official tarball keep it.
ensure_go() {
	if ! command -v go >/dev/null; then
		if [[ -x /usr/local/go/bin/go ]]; then
			export PATH="/usr/local/go/bin:$PATH"
		else
			echo "deps: Go is not installed. Greenroom needs Go 1.26 or newer:" >&2
			echo "deps:   download the go1.26.x linux-amd64 tarball from the Go website," >&2
			echo "deps:   sudo tar -C /usr/local -xzf go1.26.x.linux-amd64.tar.gz," >&2
			echo "deps:   and add /usr/local/go/bin to PATH." >&2
			return 1
		fi
	fi
}

# build_greenroom builds the binary at $1 with its version from git
# (main.version, printed by greenroom --version): the tag, the commits
# since it and the commit, "-dirty" with uncommitted changes; "dev"
# outside a git checkout.
build_greenroom() {
	local v
	v=$(git describe --tags --always --dirty 2>/dev/null || echo dev)
	go build -ldflags "-X main.version=$v" -o "$1" .
}

# ensure_deps makes this machine ready to build and run Greenroom, and with
# "test" also to test it.
ensure_deps() {
	ensure_packages "${1:-}" || return
	ensure_go
}
