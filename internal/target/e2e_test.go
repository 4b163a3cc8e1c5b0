package target

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vantagescan/vantage/internal/target/dnstest"
	"golang.org/x/net/dns/dnsmessage"
)

// TestEndToEnd resolves through Go's own resolver against the loopback test
// DNS server, and dials through the guarded dialer. Nothing leaves loopback:
// the public-looking answers are never dialled.
func TestEndToEnd(t *testing.T) {
	var rebinds atomic.Int32
	srv := dnstest.New(t, dnstest.Options{
		Records: map[string][]netip.Addr{
			"public-looking.example.com.": a("127.0.0.1"),
			"public.example.com.":         a("8.8.8.8", "2606:4700:4700::1111"),
			"nodata.example.com.":         {},
			"Mixed.Example.com":           a("8.8.8.8", "10.0.0.7"),
		},
		Hook: func(q dnstest.Query) dnstest.Reply {
			switch q.Name {
			case "servfail.example.com.":
				return dnstest.Reply{RCode: dnsmessage.RCodeServerFailure}
			case "dropped.example.com.":
				return dnstest.Reply{Drop: true}
			case "rebind.example.com.":
				// Only the test's goroutine pins this name, one lookup at a
				// time; the A query is answered once per lookup.
				if q.Type == dnsmessage.TypeA {
					if rebinds.Add(1) > 1 {
						return dnstest.Reply{Addrs: a("127.0.0.1")}
					}
				}
				return dnstest.Reply{Addrs: a("8.8.8.8")}
			}
			return dnstest.Reply{}
		},
	})
	res, err := NewResolver(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	pol := mustPolicy(t, PolicyConfig{})
	pn := &Pinner{Policy: pol, Resolver: res, Timeout: 2 * time.Second}
	ctx := context.Background()

	t.Run("name resolving to loopback is forbidden", func(t *testing.T) {
		_, err := pn.Pin(ctx, "https://public-looking.example.com/", Auto)
		checkError(t, err, ErrForbidden, "resolves to a loopback address")
		if strings.Contains(err.Error(), "127.0.0.1") {
			t.Errorf("message %q echoes the resolved address", err)
		}
	})
	t.Run("one private answer refuses the name", func(t *testing.T) {
		_, err := pn.Pin(ctx, "mixed.example.com", Auto)
		checkError(t, err, ErrForbidden, "private network")
		assertNoAddress(t, err.Error(), a("10.0.0.7")...)
	})
	t.Run("public name is pinned, exactly one lookup", func(t *testing.T) {
		before := srv.Queries()
		pt, err := pn.Pin(ctx, "Public.Example.com.", Auto)
		if err != nil {
			t.Fatal(err)
		}
		if pt.IP != netip.MustParseAddr("8.8.8.8") || len(pt.Addrs) != 2 || pt.Host != "public.example.com" {
			t.Errorf("pinned %+v", pt)
		}
		if n := srv.Queries() - before; n != 2 {
			t.Errorf("%d DNS queries for one Pin, want 2 (A and AAAA of one lookup)", n)
		}
		pt, err = pn.Pin(ctx, "public.example.com", IPv6Only)
		if err != nil || pt.IP != netip.MustParseAddr("2606:4700:4700::1111") {
			t.Errorf("-6: %+v, %v", pt, err)
		}
	})
	t.Run("rebinding cannot move the pin", func(t *testing.T) {
		pt, err := pn.Pin(ctx, "rebind.example.com", Auto)
		if err != nil || pt.IP != netip.MustParseAddr("8.8.8.8") {
			t.Fatalf("first pin: %+v, %v", pt, err)
		}
		// The name now answers loopback (a second lookup would see it) ...
		if _, err := pn.Pin(ctx, "rebind.example.com", Auto); !errors.Is(err, ErrForbidden) {
			t.Fatalf("second pin: %v, want the rebound answer refused", err)
		}
		// ... but a scan holding the first pin can dial only 8.8.8.8.
		err = pol.Control(pt.IP)(ctx, "tcp4", "127.0.0.1:80", nil)
		checkError(t, err, ErrForbidden, "")
	})
	t.Run("NXDOMAIN", func(t *testing.T) {
		_, err := pn.Pin(ctx, "missing.example.com", Auto)
		checkError(t, err, ErrUnresolvable, `"missing.example.com" does not exist (NXDOMAIN)`)
	})
	t.Run("NODATA", func(t *testing.T) {
		_, err := pn.Pin(ctx, "nodata.example.com", Auto)
		checkError(t, err, ErrUnresolvable, `"nodata.example.com" has no IPv4 or IPv6 address`)
	})
	t.Run("SERVFAIL", func(t *testing.T) {
		_, err := pn.Pin(ctx, "servfail.example.com", Auto)
		checkError(t, err, ErrResolver, "failed")
	})
	t.Run("timeout", func(t *testing.T) {
		short := &Pinner{Policy: pol, Resolver: res, Timeout: 200 * time.Millisecond}
		start := time.Now()
		_, err := short.Pin(ctx, "dropped.example.com", Auto)
		checkError(t, err, ErrResolver, "timed out")
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("timeout took %v", d)
		}
	})
}

// TestDialerRefusesBeforeConnect: a dialer pinned to 8.8.8.8 asked for a
// loopback listener is stopped by Control before connect(): the listener
// never sees a connection.
func TestDialerRefusesBeforeConnect(t *testing.T) {
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	pol := mustPolicy(t, PolicyConfig{})
	d := pol.Dialer(netip.MustParseAddr("8.8.8.8"))
	if d.Timeout != 0 || d.ControlContext == nil {
		t.Fatalf("Dialer = %+v", d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, addr := range []string{ln.Addr().String(), "localhost:" + portOf(ln.Addr())} {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			c.Close()
			t.Fatalf("dial %s through the guarded dialer succeeded", addr)
		}
		if !errors.Is(err, ErrForbidden) {
			t.Errorf("dial %s: %v, want ErrForbidden from Control", addr, err)
		}
	}
	ln.SetDeadline(time.Now().Add(100 * time.Millisecond))
	if c, err := ln.Accept(); err == nil {
		c.Close()
		t.Fatal("the listener accepted a connection: Control did not stop it")
	} else if !errors.Is(err, context.DeadlineExceeded) && !isTimeout(err) {
		t.Fatalf("accept: %v", err)
	}
}

func portOf(a net.Addr) string {
	_, port, _ := net.SplitHostPort(a.String())
	return port
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func TestNewResolver(t *testing.T) {
	for _, s := range []string{"", "1.1.1.1:53", "[2606:4700:4700::1111]:53", "127.0.0.53:53"} {
		r, err := NewResolver(s)
		if err != nil || r == nil || !r.PreferGo || r.Dial == nil {
			t.Errorf("NewResolver(%q) = %+v, %v", s, r, err)
		}
	}
	for _, s := range []string{"1.1.1.1", "dns.google:53", ":53", "0.0.0.0:53", "[::]:53", "1.1.1.1:0",
		"224.0.0.251:5353", "2606:4700:4700::1111:53", "1.1.1.1:53x", "udp://1.1.1.1:53"} {
		if _, err := NewResolver(s); err == nil {
			t.Errorf("NewResolver(%q) accepted", s)
		}
	}
}

// TestResolverOverTCP: a truncated UDP answer makes Go's resolver retry over
// TCP; pinning and the NXDOMAIN sniffing still work there.
func TestResolverOverTCP(t *testing.T) {
	many := make([]netip.Addr, 0, 100)
	for i := range 100 {
		many = append(many, netip.AddrFrom4([4]byte{8, 8, byte(i), 1}))
	}
	var udp, tcp atomic.Int32
	srv := dnstest.New(t, dnstest.Options{
		Records: map[string][]netip.Addr{"big.example.com": many},
		Hook: func(q dnstest.Query) dnstest.Reply {
			if q.Network == "tcp" {
				tcp.Add(1)
			} else {
				udp.Add(1)
			}
			return dnstest.Reply{}
		},
	})
	res, err := NewResolver(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	pn := &Pinner{Policy: mustPolicy(t, PolicyConfig{}), Resolver: res}
	pt, err := pn.Pin(context.Background(), "big.example.com", Auto)
	if err != nil {
		t.Fatal(err)
	}
	if len(pt.Addrs) != 100 || !pt.IP.Is4() {
		t.Errorf("pinned %v of %d addresses", pt.IP, len(pt.Addrs))
	}
	if tcp.Load() == 0 {
		t.Errorf("no TCP query (udp %d): the large answer was not truncated", udp.Load())
	}
}
