// Package dnstest runs a tiny DNS server on loopback for tests: it answers A
// and AAAA queries from a fixed table, over UDP and TCP on 127.0.0.1, and can
// count, delay, drop or rewrite answers to test resolver failures and DNS
// rebinding. It never sends a packet anywhere but to the client that asked,
// and everything it starts is stopped by the test's cleanup.
package dnstest

import (
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// Query is one question the server received.
type Query struct {
	Name    string              // fully qualified, lower-case: "example.com."
	Type    dnsmessage.Type     // TypeA, TypeAAAA, …
	Network string              // "udp" or "tcp"
	N       int                 // 1 for the server's first query, 2 for the next, …
	Raw     dnsmessage.Question // as received
}

// Reply says how to answer one query. The zero Reply answers from the
// records.
type Reply struct {
	Drop  bool             // send nothing, so the client times out
	Delay time.Duration    // wait this long first (cut short when the test ends)
	RCode dnsmessage.RCode // when non-zero, answer with this code and no records (e.g. RCodeServerFailure)
	Addrs []netip.Addr     // when non-nil, answer from these instead of the records (rebinding)
}

// Options configure a server.
type Options struct {
	// Records maps a name ("example.com." — the trailing dot is optional,
	// case does not matter) to its addresses. A name with an empty list
	// exists but has no address (NOERROR, no answer); any other name is
	// NXDOMAIN.
	Records map[string][]netip.Addr
	// Hook, when set, is called for every query and decides the reply. It
	// may be called from several goroutines at once.
	Hook func(Query) Reply
}

// Server is a running test DNS server.
type Server struct {
	addr    string
	records map[string][]netip.Addr
	hook    func(Query) Reply
	queries atomic.Int64

	udp  *net.UDPConn
	tcp  *net.TCPListener
	done chan struct{}
	wg   sync.WaitGroup

	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

// Start runs a server answering from records and returns its address
// ("127.0.0.1:PORT") for NewResolver.
func Start(t testing.TB, records map[string][]netip.Addr) (addr string) {
	t.Helper()
	return New(t, Options{Records: records}).Addr()
}

// New runs a server with opts, listening on UDP and TCP at the same
// 127.0.0.1 port. t.Cleanup stops it and waits for its goroutines.
func New(t testing.TB, opts Options) *Server {
	t.Helper()
	s := &Server{
		records: make(map[string][]netip.Addr, len(opts.Records)),
		hook:    opts.Hook,
		done:    make(chan struct{}),
		conns:   make(map[net.Conn]struct{}),
	}
	for name, addrs := range opts.Records {
		s.records[fqdn(name)] = addrs
	}
	if err := s.listen(); err != nil {
		t.Fatalf("dnstest: %v", err)
	}
	s.wg.Add(2)
	go s.serveUDP()
	go s.serveTCP()
	t.Cleanup(s.close)
	return s
}

// listen binds UDP on an ephemeral port and TCP on the same one, trying a
// few ports in case the TCP one is taken.
func (s *Server) listen() error {
	var lastErr error
	for range 10 {
		udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			return err
		}
		port := udp.LocalAddr().(*net.UDPAddr).Port
		tcp, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
		if err != nil {
			udp.Close()
			lastErr = err
			continue
		}
		s.udp, s.tcp, s.addr = udp, tcp, udp.LocalAddr().String()
		return nil
	}
	return lastErr
}

// Addr returns the server's address, "127.0.0.1:PORT" (UDP and TCP).
func (s *Server) Addr() string { return s.addr }

// Queries returns how many well-formed queries the server has received,
// including dropped ones.
func (s *Server) Queries() int { return int(s.queries.Load()) }

func (s *Server) close() {
	close(s.done)
	s.udp.Close()
	s.tcp.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *Server) serveUDP() {
	defer s.wg.Done()
	buf := make([]byte, 65535)
	for {
		n, from, err := s.udp.ReadFromUDPAddrPort(buf)
		if err != nil {
			return // closed by cleanup; any other error ends the server too
		}
		req := append([]byte(nil), buf[:n]...)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if resp := s.respond(req, "udp"); resp != nil {
				s.udp.WriteToUDPAddrPort(resp, from)
			}
		}()
	}
}

func (s *Server) serveTCP() {
	defer s.wg.Done()
	for {
		c, err := s.tcp.Accept()
		if err != nil {
			return // closed by cleanup; any other error ends the server too
		}
		s.mu.Lock()
		select {
		case <-s.done: // close already ran: nobody else will close c
			s.mu.Unlock()
			c.Close()
			return
		default:
		}
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go s.serveConn(c)
	}
}

// serveConn answers length-prefixed queries on one TCP connection until the
// client closes it or the server stops.
func (s *Server) serveConn(c net.Conn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
	}()
	for {
		var l [2]byte
		if _, err := io.ReadFull(c, l[:]); err != nil {
			return
		}
		req := make([]byte, binary.BigEndian.Uint16(l[:]))
		if _, err := io.ReadFull(c, req); err != nil {
			return
		}
		resp := s.respond(req, "tcp")
		if resp == nil {
			continue
		}
		if _, err := c.Write(binary.BigEndian.AppendUint16(nil, uint16(len(resp)))); err != nil {
			return
		}
		if _, err := c.Write(resp); err != nil {
			return
		}
	}
}

// respond returns the wire response to req, or nil to send nothing.
func (s *Server) respond(req []byte, network string) []byte {
	var p dnsmessage.Parser
	h, err := p.Start(req)
	if err != nil || h.Response {
		return nil
	}
	q, err := p.Question()
	if err != nil {
		return nil
	}
	query := Query{Name: strings.ToLower(q.Name.String()), Type: q.Type, Network: network,
		N: int(s.queries.Add(1)), Raw: q}
	var reply Reply
	if s.hook != nil {
		reply = s.hook(query)
	}
	if reply.Delay > 0 {
		select {
		case <-time.After(reply.Delay):
		case <-s.done:
			return nil
		}
	}
	if reply.Drop {
		return nil
	}
	addrs, known := s.records[query.Name]
	if reply.Addrs != nil {
		addrs, known = reply.Addrs, true
	}
	rcode := dnsmessage.RCodeSuccess
	switch {
	case reply.RCode != 0:
		rcode, addrs = reply.RCode, nil
	case !known:
		rcode = dnsmessage.RCodeNameError
	}
	resp := build(h, q, rcode, addrs, false)
	if network == "udp" && len(resp) > maxUDP(&p) {
		resp = build(h, q, rcode, nil, true)
	}
	return resp
}

// build packs a response. Authoritative and RecursionAvailable are set so
// Go's resolver does not take an empty answer for a lame referral.
func build(req dnsmessage.Header, q dnsmessage.Question, rcode dnsmessage.RCode, addrs []netip.Addr, truncated bool) []byte {
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{
		ID: req.ID, Response: true, Authoritative: true, Truncated: truncated,
		RecursionDesired: req.RecursionDesired, RecursionAvailable: true, RCode: rcode,
	})
	b.EnableCompression()
	_ = b.StartQuestions()
	_ = b.Question(q)
	_ = b.StartAnswers()
	rh := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}
	for _, a := range addrs {
		a = a.WithZone("")
		switch {
		case q.Type == dnsmessage.TypeA && a.Is4():
			_ = b.AResource(rh, dnsmessage.AResource{A: a.As4()})
		case q.Type == dnsmessage.TypeAAAA && a.Is6():
			_ = b.AAAAResource(rh, dnsmessage.AAAAResource{AAAA: a.As16()})
		}
	}
	msg, err := b.Finish()
	if err != nil {
		return nil
	}
	return msg
}

// maxUDP is the largest UDP response the client accepts: its EDNS(0) size,
// or 512 bytes. p is positioned after the question.
func maxUDP(p *dnsmessage.Parser) int {
	if p.SkipAllQuestions() != nil || p.SkipAllAnswers() != nil || p.SkipAllAuthorities() != nil {
		return 512
	}
	for {
		h, err := p.AdditionalHeader()
		if err != nil {
			return 512
		}
		if h.Type == dnsmessage.TypeOPT {
			return max(512, int(h.Class))
		}
		if p.SkipAdditional() != nil {
			return 512
		}
	}
}

func fqdn(name string) string {
	name = strings.ToLower(name)
	if !strings.HasSuffix(name, ".") {
		name += "."
	}
	return name
}
