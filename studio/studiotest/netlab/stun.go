//go:build linux

package netlab

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"
)

// STUNPort is where the lab's STUN responder listens, on InternetIP.
const STUNPort = 3478

func init() {
	Helper("stun", stunHelper)
}

// StartSTUN starts a lenient STUN responder on InternetIP:STUNPort in the
// internet namespace. It answers every Binding request with the address it
// came from — or with reportIP (same port) when reportIP is not nil, to
// play a router that sits behind another NAT.
//
// It exists for miniupnpd: 2.3.1 refuses to map when its WAN address is in
// a reserved range such as the lab's unless STUN confirms the address, and
// it probes with RFC 3489's CHANGE-REQUEST, a comprehension-required
// attribute that strict servers (pion/turn) reject with 420 Unknown
// Attribute. This one ignores every attribute and answers classic (no magic
// cookie) requests too, with MAPPED-ADDRESS, and RFC 5389 ones with
// XOR-MAPPED-ADDRESS as well.
func (l *Lab) StartSTUN(reportIP net.IP) (*Proc, error) {
	args := []string{net.JoinHostPort(InternetIP.String(), strconv.Itoa(STUNPort))}
	if reportIP != nil {
		args = append(args, reportIP.String())
	}
	p, err := l.StartHelper(l.Internet, "stun", args...)
	if err != nil {
		return nil, err
	}
	return p, waitReady(p, "stun")
}

// waitReady waits for a helper's "ready" line.
func waitReady(p *Proc, name string) error {
	select {
	case line, ok := <-p.Lines:
		if ok && line == "ready" {
			return nil
		}
		return fmt.Errorf("netlab: %s did not start (%q)", name, line)
	case <-time.After(commandTimeout):
		return fmt.Errorf("netlab: %s did not start in %v", name, commandTimeout)
	}
}

func stunHelper(args []string) error {
	if len(args) < 1 {
		return errors.New("usage: stun ADDR [REPORT_IP]")
	}
	var report net.IP
	if len(args) > 1 {
		report = net.ParseIP(args[1]).To4()
	}
	conn, err := net.ListenPacket("udp4", args[0])
	if err != nil {
		return err
	}
	fmt.Println("ready")
	go exitOnSignal(conn.Close)
	buf := make([]byte, 1500)
	for {
		n, from, err := conn.ReadFrom(buf)
		if err != nil {
			return nil // closed
		}
		if resp := stunAnswer(buf[:n], from.(*net.UDPAddr), report); resp != nil {
			_, _ = conn.WriteTo(resp, from)
		}
	}
}

const stunMagicCookie = 0x2112A442

// stunAnswer builds the Binding success response to req, or nil when req
// is not a Binding request.
func stunAnswer(req []byte, from *net.UDPAddr, report net.IP) []byte {
	if len(req) < 20 || binary.BigEndian.Uint16(req[0:2]) != 0x0001 {
		return nil
	}
	ip := from.IP.To4()
	if report != nil {
		ip = report
	}
	if ip == nil {
		return nil
	}
	resp := make([]byte, 20, 44)
	binary.BigEndian.PutUint16(resp[0:2], 0x0101)
	copy(resp[4:20], req[4:20]) // magic cookie (or RFC 3489 id) and transaction id
	addAttr := func(typ uint16, port uint16, a net.IP) {
		var v [8]byte
		v[1] = 0x01 // IPv4
		binary.BigEndian.PutUint16(v[2:4], port)
		copy(v[4:8], a)
		var h [4]byte
		binary.BigEndian.PutUint16(h[0:2], typ)
		binary.BigEndian.PutUint16(h[2:4], 8)
		resp = append(append(resp, h[:]...), v[:]...)
	}
	addAttr(0x0001, uint16(from.Port), ip) // MAPPED-ADDRESS
	if binary.BigEndian.Uint32(req[4:8]) == stunMagicCookie {
		var x [4]byte
		binary.BigEndian.PutUint32(x[:], binary.BigEndian.Uint32(ip)^stunMagicCookie)
		addAttr(0x0020, uint16(from.Port)^uint16(stunMagicCookie>>16), x[:]) // XOR-MAPPED-ADDRESS
	}
	binary.BigEndian.PutUint16(resp[2:4], uint16(len(resp)-20))
	return resp
}
