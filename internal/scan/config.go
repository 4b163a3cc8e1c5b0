package scan

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"
)

// DialFunc opens a TCP connection to addr. The engine calls it for every
// attempt with a context that is cancelled when the attempt times out; the
// target policy's guarded dialer is one. It must not resolve names.
type DialFunc func(ctx context.Context, addr netip.AddrPort) (net.Conn, error)

// NetDialer adapts a net.Dialer (for instance one whose ControlContext
// enforces the target policy) to a DialFunc.
func NetDialer(d *net.Dialer) DialFunc {
	// Not d.DialTCP: given the zero AddrPort as laddr it binds to port 0
	// before connecting, which allocates the ephemeral port exclusively
	// (slower, and limits a scan to one connection per local port).
	return func(ctx context.Context, addr netip.AddrPort) (net.Conn, error) {
		return d.DialContext(ctx, "tcp", addr.String())
	}
}

// Config tunes a Scanner. The zero value of every field means "the default"
// (see DefaultConfig), so callers set only what they mean to change.
type Config struct {
	// Control, when set, is called with every socket after it is created
	// and before it connects, exactly like net.Dialer.ControlContext: the
	// target policy's guard plugs in here and refuses by returning an
	// error, which stops the scan.
	Control func(ctx context.Context, network, address string, c syscall.RawConn) error
	// Dial, when set, replaces the engine's own connector: every attempt
	// becomes a call to Dial in its own goroutine. Leave it nil for speed:
	// on Linux the engine then drives non-blocking sockets from one epoll
	// loop, as nmap does, calling Control on each. Tests inject fakes here.
	Dial DialFunc
	// Concurrency caps the attempts in flight for one scan.
	Concurrency int
	// Rate caps new connections per second for one scan; 0 means no cap
	// beyond Concurrency. Burst is the limiter's bucket size.
	Rate  float64
	Burst int
	// Sockets, when set, is a cap on sockets in flight shared by every scan
	// given the same pool.
	Sockets *SocketPool
	// InitialTimeout is how long a silent attempt is waited for before any
	// port has answered. After that the timeout is srtt + 4·rttvar of the
	// answers so far, clamped to [MinTimeout, MaxTimeout].
	InitialTimeout time.Duration
	MinTimeout     time.Duration
	MaxTimeout     time.Duration
	// Retries is how many times a silent port is tried again (0 means the
	// default; NoRetries means none). When a port
	// answers only on a retry, packets are being lost, and the retries for
	// ports still silent are raised — up to MaxRetries — until a port that
	// answers is misread as filtered with probability below LossTarget.
	Retries    int
	MaxRetries int
	LossTarget float64
	// MaxDuration is a hard deadline for the whole scan; 0 means none.
	MaxDuration time.Duration
}

// Defaults. The timeout floor suits real internet hosts, whose round trips
// vary far more than a LAN's; at or below about a second the kernel sends a
// single SYN per connect(), so every retry is the engine's own.
const (
	DefaultConcurrency    = 512
	DefaultInitialTimeout = time.Second
	DefaultMinTimeout     = 250 * time.Millisecond
	DefaultMaxTimeout     = time.Second
	DefaultRetries        = 1
	DefaultMaxRetries     = 6
	DefaultLossTarget     = 1e-4
)

// NoRetries, as Config.Retries, turns retries off: every port gets one attempt
// unless loss is detected.
const NoRetries = -1

// DefaultConfig returns the configuration a zero Config stands for.
func DefaultConfig() Config {
	return Config{
		Concurrency:    DefaultConcurrency,
		InitialTimeout: DefaultInitialTimeout,
		MinTimeout:     DefaultMinTimeout,
		MaxTimeout:     DefaultMaxTimeout,
		Retries:        DefaultRetries,
		MaxRetries:     DefaultMaxRetries,
		LossTarget:     DefaultLossTarget,
	}
}

// withDefaults fills zero fields from DefaultConfig and checks the rest.
func (c Config) withDefaults() (Config, error) {
	d := DefaultConfig()
	if c.Dial == nil && !nativeConnector {
		c.Dial = NetDialer(&net.Dialer{ControlContext: c.Control})
	}
	if c.Concurrency == 0 {
		c.Concurrency = d.Concurrency
	}
	if c.MinTimeout == 0 {
		c.MinTimeout = d.MinTimeout
	}
	if c.MaxTimeout == 0 {
		c.MaxTimeout = max(d.MaxTimeout, c.MinTimeout)
	}
	if c.InitialTimeout == 0 {
		c.InitialTimeout = clamp(d.InitialTimeout, c.MinTimeout, c.MaxTimeout)
	}
	switch {
	case c.Retries == 0:
		c.Retries = d.Retries
	case c.Retries == NoRetries:
		c.Retries = 0
	}
	if c.MaxRetries == 0 {
		c.MaxRetries = max(d.MaxRetries, c.Retries)
	}
	if c.LossTarget == 0 {
		c.LossTarget = d.LossTarget
	}
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	check(c.Concurrency > 0, "concurrency must be positive, not %d", c.Concurrency)
	check(c.Rate >= 0, "rate must not be negative")
	check(c.Burst >= 0, "burst must not be negative")
	check(c.MinTimeout > 0, "minimum timeout must be positive")
	check(c.MinTimeout <= c.MaxTimeout, "minimum timeout %v is above the maximum %v", c.MinTimeout, c.MaxTimeout)
	check(c.InitialTimeout >= c.MinTimeout && c.InitialTimeout <= c.MaxTimeout,
		"initial timeout %v is outside [%v, %v]", c.InitialTimeout, c.MinTimeout, c.MaxTimeout)
	check(c.Retries >= 0, "retries must not be negative (use NoRetries for none)")
	check(c.MaxRetries >= c.Retries, "max retries %d is below retries %d", c.MaxRetries, c.Retries)
	check(c.LossTarget > 0 && c.LossTarget < 1, "loss target must be in (0, 1)")
	check(c.MaxDuration >= 0, "max duration must not be negative")
	if len(errs) > 0 {
		return c, fmt.Errorf("scan config: %w", errors.Join(errs...))
	}
	if c.Rate > 0 && c.Burst == 0 {
		c.Burst = max(1, min(c.Concurrency, int(c.Rate/10)))
	}
	return c, nil
}

// SocketPool caps the sockets in flight across every scan sharing it, so
// several concurrent scans cannot together exhaust descriptors or ports.
type SocketPool struct {
	sem chan struct{}
}

// NewSocketPool returns a pool allowing n sockets at once.
func NewSocketPool(n int) *SocketPool {
	return &SocketPool{sem: make(chan struct{}, max(1, n))}
}

// InUse returns the number of sockets currently held.
func (p *SocketPool) InUse() int { return len(p.sem) }

// Cap returns the pool's size.
func (p *SocketPool) Cap() int { return cap(p.sem) }

func (p *SocketPool) acquire(ctx context.Context) error {
	select {
	case p.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *SocketPool) tryAcquire() bool {
	select {
	case p.sem <- struct{}{}:
		return true
	default:
		return false
	}
}

func (p *SocketPool) release() { <-p.sem }
