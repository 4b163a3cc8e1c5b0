package probe

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const testHost = "app.vantage-test.net"

// loopback is the pinned address of every test: the tests start their
// own servers there and send traffic nowhere else.
var loopback = netip.MustParseAddr("127.0.0.1")

// serve runs handle for each connection to a new loopback listener until
// the test ends, then waits for the handlers.
func serve(t *testing.T, handle func(net.Conn)) uint16 {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				handle(c)
			})
		}
	})
	t.Cleanup(func() {
		_ = ln.Close()
		wg.Wait()
	})
	return uint16(ln.Addr().(*net.TCPAddr).Port)
}

// tarpit accepts and never writes; it holds the connection until the
// client closes it.
func tarpit(c net.Conn) { _, _ = io.Copy(io.Discard, c) }

// testDialer is the DialFunc of the tests: it dials only loopback (the
// "pinned" address), counts and records every call, and can refuse all.
type testDialer struct {
	refuse bool
	calls  atomic.Int64
	mu     sync.Mutex
	dialed []string
}

func (d *testDialer) Dial(ctx context.Context, network, address string) (net.Conn, error) {
	d.calls.Add(1)
	d.mu.Lock()
	d.dialed = append(d.dialed, address)
	d.mu.Unlock()
	ap, err := netip.ParseAddrPort(address)
	if err != nil || ap.Addr() != loopback || network != "tcp" {
		return nil, errors.New("test dialer: not the pinned address")
	}
	if d.refuse {
		return nil, errors.New("test dialer: refused")
	}
	var nd net.Dialer
	return nd.DialContext(ctx, network, address)
}

func (d *testDialer) addresses() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.dialed)
}

// run calls Run against loopback and returns the findings in emit order.
func run(t *testing.T, cfg Config, open ...uint16) []Finding {
	t.Helper()
	var findings []Finding
	if err := Run(t.Context(), cfg, loopback, open, func(f Finding) { findings = append(findings, f) }); err != nil {
		t.Fatalf("Run: %v", err)
	}
	return findings
}

// only returns the single finding for port and check.
func only(t *testing.T, findings []Finding, port uint16, check string) Finding {
	t.Helper()
	var got []Finding
	for _, f := range findings {
		if f.Port == port && f.Check == check {
			got = append(got, f)
		}
	}
	if len(got) != 1 {
		t.Fatalf("want one %s finding for port %d, got %d in %+v", check, port, len(got), findings)
	}
	return got[0]
}

// testCA issues certificates for the tests; its pool is Config.Roots.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

var serial atomic.Int64

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func newCA(t *testing.T, now time.Time) *testCA {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial.Add(1)),
		Subject:               pkix.Name{CommonName: "Vantage Test Root", Organization: []string{"Example Trust"}},
		NotBefore:             now.Add(-24 * time.Hour),
		NotAfter:              now.Add(365 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// intermediate returns a CA signed by ca.
func (ca *testCA) intermediate(t *testing.T, now time.Time) *testCA {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial.Add(1)),
		Subject:               pkix.Name{CommonName: "Vantage Test Issuing CA", Organization: []string{"Example Trust"}},
		NotBefore:             now.Add(-24 * time.Hour),
		NotAfter:              now.Add(300 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key}
}

// leafTemplate is a server certificate for names valid in [notBefore, notAfter].
func leafTemplate(cn string, notBefore, notAfter time.Time, names ...string) *x509.Certificate {
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial.Add(1)),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range names {
		if ip, err := netip.ParseAddr(n); err == nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip.AsSlice())
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	return tmpl
}

// issue signs tmpl; the served chain is the leaf plus ca when ca is an
// intermediate (chainCA true).
func (ca *testCA) issue(t *testing.T, tmpl *x509.Certificate, chainCA bool) tls.Certificate {
	t.Helper()
	key := newKey(t)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	chain := [][]byte{der}
	if chainCA {
		chain = append(chain, ca.cert.Raw)
	}
	return tls.Certificate{Certificate: chain, PrivateKey: key}
}

func selfSignedCert(t *testing.T, tmpl *x509.Certificate) tls.Certificate {
	t.Helper()
	key := newKey(t)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// tlsServer completes TLS handshakes with cfg and records the SNI it was sent.
func tlsServer(t *testing.T, cfg *tls.Config) (uint16, *sniLog) {
	t.Helper()
	log := &sniLog{}
	cfg = cfg.Clone()
	cfg.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		log.add(hello.ServerName)
		return nil, nil
	}
	port := serve(t, func(c net.Conn) {
		tc := tls.Server(c, cfg)
		if tc.Handshake() == nil {
			_, _ = io.Copy(io.Discard, tc)
		}
	})
	return port, log
}

type sniLog struct {
	mu    sync.Mutex
	names []string
}

func (l *sniLog) add(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.names = append(l.names, name)
}

func (l *sniLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.names)
}
