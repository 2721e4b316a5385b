package studio

import (
	"bufio"
	"errors"
	"net"
	"sync"
	"time"
)

// ICE over TCP (RFC 6544) shares the web port, so a guest whose network
// blocks UDP reaches the studio through the one TCP port that already
// works for the page (and that a router mapping or a port forward already
// opens). The two are told apart by the first byte a client sends: ICE-TCP
// frames start with a 16-bit length (RFC 4571), whose high byte is 0 for a
// STUN binding request; TLS starts with 22 (a handshake record), plain
// HTTP with a method's letter.

// sniffTimeout is how long a new connection may stay silent before it is
// dropped: both a browser and pion speak first on this port.
const sniffTimeout = 10 * time.Second

// splitListener hands each connection of ln to web or ice by its first
// byte. Closing both ends closes ln; close closes it at once and waits for
// the goroutines.
type splitListener struct {
	ln       net.Listener
	web, ice *splitEnd
	wg       sync.WaitGroup
	done     chan struct{}
	once     sync.Once

	mu   sync.Mutex
	open int // ends not closed yet
}

// splitEnd is one of the two listeners a splitListener feeds.
type splitEnd struct {
	sl     *splitListener
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newSplitListener(ln net.Listener) *splitListener {
	sl := &splitListener{ln: ln, done: make(chan struct{}), open: 2}
	sl.web = &splitEnd{sl: sl, conns: make(chan net.Conn), closed: make(chan struct{})}
	sl.ice = &splitEnd{sl: sl, conns: make(chan net.Conn), closed: make(chan struct{})}
	sl.wg.Add(1)
	go sl.accept()
	return sl
}

func (sl *splitListener) accept() {
	defer sl.wg.Done()
	for {
		c, err := sl.ln.Accept()
		if err != nil {
			select {
			case <-sl.done:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				sl.close()
				return
			}
			// Out of file descriptors, or the like: try again soon.
			time.Sleep(50 * time.Millisecond)
			continue
		}
		sl.wg.Add(1)
		go sl.route(c)
	}
}

// route reads the first byte and hands the connection on, byte and all.
func (sl *splitListener) route(c net.Conn) {
	defer sl.wg.Done()
	_ = c.SetReadDeadline(time.Now().Add(sniffTimeout))
	br := bufio.NewReaderSize(c, 512)
	first, err := br.Peek(1)
	if err != nil {
		_ = c.Close()
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	end := sl.web
	if first[0] == 0 {
		end = sl.ice
	}
	select {
	case end.conns <- &peekedConn{Conn: c, r: br}:
	case <-end.closed:
		_ = c.Close()
	case <-sl.done:
		_ = c.Close()
	}
}

// close stops accepting and waits for the routing goroutines; safe twice.
func (sl *splitListener) close() {
	sl.once.Do(func() {
		close(sl.done)
		_ = sl.ln.Close()
	})
}

func (sl *splitListener) wait() {
	sl.close()
	sl.wg.Wait()
}

func (e *splitEnd) Accept() (net.Conn, error) {
	select {
	case c := <-e.conns:
		return c, nil
	case <-e.closed:
		return nil, net.ErrClosed
	case <-e.sl.done:
		return nil, net.ErrClosed
	}
}

func (e *splitEnd) Close() error {
	e.once.Do(func() {
		close(e.closed)
		e.sl.mu.Lock()
		e.sl.open--
		last := e.sl.open == 0
		e.sl.mu.Unlock()
		if last {
			e.sl.close()
		}
	})
	return nil
}

func (e *splitEnd) Addr() net.Addr { return e.sl.ln.Addr() }

// peekedConn reads what route peeked before the rest of the connection.
type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *peekedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
