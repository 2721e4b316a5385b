// Package portmap asks the creator's home router to forward the studio's
// ports to this computer, keeps those forwards alive and removes them when
// the studio stops, so guests from anywhere can reach the studio (issue #9).
//
// It speaks UPnP IGD (WANIPConnection 2 and 1, WANPPPConnection 1) and
// NAT-PMP, finding the router the way real clients do: SSDP, NAT-PMP to the
// default gateway and UPnP at the gateway's well-known description URLs
// (for routers whose SSDP answers don't arrive), all at once for at most
// three seconds; the first that answers is used.
//
// Use:
//
//	m := portmap.Start(ctx, portmap.Config{Mappings: []portmap.Mapping{
//		{Protocol: "tcp", InternalPort: 8443}, {Protocol: "udp", InternalPort: 8443}}})
//	go func() {
//		for st := range m.Changes() { // closed after Close
//			show(st.ExternalIP, st.Mapped, st.Err, st.Advice)
//		}
//	}()
//	…
//	m.Close() // removes the forwards
//
// It owns the conversation with the router and nothing else: it doesn't
// open the ports (the studio's servers do), doesn't choose them, and
// doesn't decide what guests are told. Status says what is mapped and at
// which external address; when mapping failed, or can't make the studio
// reachable (the router's own address is private or carrier-grade NAT),
// Status.Advice says in a sentence what the creator can do instead.
package portmap

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"time"
)

// Method is how the mappings were made.
type Method string

const (
	UPnP   Method = "upnp"
	NATPMP Method = "natpmp"
	None   Method = "none"
)

// Mapping is one forwarded port.
type Mapping struct {
	Protocol     string // "tcp" or "udp"
	InternalPort int
	// ExternalPort is the port guests connect to on the router. In a
	// Config, 0 means "the same as InternalPort"; the router may grant
	// another one (when the wanted port is taken), and Status reports
	// the one it granted.
	ExternalPort int
	// Optional mappings may be refused alone: the others stay mapped,
	// and Status.Refused lists it (a router's port below 1024, which
	// many routers keep from UPnP, for a studio that works without it).
	// Over UPnP it is its ExternalPort or none (a taken port is a
	// refusal, not a reason to try the next); NAT-PMP has no refusal,
	// and the router may give another port. A refused one is asked for
	// again at each renewal.
	Optional bool
}

func (m Mapping) String() string {
	return fmt.Sprintf("%s %d→%d", strings.ToUpper(m.Protocol), m.ExternalPort, m.InternalPort)
}

// Config says what to map.
type Config struct {
	Mappings []Mapping
	// Lease is how long the router keeps a mapping without renewal;
	// the Mapper renews at half of what the router granted. Default 1 h.
	Lease time.Duration
	// Description is what the router's port-forwarding page shows.
	// Default "Greenroom".
	Description string
	// Logger; default slog.Default(). Logs carry component=portmap.
	Logger *slog.Logger
	// Gateway is the router's LAN address; default the default route's
	// gateway (/proc/net/route).
	Gateway net.IP
}

// Status is what the Mapper last achieved.
type Status struct {
	Method     Method
	ExternalIP net.IP    // the router's internet address, when known
	Mapped     []Mapping // what the router forwards now, with the granted external ports
	// Refused are the Optional mappings the router would not make (as
	// asked for), while it forwards the others; RefusedErr says why.
	Refused    []Mapping
	RefusedErr error
	// Err is why nothing is mapped (wrapping ErrNoRouter or ErrRefused
	// when those apply); nil while mapped or still trying the first time.
	Err error
	// Advice is a sentence for the creator when guests from the internet
	// are unlikely to reach the studio through these mappings; "" when
	// all is well.
	Advice string
	// Renewed is when the mappings were last made or renewed.
	Renewed time.Time
}

// Errors Status.Err may wrap.
var (
	// ErrNoRouter: nothing answered UPnP or NAT-PMP.
	ErrNoRouter = errors.New("no router on this network answered UPnP or NAT-PMP")
	// ErrRefused: the router answered but would not forward a port.
	ErrRefused = errors.New("the router refused to forward the port")
)

const (
	defaultLease   = time.Hour
	discoverBudget = 3 * time.Second // for finding the router, all methods together
	requestTimeout = 3 * time.Second // for one request to the router
	removeBudget   = 2 * time.Second // for removing everything on Close
	retryFirst     = 30 * time.Second
	retryMax       = 10 * time.Minute
	minRenew       = time.Second
)

// Mapper keeps a Config's ports mapped on the router. It is an actor: one
// goroutine (run) owns the router and the mappings; Status reads a copy it
// publishes under mu. Its methods are safe from any goroutine.
type Mapper struct {
	cfg    Config
	log    *slog.Logger
	cancel context.CancelFunc
	done   chan struct{} // closed when run has returned
	wg     sync.WaitGroup
	// changes holds the latest Status nobody has read yet (capacity 1):
	// run replaces it, so it never waits on a slow reader.
	changes chan Status

	mu       sync.Mutex // guards status
	status   Status
	closeErr error // written by run before done closes
}

// Start starts mapping cfg's ports and returns at once; the first Status
// arrives on Changes within a few seconds. Cancelling ctx is like Close.
func Start(ctx context.Context, cfg Config) *Mapper {
	if cfg.Lease <= 0 {
		cfg.Lease = defaultLease
	}
	if cfg.Description == "" {
		cfg.Description = "Greenroom"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.Mappings = slices.Clone(cfg.Mappings)
	for i := range cfg.Mappings {
		m := &cfg.Mappings[i]
		m.Protocol = strings.ToLower(m.Protocol)
		if m.ExternalPort == 0 {
			m.ExternalPort = m.InternalPort
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	m := &Mapper{
		cfg:     cfg,
		log:     cfg.Logger.With("component", "portmap"),
		cancel:  cancel,
		done:    make(chan struct{}),
		changes: make(chan Status, 1),
		status:  Status{Method: None},
	}
	go m.run(ctx)
	return m
}

// Status returns the latest Status.
func (m *Mapper) Status() Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.status
}

// Changes delivers each new Status; a reader that falls behind gets the
// latest one. It is closed after Close.
func (m *Mapper) Changes() <-chan Status { return m.changes }

// Close removes the mappings from the router (giving up after about two
// seconds, when the router has gone) and waits for the Mapper's
// goroutines. It returns the removal's error; it is safe to call twice.
func (m *Mapper) Close() error {
	m.cancel()
	<-m.done
	m.wg.Wait()
	return m.closeErr
}

func (m *Mapper) publish(s Status) {
	m.mu.Lock()
	m.status = s
	m.mu.Unlock()
	select {
	case <-m.changes:
	default:
	}
	m.changes <- s // run is the only sender and just made room
}

func (m *Mapper) run(ctx context.Context) {
	defer close(m.done)
	// A failed mapping is tried again no later than a renewal would
	// have been: a router that restarted gets its forwards back within
	// half a lease.
	firstRetry := min(retryFirst, max(m.cfg.Lease/2, minRenew))
	var (
		r       router
		mapped  []Mapping
		retry   = firstRetry
		timer   = time.NewTimer(0)
		stopped = false
	)
	defer timer.Stop()
	for !stopped {
		select {
		case <-ctx.Done():
			stopped = true
			continue
		case <-timer.C:
		}
		var err error
		if r == nil {
			r, err = m.discover(ctx)
		}
		var ip net.IP
		var lease time.Duration
		var refusedErr error
		if err == nil {
			ip, mapped, lease, refusedErr, err = m.refresh(ctx, r, mapped)
		}
		if ctx.Err() != nil {
			stopped = true
			continue
		}
		if err != nil {
			m.log.Warn("port mapping failed", "err", err, "retry_in", retry)
			st := Status{Method: None, Err: err}
			if r != nil {
				st.Method = r.method()
			}
			st.Advice = advice(st, m.cfg.Mappings)
			m.publish(st)
			r = nil // find the router afresh next time: it may have changed
			timer.Reset(retry)
			retry = min(2*retry, retryMax)
			continue
		}
		retry = firstRetry
		renew := max(lease/2, minRenew)
		st := Status{Method: r.method(), ExternalIP: ip, Renewed: time.Now(), RefusedErr: refusedErr}
		for i, mp := range mapped {
			if mp.ExternalPort == 0 {
				st.Refused = append(st.Refused, m.cfg.Mappings[i])
			} else {
				st.Mapped = append(st.Mapped, mp)
			}
		}
		st.Advice = advice(st, m.cfg.Mappings)
		if refusedErr != nil {
			m.log.Warn("the router refused an optional port", "err", refusedErr)
		}
		m.log.Info("ports mapped", "router", r, "external_ip", ip, "mapped", fmt.Sprint(st.Mapped), "renew_in", renew)
		m.publish(st)
		timer.Reset(renew)
	}
	rctx, cancel := context.WithTimeout(context.Background(), removeBudget)
	defer cancel()
	m.closeErr = m.unmapAll(rctx, r, mapped)
	if m.closeErr != nil {
		m.log.Warn("removing port mappings", "err", m.closeErr)
	} else if h := held(mapped); len(h) > 0 {
		m.log.Info("port mappings removed", "mapped", fmt.Sprint(h))
	}
	m.publish(Status{Method: None})
	close(m.changes)
}

// refresh makes (or renews) every mapping. Renewal asks for the external
// ports granted before, so guests' addresses stay put. On any failure it
// removes what it holds: never half-mapped — except an Optional mapping
// the router refuses, which is left out alone (ExternalPort 0 in its
// place) and refusedErr says why. It returns the router's external
// address, the mappings in Config's order and the shortest lease granted.
func (m *Mapper) refresh(ctx context.Context, r router, prev []Mapping) (ip net.IP, got []Mapping, lease time.Duration, refusedErr error, err error) {
	rctx, cancel := context.WithTimeout(ctx, requestTimeout)
	ip, err = r.externalIP(rctx)
	cancel()
	if err != nil {
		m.cleanup(r, prev)
		return nil, nil, 0, nil, err
	}
	lease = m.cfg.Lease
	var refusals []error
	for i, want := range m.cfg.Mappings {
		if i < len(prev) && prev[i].ExternalPort != 0 {
			want.ExternalPort = prev[i].ExternalPort
		}
		rctx, cancel := context.WithTimeout(ctx, requestTimeout)
		g, l, err := r.mapPort(rctx, want, m.cfg.Lease, m.cfg.Description)
		cancel()
		if err != nil && want.Optional && errors.Is(err, ErrRefused) {
			refusals = append(refusals, err)
			got = append(got, Mapping{})
			continue
		}
		if err != nil {
			m.cleanup(r, append(got, prev[min(i, len(prev)):]...))
			return nil, nil, 0, nil, err
		}
		// A renewal may get another external port (the router
		// restarted and gave ours away): the old one is then not ours
		// to remove, and Status tells the new one.
		got = append(got, g)
		if l > 0 {
			lease = min(lease, l)
		}
	}
	return ip, got, lease, errors.Join(refusals...), nil
}

// held are the mappings in ms the router holds: not the refused Optional
// ones' places.
func held(ms []Mapping) []Mapping {
	var out []Mapping
	for _, m := range ms {
		if m.ExternalPort != 0 {
			out = append(out, m)
		}
	}
	return out
}

// cleanup removes mappings after a failure, within the removal budget.
func (m *Mapper) cleanup(r router, ms []Mapping) {
	ctx, cancel := context.WithTimeout(context.Background(), removeBudget)
	defer cancel()
	if err := m.unmapAll(ctx, r, ms); err != nil {
		m.log.Debug("removing mappings after a failure", "err", err)
	}
}

// unmapAll removes mappings in parallel, so a router that has gone costs
// one timeout, not one per mapping.
func (m *Mapper) unmapAll(ctx context.Context, r router, ms []Mapping) error {
	ms = held(ms)
	if r == nil || len(ms) == 0 {
		return nil
	}
	errs := make([]error, len(ms))
	var wg sync.WaitGroup
	for i, mp := range ms {
		wg.Go(func() {
			if err := r.unmapPort(ctx, mp); err != nil {
				errs[i] = fmt.Errorf("remove %v: %w", mp, err)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("portmap: %w", err)
	}
	return nil
}

// router is one way of talking to the gateway.
type router interface {
	method() Method
	String() string
	externalIP(ctx context.Context) (net.IP, error)
	// mapPort asks for want (its ExternalPort is a wish) and returns the
	// mapping and lease granted; a lease of 0 means permanent.
	mapPort(ctx context.Context, want Mapping, lease time.Duration, desc string) (Mapping, time.Duration, error)
	unmapPort(ctx context.Context, m Mapping) error
}
