package portmap

import (
	"context"
	"fmt"
	"net"
	"time"

	natpmp "github.com/jackpal/go-nat-pmp"
)

// natpmpRouter speaks NAT-PMP (RFC 6886) to the gateway. go-nat-pmp has
// no context: each request gets a client whose timeout is the context's
// time left, which bounds it the same way.
type natpmpRouter struct {
	gw net.IP
}

func natpmpProbe(ctx context.Context, gw net.IP) (router, error) {
	r := &natpmpRouter{gw: gw}
	if _, err := r.externalIP(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *natpmpRouter) client(ctx context.Context) (*natpmp.Client, error) {
	d := requestTimeout
	if dl, ok := ctx.Deadline(); ok {
		d = time.Until(dl)
	}
	if d <= 0 {
		return nil, context.DeadlineExceeded
	}
	return natpmp.NewClientWithTimeout(r.gw, d), nil
}

func (r *natpmpRouter) method() Method { return NATPMP }
func (r *natpmpRouter) String() string { return "NAT-PMP at " + r.gw.String() }

func (r *natpmpRouter) externalIP(ctx context.Context) (net.IP, error) {
	c, err := r.client(ctx)
	if err != nil {
		return nil, err
	}
	res, err := c.GetExternalAddress()
	if err != nil {
		return nil, fmt.Errorf("portmap: the router at %s did not answer NAT-PMP: %w", r.gw, describeNATPMP(err))
	}
	a := res.ExternalIPAddress
	return net.IPv4(a[0], a[1], a[2], a[3]), nil
}

func (r *natpmpRouter) mapPort(ctx context.Context, want Mapping, lease time.Duration, _ string) (Mapping, time.Duration, error) {
	c, err := r.client(ctx)
	if err != nil {
		return Mapping{}, 0, err
	}
	// NAT-PMP has no conflict error: the router picks another external
	// port itself when the one asked for is taken.
	res, err := c.AddPortMapping(want.Protocol, want.InternalPort, want.ExternalPort, max(int(lease/time.Second), 1))
	if err != nil {
		if natpmpResult(err) != 0 {
			return Mapping{}, 0, refused(want, NATPMP, describeNATPMP(err))
		}
		return Mapping{}, 0, fmt.Errorf("portmap: the router at %s did not answer NAT-PMP: %w", r.gw, err)
	}
	want.ExternalPort = int(res.MappedExternalPort)
	return want, time.Duration(res.PortMappingLifetimeInSeconds) * time.Second, nil
}

func (r *natpmpRouter) unmapPort(ctx context.Context, m Mapping) error {
	c, err := r.client(ctx)
	if err != nil {
		return err
	}
	// RFC 6886 §3.4: lifetime 0 and external port 0 delete the mapping
	// of this internal port.
	_, err = c.AddPortMapping(m.Protocol, m.InternalPort, 0, 0)
	return describeNATPMP(err)
}

// describeNATPMP turns go-nat-pmp's "Non-zero result code N" into the
// result code's meaning (RFC 6886 §3.5).
func describeNATPMP(err error) error {
	if err == nil {
		return nil
	}
	code := natpmpResult(err)
	words := map[int]string{
		1: "the router does not support this version of NAT-PMP",
		2: "the router does not allow this computer to forward that port",
		3: "the router is not connected to the internet",
		4: "the router has no ports left to forward",
		5: "the router does not support this request",
	}[code]
	if words == "" {
		return err
	}
	return fmt.Errorf("%s (NAT-PMP result %d)", words, code)
}

// natpmpResult is the NAT-PMP result code in err, or 0.
func natpmpResult(err error) int {
	var code int
	if err == nil {
		return 0
	}
	if _, scanErr := fmt.Sscanf(err.Error(), "Non-zero result code %d", &code); scanErr != nil {
		return 0
	}
	return code
}
