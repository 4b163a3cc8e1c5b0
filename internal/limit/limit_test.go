package limit

import (
	"net/netip"
	"testing"
	"time"
)

// clock is a manual clock for the limiters.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newClock() *clock { return &clock{t: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)} }

func TestKeyFoldsIPv6To64(t *testing.T) {
	tests := []struct{ in, want string }{
		{"203.0.113.7", "203.0.113.7/32"},
		{"::ffff:203.0.113.7", "203.0.113.7/32"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"},
		{"fe80::1%eth0", "fe80::/64"},
	}
	for _, tt := range tests {
		if got := Key(netip.MustParseAddr(tt.in)); got.String() != tt.want {
			t.Errorf("Key(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestClientsBurstAndRefill(t *testing.T) {
	clk := newClock()
	c, err := NewClients(20, 3, 0, clk.now) // 20/hour: one token every 3 minutes
	if err != nil {
		t.Fatal(err)
	}
	a := netip.MustParseAddr("198.51.100.9")
	for i := range 3 {
		if ok, _ := c.Allow(a); !ok {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	ok, retry := c.Allow(a)
	if ok || retry < 2*time.Minute+59*time.Second || retry > 3*time.Minute {
		t.Fatalf("fourth request: ok=%v retry=%v, want refused for ~3m", ok, retry)
	}
	// A neighbour in the same IPv6 /64 shares a bucket; another client does not.
	b1, b2 := netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::ffff")
	for range 3 {
		c.Allow(b1)
	}
	if ok, _ := c.Allow(b2); ok {
		t.Error("the same /64 got a fresh bucket")
	}
	if ok, _ := c.Allow(netip.MustParseAddr("2001:db8:0:1::1")); !ok {
		t.Error("a different /64 was limited")
	}
	clk.advance(3 * time.Minute)
	if ok, _ := c.Allow(a); !ok {
		t.Error("no token after the refill interval")
	}
	if ok, _ := c.Allow(a); ok {
		t.Error("a second token appeared too soon")
	}
}

func TestClientsEvictionAndBound(t *testing.T) {
	clk := newClock()
	c, _ := NewClients(60, 2, 3, clk.now)
	for i := range 3 {
		c.Allow(netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}))
	}
	if c.Len() != 3 {
		t.Fatalf("len %d", c.Len())
	}
	// The map is full of fresh spenders: a newcomer is refused, not stored.
	if ok, _ := c.Allow(netip.MustParseAddr("192.0.2.200")); ok || c.Len() != 3 {
		t.Errorf("newcomer over the bound: ok=%v len=%d", ok, c.Len())
	}
	// Once their buckets refill, they are forgotten and room is made.
	clk.advance(2 * time.Minute)
	if ok, _ := c.Allow(netip.MustParseAddr("192.0.2.200")); !ok {
		t.Error("newcomer refused after the others refilled")
	}
	c.Sweep()
	if c.Len() != 1 {
		t.Errorf("after sweep: %d keys, want 1", c.Len())
	}
}

func TestNewClientsRefusesNonsense(t *testing.T) {
	if _, err := NewClients(0, 3, 0, nil); err == nil {
		t.Error("zero rate accepted")
	}
	if _, err := NewClients(10, 0, 0, nil); err == nil {
		t.Error("zero burst accepted")
	}
}

func TestCooldown(t *testing.T) {
	clk := newClock()
	cd := NewCooldown(time.Minute, 2, clk.now)
	a := netip.MustParseAddr("203.0.113.5")
	if _, ok := cd.Recent(a, "22,80"); ok {
		t.Fatal("hit before any scan")
	}
	cd.Remember(a, "22,80", "ID1")
	if id, ok := cd.Recent(netip.MustParseAddr("::ffff:203.0.113.5"), "22,80"); !ok || id != "ID1" {
		t.Errorf("same target: %q %v", id, ok)
	}
	if _, ok := cd.Recent(a, "22,443"); ok {
		t.Error("a different port set hit the cooldown")
	}
	clk.advance(time.Minute)
	if _, ok := cd.Recent(a, "22,80"); ok {
		t.Error("hit after the window")
	}
	// Bounded: expired entries make room; live ones are never displaced.
	cd.Remember(netip.MustParseAddr("203.0.113.6"), "1", "ID2")
	cd.Remember(netip.MustParseAddr("203.0.113.7"), "1", "ID3")
	if _, ok := cd.Recent(netip.MustParseAddr("203.0.113.7"), "1"); !ok {
		t.Error("room was not made from the expired entry")
	}
	disabled := NewCooldown(0, 0, clk.now)
	disabled.Remember(a, "1", "X")
	if _, ok := disabled.Recent(a, "1"); ok {
		t.Error("a zero window still remembered")
	}
}

// TestClientsMore: a pair is one request Allow lets through plus one more
// token; without it the pair is refused and the request's token stays
// spent. With a burst of 1 the second token is lent: pairs are possible
// and never cheaper than two single scans.
func TestClientsMore(t *testing.T) {
	clk := newClock()
	a := netip.MustParseAddr("198.51.100.9")
	three, err := NewClients(20, 3, 0, clk.now) // a token every 3 minutes
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := three.Allow(a); !ok {
		t.Fatal("first request refused")
	}
	if ok, _, _ := three.More(a, 1); !ok {
		t.Fatal("a pair from a fresh client refused")
	}
	if ok, _ := three.Allow(a); !ok {
		t.Fatal("the third token of the burst is gone after one pair")
	}
	// Refused: the retry covers a whole new pair (its own token and one
	// more), so a client obeying Retry-After gets through.
	ok, retry, _ := three.More(a, 1)
	if ok || retry < 5*time.Minute+59*time.Second || retry > 6*time.Minute {
		t.Errorf("a second pair with one token left: ok=%v retry=%v, want refused for ~6m", ok, retry)
	}
	if ok, _ := three.Allow(a); ok {
		t.Error("the refused pair's own token came back")
	}
	clk.advance(retry)
	if ok, _ := three.Allow(a); !ok {
		t.Error("a pair that waited Retry-After is refused its own token")
	} else if ok, _, _ := three.More(a, 1); !ok {
		t.Error("a pair that waited Retry-After is refused its second token")
	}
	// undo gives the second token back when the scans could not start,
	// also a moment later (the real clock moves on meanwhile).
	clk.advance(9 * time.Minute) // full again
	three.Allow(a)
	_, _, undo := three.More(a, 1)
	clk.advance(20 * time.Millisecond)
	undo()
	for i := range 2 {
		if ok, _ := three.Allow(a); !ok {
			t.Errorf("token %d after an undone pair is missing", i+1)
		}
	}

	one, _ := NewClients(20, 1, 0, clk.now)
	if ok, _ := one.Allow(a); !ok {
		t.Fatal("first request refused")
	}
	if ok, _, _ := one.More(a, 1); !ok {
		t.Fatal("with a burst of 1 a pair is never possible")
	}
	ok, retry = one.Allow(a)
	if ok || retry < 5*time.Minute+59*time.Second || retry > 6*time.Minute {
		t.Errorf("after a pair with a burst of 1: ok=%v retry=%v, want refused for ~6m", ok, retry)
	}
	clk.advance(6 * time.Minute)
	if ok, _ := one.Allow(a); !ok {
		t.Error("the debt is paid but the next scan is refused")
	}
	if ok, _, _ := one.More(netip.MustParseAddr("192.0.2.77"), 1); !ok || one.Len() != 1 {
		t.Errorf("More for a client Allow never saw: ok=%v, %d buckets", ok, one.Len())
	}
}
