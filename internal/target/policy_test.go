package target

import (
	"errors"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func mustPolicy(t *testing.T, cfg PolicyConfig) *Policy {
	t.Helper()
	p, err := NewPolicy(cfg)
	if err != nil {
		t.Fatalf("NewPolicy: %v", err)
	}
	return p
}

func prefixes(s ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(s))
	for i, x := range s {
		out[i] = netip.MustParsePrefix(x)
	}
	return out
}

// TestPolicyPrecedence: deny beats allow, allow is the only way into a
// forbidden range or to a self address, self is refused.
func TestPolicyPrecedence(t *testing.T) {
	p := mustPolicy(t, PolicyConfig{
		Allow: prefixes("10.1.0.0/16", "127.0.0.0/8", "8.8.4.4/32", "fd00::/8", "192.0.2.0/25", "::ffff:192.168.7.0/120"),
		Deny:  prefixes("10.1.2.0/24", "1.1.1.0/24", "192.0.2.0/26", "2606:4700::/32"),
		Self:  []netip.Addr{netip.MustParseAddr("8.8.4.4"), netip.MustParseAddr("9.9.9.9"), netip.MustParseAddr("::ffff:149.112.112.112")},
	})
	for _, c := range []struct {
		addr string
		want string // "" allowed, else a part of the message
	}{
		{"10.1.3.4", ""},                              // allowed into a private range
		{"10.1.2.3", "excluded by the operator"},      // deny inside allow wins
		{"10.2.0.1", "private network"},               // outside the allow list: still private
		{"127.0.0.1", ""},                             // loopback opened
		{"::ffff:127.0.0.1", ""},                      // mapped form of an allowed address
		{"8.8.4.4", ""},                               // self, but allowed
		{"9.9.9.9", "this Vantage service itself"},    // self
		{"149.112.112.112", "this Vantage service"},   // self listed in mapped form
		{"::ffff:9.9.9.9", "this Vantage service"},    // self asked in mapped form
		{"1.1.1.1", "excluded by the operator"},       // deny of a public address
		{"2606:4700:4700::1111", "excluded by the"},   // deny of public v6
		{"fd00::1", ""},                               // ULA opened
		{"fe80::1", "link-local"},                     // not opened
		{"192.0.2.1", "excluded by the operator"},     // deny /26 inside allow /25
		{"192.0.2.100", ""},                           // allow /25 outside the deny
		{"192.0.2.200", "documentation"},              // neither
		{"192.168.7.9", ""},                           // allow given in mapped form
		{"8.8.8.8", ""},                               // plain public
		{"fe80::1%eth0", "link-local"},                // zone does not dodge the table
		{"2001:db8::1", "documentation/benchmarking"}, // plain default
	} {
		err := p.Check(netip.MustParseAddr(c.addr))
		switch {
		case c.want == "" && err != nil:
			t.Errorf("Check(%s) = %v, want allowed", c.addr, err)
		case c.want != "" && !errors.Is(err, ErrForbidden):
			t.Errorf("Check(%s) = %v, want ErrForbidden", c.addr, err)
		case c.want != "" && !strings.Contains(err.Error(), c.want):
			t.Errorf("Check(%s) = %q, want it to say %q", c.addr, err, c.want)
		case err != nil:
			assertNoAddress(t, err.Error(), netip.MustParseAddr(c.addr))
		}
	}
	want := prefixes("10.1.0.0/16", "127.0.0.0/8", "8.8.4.4/32", "fd00::/8", "192.0.2.0/25", "192.168.7.0/24")
	got := p.AllowsForbidden()
	if !slices.Equal(got, want) {
		t.Errorf("AllowsForbidden = %v, want %v", got, want)
	}
	got[0] = netip.MustParsePrefix("0.0.0.0/0")
	if p.Check(netip.MustParseAddr("10.9.9.9")) == nil {
		t.Error("changing AllowsForbidden's result changed the policy")
	}
}

func TestPolicyDefaults(t *testing.T) {
	var zero Policy
	if err := zero.Check(netip.MustParseAddr("8.8.8.8")); err != nil {
		t.Errorf("zero Policy refuses 8.8.8.8: %v", err)
	}
	if err := zero.Check(netip.MustParseAddr("10.0.0.1")); !errors.Is(err, ErrForbidden) {
		t.Errorf("zero Policy allows 10.0.0.1: %v", err)
	}
	if got := zero.AllowsForbidden(); len(got) != 0 {
		t.Errorf("zero Policy allows %v", got)
	}
	var nilPolicy *Policy
	if err := nilPolicy.Check(netip.MustParseAddr("8.8.8.8")); !errors.Is(err, ErrForbidden) {
		t.Errorf("nil Policy allows 8.8.8.8: %v", err)
	}
	if err := zero.Check(netip.Addr{}); !errors.Is(err, ErrForbidden) {
		t.Errorf("invalid address allowed: %v", err)
	}
	// Allowing everything is the operator's call, and AllowsForbidden tells.
	open := mustPolicy(t, PolicyConfig{Allow: prefixes("0.0.0.0/0", "::/0")})
	if err := open.Check(netip.MustParseAddr("127.0.0.1")); err != nil {
		t.Errorf("allow 0.0.0.0/0 refuses loopback: %v", err)
	}
	if len(open.AllowsForbidden()) != 2 {
		t.Errorf("AllowsForbidden = %v", open.AllowsForbidden())
	}
}

func TestNewPolicyRefusesBadConfig(t *testing.T) {
	for name, cfg := range map[string]PolicyConfig{
		"invalid allow":         {Allow: []netip.Prefix{{}}},
		"invalid deny":          {Deny: []netip.Prefix{{}}},
		"invalid self":          {Self: []netip.Addr{{}}},
		"mapped prefix too big": {Deny: prefixes("::ffff:0:0/80")},
	} {
		if _, err := NewPolicy(cfg); err == nil {
			t.Errorf("%s: NewPolicy accepted %+v", name, cfg)
		}
	}
}

// TestPolicyInterfaces: every address of this machine is refused, and allow
// still opens one.
func TestPolicyInterfaces(t *testing.T) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Skipf("no interface addresses: %v", err)
	}
	p := mustPolicy(t, PolicyConfig{Interfaces: true, Allow: prefixes("127.0.0.1/32")})
	for _, ia := range addrs {
		n, ok := ia.(*net.IPNet)
		if !ok {
			continue
		}
		a, _ := netip.AddrFromSlice(n.IP)
		a = a.Unmap()
		err := p.Check(a)
		if a == netip.MustParseAddr("127.0.0.1") {
			if err != nil {
				t.Errorf("127.0.0.1 is allowed by the operator, yet refused: %v", err)
			}
			continue
		}
		if !errors.Is(err, ErrForbidden) {
			t.Errorf("interface address %v allowed", a)
		}
	}
	if !slices.Contains(p.self, netip.MustParseAddr("127.0.0.1")) {
		t.Errorf("self = %v, want the loopback interface's 127.0.0.1 in it", p.self)
	}
}

// TestRangesMatchSecurityMD checks the table against SECURITY.md's lists:
// both ends of every forbidden range are refused, and the addresses just
// outside are allowed unless another listed range covers them.
func TestRangesMatchSecurityMD(t *testing.T) {
	v4 := prefixes("0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
		"172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.31.196.0/24", "192.52.193.0/24",
		"192.88.99.0/24", "192.168.0.0/16", "192.175.48.0/24", "198.18.0.0/15", "198.51.100.0/24",
		"203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4")
	v6Holes := prefixes("2001::/23", "2001:db8::/32", "2002::/16", "2620:4f:8000::/48", "3fff::/20")
	global6 := netip.MustParsePrefix("2000::/3")
	forbiddenBySpec := func(a netip.Addr) bool {
		if a.Is4() {
			return containsAddr(v4, a)
		}
		return !global6.Contains(a) || containsAddr(v6Holes, a)
	}
	var p Policy
	for _, pr := range append(append(v4, v6Holes...), global6) {
		first := pr.Masked().Addr()
		last := lastAddr(pr)
		probes := []netip.Addr{first, last, first.Prev(), last.Next()}
		for _, a := range probes {
			if !a.IsValid() {
				continue
			}
			want := forbiddenBySpec(a)
			if got := p.Check(a) != nil; got != want {
				t.Errorf("%v (edge of %v): forbidden = %v, SECURITY.md says %v", a, pr, got, want)
			}
		}
	}
	for _, s := range []string{"255.255.255.255", "::", "::1", "::ffff:0:7f00:1", "64:ff9b::1", "64:ff9b:1::1",
		"fc00::", "fe80::", "fec0::", "ff00::", "1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "4000::",
		"2001:200::", "2001:dc0::", "2003::", "2620:4f:8001::", "3fff:1000::"} {
		a := netip.MustParseAddr(s)
		if got, want := p.Check(a) != nil, forbiddenBySpec(a); got != want {
			t.Errorf("%v: forbidden = %v, SECURITY.md says %v", a, got, want)
		}
	}
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}
