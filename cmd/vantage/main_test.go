package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vantagescan/vantage/internal/netlab/netlabtest"
	"github.com/vantagescan/vantage/internal/probe"
	"github.com/vantagescan/vantage/internal/probe/probetest"
	"github.com/vantagescan/vantage/internal/target/dnstest"
)

func noEnv(string) string { return "" }

func TestMain(m *testing.M) {
	code := m.Run()
	if builtBin != "" {
		os.RemoveAll(filepath.Dir(builtBin))
	}
	os.Exit(code)
}

// runCLI calls run as main would and returns stdout, stderr and the error.
func runCLI(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := run(ctx, append([]string{"vantage"}, args...), noEnv, &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

// loopbackPorts starts a listener (open) and names a port nothing listens on (closed).
func loopbackPorts(t *testing.T) (open, closed uint16) {
	t.Helper()
	// Above Linux's ephemeral range (32768-60999): no test listens there.
	return netlabtest.OpenPort(t), 61999
}

func TestScanJSONDocument(t *testing.T) {
	open, closed := loopbackPorts(t)
	// 22 may well be open on the machine running the tests: only its
	// service name is checked.
	spec := fmt.Sprintf("%d,%d,22", open, closed)
	// Flags after the host work too.
	stdout, stderr, err := runCLI(t, "scan", "127.0.0.1", "--json", "--ports", spec, "--allow-cidr", "127.0.0.0/8")
	if err != nil {
		t.Fatalf("run: %v\nstderr: %s", err, stderr)
	}
	var doc struct {
		Target     string    `json:"target"`
		IP         string    `json:"ip"`
		StartedAt  time.Time `json:"started_at"`
		DurationMS *int64    `json:"duration_ms"`
		Ports      []struct {
			Port     uint16   `json:"port"`
			State    string   `json:"state"`
			Reason   string   `json:"reason"`
			RTTms    *float64 `json:"rtt_ms"`
			Attempts int      `json:"attempts"`
			Service  string   `json:"service"`
		} `json:"ports"`
		Summary struct {
			Open, Closed, Filtered int
			Verdict                string
		} `json:"summary"`
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("stdout is not the JSON document: %v\n%s", err, stdout)
	}
	if doc.Target != "127.0.0.1" || doc.IP != "127.0.0.1" || doc.StartedAt.IsZero() || doc.DurationMS == nil {
		t.Errorf("header: %+v", doc)
	}
	if len(doc.Ports) != 3 {
		t.Fatalf("ports: %+v", doc.Ports)
	}
	for i, p := range doc.Ports {
		if i > 0 && doc.Ports[i-1].Port >= p.Port {
			t.Errorf("ports not sorted: %+v", doc.Ports)
		}
		if p.RTTms == nil || p.Attempts != 1 || p.Service == "" {
			t.Errorf("port %+v lacks a field", p)
		}
		want := "closed/conn-refused"
		if p.Port == open {
			want = "open/syn-ack"
		}
		if got := p.State + "/" + p.Reason; got != want && p.Port != 22 {
			t.Errorf("port %d: %s, want %s", p.Port, got, want)
		}
		if p.Port == 22 && p.Service != "ssh" {
			t.Errorf("port 22 service %q", p.Service)
		}
	}
	if doc.Summary.Open+doc.Summary.Closed != 3 || doc.Summary.Open < 1 || doc.Summary.Verdict == "" {
		t.Errorf("summary %+v", doc.Summary)
	}
}

func TestScanTable(t *testing.T) {
	open, _ := loopbackPorts(t)
	stdout, _, err := runCLI(t, "scan", "--allow-cidr", "127.0.0.0/8", "--ports", fmt.Sprintf("61000-61199,%d", open), "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"PORT", "STATE", "REASON", "RTT", "SERVICE", "RISK",
		fmt.Sprintf("%d/tcp", open), "open", "syn-ack",
		"Not shown: 200 closed ports (conn-refused)",
		"201 ports in", "1 open, 200 closed, 0 filtered",
		"Timing: timeout",
		"Checks of the open ports:", "Grade ",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, stdout)
		}
	}
	all, _, err := runCLI(t, "scan", "--allow-cidr", "127.0.0.1", "--all", "--ports", "20-23", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(all, "22/tcp") || !strings.Contains(all, "ssh") || strings.Contains(all, "Not shown") {
		t.Errorf("--all table:\n%s", all)
	}
}

func TestScanBadInput(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // in the error
	}{
		{"no host", []string{"scan"}, "exactly one HOST"},
		{"two hosts", []string{"scan", "127.0.0.1", "127.0.0.2"}, "exactly one HOST"},
		{"spaces", []string{"scan", "not an address"}, "not an address"},
		{"numeric trick", []string{"scan", "127.1"}, "127.1"},
		{"special-use name", []string{"scan", "localhost"}, "localhost"},
		{"user name in URL", []string{"scan", "http://127.0.0.1:80@evil.com/"}, "@"},
		{"zone", []string{"scan", "fe80::1%eth0"}, "zone"},
		{"loopback", []string{"scan", "127.0.0.1"}, "loopback"},
		{"private network", []string{"scan", "10.0.0.1"}, "private"},
		{"cloud metadata", []string{"scan", "169.254.169.254"}, "link-local"},
		{"unspecified", []string{"scan", "0.0.0.0"}, "unspecified"},
		{"denied", []string{"scan", "--allow-cidr", "127.0.0.0/8", "--deny-cidr", "127.0.0.2", "127.0.0.2"}, "excluded"},
		{"bad CIDR", []string{"scan", "--allow-cidr", "lab", "127.0.0.1"}, "CIDR"},
		{"both families", []string{"scan", "-4", "-6", "127.0.0.1"}, "exclude each other"},
		{"--both and -6", []string{"scan", "--both", "-6", "127.0.0.1"}, "exclude each other"},
		{"--both for an address", []string{"scan", "--both", "--allow-cidr", "127.0.0.0/8", "127.0.0.1"}, "only one family"},
		{"bad resolver", []string{"scan", "--resolver", "dns.google", "127.0.0.1"}, "dns.google"},
		{"bad port", []string{"scan", "--allow-cidr", "127.0.0.0/8", "--ports", "22,http", "127.0.0.1"}, `"http"`},
		{"port out of range", []string{"scan", "--allow-cidr", "127.0.0.0/8", "--ports", "70000", "127.0.0.1"}, "70000"},
		{"too many ports", []string{"scan", "--allow-cidr", "127.0.0.0/8", "--ports", "1-2000", "--max-ports", "100", "127.0.0.1"}, "100"},
		{"unknown preset", []string{"scan", "--allow-cidr", "127.0.0.0/8", "--ports", "preset:huge", "127.0.0.1"}, "quick"},
		{"bad concurrency", []string{"scan", "--allow-cidr", "127.0.0.0/8", "--concurrency", "-3", "127.0.0.1"}, "concurrency"},
		{"timeouts reversed", []string{"scan", "--allow-cidr", "127.0.0.0/8", "--ports", "61000", "--timeout", "10ms", "--min-timeout", "1s", "127.0.0.1"}, ""},
		{"unknown command", []string{"scant"}, `unknown command "scant"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, err := runCLI(t, tt.args...)
			if tt.name == "timeouts reversed" {
				// --min-timeout above --timeout is clamped to it, not an error.
				if err != nil {
					t.Errorf("err = %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			if exitCode(err) != 2 {
				t.Errorf("exit code %d for %v", exitCode(err), err)
			}
			// Flag errors are printed by the flag package, others returned.
			if msg := err.Error() + stderr; !strings.Contains(msg, tt.want) {
				t.Errorf("error %q does not say %q", msg, tt.want)
			}
		})
	}
	if _, _, err := runCLI(t, "scan", "--no-such-flag", "127.0.0.1"); !errors.Is(err, errSilentExit) || exitCode(err) != 2 {
		t.Errorf("unknown flag: %v", err)
	}
}

func TestScanInterrupted(t *testing.T) {
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := run(ctx, []string{"vantage", "scan", "--allow-cidr", "127.0.0.0/8", "--ports", "61000-61099", "127.0.0.1"}, noEnv, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "interrupted") || exitCode(err) != 1 {
		t.Errorf("err = %v", err)
	}
	if stdout.Len() != 0 {
		t.Errorf("an interrupted scan printed a report:\n%s", stdout.String())
	}
}

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// vantageBinary builds the real binary once per test run.
func vantageBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "vantage-bin-")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "vantage")
		out, err := exec.Command("go", "build", "-o", builtBin, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

// TestBinary builds the real binary and runs it as a user would.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := vantageBinary(t)
	open, _ := loopbackPorts(t)
	out, err := exec.Command(bin, "scan", "--allow-cidr", "127.0.0.0/8", "--ports", fmt.Sprint(open), "--json", "127.0.0.1").Output()
	if err != nil {
		t.Fatalf("vantage scan: %v", err)
	}
	if !strings.Contains(string(out), `"state":"open"`) {
		t.Errorf("output:\n%s", out)
	}
	cmd := exec.Command(bin, "scan", "not an address")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Errorf("bad host: %v", err)
	}
	if lines := strings.Count(strings.TrimSpace(stderr.String()), "\n"); lines != 0 || !strings.HasPrefix(stderr.String(), "vantage: ") {
		t.Errorf("stderr should be one line: %q", stderr.String())
	}
}

// TestNameResolvingToLoopbackIsRefused is the rebinding/SSRF case end to
// end: a public-looking name whose DNS answer is a loopback address is
// refused, without echoing the address, and no connection reaches a
// listener there — through run and through the real binary.
func TestNameResolvingToLoopbackIsRefused(t *testing.T) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := fmt.Sprint(netip.MustParseAddrPort(l.Addr().String()).Port())
	dns := dnstest.Start(t, map[string][]netip.Addr{
		"app.vantage-test.net":   {netip.MustParseAddr("127.0.0.1")},
		"mixed.vantage-test.net": {netip.MustParseAddr("8.8.8.8"), netip.MustParseAddr("127.0.0.1")}, // refused whole: never dialled
	})
	for _, name := range []string{"app.vantage-test.net", "mixed.vantage-test.net"} {
		_, _, err := runCLI(t, "scan", "--resolver", dns, "--ports", port, name)
		if err == nil || exitCode(err) != 2 {
			t.Fatalf("%s: err = %v", name, err)
		}
		if msg := err.Error(); strings.Contains(msg, "127.0.0.1") || !strings.Contains(msg, name) {
			t.Errorf("%s: message %q must name the host and not its address", name, msg)
		}
	}
	cmd := exec.Command(vantageBinary(t), "scan", "--resolver", dns, "--ports", port, "app.vantage-test.net")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || strings.Contains(stderr.String(), "127.0.0.1") {
		t.Errorf("binary: %v, stderr %q", err, stderr.String())
	}
	_ = l.(*net.TCPListener).SetDeadline(time.Now().Add(300 * time.Millisecond))
	if c, err := l.Accept(); err == nil {
		c.Close()
		t.Fatal("a connection reached the listener behind the refused name")
	}
}

// TestScanShowsEveryKindOfFinding runs the checks against one server of
// each kind on loopback (found by their behaviour, on random ports): each
// finding reaches the JSON and the table, and the grade follows.
func TestScanShowsEveryKindOfFinding(t *testing.T) {
	srv := probetest.Start(t)
	var spec []string
	for _, p := range srv.List() {
		spec = append(spec, fmt.Sprint(p))
	}
	out, stderr, err := runCLI(t, "scan", "--allow-cidr", "127.0.0.1", "--json", "--ports", strings.Join(spec, ","), "127.0.0.1")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	var doc struct {
		Findings []probe.Finding `json:"findings"`
		Grade    struct {
			Letter  string `json:"letter"`
			Reasons []struct {
				Rule string `json:"rule"`
			} `json:"reasons"`
		} `json:"grade"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	byPort := map[uint16]probe.Finding{}
	for _, f := range doc.Findings {
		if f.Err == "" {
			byPort[f.Port] = f
		}
	}
	if f := byPort[srv.TLS]; f.TLS == nil || !f.TLS.SelfSigned || f.TLS.Version == "" {
		t.Errorf("TLS finding: %+v", f)
	}
	if f := byPort[srv.HTTP]; f.HTTP == nil || f.HTTP.RedirectsToHTTPS || f.HTTP.Server != "probetest-httpd" {
		t.Errorf("HTTP finding: %+v", f)
	}
	if f := byPort[srv.SSH]; f.SSH == nil || !f.SSH.PasswordAuth || f.SSH.Banner != "SSH-2.0-probetest" {
		t.Errorf("SSH finding: %+v", f)
	}
	var ftp bool
	for _, f := range doc.Findings {
		ftp = ftp || (f.Port == srv.FTP && f.Banner != nil && strings.Contains(f.Banner.Line, "probetest FTP ready"))
	}
	if !ftp {
		t.Errorf("no greeting finding for the FTP server: %+v", doc.Findings)
	}
	rules := map[string]bool{}
	for _, r := range doc.Grade.Reasons {
		rules[r.Rule] = true
	}
	for _, want := range []string{"ssh-password-login", "tls-certificate-untrusted", "http-without-https-redirect"} {
		if !rules[want] {
			t.Errorf("grade %s lacks the reason %s: %+v", doc.Grade.Letter, want, doc.Grade.Reasons)
		}
	}

	table, _, err := runCLI(t, "scan", "--allow-cidr", "127.0.0.1", "--ports", strings.Join(spec, ","), "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Checks of the open ports:", "TLS", "Self-signed", "SSH", "brute force", "probetest FTP ready", "without redirecting to HTTPS", "Grade "} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q", want)
		}
	}
}
