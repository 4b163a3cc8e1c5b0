package report

import (
	"strings"
	"testing"

	"github.com/vantagescan/vantage/internal/probe"
)

func TestDescribe(t *testing.T) {
	tests := []struct {
		name    string
		f       probe.Finding
		title   string
		want    string // in one of the lines
		problem bool
	}{
		{"good tls", probe.Finding{Port: 443, Check: "tls", TLS: &probe.TLSInfo{Version: "TLS 1.3", CipherSuite: "TLS_AES_128_GCM_SHA256", Subject: "example.com", Issuer: "R3", DaysLeft: 60, ValidForName: true}}, "TLS", "Valid for 60 more days", false},
		{"expired", probe.Finding{Port: 443, TLS: &probe.TLSInfo{Expired: true, DaysLeft: -3}}, "TLS", "Expired 3 days ago", true},
		{"self-signed", probe.Finding{Port: 8443, TLS: &probe.TLSInfo{SelfSigned: true, DaysLeft: 300}}, "TLS", "Self-signed", true},
		{"wrong name", probe.Finding{Port: 443, TLS: &probe.TLSInfo{DaysLeft: 300, VerifyError: "certificate is valid for other.example, not example.com"}}, "TLS", "Not valid for the name scanned", true},
		{"legacy tls", probe.Finding{Port: 443, TLS: &probe.TLSInfo{DaysLeft: 300, ValidForName: true, Accepts10: true, Accepts11: true}}, "TLS", "TLS 1.0 and TLS 1.1", true},
		{"redirect", probe.Finding{Port: 80, HTTP: &probe.HTTPInfo{Status: 301, Location: "https://example.com/", RedirectsToHTTPS: true, Server: "nginx"}}, "HTTP", "redirects to https://example.com/", false},
		{"no redirect", probe.Finding{Port: 80, HTTP: &probe.HTTPInfo{Status: 200}}, "HTTP", "without redirecting", true},
		{"ssh password", probe.Finding{Port: 22, SSH: &probe.SSHInfo{Banner: "SSH-2.0-OpenSSH_9.6", AuthMethods: []string{"publickey", "password"}, PasswordAuth: true}}, "SSH", "brute force", true},
		{"ssh keys", probe.Finding{Port: 22, SSH: &probe.SSHInfo{Banner: "SSH-2.0-OpenSSH_9.6", AuthMethods: []string{"publickey"}}}, "SSH", "publickey", false},
		{"banner", probe.Finding{Port: 21, Banner: &probe.BannerInfo{Protocol: "ftp", Line: "220 ready"}}, "ftp greeting", "220 ready", false},
		{"failed", probe.Finding{Port: 25, Check: "banner", Err: "no greeting"}, "banner", "", false},
		{"https with hsts", probe.Finding{Port: 443, TLS: &probe.TLSInfo{DaysLeft: 60, ValidForName: true, HTTPS: &probe.HTTPSInfo{Status: 200, Server: "nginx", HSTS: "max-age=63072000"}}}, "TLS", "HSTS: max-age=63072000.", false},
		{"https without hsts", probe.Finding{Port: 443, TLS: &probe.TLSInfo{DaysLeft: 60, ValidForName: true, HTTPS: &probe.HTTPSInfo{Status: 404}}}, "TLS", "No HSTS header", false},
		{"tls on an http port", probe.Finding{Port: 8080, TLS: &probe.TLSInfo{Version: "TLS 1.3", DaysLeft: 60, ValidForName: true}}, "TLS", "Port 8080, usually plain HTTP, speaks TLS here.", false},
		{"plain http on 443", probe.Finding{Port: 443, HTTP: &probe.HTTPInfo{Status: 301, Location: "https://example.com/", RedirectsToHTTPS: true}}, "HTTP", "Port 443, usually TLS, speaks plain HTTP here", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			title, lines, problem := Describe(tt.f)
			if title != tt.title || problem != tt.problem {
				t.Errorf("title %q problem %v; want %q %v", title, problem, tt.title, tt.problem)
			}
			if tt.want != "" && !strings.Contains(strings.Join(lines, "\n"), tt.want) {
				t.Errorf("lines %q lack %q", lines, tt.want)
			}
		})
	}
}
