package target

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"golang.org/x/net/idna"
)

// Family says which address family Pin chooses when a name has both.
type Family uint8

// The families. The zero value is Auto.
const (
	Auto       Family = iota // IPv4 if the name has one, else IPv6
	IPv4Only                 // -4: IPv4 or nothing
	IPv6Only                 // -6: IPv6 or nothing
	PreferIPv6               // IPv6 if the name has one, else IPv4
)

// String names the family as a user would.
func (f Family) String() string {
	switch f {
	case Auto:
		return "auto"
	case IPv4Only:
		return "IPv4"
	case IPv6Only:
		return "IPv6"
	case PreferIPv6:
		return "prefer IPv6"
	}
	return fmt.Sprintf("Family(%d)", uint8(f))
}

// PinnedTarget is a target resolved once and pinned to one allowed address:
// the scan dials IP and nothing else.
type PinnedTarget struct {
	Typed   string       // as typed (Input.Raw)
	Host    string       // normalised host name, or the pinned IP's string for an IP literal
	Addrs   []netip.Addr // every address the name resolved to (all allowed, deduplicated, unmapped), IPv4 first
	IP      netip.Addr   // the one chosen and pinned
	URLPort uint16       // Input.URLPort
}

// DefaultLookupTimeout bounds one Pin's DNS lookup when Pinner.Timeout is 0.
const DefaultLookupTimeout = 5 * time.Second

// Pinner turns user input into a PinnedTarget under a Policy.
type Pinner struct {
	Policy   *Policy       // required; nil refuses every target
	Resolver Resolver      // nil means NewResolver("")
	Timeout  time.Duration // lookup timeout; 0 means DefaultLookupTimeout
}

// Pin parses raw, resolves a name exactly once, checks every address against
// the policy and pins one of family fam. Errors are *Error.
func (pn *Pinner) Pin(ctx context.Context, raw string, fam Family) (PinnedTarget, error) {
	if fam > PreferIPv6 {
		return PinnedTarget{}, newError(ErrInvalidInput, "choose IPv4, IPv6 or automatic", fmt.Errorf("pin: unknown family %d", fam))
	}
	if pn.Policy == nil {
		return PinnedTarget{}, newError(ErrForbidden, "this Vantage has no target policy, so it scans nothing",
			errors.New("pin: Pinner.Policy is nil"))
	}
	in, err := Parse(raw)
	if err != nil {
		return PinnedTarget{}, err
	}
	if in.IP.IsValid() {
		return pn.pinLiteral(in, fam)
	}
	return pn.pinName(ctx, in, fam)
}

func (pn *Pinner) pinLiteral(in Input, fam Family) (PinnedTarget, error) {
	ip := bare(in.IP)
	if r := pn.Policy.decide(ip); r != public {
		return PinnedTarget{}, forbidden(r, "you entered "+r.phrase, in.IP)
	}
	if fam == IPv4Only && !ip.Is4() || fam == IPv6Only && !ip.Is6() {
		msg := fmt.Sprintf("%s is not an %s address, but only %s was requested", ip, fam, fam)
		return PinnedTarget{}, newError(ErrInvalidInput, msg, fmt.Errorf("pin %v: family %v", ip, fam))
	}
	return PinnedTarget{Typed: in.Raw, Host: ip.String(), Addrs: []netip.Addr{ip}, IP: ip, URLPort: in.URLPort}, nil
}

func (pn *Pinner) pinName(ctx context.Context, in Input, fam Family) (PinnedTarget, error) {
	addrs, err := pn.allowedAddrs(ctx, in)
	if err != nil {
		return PinnedTarget{}, err
	}
	name := displayName(in.Host)
	ip, ok := choose(addrs, fam)
	if !ok {
		msg := fmt.Sprintf("%s has no %s address", name, fam)
		return PinnedTarget{}, newError(ErrUnresolvable, msg, fmt.Errorf("pin %s: no %v address among %v", in.Host, fam, addrs))
	}
	return PinnedTarget{Typed: in.Raw, Host: in.Host, Addrs: addrs, IP: ip, URLPort: in.URLPort}, nil
}

// allowedAddrs resolves in.Host once and checks every address against the
// policy: one forbidden address refuses the name.
func (pn *Pinner) allowedAddrs(ctx context.Context, in Input) ([]netip.Addr, error) {
	addrs, err := pn.lookup(ctx, in)
	if err != nil {
		return nil, err
	}
	for _, a := range addrs {
		if r := pn.Policy.decide(a); r != public {
			return nil, forbidden(r, displayName(in.Host)+" resolves to "+r.phrase, a)
		}
	}
	return addrs, nil
}

// PinBoth is Pin for a dual-stack comparison: raw must be a name with both
// an IPv4 and an IPv6 address (all allowed). It resolves the name exactly
// once and pins its first address of each family. Errors are *Error.
func (pn *Pinner) PinBoth(ctx context.Context, raw string) (v4, v6 PinnedTarget, err error) {
	if pn.Policy == nil {
		return v4, v6, newError(ErrForbidden, "this Vantage has no target policy, so it scans nothing",
			errors.New("pin: Pinner.Policy is nil"))
	}
	in, err := Parse(raw)
	if err != nil {
		return v4, v6, err
	}
	if in.IP.IsValid() {
		if _, err := pn.pinLiteral(in, Auto); err != nil {
			return v4, v6, err
		}
		return v4, v6, newError(ErrInvalidInput,
			"an IP address has only one family; type a host name with both IPv4 and IPv6 addresses to compare them",
			fmt.Errorf("pin both %v: an IP literal", in.IP))
	}
	addrs, err := pn.allowedAddrs(ctx, in)
	if err != nil {
		return v4, v6, err
	}
	a4, ok4 := choose(addrs, IPv4Only)
	a6, ok6 := choose(addrs, IPv6Only)
	if !ok4 || !ok6 {
		missing, has := IPv6Only, IPv4Only
		if !ok4 {
			missing, has = IPv4Only, IPv6Only
		}
		msg := fmt.Sprintf("%s has no %s address to compare with its %s one; scan its %s address alone",
			displayName(in.Host), missing, has, has)
		return v4, v6, newError(ErrUnresolvable, msg, fmt.Errorf("pin both %s: no %v address among %v", in.Host, missing, addrs))
	}
	v4 = PinnedTarget{Typed: in.Raw, Host: in.Host, Addrs: addrs, IP: a4, URLPort: in.URLPort}
	v6 = v4
	v6.IP = a6
	return v4, v6, nil
}

// lookup resolves in.Host once and returns its addresses unmapped,
// deduplicated and IPv4 first (otherwise in the resolver's order).
func (pn *Pinner) lookup(ctx context.Context, in Input) ([]netip.Addr, error) {
	res := pn.Resolver
	if res == nil {
		r, err := NewResolver("")
		if err != nil {
			return nil, newError(ErrResolver, "the DNS resolver is not available", err)
		}
		res = r
	}
	timeout := pn.Timeout
	if timeout <= 0 {
		timeout = DefaultLookupTimeout
	}
	lctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	lctx, outcome := withOutcome(lctx)

	// Fully qualified: the resolver appends no search domain.
	found, err := res.LookupNetIP(lctx, "ip", in.Host+".")
	if err != nil {
		return nil, lookupError(ctx, lctx, in.Host, outcome, err)
	}
	var addrs []netip.Addr
	for _, a := range found {
		if a = bare(a); a.IsValid() && !slices.Contains(addrs, a) {
			addrs = append(addrs, a)
		}
	}
	if len(addrs) == 0 {
		return nil, newError(ErrUnresolvable, displayName(in.Host)+" has no IPv4 or IPv6 address",
			fmt.Errorf("resolve %s: empty answer", in.Host))
	}
	slices.SortStableFunc(addrs, func(a, b netip.Addr) int {
		switch {
		case a.Is4() == b.Is4():
			return 0
		case a.Is4():
			return -1
		}
		return 1
	})
	return addrs, nil
}

// lookupError turns a resolver error into an *Error. *net.Resolver reports
// NXDOMAIN and "the name exists but has no A/AAAA record" (NODATA) alike: a
// *net.DNSError "no such host" with IsNotFound set (see errNoSuchHost in
// net/dnsclient_unix.go: checkHeader for NXDOMAIN, skipToAnswer for NODATA).
// The response codes sniffed by NewResolver's connections tell them apart;
// when those are missing (another Resolver, /etc/hosts, a shared in-flight
// lookup) the message covers both.
func lookupError(parent, lctx context.Context, host string, outcome *dnsOutcome, err error) *Error {
	name := displayName(host)
	cause := fmt.Errorf("resolve %s: %w", host, err)
	var dnsErr *net.DNSError
	isDNS := errors.As(err, &dnsErr)
	switch {
	case parent.Err() != nil && !errors.Is(parent.Err(), context.DeadlineExceeded):
		return newError(ErrResolver, "the DNS lookup for "+name+" was cancelled", cause)
	case errors.Is(err, context.DeadlineExceeded) || lctx.Err() != nil || isDNS && dnsErr.IsTimeout:
		return newError(ErrResolver, "the DNS lookup for "+name+" timed out; try again later", cause)
	case isDNS && dnsErr.IsNotFound:
		switch nx, exists := outcome.verdict(); {
		case nx:
			return newError(ErrUnresolvable, name+" does not exist (NXDOMAIN)", cause)
		case exists:
			return newError(ErrUnresolvable, name+" has no IPv4 or IPv6 address", cause)
		}
		return newError(ErrUnresolvable, name+" does not exist, or has no IPv4 or IPv6 address", cause)
	}
	return newError(ErrResolver, "the DNS lookup for "+name+" failed; try again later", cause)
}

// choose picks the address to pin from addrs (IPv4 first).
func choose(addrs []netip.Addr, fam Family) (netip.Addr, bool) {
	first := func(v4 bool) (netip.Addr, bool) {
		i := slices.IndexFunc(addrs, func(a netip.Addr) bool { return a.Is4() == v4 })
		if i < 0 {
			return netip.Addr{}, false
		}
		return addrs[i], true
	}
	switch fam {
	case IPv4Only:
		return first(true)
	case IPv6Only:
		return first(false)
	case PreferIPv6:
		if a, ok := first(false); ok {
			return a, true
		}
	}
	return addrs[0], true
}

// displayName quotes a normalised host for a message; an internationalised
// name shows as typed, with its ASCII form.
func displayName(host string) string {
	if strings.Contains(host, "xn--") {
		if u, err := idna.Display.ToUnicode(host); err == nil && u != host {
			return quote(u) + " (" + host + ")"
		}
	}
	return quote(host)
}
