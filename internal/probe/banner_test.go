package probe

import (
	"bufio"
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

// greeter sends greeting as soon as a client connects.
func greeter(greeting string) func(net.Conn) {
	return func(c net.Conn) {
		_, _ = io.WriteString(c, greeting)
		_, _ = io.Copy(io.Discard, c)
	}
}

// mysqlHandshake is a protocol-10 greeting packet; the thread id holds a
// newline byte to show the parser does not stop at it.
func mysqlHandshake(version string) string {
	payload := "\x0a" + version + "\x00" + "\x0a\x00\x00\x00" + "abcdefgh" + "\x00" + "\xff\xf7" + "\x21" + "\x02\x00"
	n := len(payload)
	return string([]byte{byte(n), byte(n >> 8), byte(n >> 16), 0}) + payload
}

func TestBanners(t *testing.T) {
	tests := []struct {
		name   string
		handle func(net.Conn)
		like   uint16 // the well-known port the test server stands for; 0: none
		want   BannerInfo
	}{
		{"ftp", greeter("220 test FTP ready\r\n"), 0, BannerInfo{Protocol: "ftp", Line: "220 test FTP ready"}},
		{"smtp", greeter("220 mail ESMTP\r\n"), 0, BannerInfo{Protocol: "smtp", Line: "220 mail ESMTP"}},
		{"smtp by port", greeter("220 mx.example ready\r\n"), 25, BannerInfo{Protocol: "smtp", Line: "220 mx.example ready"}},
		{"ftp by port", greeter("220 ready\r\n"), 21, BannerInfo{Protocol: "ftp", Line: "220 ready"}},
		{"pop3", greeter("+OK POP3 server ready\r\n"), 0, BannerInfo{Protocol: "pop3", Line: "+OK POP3 server ready"}},
		{"imap", greeter("* OK IMAP4rev1 ready\r\n"), 0, BannerInfo{Protocol: "imap", Line: "* OK IMAP4rev1 ready"}},
		{"redis", func(c net.Conn) {
			line, err := bufio.NewReader(c).ReadString('\n')
			if err == nil && line == "PING\r\n" {
				_, _ = io.WriteString(c, "+PONG\r\n")
			}
		}, 6379, BannerInfo{Protocol: "redis", Line: "+PONG"}},
		{"redis protected", func(c net.Conn) {
			_, _ = bufio.NewReader(c).ReadString('\n')
			_, _ = io.WriteString(c, "-DENIED Redis is running in protected mode\r\n")
		}, 6379, BannerInfo{Protocol: "redis", Line: "-DENIED Redis is running in protected mode"}},
		{"mysql", greeter(mysqlHandshake("8.0.36-vantage")), 0, BannerInfo{Protocol: "mysql", Line: "8.0.36-vantage"}},
		{"mysql refusal", greeter("\x2c\x00\x00\x00\xff\x6a\x04Host '10.0.0.9' is not allowed to connect"), 3306,
			BannerInfo{Protocol: "mysql", Line: "Host '10.0.0.9' is not allowed to connect"}},
		{"control characters and no newline", greeter("\x1b[31mhello\x00 there\x07"), 0, BannerInfo{Line: "[31mhello there"}},
		{"long line is capped", greeter(strings.Repeat("x", 1000)), 0, BannerInfo{Line: strings.Repeat("x", maxLine)}},
		{"telnet", greeter("\xff\xfd\x18\xff\xfb\x01\xff\xfa\x18\x01\xff\xf0login: "), 23, BannerInfo{Protocol: "telnet", Line: "login:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			port := serve(t, tt.handle)
			d := &testDialer{}
			cfg := Config{Dial: d.Dial, Host: testHost, PerProbe: time.Second, Checks: map[uint16][]string{port: {CheckBanner}}}
			if tt.like != 0 {
				cfg.like = map[uint16]uint16{port: tt.like}
			}
			findings := run(t, cfg, port)
			f := only(t, findings, port, CheckBanner)
			if f.Err != "" || f.Banner == nil || *f.Banner != tt.want {
				t.Errorf("finding %+v banner %+v, want %+v", f, f.Banner, tt.want)
			}
			if len(findings) != 1 {
				t.Errorf("findings %+v, want the banner only", findings)
			}
		})
	}
}

func TestUnknownPorts(t *testing.T) {
	now := time.Now()
	ca := newCA(t, now)
	tlsPort, _ := tlsServer(t, &tls.Config{Certificates: []tls.Certificate{
		ca.issue(t, leafTemplate(testHost, now.Add(-time.Hour), now.Add(24*time.Hour), testHost), false),
	}})
	web := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "odd-port-httpd")
		w.WriteHeader(http.StatusNoContent)
	}))
	web.Config.ErrorLog = log.New(io.Discard, "", 0) // the TLS ClientHello comes first, by design
	web.Start()
	t.Cleanup(web.Close)
	httpPort := httpPort(t, web)
	sshPort, attempts := sshServer(t, true, false)
	silent := serve(t, tarpit)

	for _, port := range []uint16{tlsPort, httpPort, sshPort, silent} {
		if _, known := knownPlan(port); known {
			t.Skipf("the kernel picked well-known port %d for a test server", port)
		}
	}
	d := &testDialer{}
	cfg := Config{Dial: d.Dial, Host: testHost, Roots: ca.pool, PerProbe: 500 * time.Millisecond}
	findings := run(t, cfg, tlsPort, httpPort, sshPort, silent)

	if f := only(t, findings, tlsPort, CheckTLS); f.Err != "" || f.TLS == nil || !f.TLS.ValidForName {
		t.Errorf("TLS port: %+v %+v", f, f.TLS)
	}
	if f := only(t, findings, httpPort, CheckHTTP); f.Err != "" || f.HTTP == nil || f.HTTP.Server != "odd-port-httpd" ||
		f.HTTP.Status != http.StatusNoContent {
		t.Errorf("HTTP port: %+v %+v", f, f.HTTP)
	}
	if f := only(t, findings, sshPort, CheckBanner); f.Banner == nil || *f.Banner != (BannerInfo{Protocol: "ssh", Line: testSSHVersion}) {
		t.Errorf("SSH port banner: %+v %+v", f, f.Banner)
	}
	if f := only(t, findings, sshPort, CheckSSH); f.Err != "" || f.SSH == nil || !f.SSH.PasswordAuth {
		t.Errorf("SSH port: %+v %+v", f, f.SSH)
	}
	assertNoCredentials(t, attempts)
	if f := only(t, findings, silent, CheckBanner); f.Err != "the port sent no greeting and answered neither TLS nor HTTP" {
		t.Errorf("silent port: %+v", f)
	}
	if len(findings) != 5 {
		t.Errorf("%d findings, want 5: %+v", len(findings), findings)
	}
	// The banner finding of the SSH port comes before its SSH finding.
	i := slices.IndexFunc(findings, func(f Finding) bool { return f.Port == sshPort && f.Check == CheckBanner })
	j := slices.IndexFunc(findings, func(f Finding) bool { return f.Port == sshPort && f.Check == CheckSSH })
	if i > j {
		t.Errorf("SSH finding (%d) before the banner that led to it (%d)", j, i)
	}
}

func TestParseBanner(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		port uint16
		want BannerInfo
	}{
		{"ssh", "SSH-2.0-OpenSSH_9.6\r\n", 0, BannerInfo{"ssh", "SSH-2.0-OpenSSH_9.6"}},
		{"vnc", "RFB 003.008\n", 0, BannerInfo{"vnc", "RFB 003.008"}},
		{"nntp", "200 news ready\r\n", 119, BannerInfo{"nntp", "200 news ready"}},
		{"220 unknown", "220 ready\r\n", 0, BannerInfo{"", "220 ready"}},
		{"postfix", "220 mx ESMTP Postfix\r\n", 2525, BannerInfo{"smtp", "220 mx ESMTP Postfix"}},
		{"imap preauth", "* PREAUTH ready\r\n", 0, BannerInfo{"imap", "* PREAUTH ready"}},
		{"mysql short", "\x4a\x00\x00\x00\x0a8.0", 0, BannerInfo{"", "J"}},
		{"mysql non-printable version", "\x10\x00\x00\x00\x0a8.0\x01\x00xxxxxxxx", 0, BannerInfo{"", ""}},
		{"mysql error packet cut short", "\x30\x00\x00\x00\xff\x6a\x04Host", 0, BannerInfo{"", "0jHost"}},
		{"empty", "", 0, BannerInfo{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseBanner([]byte(tt.raw), tt.port); got != tt.want {
				t.Errorf("parseBanner(%q) = %+v, want %+v", tt.raw, got, tt.want)
			}
		})
	}
}

func FuzzParseBanner(f *testing.F) {
	f.Add([]byte(mysqlHandshake("5.7.44")), uint16(3306))
	f.Add([]byte("\xff\xfa\x18"), uint16(23))
	f.Add([]byte("\x05\x00\x00\x00\xff\x01"), uint16(0))
	f.Fuzz(func(t *testing.T, raw []byte, port uint16) {
		info := parseBanner(raw, port)
		if len(info.Line) > maxLine || printable(info.Line, maxLine) != info.Line {
			t.Errorf("line %q is not printable and capped", info.Line)
		}
	})
}

func TestPrintableText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"TÜRKTRUST Elektronik Sertifika", "TÜRKTRUST Elektronik Sertifika"},
		{"evil\u202egnp.exe", "evilgnp.exe"},
		{"tab\there\n", "tabhere"},
		{strings.Repeat("é", 200), strings.Repeat("é", maxLine/2)},
	}
	for _, tt := range tests {
		if got := printableText(tt.in, maxLine); got != tt.want {
			t.Errorf("printableText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
