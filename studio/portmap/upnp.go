package portmap

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/huin/goupnp"
	"github.com/huin/goupnp/dcps/internetgateway2"
	"github.com/huin/goupnp/soap"
)

// igdClient is what WANIPConnection1, WANIPConnection2 and
// WANPPPConnection1 share, and all a Mapper needs.
type igdClient interface {
	AddPortMappingCtx(ctx context.Context, remoteHost string, externalPort uint16, protocol string, internalPort uint16, internalClient string, enabled bool, description string, leaseSeconds uint32) error
	DeletePortMappingCtx(ctx context.Context, remoteHost string, externalPort uint16, protocol string) error
	GetExternalIPAddressCtx(ctx context.Context) (string, error)
	GetServiceClient() *goupnp.ServiceClient
}

type upnpRouter struct {
	c       igdClient
	service string // for logs: the service type and its control URL
	localIP string // this computer's address on the router's LAN
}

// upnpPortTries is how many external ports a mapping tries, from the one
// wanted upwards, when the router says the port is taken.
const upnpPortTries = 10

// UPnP error codes (UPnP IGD WANIPConnection:2 §2.5, and UPnP Device
// Architecture for 6xx) that decide what to do next.
const (
	upnpNotAuthorized       = 606
	upnpConflict            = 718 // ConflictInMappingEntry
	upnpSamePortRequired    = 724 // SamePortValuesRequired
	upnpOnlyPermanentLeases = 725
	upnpConflictOtherMech   = 729 // ConflictWithOtherMechanisms
)

// upnpFromRoot picks the first connection service of a root device that
// answers GetExternalIPAddress: a router may list a WANPPPConnection that
// is not the one in use.
func upnpFromRoot(ctx context.Context, root *goupnp.RootDevice, loc *url.URL) (router, error) {
	var clients []igdClient
	if cs, err := internetgateway2.NewWANIPConnection2ClientsFromRootDevice(root, loc); err == nil {
		for _, c := range cs {
			clients = append(clients, c)
		}
	}
	if cs, err := internetgateway2.NewWANIPConnection1ClientsFromRootDevice(root, loc); err == nil {
		for _, c := range cs {
			clients = append(clients, c)
		}
	}
	if cs, err := internetgateway2.NewWANPPPConnection1ClientsFromRootDevice(root, loc); err == nil {
		for _, c := range cs {
			clients = append(clients, c)
		}
	}
	if len(clients) == 0 {
		return nil, fmt.Errorf("upnp: %s has no WAN connection service", loc)
	}
	var errs []error
	for _, c := range clients {
		sc := c.GetServiceClient()
		if _, err := c.GetExternalIPAddressCtx(ctx); err != nil {
			errs = append(errs, err)
			continue
		}
		local, err := localAddrTo(sc.Service.ControlURL.URL)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		return &upnpRouter{c: c, service: sc.Service.ServiceType + " at " + sc.Service.ControlURL.URL.String(), localIP: local}, nil
	}
	return nil, fmt.Errorf("upnp: %s: %w", loc, errors.Join(errs...))
}

// localAddrTo is the local address the kernel would use to reach u's host;
// the router forwards to it. A UDP "connection" sends nothing.
func localAddrTo(u url.URL) (string, error) {
	port := u.Port()
	if port == "" {
		port = "80"
	}
	c, err := net.Dial("udp4", net.JoinHostPort(u.Hostname(), port))
	if err != nil {
		return "", fmt.Errorf("upnp: local address: %w", err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).IP.String(), nil
}

func (u *upnpRouter) method() Method { return UPnP }
func (u *upnpRouter) String() string { return "UPnP " + u.service }

func (u *upnpRouter) externalIP(ctx context.Context) (net.IP, error) {
	s, err := u.c.GetExternalIPAddressCtx(ctx)
	if err != nil {
		return nil, fmt.Errorf("portmap: the router did not tell its internet address over UPnP (%s): %w", u.service, describeUPnP(err))
	}
	ip := net.ParseIP(s)
	if ip == nil || ip.IsUnspecified() {
		// Routers answer "" or 0.0.0.0 while their WAN link is down.
		return nil, fmt.Errorf("portmap: the router has no internet address (%q): is it connected?", s)
	}
	return ip, nil
}

func (u *upnpRouter) mapPort(ctx context.Context, want Mapping, lease time.Duration, desc string) (Mapping, time.Duration, error) {
	secs := uint32(lease / time.Second)
	ext := want.ExternalPort
	for tries := 0; tries < upnpPortTries; {
		err := u.c.AddPortMappingCtx(ctx, "", uint16(ext), strings.ToUpper(want.Protocol), uint16(want.InternalPort), u.localIP, true, desc, secs)
		code := upnpCode(err)
		switch {
		case err == nil:
			want.ExternalPort = ext
			return want, time.Duration(secs) * time.Second, nil
		case code == upnpOnlyPermanentLeases && secs != 0:
			// Old routers: keep it without a lease; Close
			// removes it and renewal checks it is still there.
			secs = 0
			continue
		case err != nil && code == 0:
			return Mapping{}, 0, fmt.Errorf("portmap: the router did not answer UPnP (%s): %w", u.service, err)
		case err != nil && code != upnpConflict && code != upnpConflictOtherMech:
			return Mapping{}, 0, refused(want, UPnP, describeUPnP(err))
		case want.Optional:
			// That port or none: another one would not do what it
			// is for (the CA checks a name on 443 alone).
			return Mapping{}, 0, refused(want, UPnP, describeUPnP(err))
		}
		// The port is taken: try the next one.
		tries++
		if ext++; ext > 65535 {
			ext = 1024
		}
	}
	return Mapping{}, 0, refused(want, UPnP, fmt.Errorf("ports %d to %d are all forwarded elsewhere", want.ExternalPort, ext-1))
}

func (u *upnpRouter) unmapPort(ctx context.Context, m Mapping) error {
	return describeUPnP(u.c.DeletePortMappingCtx(ctx, "", uint16(m.ExternalPort), strings.ToUpper(m.Protocol)))
}

// upnpCode is the UPnP error code in err, or 0.
func upnpCode(err error) int {
	var f *soap.SOAPFaultError
	if errors.As(err, &f) {
		return f.Detail.UPnPError.Errorcode
	}
	return 0
}

// describeUPnP turns a SOAP fault into "what it means (UPnP error N)".
func describeUPnP(err error) error {
	var f *soap.SOAPFaultError
	if !errors.As(err, &f) {
		return err
	}
	code := f.Detail.UPnPError.Errorcode
	words := map[int]string{
		upnpNotAuthorized:       "the router does not allow this computer to forward that port",
		upnpConflict:            "the port is already forwarded to another device",
		upnpSamePortRequired:    "the router only forwards a port to the same port number",
		upnpOnlyPermanentLeases: "the router only accepts permanent forwards",
		upnpConflictOtherMech:   "the port is taken by another port-forwarding mechanism",
		501:                     "the router failed to do it",
	}[code]
	if words == "" {
		words = strings.TrimSpace(f.Detail.UPnPError.ErrorDescription)
	}
	if words == "" {
		words = f.FaultString
	}
	return fmt.Errorf("%s (UPnP error %d)", words, code)
}
