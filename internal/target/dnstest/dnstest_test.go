package dnstest

import (
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// exchange sends one query to addr over network and returns the response.
func exchange(t *testing.T, network, addr, name string, qtype dnsmessage.Type) (dnsmessage.Header, []netip.Addr) {
	t.Helper()
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: 0xbeef, RecursionDesired: true})
	_ = b.StartQuestions()
	_ = b.Question(dnsmessage.Question{Name: dnsmessage.MustNewName(name), Type: qtype, Class: dnsmessage.ClassINET})
	q, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.DialTimeout(network, addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	var resp []byte
	if network == "tcp" {
		if _, err := c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(q))), q...)); err != nil {
			t.Fatal(err)
		}
		var l [2]byte
		if _, err := io.ReadFull(c, l[:]); err != nil {
			t.Fatal(err)
		}
		resp = make([]byte, binary.BigEndian.Uint16(l[:]))
		if _, err := io.ReadFull(c, resp); err != nil {
			t.Fatal(err)
		}
	} else {
		if _, err := c.Write(q); err != nil {
			t.Fatal(err)
		}
		resp = make([]byte, 65535)
		n, err := c.Read(resp)
		if err != nil {
			t.Fatal(err)
		}
		resp = resp[:n]
	}
	var p dnsmessage.Parser
	h, err := p.Start(resp)
	if err != nil {
		t.Fatal(err)
	}
	if h.ID != 0xbeef || !h.Response {
		t.Fatalf("bad response header %+v", h)
	}
	_ = p.SkipAllQuestions()
	answers, err := p.AllAnswers()
	if err != nil {
		t.Fatal(err)
	}
	var addrs []netip.Addr
	for _, rr := range answers {
		switch r := rr.Body.(type) {
		case *dnsmessage.AResource:
			addrs = append(addrs, netip.AddrFrom4(r.A))
		case *dnsmessage.AAAAResource:
			addrs = append(addrs, netip.AddrFrom16(r.AAAA))
		}
	}
	return h, addrs
}

func TestServerAnswers(t *testing.T) {
	addr := Start(t, map[string][]netip.Addr{
		"Dual.Example.com": {netip.MustParseAddr("8.8.8.8"), netip.MustParseAddr("2606:4700:4700::1111")},
		"empty.example.":   {},
	})
	if ap, err := netip.ParseAddrPort(addr); err != nil || !ap.Addr().IsLoopback() {
		t.Fatalf("address %q is not on loopback", addr)
	}
	for _, network := range []string{"udp", "tcp"} {
		h, got := exchange(t, network, addr, "dual.EXAMPLE.com.", dnsmessage.TypeA)
		if h.RCode != dnsmessage.RCodeSuccess || !slices.Equal(got, []netip.Addr{netip.MustParseAddr("8.8.8.8")}) {
			t.Errorf("%s A: %v %v", network, h.RCode, got)
		}
		h, got = exchange(t, network, addr, "dual.example.com.", dnsmessage.TypeAAAA)
		if h.RCode != dnsmessage.RCodeSuccess || !slices.Equal(got, []netip.Addr{netip.MustParseAddr("2606:4700:4700::1111")}) {
			t.Errorf("%s AAAA: %v %v", network, h.RCode, got)
		}
		h, got = exchange(t, network, addr, "empty.example.", dnsmessage.TypeA)
		if h.RCode != dnsmessage.RCodeSuccess || len(got) != 0 {
			t.Errorf("%s NODATA: %v %v", network, h.RCode, got)
		}
		h, _ = exchange(t, network, addr, "missing.example.", dnsmessage.TypeA)
		if h.RCode != dnsmessage.RCodeNameError {
			t.Errorf("%s unknown name: %v, want NXDOMAIN", network, h.RCode)
		}
	}
}

func TestServerHooks(t *testing.T) {
	srv := New(t, Options{
		Records: map[string][]netip.Addr{"a.example.": {netip.MustParseAddr("8.8.8.8")}},
		Hook: func(q Query) Reply {
			switch q.Name {
			case "fail.example.":
				return Reply{RCode: dnsmessage.RCodeServerFailure}
			case "slow.example.":
				return Reply{Delay: 50 * time.Millisecond}
			case "drop.example.":
				return Reply{Drop: true}
			case "a.example.":
				if q.N > 1 {
					return Reply{Addrs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}}
				}
			}
			return Reply{}
		},
	})
	_, got := exchange(t, "udp", srv.Addr(), "a.example.", dnsmessage.TypeA)
	_, again := exchange(t, "udp", srv.Addr(), "a.example.", dnsmessage.TypeA)
	if got[0] != netip.MustParseAddr("8.8.8.8") || again[0] != netip.MustParseAddr("127.0.0.1") {
		t.Errorf("rebinding hook: first %v, then %v", got, again)
	}
	if h, _ := exchange(t, "tcp", srv.Addr(), "fail.example.", dnsmessage.TypeA); h.RCode != dnsmessage.RCodeServerFailure {
		t.Errorf("RCode hook: %v", h.RCode)
	}
	start := time.Now()
	if h, _ := exchange(t, "udp", srv.Addr(), "slow.example.", dnsmessage.TypeA); h.RCode != dnsmessage.RCodeNameError {
		t.Errorf("delayed: %v", h.RCode)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("Delay not applied: answered in %v", d)
	}
	c, err := net.Dial("udp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: 1})
	_ = b.StartQuestions()
	_ = b.Question(dnsmessage.Question{Name: dnsmessage.MustNewName("drop.example."), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET})
	q, _ := b.Finish()
	c.Write(q)
	c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if n, err := c.Read(make([]byte, 512)); err == nil {
		t.Errorf("dropped query answered (%d bytes)", n)
	}
	if n := srv.Queries(); n != 5 {
		t.Errorf("Queries() = %d, want 5", n)
	}
}

// TestCleanupIsPrompt: a query still being delayed does not hold up the
// test's end.
func TestCleanupIsPrompt(t *testing.T) {
	var (
		srv  *Server
		seen time.Time
	)
	t.Run("server", func(t *testing.T) {
		srv = New(t, Options{Hook: func(Query) Reply { return Reply{Delay: time.Hour} }})
		c, err := net.Dial("tcp", srv.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: 1})
		_ = b.StartQuestions()
		_ = b.Question(dnsmessage.Question{Name: dnsmessage.MustNewName("x.example."), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET})
		q, _ := b.Finish()
		c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(q))), q...))
		deadline := time.Now().Add(2 * time.Second)
		for srv.Queries() == 0 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if srv.Queries() != 1 {
			t.Fatal("the query did not arrive")
		}
		seen = time.Now()
	}) // the subtest's cleanup stops the server here
	if d := time.Since(seen); d > time.Second {
		t.Errorf("cleanup took %v with a query delayed for an hour", d)
	}
	if c, err := net.Dial("tcp", srv.Addr()); err == nil {
		c.Close()
		t.Error("server still accepting after cleanup")
	}
}
