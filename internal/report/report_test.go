package report

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vantagescan/vantage/internal/ports"
	"github.com/vantagescan/vantage/internal/probe"
)

var now = time.Date(2026, 11, 15, 12, 0, 0, 0, time.UTC)

const day24 = 24 * time.Hour

// Builders for scan rows and findings.

func withState(state string, ps ...uint16) []Port {
	rows := make([]Port, len(ps))
	for i, p := range ps {
		rows[i] = Port{Port: p, State: state}
	}
	return rows
}

func open(ps ...uint16) []Port { return withState("open", ps...) }

func rows(groups ...[]Port) []Port { return slices.Concat(groups...) }

// tlsOn is a healthy TLS endpoint, adjusted by edits.
func tlsOn(port uint16, edits ...func(*probe.TLSInfo)) probe.Finding {
	info := &probe.TLSInfo{
		Version:      "TLS 1.3",
		CipherSuite:  "TLS_AES_128_GCM_SHA256",
		Subject:      "example.com",
		SANs:         []string{"example.com", "www.example.com"},
		Issuer:       "R11",
		NotAfter:     now.Add(60 * day24),
		DaysLeft:     60,
		ValidForName: true,
	}
	for _, edit := range edits {
		edit(info)
	}
	return probe.Finding{Port: port, Check: "tls", TLS: info}
}

func expiresIn(d time.Duration) func(*probe.TLSInfo) {
	return func(t *probe.TLSInfo) {
		t.NotAfter = now.Add(d)
		t.DaysLeft = int(d / day24)
		t.Expired = d <= 0
		if t.Expired {
			t.ValidForName = false
			t.VerifyError = "x509: certificate has expired or is not yet valid"
		}
	}
}

func selfSigned(t *probe.TLSInfo) {
	t.SelfSigned, t.ValidForName, t.Issuer = true, false, t.Subject
	t.VerifyError = "x509: certificate signed by unknown authority"
}

func wrongName(t *probe.TLSInfo) {
	t.ValidForName = false
	t.VerifyError = "x509: certificate is valid for example.com, www.example.com, not shop.example.org"
}

func hsts(value string) func(*probe.TLSInfo) {
	return func(t *probe.TLSInfo) { t.HTTPS = &probe.HTTPSInfo{Status: 200, Server: "nginx", HSTS: value} }
}

func legacy10(t *probe.TLSInfo) { t.Accepts10 = true }
func legacy11(t *probe.TLSInfo) { t.Accepts11 = true }

func httpOn(port uint16, status int, location string) probe.Finding {
	return probe.Finding{Port: port, Check: "http", HTTP: &probe.HTTPInfo{
		Status:           status,
		Location:         location,
		RedirectsToHTTPS: status >= 300 && status < 400 && strings.HasPrefix(location, "https://"),
		Server:           "nginx",
	}}
}

func sshOn(port uint16, methods ...string) probe.Finding {
	return probe.Finding{Port: port, Check: "ssh", SSH: &probe.SSHInfo{
		Banner:       "SSH-2.0-OpenSSH_9.6",
		AuthMethods:  methods,
		PasswordAuth: slices.Contains(methods, "password") || slices.Contains(methods, "keyboard-interactive"),
	}}
}

func bannerOn(port uint16, protocol, line string) probe.Finding {
	return probe.Finding{Port: port, Check: "banner", Banner: &probe.BannerInfo{Protocol: protocol, Line: line}}
}

func failedOn(port uint16, check, err string) probe.Finding {
	return probe.Finding{Port: port, Check: check, Err: err}
}

func findings(f ...probe.Finding) []probe.Finding { return f }

// gradeCase is one host to grade. reasons lists the expected reasons in
// order, as "rule" for host-wide ones and "rule:port" for the rest.
type gradeCase struct {
	name     string
	ports    []Port
	findings []probe.Finding
	want     string
	reasons  []string
}

// gradeCases covers every rule alone, then combinations. A well-run web
// server (80 redirecting, 443 with a good certificate) is the baseline.
var gradeCases = []gradeCase{
	// Nothing reachable.
	{name: "no ports scanned", want: "A", reasons: []string{"no-open-ports"}},
	{name: "all closed", ports: withState("closed", 22, 80, 443), want: "A", reasons: []string{"no-open-ports"}},
	{name: "closed and filtered", ports: rows(withState("closed", 80), withState("filtered", 22, 443)), want: "A", reasons: []string{"no-open-ports"}},
	{name: "all filtered", ports: withState("filtered", 22, 80, 443, 3306), want: "A", reasons: []string{"all-ports-filtered"}},
	{name: "one port filtered", ports: withState("filtered", 443), want: "A", reasons: []string{"all-ports-filtered"}},

	// Clean hosts.
	{
		name:     "web server done right",
		ports:    rows(open(80, 443), withState("filtered", 22, 3306)),
		findings: findings(httpOn(80, 301, "https://example.com/"), tlsOn(443)),
		want:     "A",
	},
	{
		name:     "https with hsts",
		ports:    open(80, 443),
		findings: findings(httpOn(80, 301, "https://example.com/"), tlsOn(443, hsts("max-age=63072000"))),
		want:     "A",
	},
	{
		name:     "https without hsts is a note",
		ports:    open(80, 443, 8443),
		findings: findings(httpOn(80, 301, "https://example.com/"), tlsOn(443, hsts("")), tlsOn(8443, hsts(""))),
		want:     "A",
		reasons:  []string{"https-without-hsts:443", "https-without-hsts:8443"},
	},
	{
		name:     "hsts switched off is no hsts",
		ports:    open(443),
		findings: findings(tlsOn(443, hsts("max-age=0; includeSubDomains"))),
		want:     "A",
		reasons:  []string{"https-without-hsts:443"},
	},
	{
		name:     "no hsts note for an untrusted certificate",
		ports:    open(443),
		findings: findings(tlsOn(443, hsts(""), selfSigned)),
		want:     "B",
		reasons:  []string{"tls-certificate-untrusted:443"},
	},
	{
		name:     "ssh with keys only",
		ports:    open(22),
		findings: findings(sshOn(22, "publickey")),
		want:     "A",
	},
	{name: "medium port without findings", ports: open(22), want: "A"},
	{name: "three medium ports", ports: open(21, 22, 25), want: "A"},
	{name: "low-risk ports", ports: open(443, 465, 587, 993, 995), want: "A"},

	// Caps, alone.
	{name: "docker api", ports: open(2375), want: "F", reasons: []string{"critical-port-open:2375"}},
	{name: "redis", ports: open(6379), want: "F", reasons: []string{"critical-port-open:6379"}},
	{name: "telnet", ports: open(23), want: "F", reasons: []string{"critical-port-open:23"}},
	{name: "mysql", ports: open(3306), want: "D", reasons: []string{"high-risk-port-open:3306"}},
	{name: "rdp", ports: open(3389), want: "D", reasons: []string{"high-risk-port-open:3389"}},
	{
		name:     "expired certificate",
		ports:    open(443),
		findings: findings(tlsOn(443, expiresIn(-3*day24))),
		want:     "D",
		reasons:  []string{"tls-certificate-expired:443"},
	},
	{
		name:     "expired by now though the probe said valid",
		ports:    open(443),
		findings: findings(tlsOn(443, func(t *probe.TLSInfo) { t.NotAfter = now.Add(-time.Hour) })),
		want:     "D",
		reasons:  []string{"tls-certificate-expired:443"},
	},
	{
		name:     "expired by the probe's flag when NotAfter is unknown",
		ports:    open(443),
		findings: findings(tlsOn(443, func(t *probe.TLSInfo) { t.NotAfter, t.Expired, t.DaysLeft = time.Time{}, true, -2 })),
		want:     "D",
		reasons:  []string{"tls-certificate-expired:443"},
	},

	// Lowerings, alone.
	{
		name:     "ssh password login",
		ports:    open(22),
		findings: findings(sshOn(22, "publickey", "password")),
		want:     "B",
		reasons:  []string{"ssh-password-login:22"},
	},
	{
		name:     "ssh keyboard-interactive login",
		ports:    open(22),
		findings: findings(sshOn(22, "publickey", "keyboard-interactive")),
		want:     "B",
		reasons:  []string{"ssh-password-login:22"},
	},
	{
		name:     "self-signed certificate",
		ports:    open(443),
		findings: findings(tlsOn(443, selfSigned)),
		want:     "B",
		reasons:  []string{"tls-certificate-untrusted:443"},
	},
	{
		name:     "certificate for another name",
		ports:    open(443),
		findings: findings(tlsOn(443, wrongName)),
		want:     "B",
		reasons:  []string{"tls-certificate-untrusted:443"},
	},
	{
		name:     "tls 1.0 accepted",
		ports:    open(443),
		findings: findings(tlsOn(443, legacy10)),
		want:     "B",
		reasons:  []string{"tls-legacy-versions:443"},
	},
	{
		name:     "tls 1.0 and 1.1 accepted",
		ports:    open(443),
		findings: findings(tlsOn(443, legacy10, legacy11)),
		want:     "B",
		reasons:  []string{"tls-legacy-versions:443"},
	},
	{
		name:     "plain http serving content",
		ports:    open(80, 443),
		findings: findings(httpOn(80, 200, ""), tlsOn(443)),
		want:     "B",
		reasons:  []string{"http-without-https-redirect:80"},
	},
	{
		name:     "plain http redirecting to http",
		ports:    open(80, 443),
		findings: findings(httpOn(80, 302, "http://www.example.com/"), tlsOn(443)),
		want:     "B",
		reasons:  []string{"http-without-https-redirect:80"},
	},
	{
		name:     "http only, no https at all",
		ports:    open(80),
		findings: findings(httpOn(80, 200, "")),
		want:     "B",
		reasons:  []string{"http-without-https-redirect:80"},
	},
	{
		name:    "four medium ports",
		ports:   open(21, 22, 25, 53),
		want:    "B",
		reasons: []string{"many-medium-ports"},
	},

	// Notes, alone.
	{
		name:     "certificate expiring in 10 days",
		ports:    open(443),
		findings: findings(tlsOn(443, expiresIn(10*day24))),
		want:     "A",
		reasons:  []string{"tls-certificate-expiring:443"},
	},
	{
		name:     "certificate expiring in hours",
		ports:    open(443),
		findings: findings(tlsOn(443, expiresIn(5*time.Hour))),
		want:     "A",
		reasons:  []string{"tls-certificate-expiring:443"},
	},
	{
		name:     "certificate expiring in 20 days",
		ports:    open(443),
		findings: findings(tlsOn(443, expiresIn(20*day24))),
		want:     "A",
	},
	{name: "unknown port", ports: open(40000), want: "A", reasons: []string{"unknown-port-open:40000"}},
	{
		name:    "several unknown ports count as low, not medium",
		ports:   open(40000, 40001, 40002, 40003, 40004),
		want:    "A",
		reasons: []string{"unknown-port-open:40000", "unknown-port-open:40001", "unknown-port-open:40002", "unknown-port-open:40003", "unknown-port-open:40004"},
	},
	{
		name:     "unknown port with an unrated greeting",
		ports:    open(40000),
		findings: findings(bannerOn(40000, "gopher", "iGopher server")),
		want:     "A",
		reasons:  []string{"unknown-port-open:40000"},
	},
	{
		name:     "check could not complete",
		ports:    open(443),
		findings: findings(failedOn(443, "tls", "The TLS handshake timed out")),
		want:     "A",
		reasons:  []string{"check-incomplete:443"},
	},
	{
		name:     "failed check that a retry completed is not reported",
		ports:    open(443),
		findings: findings(failedOn(443, "tls", "The TLS handshake timed out."), tlsOn(443)),
		want:     "A",
	},
	{
		name:    "sensitive ports closed rather than filtered",
		ports:   rows(open(443), withState("closed", 3306, 3389, 6379, 5432)),
		want:    "A",
		reasons: []string{"sensitive-ports-closed"},
	},
	{
		name:    "one sensitive port closed, nothing open",
		ports:   withState("closed", 3306),
		want:    "A",
		reasons: []string{"no-open-ports", "sensitive-ports-closed"},
	},

	// Services recognised from their greeting.
	{
		name:     "redis greeting on an unknown port",
		ports:    open(16379),
		findings: findings(bannerOn(16379, "redis", "+PONG")),
		want:     "F",
		reasons:  []string{"critical-port-open:16379"},
	},
	{
		name:     "mysql greeting on an alternate http port",
		ports:    open(8080),
		findings: findings(bannerOn(8080, "mysql", "5.7.44-log")),
		want:     "D",
		reasons:  []string{"high-risk-port-open:8080"},
	},
	{
		name:     "smtp greeting on submission stays low",
		ports:    open(587),
		findings: findings(bannerOn(587, "smtp", "220 mail.example.com ESMTP Postfix")),
		want:     "A",
	},
	{
		name:     "ssh with passwords on an unknown port",
		ports:    open(40022),
		findings: findings(sshOn(40022, "password")),
		want:     "B",
		reasons:  []string{"ssh-password-login:40022"},
	},

	// Scan data edge cases.
	{
		name:     "findings about ports that are not open are ignored",
		ports:    rows(withState("closed", 22), withState("filtered", 443)),
		findings: findings(sshOn(22, "password"), tlsOn(443, selfSigned), tlsOn(8443, legacy10)),
		want:     "A",
		reasons:  []string{"no-open-ports"},
	},
	{
		name:    "contradictory rows: open wins",
		ports:   []Port{{2375, "filtered"}, {2375, "open"}, {2375, "closed"}},
		want:    "F",
		reasons: []string{"critical-port-open:2375"},
	},

	// Combinations.
	{
		name:     "one rule on several ports lowers once and lists each",
		ports:    open(22, 2222),
		findings: findings(sshOn(22, "password"), sshOn(2222, "publickey", "password")),
		want:     "B",
		reasons:  []string{"ssh-password-login:22", "ssh-password-login:2222"},
	},
	{
		name:     "two lowerings",
		ports:    open(22, 443),
		findings: findings(sshOn(22, "password"), tlsOn(443, legacy11)),
		want:     "C",
		reasons:  []string{"ssh-password-login:22", "tls-legacy-versions:443"},
	},
	{
		name:     "three lowerings",
		ports:    open(22, 80, 443),
		findings: findings(sshOn(22, "password"), httpOn(80, 200, ""), tlsOn(443, selfSigned)),
		want:     "D",
		reasons:  []string{"ssh-password-login:22", "tls-certificate-untrusted:443", "http-without-https-redirect:80"},
	},
	{
		name:     "five lowerings stop at D: only a cap gives F",
		ports:    open(21, 22, 25, 53, 80, 443),
		findings: findings(sshOn(22, "password"), httpOn(80, 200, ""), tlsOn(443, selfSigned, legacy10)),
		want:     "D",
		reasons: []string{
			"ssh-password-login:22", "tls-certificate-untrusted:443", "tls-legacy-versions:443",
			"http-without-https-redirect:80", "many-medium-ports",
		},
	},
	{
		name:     "expired certificate is not also untrusted",
		ports:    open(443),
		findings: findings(tlsOn(443, expiresIn(-40*day24), selfSigned)),
		want:     "D",
		reasons:  []string{"tls-certificate-expired:443"},
	},
	{
		name:     "cap at D with lowerings stays D",
		ports:    open(22, 443, 5432),
		findings: findings(sshOn(22, "password"), tlsOn(443, legacy10)),
		want:     "D",
		reasons:  []string{"high-risk-port-open:5432", "ssh-password-login:22", "tls-legacy-versions:443"},
	},
	{
		name:     "critical and high: F, caps at F first",
		ports:    open(3306, 3389, 9200, 27017),
		findings: nil,
		want:     "F",
		reasons:  []string{"critical-port-open:9200", "critical-port-open:27017", "high-risk-port-open:3306", "high-risk-port-open:3389"},
	},
	{
		name:  "everything at once, in impact order",
		ports: rows(open(21, 22, 25, 53, 80, 443, 2375, 3306, 8443, 40000), withState("closed", 3389), withState("filtered", 5900)),
		findings: findings(
			tlsOn(8443, expiresIn(-1*day24)),
			tlsOn(443, wrongName, legacy10, expiresIn(7*day24)),
			httpOn(80, 200, ""),
			sshOn(22, "publickey", "password", "keyboard-interactive"),
			bannerOn(21, "ftp", "220 (vsFTPd 3.0.5)"),
			failedOn(25, "banner", "The server did not greet within 5 seconds."),
		),
		want: "F",
		reasons: []string{
			"critical-port-open:2375",
			"high-risk-port-open:3306", "tls-certificate-expired:8443",
			"ssh-password-login:22", "tls-certificate-untrusted:443", "tls-legacy-versions:443",
			"http-without-https-redirect:80", "many-medium-ports",
			"tls-certificate-expiring:443", "unknown-port-open:40000", "check-incomplete:25", "sensitive-ports-closed",
		},
	},
}

func TestCompute(t *testing.T) {
	for _, tc := range gradeCases {
		t.Run(tc.name, func(t *testing.T) {
			got := Compute(tc.ports, tc.findings, now)
			if got.Letter != tc.want {
				t.Errorf("grade %s, want %s; reasons:\n%s", got.Letter, tc.want, dump(got.Reasons))
			}
			if keys := reasonKeys(got.Reasons); !slices.Equal(keys, tc.reasons) {
				t.Errorf("reasons\n got %q\nwant %q", keys, tc.reasons)
			}
			checkOrder(t, got.Reasons)
			for _, r := range got.Reasons {
				checkText(t, r)
			}
		})
	}
}

// TestEveryRuleIsExercised makes the case table cover the rule table.
func TestEveryRuleIsExercised(t *testing.T) {
	fired := map[string]bool{}
	for _, tc := range gradeCases {
		for _, r := range Compute(tc.ports, tc.findings, now).Reasons {
			fired[r.Rule] = true
		}
	}
	for _, info := range Rules() {
		if !fired[info.Name] {
			t.Errorf("rule %q never fires in gradeCases; add a case for it", info.Name)
		}
	}
}

func TestComputeIsDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range gradeCases {
		t.Run(tc.name, func(t *testing.T) {
			want := Compute(tc.ports, tc.findings, now)
			for range 20 {
				ps, fs := slices.Clone(tc.ports), slices.Clone(tc.findings)
				rng.Shuffle(len(ps), func(i, j int) { ps[i], ps[j] = ps[j], ps[i] })
				rng.Shuffle(len(fs), func(i, j int) { fs[i], fs[j] = fs[j], fs[i] })
				if got := Compute(ps, fs, now); !reflect.DeepEqual(got, want) {
					t.Fatalf("shuffled input changed the grade:\n got %s %s\nwant %s %s", got.Letter, reasonKeys(got.Reasons), want.Letter, reasonKeys(want.Reasons))
				}
			}
		})
	}
}

// TestCatalogPortAlone grades every catalog port open on its own: critical
// gives F, high D, anything lower A, and the reason names port and service.
func TestCatalogPortAlone(t *testing.T) {
	wantLetter := map[ports.Risk]string{
		ports.RiskCritical: "F", ports.RiskHigh: "D",
		ports.RiskMedium: "A", ports.RiskLow: "A", ports.RiskInfo: "A",
	}
	for _, e := range ports.Catalog() {
		t.Run(strconv.Itoa(int(e.Port))+"/"+e.Service, func(t *testing.T) {
			got := Compute(open(e.Port), nil, now)
			if got.Letter != wantLetter[e.Risk] {
				t.Errorf("grade %s, want %s for risk %s", got.Letter, wantLetter[e.Risk], e.Risk)
			}
			if e.Risk < ports.RiskHigh {
				if len(got.Reasons) != 0 {
					t.Errorf("unexpected reasons:\n%s", dump(got.Reasons))
				}
				return
			}
			if len(got.Reasons) != 1 {
				t.Fatalf("want exactly one reason, got:\n%s", dump(got.Reasons))
			}
			r := got.Reasons[0]
			if r.Port != e.Port || !strings.Contains(r.Text, e.Name) {
				t.Errorf("reason %+v should be about port %d and name %q", r, e.Port, e.Name)
			}
			checkText(t, r)
		})
	}
}

func TestUnknownPortsAreLowRisk(t *testing.T) {
	for _, p := range []uint16{1, 4000, 12345, 40000, 65535} {
		if _, ok := ports.Lookup(p); ok {
			t.Fatalf("port %d is in the catalog; pick another unknown port", p)
		}
		t.Run(strconv.Itoa(int(p)), func(t *testing.T) {
			got := Compute(open(p), nil, now)
			if got.Letter != "A" || len(got.Reasons) != 1 || got.Reasons[0].Rule != "unknown-port-open" {
				t.Fatalf("got %s with\n%s\nwant A with one unknown-port-open note", got.Letter, dump(got.Reasons))
			}
			if !strings.Contains(got.Reasons[0].Text, "low risk") {
				t.Errorf("the note should say how the port is counted: %q", got.Reasons[0].Text)
			}
		})
	}
}

func TestReasonTexts(t *testing.T) {
	tests := []struct {
		name     string
		ports    []Port
		findings []probe.Finding
		rule     string
		contains []string
	}{
		{"critical names service and fix", open(2375), nil, "critical-port-open",
			[]string{"Docker Engine API (plain HTTP) on port 2375", "firewall", "VPN or SSH tunnel"}},
		{"high follows the brief's advice", open(3306), nil, "high-risk-port-open",
			[]string{"MySQL / MariaDB on port 3306", "specific IP addresses", "VPN or SSH tunnel"}},
		{"recognised service says so", open(16379), findings(bannerOn(16379, "redis", "+PONG")), "critical-port-open",
			[]string{"Redis (recognised from its greeting) on port 16379"}},
		{"expired gives the date", open(443), findings(tlsOn(443, expiresIn(-3*day24))), "tls-certificate-expired",
			[]string{"HTTPS on port 443", "expired on 12 November 2026", "3 days ago", "Renew"}},
		{"expiring gives the days", open(443), findings(tlsOn(443, expiresIn(9*day24+time.Hour))), "tls-certificate-expiring",
			[]string{"HTTPS on port 443", "in 9 days", "24 November 2026"}},
		{"ssh lists offered methods", open(22), findings(sshOn(22, "publickey", "password", "keyboard-interactive")), "ssh-password-login",
			[]string{"SSH on port 22", "password and keyboard-interactive", "PasswordAuthentication no", "known IPs"}},
		{"self-signed", open(443), findings(tlsOn(443, selfSigned)), "tls-certificate-untrusted",
			[]string{"HTTPS on port 443", "self-signed", "public CA"}},
		{"wrong name quotes the verifier and the SANs", open(443), findings(tlsOn(443, wrongName)), "tls-certificate-untrusted",
			[]string{"not shop.example.org", "It lists example.com and www.example.com.", "intermediate"}},
		{"legacy versions", open(443), findings(tlsOn(443, legacy10, legacy11)), "tls-legacy-versions",
			[]string{"TLS 1.0 and TLS 1.1", "TLS 1.2"}},
		{"http gives the status", open(80, 443), findings(httpOn(80, 200, ""), tlsOn(443)), "http-without-https-redirect",
			[]string{"HTTP on port 80 answers with status 200 instead of redirecting to HTTPS", "301", "HSTS"}},
		{"http redirecting elsewhere", open(80, 443), findings(httpOn(80, 302, "http://www.example.com/"), tlsOn(443)), "http-without-https-redirect",
			[]string{"redirects to http://www.example.com/ (status 302) instead of to HTTPS"}},
		{"http without any https", open(80), findings(httpOn(80, 200, "")), "http-without-https-redirect",
			[]string{"No HTTPS port answered", "set up HTTPS first"}},
		{"hsts missing gives the nginx line", open(443), findings(tlsOn(443, hsts(""))), "https-without-hsts",
			[]string{"HTTPS on port 443 sends no Strict-Transport-Security (HSTS) header", "add_header Strict-Transport-Security"}},
		{"hsts off quotes the header", open(443), findings(tlsOn(443, hsts("max-age=0"))), "https-without-hsts",
			[]string{"sends Strict-Transport-Security “max-age=0”, which does not turn HSTS on"}},
		{"plain http on 443 is not https", open(443), findings(httpOn(443, 200, "")), "http-without-https-redirect",
			[]string{"Port 443, where HTTPS is expected, speaks plain HTTP and answers with status 200 instead of redirecting to HTTPS", "No HTTPS port answered"}},
		{"medium ports are listed", open(21, 22, 25, 53), nil, "many-medium-ports",
			[]string{"4 services", "FTP on 21, SSH on 22, SMTP on 25 and DNS on 53"}},
		{"unknown greeting", open(40000), findings(bannerOn(40000, "gopher", "")), "unknown-port-open",
			[]string{"Port 40000", `"gopher"`, "ss -ltnp"}},
		{"check incomplete quotes the error", open(443, 22), findings(failedOn(22, "ssh", "The server closed the connection"), failedOn(22, "banner", "No greeting.")), "check-incomplete",
			[]string{"The greeting check on port 22 could not complete: no greeting.", "The SSH check on port 22 could not complete: the server closed the connection."}},
		{"check incomplete keeps acronyms", open(443), findings(failedOn(443, "tls", "TLS handshake timed out")), "check-incomplete",
			[]string{"The TLS check on port 443 could not complete: TLS handshake timed out."}},
		{"ssh rule says SSH whatever the catalog expects", open(2222), findings(sshOn(2222, "password")), "ssh-password-login",
			[]string{"SSH on port 2222 accepts password logins"}},
		{"expired less than a day ago gives no day count", open(443), findings(tlsOn(443, expiresIn(-time.Hour))), "tls-certificate-expired",
			[]string{"expired on 15 November 2026, so"}},
		{"closed sensitive ports counted", rows(open(443), withState("closed", 3306, 3389, 5432, 6379)), nil, "sensitive-ports-closed",
			[]string{"4 ports", "such as MySQL / MariaDB on 3306, RDP (Remote Desktop) on 3389 and PostgreSQL on 5432", "filtered"}},
		{"all filtered says host looks down", withState("filtered", 22, 80, 443), nil, "all-ports-filtered",
			[]string{"All 3 ports scanned are filtered", "looks down", "firewall"}},
		{"one port filtered", withState("filtered", 443), nil, "all-ports-filtered",
			[]string{"The 1 port scanned is filtered"}},
		{"one sensitive port closed", withState("closed", 6379), nil, "sensitive-ports-closed",
			[]string{"Redis on port 6379, rated critical in the catalog, answers closed rather than filtered: the reply"}},
		{"nothing open", withState("closed", 80), nil, "no-open-ports",
			[]string{"Nothing reachable on the 1 port scanned"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, ok := reasonFor(Compute(tt.ports, tt.findings, now), tt.rule)
			if !ok {
				t.Fatalf("rule %s did not fire", tt.rule)
			}
			for _, s := range tt.contains {
				if !strings.Contains(r.Text, s) {
					t.Errorf("text lacks %q:\n%s", s, r.Text)
				}
			}
			checkText(t, r)
		})
	}
}

// TestHostileStringsAreCleaned: text copied from the probed host must stay
// one printable, bounded line.
func TestHostileStringsAreCleaned(t *testing.T) {
	long := strings.Repeat("A", 500)
	got := Compute(open(80, 443), findings(
		httpOn(80, 302, "http://evil.example/\r\nSet-Cookie: x=1\x00"+long),
		tlsOn(443, wrongName, func(ti *probe.TLSInfo) { ti.VerifyError = "bad\ncert\x1b[31m" + long }),
	), now)
	for _, r := range got.Reasons {
		if strings.ContainsAny(r.Text, "\r\n\x00\x1b") {
			t.Errorf("%s: control characters leaked: %q", r.Rule, r.Text)
		}
		if len(r.Text) > 700 {
			t.Errorf("%s: text is %d bytes; remote strings must be clipped", r.Rule, len(r.Text))
		}
	}
}

// TestZeroNowTrustsTheProbe: without a grading time, expiry comes from the
// probe's own Expired and DaysLeft.
func TestZeroNowTrustsTheProbe(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*probe.TLSInfo)
		want    string
		reasons []string
	}{
		{"expired", func(ti *probe.TLSInfo) { ti.Expired, ti.DaysLeft = true, -5 }, "D", []string{"tls-certificate-expired:443"}},
		{"expiring", func(ti *probe.TLSInfo) { ti.DaysLeft = 3 }, "A", []string{"tls-certificate-expiring:443"}},
		{"fine", func(ti *probe.TLSInfo) { ti.DaysLeft = 80 }, "A", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// NotAfter is far in the past relative to now, to prove it is ignored.
			f := tlsOn(443, func(ti *probe.TLSInfo) { ti.NotAfter = time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC) }, tt.edit)
			got := Compute(open(443), findings(f), time.Time{})
			if got.Letter != tt.want || !slices.Equal(reasonKeys(got.Reasons), tt.reasons) {
				t.Errorf("got %s %q, want %s %q", got.Letter, reasonKeys(got.Reasons), tt.want, tt.reasons)
			}
		})
	}
}

func TestRules(t *testing.T) {
	infos := Rules()
	if len(infos) != len(rules) {
		t.Fatalf("Rules() has %d entries, the table %d", len(infos), len(rules))
	}
	name := regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	effects := []string{"caps the grade at F", "caps the grade at D", "lowers the grade by one letter", "note"}
	seen := map[string]bool{}
	for i, info := range infos {
		if info.Name != rules[i].name {
			t.Errorf("Rules()[%d] is %q, table has %q", i, info.Name, rules[i].name)
		}
		if !name.MatchString(info.Name) {
			t.Errorf("rule name %q is not kebab-case", info.Name)
		}
		if seen[info.Name] {
			t.Errorf("rule name %q is used twice", info.Name)
		}
		seen[info.Name] = true
		if !slices.Contains(effects, info.Effect) {
			t.Errorf("rule %s: unknown effect %q", info.Name, info.Effect)
		}
		if d := info.Description; strings.TrimSpace(d) != d || len(d) < 30 || !strings.HasSuffix(d, ".") {
			t.Errorf("rule %s: description should be a full sentence: %q", info.Name, d)
		}
		if rules[i].match == nil || rules[i].say == nil {
			t.Errorf("rule %s: needs both a predicate and a sentence", info.Name)
		}
	}
	// The table reads caps, lowerings, notes, as Compute orders reasons.
	if !slices.IsSortedFunc(rules, func(a, b rule) int { return int(a.effect) - int(b.effect) }) {
		t.Error("keep the rule table in effect order: caps at F, caps at D, lowerings, notes")
	}
	// Rules returns a copy.
	infos[0].Name = "changed"
	if Rules()[0].Name == "changed" {
		t.Error("Rules() shares its slice with callers")
	}
}

// TestMethod keeps the FAQ paragraph in step with the effects it explains.
func TestMethod(t *testing.T) {
	for _, want := range []string{"starts at A", "once", "stop at D", "caps the grade at F", "at D", "Notes"} {
		if !strings.Contains(Method, want) {
			t.Errorf("Method lacks %q: %s", want, Method)
		}
	}
}

func TestLetters(t *testing.T) {
	// No E, and Compute only ever returns these.
	if got := strings.Join(letters[:], ""); got != "ABCDF" {
		t.Fatalf("letters %q, want ABCDF", got)
	}
	for _, tc := range gradeCases {
		if !slices.Contains(letters[:], Compute(tc.ports, tc.findings, now).Letter) {
			t.Errorf("%s: unexpected letter", tc.name)
		}
	}
}

// Helpers.

func reasonKeys(reasons []Reason) []string {
	var keys []string
	for _, r := range reasons {
		if r.Port == 0 {
			keys = append(keys, r.Rule)
		} else {
			keys = append(keys, fmt.Sprintf("%s:%d", r.Rule, r.Port))
		}
	}
	return keys
}

func reasonFor(g Grade, rule string) (Reason, bool) {
	i := slices.IndexFunc(g.Reasons, func(r Reason) bool { return r.Rule == rule })
	if i < 0 {
		return Reason{}, false
	}
	return g.Reasons[i], true
}

func dump(reasons []Reason) string {
	var b strings.Builder
	for _, r := range reasons {
		fmt.Fprintf(&b, "  %s port=%d (%s): %s\n", r.Rule, r.Port, r.Effect, r.Text)
	}
	return b.String()
}

// checkOrder: strongest effect first; within an effect, table order, then port.
func checkOrder(t *testing.T, reasons []Reason) {
	t.Helper()
	position := map[string]int{}
	for i, r := range rules {
		position[r.name] = i
	}
	rank := func(r Reason) []int {
		return []int{int(rules[position[r.Rule]].effect), position[r.Rule], int(r.Port)}
	}
	for i := 1; i < len(reasons); i++ {
		if slices.Compare(rank(reasons[i-1]), rank(reasons[i])) >= 0 {
			t.Errorf("reason %d (%s:%d) should come before reason %d (%s:%d)",
				i, reasons[i].Rule, reasons[i].Port, i-1, reasons[i-1].Rule, reasons[i-1].Port)
		}
	}
}

// checkText: a full, single-line sentence that names its port and agrees
// with its rule's effect.
func checkText(t *testing.T, r Reason) {
	t.Helper()
	switch {
	case r.Text == "" || strings.TrimSpace(r.Text) != r.Text:
		t.Errorf("%s: empty or padded text %q", r.Rule, r.Text)
	case !strings.HasSuffix(r.Text, "."):
		t.Errorf("%s: text should end with a full stop: %q", r.Rule, r.Text)
	case strings.Contains(r.Text, "%!"), strings.Contains(r.Text, "  "), strings.Contains(r.Text, ".."):
		t.Errorf("%s: badly formatted text %q", r.Rule, r.Text)
	case strings.ContainsAny(r.Text, "\n<>"):
		t.Errorf("%s: text must be one plain line: %q", r.Rule, r.Text)
	case r.Port != 0 && !strings.Contains(r.Text, "port "+strconv.Itoa(int(r.Port))) && !strings.Contains(r.Text, "Port "+strconv.Itoa(int(r.Port))):
		t.Errorf("%s: text does not name port %d: %q", r.Rule, r.Port, r.Text)
	}
	for _, info := range Rules() {
		if info.Name == r.Rule && info.Effect != r.Effect {
			t.Errorf("%s: reason effect %q, rule effect %q", r.Rule, r.Effect, info.Effect)
		}
	}
}

func TestHSTSEnabled(t *testing.T) {
	for v, want := range map[string]bool{
		"max-age=63072000":                    true,
		"max-age=63072000; includeSubDomains": true,
		"includeSubDomains; Max-Age=\"300\"":  true,
		" max-age = 1 ":                       true,
		"max-age=0":                           false,
		"max-age=0; includeSubDomains":        false,
		"max-age=abc":                         false,
		"max-age=-5":                          false,
		"includeSubDomains":                   false,
		"":                                    false,
	} {
		if got := hstsEnabled(v); got != want {
			t.Errorf("hstsEnabled(%q) = %v, want %v", v, got, want)
		}
	}
}
