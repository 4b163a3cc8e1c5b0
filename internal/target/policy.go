package target

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
)

// reason says why an address is refused: a short category for logs and a
// phrase that completes "example.com resolves to …" for the user. Neither
// ever contains the address.
type reason struct {
	category string
	phrase   string
	tail     string // what the user should know next; "" means the default
}

const defaultTail = "Vantage scans only public addresses"

var (
	public      = reason{} // the zero reason: allowed
	private     = reason{"a private network", "an address in a private network", ""}
	loopback    = reason{"loopback", "a loopback address", ""}
	linkLocal   = reason{"cloud metadata / link-local", "a cloud metadata / link-local address", ""}
	cgnat       = reason{"carrier-grade NAT", "a carrier-grade NAT (shared) address", ""}
	docs        = reason{"documentation/benchmarking range", "an address in a documentation/benchmarking range", ""}
	multicast   = reason{"multicast", "a multicast address", ""}
	reserved    = reason{"reserved", "a reserved address", ""}
	unspecified = reason{"unspecified", "an unspecified (\"this host\") address", ""}
	transition  = reason{"IPv6 transition (6to4, Teredo, NAT64)", "an IPv6 transition address (6to4, Teredo or NAT64)", ""}
	nonGlobal6  = reason{"outside the global unicast space (IPv6)", "an IPv6 address outside the global unicast space", ""}
	self        = reason{"this service's own address", "an address of this Vantage service itself", "Vantage does not scan itself"}
	operator    = reason{"excluded by the operator", "an address excluded by the operator of this service", "it cannot be scanned here"}
)

// ranges is the default policy, straight from SECURITY.md "Forbidden by
// default" and the IANA special-purpose registries. The longest matching
// prefix decides, so a row inside a larger one overrides it: IPv6 is refused
// everywhere (::/0) except 2000::/3, minus the holes listed inside it.
// IPv4-mapped IPv6 never reaches this table: Check unmaps first.
var ranges = []struct {
	prefix netip.Prefix
	reason reason
}{
	// IPv4: public unless listed.
	{pfx("0.0.0.0/0"), public},
	{pfx("0.0.0.0/8"), unspecified}, // "this network"; 0.0.0.0 reaches localhost on Linux
	{pfx("10.0.0.0/8"), private},
	{pfx("100.64.0.0/10"), cgnat},
	{pfx("100.100.100.200/32"), linkLocal}, // Alibaba Cloud metadata, inside 100.64/10
	{pfx("127.0.0.0/8"), loopback},
	{pfx("169.254.0.0/16"), linkLocal}, // 169.254.169.254: AWS, GCP, Azure metadata
	{pfx("172.16.0.0/12"), private},
	{pfx("192.0.0.0/24"), reserved}, // IETF protocol assignments
	{pfx("192.0.2.0/24"), docs},     // TEST-NET-1
	{pfx("192.31.196.0/24"), reserved},
	{pfx("192.52.193.0/24"), reserved},
	{pfx("192.88.99.0/24"), reserved}, // deprecated 6to4 relay anycast
	{pfx("192.168.0.0/16"), private},
	{pfx("192.175.48.0/24"), reserved},
	{pfx("198.18.0.0/15"), docs},   // benchmarking
	{pfx("198.51.100.0/24"), docs}, // TEST-NET-2
	{pfx("203.0.113.0/24"), docs},  // TEST-NET-3
	{pfx("224.0.0.0/4"), multicast},
	{pfx("240.0.0.0/4"), reserved}, // includes 255.255.255.255

	// IPv6: refused unless in 2000::/3. The rows outside it only name the
	// category better; they refuse nothing ::/0 does not.
	{pfx("::/0"), nonGlobal6}, // ::/96 IPv4-compatible, 100::/64 discard, …
	{pfx("::/128"), unspecified},
	{pfx("::1/128"), loopback},
	{pfx("64:ff9b::/96"), transition},   // NAT64
	{pfx("64:ff9b:1::/48"), transition}, // local-use NAT64
	{pfx("fc00::/7"), private},          // unique local
	{pfx("fd00:ec2::254/128"), linkLocal},
	{pfx("fe80::/10"), linkLocal},
	{pfx("fec0::/10"), private}, // deprecated site-local
	{pfx("ff00::/8"), multicast},
	{pfx("2000::/3"), public},
	{pfx("2001::/23"), reserved},   // IETF protocol assignments
	{pfx("2001::/32"), transition}, // Teredo
	{pfx("2001:db8::/32"), docs},
	{pfx("2002::/16"), transition}, // 6to4
	{pfx("2620:4f:8000::/48"), reserved},
	{pfx("3fff::/20"), docs},
}

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }

// classify returns the default table's verdict for a (unmapped, zone-free)
// address.
func classify(a netip.Addr) reason {
	best, bits := reserved, -1 // no row matches only an invalid address
	for _, r := range ranges {
		if r.prefix.Addr().Is4() == a.Is4() && r.prefix.Contains(a) && r.prefix.Bits() > bits {
			best, bits = r.reason, r.prefix.Bits()
		}
	}
	return best
}

// PolicyConfig is what the operator may change about the default policy.
type PolicyConfig struct {
	Allow      []netip.Prefix // --allow-cidr: the ONLY way into a forbidden range (including self addresses); Deny still wins
	Deny       []netip.Prefix // --deny-cidr: operator opt-outs, always refused
	Self       []netip.Addr   // the service's own addresses (public, NAT or load-balancer addresses the operator lists)
	Interfaces bool           // also refuse every address of this machine's interfaces, read once by NewPolicy
}

// Policy decides which addresses may be scanned. The zero Policy is the
// default policy; a nil *Policy refuses everything.
type Policy struct {
	allow []netip.Prefix
	deny  []netip.Prefix
	self  []netip.Addr
}

// NewPolicy checks cfg and returns its policy. IPv4-mapped IPv6 prefixes and
// addresses are stored in their IPv4 form, since Check unmaps first.
func NewPolicy(cfg PolicyConfig) (*Policy, error) {
	allow, err := normalisePrefixes("allow", cfg.Allow)
	if err != nil {
		return nil, err
	}
	deny, err := normalisePrefixes("deny", cfg.Deny)
	if err != nil {
		return nil, err
	}
	p := &Policy{allow: allow, deny: deny}
	for _, a := range cfg.Self {
		if !a.IsValid() {
			return nil, fmt.Errorf("target policy: invalid self address")
		}
		p.self = append(p.self, bare(a))
	}
	if cfg.Interfaces {
		addrs, err := net.InterfaceAddrs()
		if err != nil {
			return nil, fmt.Errorf("target policy: list interface addresses: %w", err)
		}
		for _, ia := range addrs {
			if n, ok := ia.(*net.IPNet); ok {
				if a, ok := netip.AddrFromSlice(n.IP); ok {
					p.self = append(p.self, bare(a))
				}
			}
		}
	}
	return p, nil
}

func normalisePrefixes(what string, in []netip.Prefix) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(in))
	for _, p := range in {
		if !p.IsValid() {
			return nil, fmt.Errorf("target policy: invalid %s prefix %v", what, p)
		}
		a := p.Addr().WithZone("")
		if a.Is4In6() {
			if p.Bits() < 96 {
				return nil, fmt.Errorf("target policy: %s prefix %v mixes IPv4-mapped and other IPv6 space; list the IPv4 form", what, p)
			}
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		} else {
			p = netip.PrefixFrom(a, p.Bits())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// bare returns a unmapped and without a zone: the form every decision uses.
func bare(a netip.Addr) netip.Addr { return a.Unmap().WithZone("") }

// AllowsForbidden returns the operator's allow list (a copy), so the caller
// can log loudly at start that forbidden ranges are open.
func (p *Policy) AllowsForbidden() []netip.Prefix {
	if p == nil {
		return nil
	}
	return slices.Clone(p.allow)
}

// Check unmaps addr and refuses it with an *Error of Kind ErrForbidden if
// the policy forbids it. The message names the category, never the address.
// Deny wins over Allow; Allow is the only way into a forbidden range or to a
// self address.
func (p *Policy) Check(addr netip.Addr) error {
	if r := p.decide(addr); r != public {
		return forbidden(r, "the target is "+r.phrase, addr)
	}
	return nil
}

// decide returns public or the reason addr is refused.
func (p *Policy) decide(addr netip.Addr) reason {
	if p == nil || !addr.IsValid() {
		return reserved
	}
	a := bare(addr)
	if containsAddr(p.deny, a) {
		return operator
	}
	if containsAddr(p.allow, a) {
		return public
	}
	if r := classify(a); r != public {
		return r
	}
	if slices.Contains(p.self, a) {
		return self
	}
	return public
}

func containsAddr(prefixes []netip.Prefix, a netip.Addr) bool {
	for _, p := range prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// forbidden builds the user's message from a subject ("example.com resolves
// to …") and keeps the address only in the cause.
func forbidden(r reason, subject string, addr netip.Addr) *Error {
	tail := r.tail
	if tail == "" {
		tail = defaultTail
	}
	return newError(ErrForbidden, subject+"; "+tail,
		fmt.Errorf("address %v is forbidden: %s", addr, r.category))
}
