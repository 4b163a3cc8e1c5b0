package probe

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"
)

// Check names, as in Finding.Check, Plan and Config.Checks.
const (
	CheckTLS    = "tls"
	CheckHTTP   = "http"
	CheckSSH    = "ssh"
	CheckBanner = "banner" // read a greeting; on unknown ports also identify SSH, TLS or HTTP
)

// DialFunc opens a TCP connection, e.g. target.Policy.Dialer(pinned).DialContext,
// which refuses anything but the pinned address.
type DialFunc func(ctx context.Context, network, address string) (net.Conn, error)

// Config says how Run probes one pinned address. Only Dial is required.
type Config struct {
	Dial DialFunc // every connection goes through it; required
	// Host is the name the user typed: the TLS SNI, the HTTP Host and the
	// name the certificate must cover. An IP string for IP targets; ""
	// means the address itself.
	Host string
	// Roots verifies certificate chains. nil: the system roots, or the
	// bundle of golang.org/x/crypto/x509roots/fallback when the system has
	// none (a distroless image).
	Roots       *x509.CertPool
	PerProbe    time.Duration // bounds each connection's dial and exchange; default 3s
	Total       time.Duration // bounds the whole Run; default 10s
	Concurrency int           // checks running at once; default 4
	Now         func() time.Time
	// Checks overrides Plan for the ports it lists (an empty list: no
	// checks), e.g. {8444: {"tls"}} for a TLS port Plan does not know.
	Checks map[uint16][]string

	// like makes a port behave as a well-known one in the banner check (its
	// hello and protocol guess), e.g. a test Redis on a random port.
	like map[uint16]uint16
}

const (
	defaultPerProbe    = 3 * time.Second
	defaultTotal       = 10 * time.Second
	defaultConcurrency = 4

	// msgOutOfTime is Finding.Err for a check cut short by Total or ctx.
	msgOutOfTime = "the check ran out of time"
)

var (
	errProbeTimeout = errors.New("probe: per-connection time limit reached")
	errRunTimeout   = errors.New("probe: total time limit reached")
)

// Plan says which checks Run gives a port when Config.Checks does not
// list it. Ports it does not know get CheckBanner, which reads a greeting
// and, when the port stays silent, tries a TLS ClientHello and then an
// HTTP GET to identify it.
func Plan(port uint16) []string {
	checks, _ := knownPlan(port)
	return checks
}

// knownPlan is Plan plus whether the port is a well-known one.
func knownPlan(port uint16) ([]string, bool) {
	switch port {
	case 443, 8443, 993, 995, 465, 636, 6443:
		return []string{CheckTLS}, true
	case 80, 8080, 8000, 8008, 8888:
		return []string{CheckHTTP}, true
	case 22, 2222:
		return []string{CheckSSH}, true
	}
	if _, ok := bannerPorts[port]; ok {
		return []string{CheckBanner}, true
	}
	return []string{CheckBanner}, false
}

// task is one check of one port.
type task struct {
	port  uint16
	check string
}

// prober holds one Run's settled configuration.
type prober struct {
	cfg    Config
	addr   netip.Addr
	host   string // lower case, no trailing dot or brackets
	hostIP bool   // host is an IP literal: no SNI, verify IP SANs
	open   map[uint16]bool
}

// Run checks the open ports of addr and calls emit (serialized, never
// concurrently) once per finding as each check ends. It returns when all
// checks are done or Total or ctx expires; the checks it could not finish
// are then reported with Err "the check ran out of time". It returns an
// error for an invalid Config, or ctx's error when ctx ended first.
func Run(ctx context.Context, cfg Config, addr netip.Addr, open []uint16, emit func(Finding)) error {
	if cfg.Dial == nil || emit == nil {
		return errors.New("probe: Config.Dial and emit are required")
	}
	if !addr.IsValid() {
		return errors.New("probe: invalid address")
	}
	tasks, err := plan(cfg, open)
	if err != nil {
		return err
	}
	p := newProber(cfg, addr, open)

	runCtx, cancel := context.WithTimeoutCause(ctx, p.cfg.Total, errRunTimeout)
	defer cancel()

	var mu sync.Mutex
	report := func(f Finding) {
		mu.Lock()
		defer mu.Unlock()
		emit(f)
	}
	queue := make(chan task)
	var wg sync.WaitGroup
	for range min(p.cfg.Concurrency, len(tasks)) {
		wg.Go(func() {
			for t := range queue {
				if runCtx.Err() != nil {
					report(Finding{Port: t.port, Check: t.check, Err: msgOutOfTime})
					continue
				}
				p.check(runCtx, t, report)
			}
		})
	}
	for _, t := range tasks {
		queue <- t
	}
	close(queue)
	wg.Wait()
	return ctx.Err()
}

// plan lists the checks for open, well-known (or overridden) ports first:
// identifying unknown ports is slower.
func plan(cfg Config, open []uint16) ([]task, error) {
	var known, unknown []task
	seen := make(map[uint16]bool, len(open))
	for _, port := range open {
		if seen[port] {
			continue
		}
		seen[port] = true
		checks, ok := cfg.Checks[port]
		if !ok {
			checks, ok = knownPlan(port)
		}
		for _, c := range checks {
			if !slices.Contains([]string{CheckTLS, CheckHTTP, CheckSSH, CheckBanner}, c) {
				return nil, fmt.Errorf("probe: unknown check %q for port %d", c, port)
			}
			if ok {
				known = append(known, task{port, c})
			} else {
				unknown = append(unknown, task{port, c})
			}
		}
	}
	return append(known, unknown...), nil
}

func newProber(cfg Config, addr netip.Addr, open []uint16) *prober {
	if cfg.PerProbe <= 0 {
		cfg.PerProbe = defaultPerProbe
	}
	if cfg.Total <= 0 {
		cfg.Total = defaultTotal
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = defaultConcurrency
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	host := strings.TrimSuffix(strings.ToLower(strings.Trim(cfg.Host, "[]")), ".")
	if host == "" {
		host = addr.String()
	}
	_, err := netip.ParseAddr(host)
	p := &prober{cfg: cfg, addr: addr, host: host, hostIP: err == nil, open: make(map[uint16]bool)}
	for _, port := range open {
		p.open[port] = true
	}
	return p
}

// check runs one task and reports its findings.
func (p *prober) check(ctx context.Context, t task, report func(Finding)) {
	switch t.check {
	case CheckTLS:
		report(p.checkTLS(ctx, t.port))
	case CheckHTTP:
		report(p.checkHTTP(ctx, t.port))
	case CheckSSH:
		report(p.checkSSH(ctx, t.port))
	case CheckBanner:
		p.checkBanner(ctx, t.port, report)
	}
}

// within bounds one connection's dial and exchange by PerProbe (or the
// shorter limit given).
func (p *prober) within(ctx context.Context, limit time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeoutCause(ctx, min(limit, p.cfg.PerProbe), errProbeTimeout)
}

// deadlineSlack lets ctx, not the socket deadline, end an exchange, so a
// failure is attributed to the right limit; the deadline is a backstop.
const deadlineSlack = 100 * time.Millisecond

// dial connects to port on the pinned address through the configured
// dialer and closes the connection when ctx ends.
func (p *prober) dial(ctx context.Context, port uint16) (net.Conn, error) {
	c, err := p.cfg.Dial(ctx, "tcp", netip.AddrPortFrom(p.addr, port).String())
	if err != nil {
		return nil, &dialError{err}
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl.Add(deadlineSlack))
	}
	stop := context.AfterFunc(ctx, func() { _ = c.Close() })
	return &boundConn{Conn: c, stop: stop}, nil
}

// boundConn stops watching its context when closed.
type boundConn struct {
	net.Conn
	stop func() bool
}

func (c *boundConn) Close() error {
	c.stop()
	return c.Conn.Close()
}
