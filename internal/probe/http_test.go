package probe

import (
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"
)

// httpPort is the loopback port of srv.
func httpPort(t *testing.T, srv *httptest.Server) uint16 {
	t.Helper()
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.ParseUint(u.Port(), 10, 16)
	if err != nil {
		t.Fatal(err)
	}
	return uint16(n)
}

// requestLog records the Host and User-Agent of each request.
type requestLog struct {
	mu    sync.Mutex
	hosts []string
	uas   []string
}

func (l *requestLog) wrap(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		l.hosts = append(l.hosts, r.Host)
		l.uas = append(l.uas, r.UserAgent())
		l.mu.Unlock()
		h(w, r)
	}
}

func TestHTTPRedirectAndHSTS(t *testing.T) {
	now := time.Now()
	ca := newCA(t, now)
	var tlsLog requestLog
	tlsSrv := httptest.NewUnstartedServer(tlsLog.wrap(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		_, _ = w.Write([]byte("secure"))
	}))
	tlsSrv.TLS = &tls.Config{Certificates: []tls.Certificate{
		ca.issue(t, leafTemplate(testHost, now.Add(-time.Hour), now.Add(24*time.Hour), testHost), false),
	}}
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the TLS 1.0/1.1 probes fail by design
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	tlsPort := httpPort(t, tlsSrv)

	location := "https://" + testHost + ":" + strconv.Itoa(int(tlsPort)) + "/"
	var plainLog requestLog
	plain := httptest.NewServer(plainLog.wrap(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "vantage-test-redirector")
		http.Redirect(w, r, location, http.StatusMovedPermanently)
	}))
	t.Cleanup(plain.Close)
	plainPort := httpPort(t, plain)

	d := &testDialer{}
	cfg := Config{Dial: d.Dial, Host: testHost, Roots: ca.pool,
		Checks: map[uint16][]string{plainPort: {CheckHTTP}, tlsPort: {CheckTLS}}}
	findings := run(t, cfg, plainPort, tlsPort)

	f := only(t, findings, plainPort, CheckHTTP)
	want := HTTPInfo{Status: 301, Location: location, RedirectsToHTTPS: true, Server: "vantage-test-redirector",
		HSTS: "max-age=63072000; includeSubDomains"}
	if f.Err != "" || f.HTTP == nil || *f.HTTP != want {
		t.Errorf("finding %+v HTTP %+v, want %+v", f, f.HTTP, want)
	}
	if tf := only(t, findings, tlsPort, CheckTLS); tf.TLS == nil || !tf.TLS.ValidForName {
		t.Errorf("TLS finding %+v", tf)
	}
	plainLog.mu.Lock()
	defer plainLog.mu.Unlock()
	wantHost := testHost + ":" + strconv.Itoa(int(plainPort))
	if len(plainLog.hosts) != 1 || plainLog.hosts[0] != wantHost || plainLog.uas[0] != userAgent {
		t.Errorf("plain side saw hosts %q user agents %q, want one request for %q by %q", plainLog.hosts, plainLog.uas, wantHost, userAgent)
	}
	tlsLog.mu.Lock()
	defer tlsLog.mu.Unlock()
	if len(tlsLog.hosts) != 1 || tlsLog.hosts[0] != testHost+":"+strconv.Itoa(int(tlsPort)) {
		t.Errorf("https side saw hosts %q, want one request", tlsLog.hosts)
	}
}

func TestHTTPWithoutRedirect(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		location string
	}{
		{"200", http.StatusOK, ""},
		{"redirect to plain http", http.StatusFound, "http://" + testHost + "/login"},
		{"relative redirect", http.StatusFound, "/login"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Server", "test-httpd/1.0")
				if tt.location != "" {
					w.Header().Set("Location", tt.location)
				}
				w.WriteHeader(tt.status)
				_, _ = w.Write(make([]byte, 64<<10)) // more than the probe reads
			}))
			t.Cleanup(srv.Close)
			port := httpPort(t, srv)
			d := &testDialer{}
			cfg := Config{Dial: d.Dial, Host: testHost, Checks: map[uint16][]string{port: {CheckHTTP}}}
			f := only(t, run(t, cfg, port), port, CheckHTTP)
			want := HTTPInfo{Status: tt.status, Location: tt.location, Server: "test-httpd/1.0"}
			if f.Err != "" || f.HTTP == nil || *f.HTTP != want {
				t.Errorf("finding %+v HTTP %+v, want %+v", f, f.HTTP, want)
			}
			if n := d.calls.Load(); n != 1 {
				t.Errorf("%d dials, want 1 (no https port is open, so no HSTS request)", n)
			}
		})
	}
}

func TestHTTPOnANonHTTPPort(t *testing.T) {
	port := serve(t, func(c net.Conn) {
		buf := make([]byte, 512)
		_, _ = c.Read(buf)
		_, _ = c.Write([]byte("-ERR unknown command\r\n"))
	})
	d := &testDialer{}
	cfg := Config{Dial: d.Dial, Host: testHost, Checks: map[uint16][]string{port: {CheckHTTP}}}
	f := only(t, run(t, cfg, port), port, CheckHTTP)
	if f.HTTP != nil || f.Err != "the HTTP request failed: the port does not speak HTTP" {
		t.Errorf("finding %+v, want the failure explained", f)
	}
}

// TestProtocolFallbacks: HTTPS on a port planned for HTTP gets the TLS
// finding, plain HTTP on a port planned for TLS the HTTP finding, and a
// plain-HTTP server answering 400 stays an HTTP finding.
func TestProtocolFallbacks(t *testing.T) {
	now := time.Now()
	ca := newCA(t, now)
	https := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("secure")) }))
	https.TLS = &tls.Config{Certificates: []tls.Certificate{
		ca.issue(t, leafTemplate(testHost, now.Add(-time.Hour), now.Add(24*time.Hour), testHost), false),
	}}
	https.Config.ErrorLog = log.New(io.Discard, "", 0) // plain HTTP and old TLS versions are refused by design
	https.StartTLS()
	defer https.Close()
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "plain-httpd")
		_, _ = w.Write([]byte("hello"))
	}))
	defer plain.Close()
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "bad", http.StatusBadRequest)
	}))
	defer bad.Close()
	hp, pp, bp := httpPort(t, https), httpPort(t, plain), httpPort(t, bad)

	d := &testDialer{}
	cfg := Config{Dial: d.Dial, Host: testHost, Roots: ca.pool,
		Checks: map[uint16][]string{hp: {CheckHTTP}, pp: {CheckTLS}, bp: {CheckHTTP}}}
	findings := run(t, cfg, hp, pp, bp)

	f := only(t, findings, hp, CheckTLS)
	if f.Err != "" || f.TLS == nil || !f.TLS.ValidForName || f.TLS.Version != "TLS 1.3" ||
		f.TLS.HTTPS == nil || *f.TLS.HTTPS != (HTTPSInfo{Status: 200}) {
		t.Errorf("HTTPS on an HTTP port: %+v", f)
	}
	f = only(t, findings, pp, CheckHTTP)
	if f.Err != "" || f.HTTP == nil || f.HTTP.Status != 200 || f.HTTP.Server != "plain-httpd" || f.HTTP.RedirectsToHTTPS {
		t.Errorf("plain HTTP on a TLS port: %+v", f)
	}
	f = only(t, findings, bp, CheckHTTP)
	if f.Err != "" || f.HTTP == nil || f.HTTP.Status != 400 {
		t.Errorf("a plain server answering 400: %+v", f)
	}
	if len(findings) != 3 {
		t.Errorf("%d findings, want one per port: %+v", len(findings), findings)
	}
}

// TestHTTPSSideOfWebPorts: the TLS check of a web port (443, 8443) reads
// GET / over TLS — status, Server, HSTS; other TLS ports are not asked.
func TestHTTPSSideOfWebPorts(t *testing.T) {
	now := time.Now()
	ca := newCA(t, now)
	start := func(hsts string) (uint16, *requestLog) {
		var l requestLog
		srv := httptest.NewUnstartedServer(l.wrap(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Server", "web-test")
			if hsts != "" {
				w.Header().Set("Strict-Transport-Security", hsts)
			}
			http.NotFound(w, r)
		}))
		srv.TLS = &tls.Config{Certificates: []tls.Certificate{
			ca.issue(t, leafTemplate(testHost, now.Add(-time.Hour), now.Add(24*time.Hour), testHost), false),
		}}
		srv.Config.ErrorLog = log.New(io.Discard, "", 0)
		srv.StartTLS()
		t.Cleanup(srv.Close)
		return httpPort(t, srv), &l
	}
	with, _ := start("max-age=63072000")
	without, _ := start("")
	other, otherLog := start("max-age=1")
	d := &testDialer{}
	cfg := Config{Dial: d.Dial, Host: testHost, Roots: ca.pool,
		Checks: map[uint16][]string{with: {CheckTLS}, without: {CheckTLS}, other: {CheckTLS}},
		like:   map[uint16]uint16{with: 443, without: 8443}}
	findings := run(t, cfg, with, without, other)
	if f := only(t, findings, with, CheckTLS); f.TLS == nil || f.TLS.HTTPS == nil ||
		*f.TLS.HTTPS != (HTTPSInfo{Status: 404, Server: "web-test", HSTS: "max-age=63072000"}) {
		t.Errorf("443 with HSTS: %+v", f.TLS)
	}
	if f := only(t, findings, without, CheckTLS); f.TLS == nil || f.TLS.HTTPS == nil || f.TLS.HTTPS.HSTS != "" || f.TLS.HTTPS.Status != 404 {
		t.Errorf("8443 without HSTS: %+v", f.TLS)
	}
	if f := only(t, findings, other, CheckTLS); f.TLS == nil || f.TLS.HTTPS != nil {
		t.Errorf("a TLS port that is not a web port was asked for a page: %+v", f.TLS)
	}
	otherLog.mu.Lock()
	defer otherLog.mu.Unlock()
	if len(otherLog.hosts) != 0 {
		t.Errorf("%d requests to a non-web TLS port", len(otherLog.hosts))
	}
}
