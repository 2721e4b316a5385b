package studio

import "sync"

// goroutines counts the goroutines an owner's Close waits for, and refuses
// new ones once closing has begun, so a late callback (a pion OnTrack, an
// HTTP handler still arriving) can never Add to a WaitGroup that is being
// waited on. mu guards closing and orders every wg.Add before the Wait.
type goroutines struct {
	mu      sync.Mutex
	closing bool
	wg      sync.WaitGroup
}

// enter counts the calling goroutine; it returns false once closing has
// begun. Call done when the goroutine's work ends.
func (g *goroutines) enter() (done func(), ok bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closing {
		return nil, false
	}
	g.wg.Add(1)
	return g.wg.Done, true
}

// spawn runs f in a counted goroutine, unless closing has begun.
func (g *goroutines) spawn(f func()) bool {
	done, ok := g.enter()
	if !ok {
		return false
	}
	go func() {
		defer done()
		f()
	}()
	return true
}

// close refuses new goroutines from now on.
func (g *goroutines) close() {
	g.mu.Lock()
	g.closing = true
	g.mu.Unlock()
}

// wait waits for the counted goroutines; call close first.
func (g *goroutines) wait() { g.wg.Wait() }
