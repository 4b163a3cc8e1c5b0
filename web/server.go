// Package web is Vantage's HTTP service: NewServer returns the whole
// application as one http.Handler, every route is in routes.go, handlers
// are maker funcs over small interfaces. It turns requests into calls on
// internal/* and renders templates; it never opens a socket to a scan
// target itself (cmd → web → templates, static, internal/*).
package web

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/vantagescan/vantage/internal/jobs"
	"github.com/vantagescan/vantage/internal/target"
)

// scanRunner is what the handlers need of the job runner.
type scanRunner interface {
	Submit(ctx context.Context, req jobs.Request) (string, error)
	SubmitPair(ctx context.Context, v4, v6 jobs.Request) (string, string, error)
	Watch(ctx context.Context, id string, after int) (jobs.Snapshot, error)
	Position(id string) int
	Done(id string) <-chan struct{}
	Protect(ctx context.Context, ids ...string) (string, error)
	Delete(ctx context.Context, id, token string) error
	Cancel(ctx context.Context, id, token string) error
}

// pinner turns what a person typed into a pinned, allowed target.
type pinner interface {
	Pin(ctx context.Context, raw string, fam target.Family) (target.PinnedTarget, error)
	PinBoth(ctx context.Context, raw string) (v4, v6 target.PinnedTarget, err error)
}

// clientLimiter is the per-client token bucket: every scan request takes
// a token; an IPv4/IPv6 pair takes one more once it is valid.
type clientLimiter interface {
	Allow(addr netip.Addr) (ok bool, retryAfter time.Duration)
	More(addr netip.Addr, n int) (ok bool, retryAfter time.Duration, undo func())
}

// cooldown answers a repeated scan of the same target with the recent one.
type cooldown interface {
	Recent(addr netip.Addr, ports string) (string, bool)
	Remember(addr netip.Addr, ports, id string)
}

// recorder counts requests and refusals (internal/metrics is one).
type recorder interface {
	Refused(reason string)
	Request(route string, code int, d time.Duration)
}

type noRecorder struct{}

func (noRecorder) Refused(string)                     {}
func (noRecorder) Request(string, int, time.Duration) {}

// pinger answers readiness checks.
type pinger interface {
	Ping(ctx context.Context) error
}

// Deps are the service's dependencies.
type Deps struct {
	Log      *slog.Logger
	Runner   scanRunner
	Pinner   pinner
	Store    pinger
	MaxPorts int // largest port set the form accepts
	// Clients and Cooldown are the abuse limits; nil disables each.
	Clients  clientLimiter
	Cooldown cooldown
	// TrustedProxies are the only peers whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	Metrics        recorder // optional
	Version        string   // Vantage's version, for exports
	// Ready reports false while the service is shutting down.
	Ready func() bool
	Now   func() time.Time
	// Route reports whether this server has a route to an address (nil:
	// target.Route, a UDP connect, which looks the route up and sends nothing),
	// so a server without IPv6 says so instead of queueing a scan that
	// cannot run.
	Route func(netip.Addr) error
}

// NewServer returns the service as one handler.
func NewServer(d Deps) http.Handler {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.MaxPorts <= 0 {
		d.MaxPorts = DefaultMaxPorts
	}
	if d.Ready == nil {
		d.Ready = func() bool { return true }
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Metrics == nil {
		d.Metrics = noRecorder{}
	}
	if d.Route == nil {
		d.Route = target.Route
	}
	return routes(d)
}

// DefaultMaxPorts caps a web scan: the extended preset (1-1023 plus the
// catalog) fits; all 65535 ports are for the command line.
const DefaultMaxPorts = 2048

// noRouteMessage says that this server cannot reach the family of ip.
func noRouteMessage(ip netip.Addr, host string) string {
	family := "IPv4"
	if ip.Is6() && !ip.Is4In6() {
		family = "IPv6"
	}
	what := ip.String()
	if host != ip.String() {
		what = "the " + family + " address of " + host
	}
	return "This Vantage server has no route to " + family + " addresses (its network has no " + family +
		" connectivity), so it cannot scan " + what + "."
}
