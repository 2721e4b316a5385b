//go:build linux

package netlab

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func init() {
	Helper("dial", dialHelper)
	Helper("listen", listenHelper)
}

// exitOnSignal calls stop when the lab stops the helper.
func exitOnSignal(stop func() error) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT)
	<-ch
	_ = stop()
}

// DialTCP connects from namespace ns to addr and returns the first line
// the other side sends: proof that a path (say, through a port mapping)
// reaches a listener.
func (l *Lab) DialTCP(ns, addr string) (string, error) {
	p, err := l.StartHelper(ns, "dial", addr)
	if err != nil {
		return "", err
	}
	defer p.Stop()
	var line string
	for s := range p.Lines {
		if line == "" {
			line = s
		}
	}
	if err := p.Err(); err != nil {
		return "", fmt.Errorf("netlab: dial %s from %s: %w", addr, ns, err)
	}
	return line, nil
}

func dialHelper(args []string) error {
	if len(args) != 1 {
		return errors.New("usage: dial ADDR")
	}
	c, err := net.DialTimeout("tcp", args[0], 3*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	fmt.Print(line)
	return nil
}

// StartEcho starts a TCP listener on addr in namespace ns that tells each
// connection the address it came from ("198.18.0.11:40312\n"): with
// DialTCP, it shows what a NAT made of a connection.
func (l *Lab) StartEcho(ns, addr string) (*Proc, error) {
	p, err := l.StartHelper(ns, "listen", addr)
	if err != nil {
		return nil, err
	}
	return p, waitReady(p, "listen")
}

func listenHelper(args []string) error {
	if len(args) != 1 {
		return errors.New("usage: listen ADDR")
	}
	ln, err := net.Listen("tcp4", args[0])
	if err != nil {
		return err
	}
	fmt.Println("ready")
	go exitOnSignal(ln.Close)
	for {
		c, err := ln.Accept()
		if err != nil {
			return nil // closed
		}
		fmt.Fprintln(c, c.RemoteAddr())
		c.Close()
	}
}
