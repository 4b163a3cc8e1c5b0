package target

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"

	"golang.org/x/net/dns/dnsmessage"
)

// Resolver looks up the addresses of a name; *net.Resolver satisfies it.
// Pin calls it exactly once per target, with network "ip" and a fully
// qualified name (trailing dot), so no search domain is ever appended.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// NewResolver returns Go's own DNS resolver (PreferGo, never cgo or
// getaddrinfo). With server "" it asks the servers of /etc/resolv.conf;
// otherwise server is "IP:PORT" ("[IPv6]:PORT") and every query goes there,
// whatever resolv.conf says. Either way Go still answers names listed in
// /etc/hosts (as nsswitch.conf orders it); Pin checks those answers against
// the policy like any other.
//
// The resolver also notes the response codes it sees, which is how Pin tells
// NXDOMAIN from a name without addresses: *net.Resolver reports both as the
// same "no such host" error (DNSError.IsNotFound).
func NewResolver(server string) (*net.Resolver, error) {
	var d net.Dialer
	if server == "" {
		return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
			c, err := d.DialContext(ctx, network, address)
			return sniff(ctx, c), err
		}}, nil
	}
	ap, err := netip.ParseAddrPort(server)
	if err != nil {
		return nil, fmt.Errorf("resolver %q: want IP:PORT, such as 1.1.1.1:53 or [2606:4700:4700::1111]:53: %w", server, err)
	}
	if ap.Port() == 0 || ap.Addr().IsUnspecified() || ap.Addr().IsMulticast() {
		return nil, fmt.Errorf("resolver %q: want a unicast address and a port other than 0", server)
	}
	target := ap.String()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		// Ignore the address Go picked from resolv.conf: all queries go to
		// the configured server, over the network (udp or tcp) Go asked for.
		c, err := d.DialContext(ctx, network, target)
		return sniff(ctx, c), err
	}}, nil
}

// dnsOutcome collects the response codes seen during one Pin's lookup. The
// A and AAAA queries run concurrently, hence the mutex.
type dnsOutcome struct {
	mu       sync.Mutex
	nxdomain bool // some response said the name does not exist
	noerror  bool // some response said the name exists (answers or not)
}

type outcomeKey struct{}

// withOutcome returns ctx carrying a fresh dnsOutcome. Go's resolver passes
// the lookup context's values to Dial, so the connections find it there.
func withOutcome(ctx context.Context) (context.Context, *dnsOutcome) {
	o := new(dnsOutcome)
	return context.WithValue(ctx, outcomeKey{}, o), o
}

// noteRCode records rc in ctx's dnsOutcome, if it has one.
func noteRCode(ctx context.Context, rc dnsmessage.RCode) {
	if o, ok := ctx.Value(outcomeKey{}).(*dnsOutcome); ok {
		o.note(rc)
	}
}

func (o *dnsOutcome) note(rc dnsmessage.RCode) {
	o.mu.Lock()
	defer o.mu.Unlock()
	switch rc {
	case dnsmessage.RCodeNameError:
		o.nxdomain = true
	case dnsmessage.RCodeSuccess:
		o.noerror = true
	}
}

// verdict reports whether the server clearly said NXDOMAIN, or clearly said
// the name exists; neither (or both) means it cannot be told.
func (o *dnsOutcome) verdict() (nxdomain, exists bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.nxdomain && !o.noerror, o.noerror && !o.nxdomain
}

// sniff wraps a resolver connection so that each response matching the query
// sent on it has its RCODE noted in ctx's dnsOutcome. It reads what Go's
// resolver reads and changes nothing; UDP stays a net.PacketConn, which is
// how the resolver picks datagram framing.
func sniff(ctx context.Context, c net.Conn) net.Conn {
	o, ok := ctx.Value(outcomeKey{}).(*dnsOutcome)
	if !ok || c == nil {
		return c
	}
	switch c := c.(type) {
	case *net.UDPConn:
		return &sniffedPacketConn{UDPConn: c, m: queryMatcher{out: o}}
	case *net.TCPConn:
		return &sniffedStreamConn{Conn: c, m: queryMatcher{out: o}}
	}
	return c
}

// queryMatcher remembers the query sent on a connection and notes the RCODE
// of a response that answers it, checked as Go's resolver checks (ID and
// question), so forged or stray packets are not counted.
type queryMatcher struct {
	out  *dnsOutcome
	sent bool
	id   uint16
	q    dnsmessage.Question
}

func (m *queryMatcher) query(msg []byte) {
	var p dnsmessage.Parser
	h, err := p.Start(msg)
	if err != nil {
		return
	}
	q, err := p.Question()
	if err != nil {
		return
	}
	m.sent, m.id, m.q = true, h.ID, q
}

func (m *queryMatcher) response(msg []byte) {
	if !m.sent {
		return
	}
	var p dnsmessage.Parser
	h, err := p.Start(msg)
	if err != nil || !h.Response || h.ID != m.id {
		return
	}
	q, err := p.Question()
	if err != nil || q.Type != m.q.Type || q.Class != m.q.Class ||
		!strings.EqualFold(q.Name.String(), m.q.Name.String()) {
		return
	}
	m.out.note(h.RCode)
}

// sniffedPacketConn is a UDP resolver connection: one message per Write and
// per Read. Go's resolver uses it from one goroutine.
type sniffedPacketConn struct {
	*net.UDPConn
	m queryMatcher
}

func (c *sniffedPacketConn) Write(b []byte) (int, error) {
	c.m.query(b)
	return c.UDPConn.Write(b)
}

func (c *sniffedPacketConn) Read(b []byte) (int, error) {
	n, err := c.UDPConn.Read(b)
	if n > 0 {
		c.m.response(b[:n])
	}
	return n, err
}

// sniffedStreamConn is a TCP resolver connection: messages carry a two-byte
// length prefix, and Go's resolver sends one query and reads one response.
type sniffedStreamConn struct {
	net.Conn
	m    queryMatcher
	buf  []byte
	done bool
}

func (c *sniffedStreamConn) Write(b []byte) (int, error) {
	if !c.m.sent && len(b) > 2 {
		c.m.query(b[2:])
	}
	return c.Conn.Write(b)
}

func (c *sniffedStreamConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 && !c.done {
		c.buf = append(c.buf, b[:n]...)
		if len(c.buf) >= 2 {
			if l := int(c.buf[0])<<8 | int(c.buf[1]); len(c.buf) >= 2+l {
				c.m.response(c.buf[2 : 2+l])
				c.done, c.buf = true, nil
			}
		}
	}
	return n, err
}
