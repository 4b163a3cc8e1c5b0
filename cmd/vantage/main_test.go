package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func noEnv(string) string { return "" }

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
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	// Above Linux's ephemeral range (32768-60999): no test listens there.
	closed = 61999
	return netip.MustParseAddrPort(l.Addr().String()).Port(), closed
}

func TestScanJSONDocument(t *testing.T) {
	open, closed := loopbackPorts(t)
	// 22 may well be open on the machine running the tests: only its
	// service name is checked.
	spec := fmt.Sprintf("%d,%d,22", open, closed)
	// Flags after the host work too.
	stdout, stderr, err := runCLI(t, "scan", "127.0.0.1", "--json", "--ports", spec)
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
	stdout, _, err := runCLI(t, "scan", "--ports", fmt.Sprintf("61000-61199,%d", open), "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"PORT", "STATE", "REASON", "RTT", "SERVICE", "RISK",
		fmt.Sprintf("%d/tcp", open), "open", "syn-ack",
		"Not shown: 200 closed ports (conn-refused)",
		"201 ports in", "1 open, 200 closed, 0 filtered",
		"Timing: timeout",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, stdout)
		}
	}
	all, _, err := runCLI(t, "scan", "--all", "--ports", "20-23", "127.0.0.1")
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
		{"host name", []string{"scan", "example.com"}, `"example.com" is not an IP address`},
		{"zone", []string{"scan", "fe80::1%eth0"}, "zone"},
		{"unspecified", []string{"scan", "0.0.0.0"}, "not a host address"},
		{"bad port", []string{"scan", "--ports", "22,http", "127.0.0.1"}, `"http"`},
		{"port out of range", []string{"scan", "--ports", "70000", "127.0.0.1"}, "70000"},
		{"too many ports", []string{"scan", "--ports", "1-2000", "--max-ports", "100", "127.0.0.1"}, "100"},
		{"unknown preset", []string{"scan", "--ports", "preset:huge", "127.0.0.1"}, "quick"},
		{"bad concurrency", []string{"scan", "--concurrency", "-3", "127.0.0.1"}, "concurrency"},
		{"timeouts reversed", []string{"scan", "--timeout", "10ms", "--min-timeout", "1s", "127.0.0.1"}, ""},
		{"unknown command", []string{"scant"}, `unknown command "scant"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := runCLI(t, tt.args...)
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
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
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
	err := run(ctx, []string{"vantage", "scan", "--ports", "1-100", "127.0.0.1"}, noEnv, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "interrupted") || exitCode(err) != 1 {
		t.Errorf("err = %v", err)
	}
	if stdout.Len() != 0 {
		t.Errorf("an interrupted scan printed a report:\n%s", stdout.String())
	}
}

// TestBinary builds the real binary and runs it as a user would.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "vantage")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	open, _ := loopbackPorts(t)
	out, err := exec.Command(bin, "scan", "--ports", fmt.Sprint(open), "--json", "127.0.0.1").Output()
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
