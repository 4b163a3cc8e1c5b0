package probe

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestTLSCertificates(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	ca := newCA(t, now)
	issuing := ca.intermediate(t, now)

	tests := []struct {
		name string
		host string
		cert tls.Certificate
		want TLSInfo // the fields compared; VerifyError by substring
	}{
		{
			name: "valid via intermediate",
			host: testHost,
			cert: issuing.issue(t, leafTemplate(testHost, now.Add(-time.Hour), now.Add(30*24*time.Hour+time.Hour), testHost, "www."+testHost), true),
			want: TLSInfo{Subject: testHost, SANs: []string{testHost, "www." + testHost}, Issuer: "Vantage Test Issuing CA (Example Trust)",
				DaysLeft: 30, ValidForName: true},
		},
		{
			name: "name typed with a trailing dot and capitals",
			host: "App.Vantage-Test.Net.",
			cert: ca.issue(t, leafTemplate(testHost, now.Add(-time.Hour), now.Add(90*24*time.Hour), testHost), false),
			want: TLSInfo{Subject: testHost, SANs: []string{testHost}, Issuer: "Vantage Test Root (Example Trust)", DaysLeft: 90, ValidForName: true},
		},
		{
			name: "expired",
			host: testHost,
			cert: ca.issue(t, leafTemplate(testHost, now.Add(-60*24*time.Hour), now.Add(-36*time.Hour), testHost), false),
			want: TLSInfo{Subject: testHost, SANs: []string{testHost}, Issuer: "Vantage Test Root (Example Trust)", DaysLeft: -2, Expired: true,
				VerifyError: "expired"},
		},
		{
			name: "self-signed",
			host: testHost,
			cert: selfSignedCert(t, leafTemplate(testHost, now.Add(-time.Hour), now.Add(10*24*time.Hour), testHost)),
			want: TLSInfo{Subject: testHost, SANs: []string{testHost}, Issuer: testHost, DaysLeft: 10, SelfSigned: true,
				VerifyError: "trusted authority"},
		},
		{
			name: "other name",
			host: testHost,
			cert: ca.issue(t, leafTemplate("other.example", now.Add(-time.Hour), now.Add(20*24*time.Hour), "other.example"), false),
			want: TLSInfo{Subject: "other.example", SANs: []string{"other.example"}, Issuer: "Vantage Test Root (Example Trust)", DaysLeft: 20,
				VerifyError: "not valid for " + testHost},
		},
		{
			name: "IP target checked against IP SANs",
			host: "127.0.0.1",
			cert: ca.issue(t, leafTemplate("", now.Add(-time.Hour), now.Add(5*24*time.Hour), "127.0.0.1"), false),
			want: TLSInfo{SANs: []string{"127.0.0.1"}, Issuer: "Vantage Test Root (Example Trust)", DaysLeft: 5, ValidForName: true},
		},
		{
			name: "IP target, certificate for a name only",
			host: "127.0.0.1",
			cert: ca.issue(t, leafTemplate(testHost, now.Add(-time.Hour), now.Add(5*24*time.Hour), testHost), false),
			want: TLSInfo{Subject: testHost, SANs: []string{testHost}, Issuer: "Vantage Test Root (Example Trust)", DaysLeft: 5,
				VerifyError: "not valid for 127.0.0.1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			port, sni := tlsServer(t, &tls.Config{Certificates: []tls.Certificate{tt.cert}})
			d := &testDialer{}
			cfg := Config{Dial: d.Dial, Host: tt.host, Roots: ca.pool, Now: func() time.Time { return now },
				Checks: map[uint16][]string{port: {CheckTLS}}}
			f := only(t, run(t, cfg, port), port, CheckTLS)
			if f.Err != "" || f.TLS == nil {
				t.Fatalf("finding %+v, want TLS info", f)
			}
			got := f.TLS
			if got.Version != "TLS 1.3" || !strings.HasPrefix(got.CipherSuite, "TLS_") {
				t.Errorf("version %q suite %q, want TLS 1.3 and a suite name", got.Version, got.CipherSuite)
			}
			if got.Subject != tt.want.Subject || !slices.Equal(got.SANs, tt.want.SANs) || got.Issuer != tt.want.Issuer {
				t.Errorf("subject %q SANs %q issuer %q, want %q %q %q", got.Subject, got.SANs, got.Issuer,
					tt.want.Subject, tt.want.SANs, tt.want.Issuer)
			}
			if got.DaysLeft != tt.want.DaysLeft || got.Expired != tt.want.Expired || got.SelfSigned != tt.want.SelfSigned ||
				got.ValidForName != tt.want.ValidForName {
				t.Errorf("days %d expired %v self-signed %v valid %v, want %d %v %v %v", got.DaysLeft, got.Expired, got.SelfSigned,
					got.ValidForName, tt.want.DaysLeft, tt.want.Expired, tt.want.SelfSigned, tt.want.ValidForName)
			}
			if (tt.want.VerifyError == "") != (got.VerifyError == "") || !strings.Contains(got.VerifyError, tt.want.VerifyError) {
				t.Errorf("VerifyError %q, want one containing %q", got.VerifyError, tt.want.VerifyError)
			}
			if got.NotAfter.IsZero() {
				t.Error("NotAfter is zero")
			}
			wantSNI := ""
			if tt.host != "127.0.0.1" {
				wantSNI = testHost
			}
			for _, name := range sni.all() {
				if name != wantSNI {
					t.Errorf("server saw SNI %q, want %q", name, wantSNI)
				}
			}
		})
	}
}

func TestTLSVersions(t *testing.T) {
	now := time.Now()
	ca := newCA(t, now)
	cert := ca.issue(t, leafTemplate(testHost, now.Add(-time.Hour), now.Add(24*time.Hour), testHost), false)

	tests := []struct {
		name                 string
		min, max             uint16
		version              string
		accepts10, accepts11 bool
	}{
		{"TLS 1.0 only", tls.VersionTLS10, tls.VersionTLS10, "TLS 1.0", true, false},
		{"TLS 1.0 to 1.2", tls.VersionTLS10, tls.VersionTLS12, "TLS 1.2", true, true},
		{"TLS 1.2 and up", tls.VersionTLS12, tls.VersionTLS13, "TLS 1.3", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			port, _ := tlsServer(t, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tt.min, MaxVersion: tt.max})
			d := &testDialer{}
			cfg := Config{Dial: d.Dial, Host: testHost, Roots: ca.pool, Checks: map[uint16][]string{port: {CheckTLS}}}
			f := only(t, run(t, cfg, port), port, CheckTLS)
			if f.Err != "" || f.TLS == nil {
				t.Fatalf("finding %+v, want TLS info", f)
			}
			if f.TLS.Version != tt.version || f.TLS.Accepts10 != tt.accepts10 || f.TLS.Accepts11 != tt.accepts11 {
				t.Errorf("version %q accepts 1.0 %v 1.1 %v, want %q %v %v", f.TLS.Version, f.TLS.Accepts10, f.TLS.Accepts11,
					tt.version, tt.accepts10, tt.accepts11)
			}
			if !f.TLS.ValidForName {
				t.Errorf("ValidForName false: %s", f.TLS.VerifyError)
			}
		})
	}
}

func TestTLSHandshakeOnANonTLSPort(t *testing.T) {
	port := serve(t, func(c net.Conn) { _, _ = c.Write([]byte("220 not TLS\r\n")) })
	d := &testDialer{}
	cfg := Config{Dial: d.Dial, Host: testHost, Checks: map[uint16][]string{port: {CheckTLS}}}
	f := only(t, run(t, cfg, port), port, CheckTLS)
	if f.TLS != nil || f.Err != "the TLS handshake failed: the port does not speak TLS" {
		t.Errorf("finding %+v, want the handshake failure explained", f)
	}
}

func TestSystemRootsAreNeverEmpty(t *testing.T) {
	if systemRoots().Equal(x509.NewCertPool()) {
		t.Error("no roots: neither the system's nor the fallback bundle")
	}
	if bundleRoots().Equal(x509.NewCertPool()) {
		t.Error("the fallback bundle is empty")
	}
}
