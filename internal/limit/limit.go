// Package limit owns Vantage's abuse limits: a token bucket per client
// (IPv4 /32, IPv6 /64) and a cooldown per scanned target. It keeps only
// bounded in-memory state and never sees a request or a socket.
package limit

import (
	"fmt"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Key is the unit a client is limited by: its IPv4 address, or the /64 of
// its IPv6 address (one customer usually holds a whole /64).
func Key(addr netip.Addr) netip.Prefix {
	addr = addr.Unmap()
	if addr.Is4() {
		return netip.PrefixFrom(addr, 32)
	}
	p, _ := addr.WithZone("").Prefix(64)
	return p
}

// Clients is a token bucket per client key: Burst scans at once, refilled
// at PerHour. Keys whose bucket is full again are forgotten (a full bucket
// is the same as a fresh one), and the map never holds more than MaxKeys.
type Clients struct {
	limit   rate.Limit
	burst   int
	maxKeys int
	now     func() time.Time

	mu      sync.Mutex
	buckets map[netip.Prefix]*rate.Limiter
}

// NewClients returns a limiter allowing burst scans at once and perHour
// scans an hour per client. maxKeys bounds memory (default 100000).
func NewClients(perHour float64, burst, maxKeys int, now func() time.Time) (*Clients, error) {
	if perHour <= 0 || burst <= 0 {
		return nil, fmt.Errorf("limit: the rate (%v/hour) and burst (%d) must be positive", perHour, burst)
	}
	if maxKeys <= 0 {
		maxKeys = 100_000
	}
	if now == nil {
		now = time.Now
	}
	return &Clients{
		limit: rate.Limit(perHour / 3600), burst: burst, maxKeys: maxKeys, now: now,
		buckets: map[netip.Prefix]*rate.Limiter{},
	}, nil
}

// Allow takes one token for addr's client. When none is left it reports
// how long until one is.
func (c *Clients) Allow(addr netip.Addr) (ok bool, retryAfter time.Duration) {
	key := Key(addr)
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	lim := c.buckets[key]
	if lim == nil {
		if len(c.buckets) >= c.maxKeys {
			c.sweepLocked(now)
		}
		if len(c.buckets) >= c.maxKeys {
			// Every key is busy: refuse newcomers rather than grow.
			return false, time.Duration(float64(time.Second) / float64(c.limit))
		}
		lim = rate.NewLimiter(c.limit, c.burst)
		c.buckets[key] = lim
	}
	r := lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// More takes n more tokens for a request Allow let through that turned
// out to start n more scans (the second half of an IPv4/IPv6 pair). With
// fewer than n left it refuses and says when a new request like this one
// (its own token and the n more) would pass; the refused request's own
// token stays spent. A burst too small ever to hold them after the
// request's own token lends them instead (the tokens to come pay the debt),
// so a pair stays possible but is never cheaper than n+1 scans. undo gives
// the n tokens back when the scans could not start after all.
func (c *Clients) More(addr netip.Addr, n int) (ok bool, retryAfter time.Duration, undo func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	lim := c.buckets[Key(addr)]
	if lim == nil || n <= 0 {
		return true, 0, func() {} // nothing was let through by Allow for this client, or nothing asked
	}
	now := c.now()
	var taken []*rate.Reservation
	undo = func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		// At the reservation's own time: x/time/rate gives nothing back for
		// a reservation whose time to act has passed, and an immediate one's
		// is now. (The bucket's clock steps back by the moments in between,
		// a refill of a few milliseconds' worth at most.)
		for _, r := range taken {
			r.CancelAt(now)
		}
	}
	if n > c.burst-1 {
		for ; n > 0; n -= c.burst {
			taken = append(taken, lim.ReserveN(now, min(n, c.burst))) // never cancelled unless undone: the debt
		}
		return true, 0, undo
	}
	r := lim.ReserveN(now, n)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		// The next try needs its own token as well (n+1 ≤ burst here).
		again := lim.ReserveN(now, n+1)
		d = again.DelayFrom(now)
		again.CancelAt(now)
		return false, d, nil
	}
	taken = append(taken, r)
	return true, 0, undo
}

// Sweep forgets clients whose bucket has refilled.
func (c *Clients) Sweep() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sweepLocked(c.now())
}

func (c *Clients) sweepLocked(now time.Time) {
	for k, lim := range c.buckets {
		if lim.TokensAt(now) >= float64(c.burst) {
			delete(c.buckets, k)
		}
	}
}

// Len is the number of clients remembered.
func (c *Clients) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.buckets)
}

// Cooldown remembers the latest scan of each target (pinned address and
// port set) for a while, so the same scan asked again soon is answered
// with the recent result instead of scanning again, whoever asks.
type Cooldown struct {
	window time.Duration
	max    int
	now    func() time.Time

	mu     sync.Mutex
	recent map[cooldownKey]recentScan
}

type cooldownKey struct {
	addr  netip.Addr
	ports string
}

type recentScan struct {
	id string
	at time.Time
}

// NewCooldown returns a cooldown of window (0 disables it) remembering at
// most max targets (default 100000).
func NewCooldown(window time.Duration, max int, now func() time.Time) *Cooldown {
	if max <= 0 {
		max = 100_000
	}
	if now == nil {
		now = time.Now
	}
	return &Cooldown{window: window, max: max, now: now, recent: map[cooldownKey]recentScan{}}
}

// Recent returns the ID of a scan of the same address and port set started
// within the window.
func (c *Cooldown) Recent(addr netip.Addr, ports string) (string, bool) {
	if c.window <= 0 {
		return "", false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.recent[cooldownKey{addr.Unmap(), ports}]
	if !ok || c.now().Sub(r.at) >= c.window {
		return "", false
	}
	return r.id, true
}

// Remember records a scan just started.
func (c *Cooldown) Remember(addr netip.Addr, ports, id string) {
	if c.window <= 0 {
		return
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.recent) >= c.max {
		for k, r := range c.recent {
			if now.Sub(r.at) >= c.window {
				delete(c.recent, k)
			}
		}
	}
	if len(c.recent) >= c.max {
		return // full of live entries: the scan runs, only the cooldown is skipped
	}
	c.recent[cooldownKey{addr.Unmap(), ports}] = recentScan{id: id, at: now}
}
