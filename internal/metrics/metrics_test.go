package metrics

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestExposition(t *testing.T) {
	m := New(func() float64 { return 2 }, func() float64 { return 5 })
	m.ScanEnded("done", 1500*time.Millisecond)
	m.PortDecided("open")
	m.Refused(RefusedRateLimited)
	m.Request("/scans/{id}", 200, 30*time.Millisecond)
	m.Request("", 404, time.Millisecond)
	out := scrape(t, m)
	for _, want := range []string{
		`vantage_scans_total{outcome="done"} 1`,
		`vantage_scans_total{outcome="failed"} 0`,
		`vantage_scan_duration_seconds_count 1`,
		`vantage_ports_probed_total{state="open"} 1`,
		`vantage_scan_refusals_total{reason="rate_limited"} 1`,
		`vantage_scan_refusals_total{reason="queue_full"} 0`,
		`vantage_http_requests_total{code="200",route="/scans/{id}"} 1`,
		`vantage_http_requests_total{code="404",route="unmatched"} 1`,
		`vantage_scans_running 2`,
		`vantage_scan_queue_depth 5`,
		`go_goroutines`, `process_resident_memory_bytes`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("exposition lacks %q", want)
		}
	}
	// No label may carry a target, an address or a scan ID.
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "vantage_") {
			for _, bad := range []string{"target=", "ip=", "host=", "id=", "client="} {
				if strings.Contains(line, "{"+bad) || strings.Contains(line, ","+bad) {
					t.Errorf("high-cardinality label in %q", line)
				}
			}
		}
	}
}

// TestPromtool runs `promtool check metrics` on the exposition when
// promtool is installed (CI installs it and sets VANTAGE_PROMTOOL=1).
func TestPromtool(t *testing.T) {
	path, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("VANTAGE_PROMTOOL") == "1" {
			t.Fatalf("VANTAGE_PROMTOOL=1 but: %v", err)
		}
		t.Skip("no promtool")
	}
	m := New(func() float64 { return 0 }, func() float64 { return 0 })
	m.ScanEnded("done", time.Second)
	cmd := exec.Command(path, "check", "metrics")
	cmd.Stdin = strings.NewReader(scrape(t, m))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil || strings.TrimSpace(out.String()) != "" {
		t.Errorf("promtool check metrics: %v\n%s", err, out.String())
	}
}
