package studio

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Wrong tokens (the guest link's or the control API's) cost the address
// they come from one of failedTokenBurst tries, which come back one every
// failedTokenEvery. An address with none left gets 429 with Retry-After for
// every request that needs a token, the right one included: otherwise the
// answer to a guess would still say whether it was right (issue #14). A
// typo or an old link costs nobody anything; guessing a 128-bit token at
// ten a minute is hopeless anyway, and the limit keeps an address from
// trying.
const (
	failedTokenBurst = 10
	failedTokenEvery = 6 * time.Second
	// maxGuarded bounds the addresses remembered. When full, those whose
	// tries are all back are forgotten, and if that frees nothing, all
	// of them: a crowd of addresses big enough to fill it has that many
	// tries anyway.
	maxGuarded = 4096
)

// tokenGuard counts wrong tokens by address (clientKey). mu guards byAddr.
type tokenGuard struct {
	mu     sync.Mutex
	byAddr map[netip.Prefix]*rate.Limiter
}

// blocked says whether key has no tries left, and if so how long until it
// has one again.
func (g *tokenGuard) blocked(key netip.Prefix, now time.Time) (time.Duration, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	lim := g.byAddr[key]
	if lim == nil {
		return 0, false
	}
	tokens := lim.TokensAt(now)
	if tokens >= 1 {
		return 0, false
	}
	return time.Duration((1 - tokens) / float64(lim.Limit()) * float64(time.Second)), true
}

// failed takes one try from key.
func (g *tokenGuard) failed(key netip.Prefix, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	lim := g.byAddr[key]
	if lim == nil {
		if g.byAddr == nil {
			g.byAddr = make(map[netip.Prefix]*rate.Limiter)
		}
		if len(g.byAddr) >= maxGuarded {
			for k, l := range g.byAddr {
				if l.TokensAt(now) >= failedTokenBurst {
					delete(g.byAddr, k)
				}
			}
			if len(g.byAddr) >= maxGuarded {
				clear(g.byAddr)
			}
		}
		lim = rate.NewLimiter(rate.Every(failedTokenEvery), failedTokenBurst)
		g.byAddr[key] = lim
	}
	lim.AllowN(now, 1)
}

// clientKey is the address a request comes from, as the token guard counts
// it: the TCP peer's; or, when the studio sits behind its own TLS front
// (Config.PublicURL, and the request comes from this machine), the address
// the front saw, the last in X-Forwarded-For (Caddy and nginx append the
// peer they saw; an earlier entry is whatever the client wrote). Anyone
// can write that header, so it counts only from a loopback peer with a
// public URL set: from anywhere else it is ignored. IPv6 addresses count
// by their /64, which one home or server usually holds whole.
func (s *Studio) clientKey(r *http.Request) netip.Prefix {
	addr := peerAddr(r.RemoteAddr)
	if addr.IsLoopback() && s.cfg.PublicURL != "" {
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			all := strings.Split(xff[len(xff)-1], ",")
			if a, err := netip.ParseAddr(strings.TrimSpace(all[len(all)-1])); err == nil {
				addr = a
			}
		}
	}
	addr = addr.Unmap().WithZone("")
	bits := addr.BitLen()
	if addr.Is6() {
		bits = 64
	}
	p, err := addr.Prefix(bits)
	if err != nil { // no address at all: one key for all of those
		return netip.Prefix{}
	}
	return p
}

func peerAddr(remote string) netip.Addr {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, _ := netip.ParseAddr(host)
	return a
}

// tokenRefused is whether a request for something behind a token must be
// refused before its token is even looked at: its address has used up its
// tries. It then answers 429 with Retry-After, in JSON for the control API.
func (s *Studio) tokenRefused(w http.ResponseWriter, r *http.Request, asJSON bool) bool {
	wait, blocked := s.guard.blocked(s.clientKey(r), time.Now())
	if !blocked {
		return false
	}
	secs := int(math.Ceil(wait.Seconds()))
	w.Header().Set("Retry-After", fmt.Sprint(max(secs, 1)))
	msg := fmt.Sprintf("too many wrong links or tokens from your address; try again in %d s", max(secs, 1))
	if asJSON {
		writeJSONError(w, http.StatusTooManyRequests, msg)
	} else {
		http.Error(w, msg, http.StatusTooManyRequests)
	}
	return true
}

// tokenFailed counts a wrong token against the request's address.
func (s *Studio) tokenFailed(r *http.Request) {
	s.guard.failed(s.clientKey(r), time.Now())
}
