package portmap

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/huin/goupnp"
)

// descriptionPaths are where common routers serve their UPnP description,
// tried at the gateway when SSDP is silent (multicast filtered, or a
// router that doesn't answer M-SEARCH): miniupnpd's default (OpenWrt,
// many vendors) and AVM's FRITZ!Box.
var descriptionPaths = []string{
	":5000/rootDesc.xml",
	":49000/igddesc.xml",
}

// igdDevices are the SSDP search targets for an Internet Gateway Device.
var igdDevices = []string{
	"urn:schemas-upnp-org:device:InternetGatewayDevice:2",
	"urn:schemas-upnp-org:device:InternetGatewayDevice:1",
}

// discover finds the router: SSDP, NAT-PMP at the gateway and UPnP at the
// gateway's description URLs, all at once; the first that answers wins.
// It returns within discoverBudget; the slower probes finish in the
// background (counted in m.wg) and their answers are dropped.
func (m *Mapper) discover(ctx context.Context) (router, error) {
	// Cancelled on return: when one probe answers, the others stop
	// early and end in the background (Close waits for them).
	ctx, cancel := context.WithTimeout(ctx, discoverBudget)
	defer cancel()
	gw := m.cfg.Gateway
	var gwErr error
	if gw == nil {
		gw, gwErr = defaultGateway()
	}
	type answer struct {
		r   router
		err error
	}
	var probes []func(context.Context) (router, error)
	probes = append(probes, func(ctx context.Context) (router, error) { return ssdpRouter(ctx, gw) })
	if gw != nil {
		probes = append(probes, func(ctx context.Context) (router, error) { return natpmpProbe(ctx, gw) })
		for _, p := range descriptionPaths {
			loc := "http://" + gw.String() + p
			probes = append(probes, func(ctx context.Context) (router, error) { return upnpAt(ctx, loc) })
		}
	}
	answers := make(chan answer, len(probes))
	for _, p := range probes {
		m.wg.Go(func() {
			r, err := p(ctx)
			answers <- answer{r, err}
		})
	}
	var errs []error
	if gwErr != nil {
		errs = append(errs, gwErr)
	}
	for range probes {
		a := <-answers
		if a.err == nil {
			m.log.Debug("router found", "router", a.r)
			return a.r, nil
		}
		errs = append(errs, a.err)
	}
	m.log.Debug("no router answered", "err", errors.Join(errs...))
	if err := ctx.Err(); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return nil, err
	}
	return nil, fmt.Errorf("portmap: %w", ErrNoRouter)
}

// ssdpRouter searches for an IGD with SSDP. gw, when known, is preferred
// among several answers.
func ssdpRouter(ctx context.Context, gw net.IP) (router, error) {
	type found struct {
		devs []goupnp.MaybeRootDevice
		err  error
	}
	ch := make(chan found, len(igdDevices))
	for _, target := range igdDevices {
		go func() {
			devs, err := goupnp.DiscoverDevicesCtx(ctx, target)
			ch <- found{devs, err}
		}()
	}
	var candidates []goupnp.MaybeRootDevice
	var errs []error
	for range igdDevices {
		f := <-ch
		if f.err != nil {
			errs = append(errs, f.err)
			continue
		}
		for _, d := range f.devs {
			if d.Err != nil {
				errs = append(errs, d.Err)
				continue
			}
			if gw != nil && d.Location.Hostname() == gw.String() {
				candidates = append([]goupnp.MaybeRootDevice{d}, candidates...)
			} else {
				candidates = append(candidates, d)
			}
		}
	}
	for _, d := range candidates {
		r, err := upnpFromRoot(ctx, d.Root, d.Location)
		if err == nil {
			return r, nil
		}
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		return nil, errors.New("ssdp: no answer")
	}
	return nil, fmt.Errorf("ssdp: %w", errors.Join(errs...))
}

// upnpAt reads a UPnP description at loc.
func upnpAt(ctx context.Context, loc string) (router, error) {
	u, err := url.Parse(loc)
	if err != nil {
		return nil, err
	}
	root, err := goupnp.DeviceByURLCtx(ctx, u)
	if err != nil {
		return nil, err
	}
	return upnpFromRoot(ctx, root, u)
}

// defaultGateway reads the IPv4 default route's gateway from
// /proc/net/route.
func defaultGateway() (net.IP, error) {
	f, err := os.Open("/proc/net/route")
	if err != nil {
		return nil, fmt.Errorf("default gateway: %w", err)
	}
	defer f.Close()
	return parseRoutes(bufio.NewScanner(f))
}

// parseRoutes finds the default route in /proc/net/route's format: hex
// fields in the host's byte order.
func parseRoutes(sc *bufio.Scanner) (net.IP, error) {
	const rtfGateway = 0x2
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || f[1] != "00000000" {
			continue
		}
		g, err1 := strconv.ParseUint(f[2], 16, 32)
		flags, err2 := strconv.ParseUint(f[3], 16, 16)
		if err1 != nil || err2 != nil || flags&rtfGateway == 0 || g == 0 {
			continue
		}
		ip := make(net.IP, 4)
		binary.NativeEndian.PutUint32(ip, uint32(g))
		return ip, nil
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("default gateway: %w", err)
	}
	return nil, errors.New("default gateway: no default route")
}
