package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vantagescan/vantage/internal/netlab"
	"github.com/vantagescan/vantage/internal/netlab/netlabtest"
	"github.com/vantagescan/vantage/internal/target"
	"github.com/vantagescan/vantage/internal/target/dnstest"
)

// labAllow starts a scan command line whose --allow-cidr flags open
// exactly the lab's prefixes.
func labAllow(lab *netlab.Lab) []string {
	args := []string{"scan"}
	for _, p := range lab.Prefixes() {
		args = append(args, "--allow-cidr", p.String())
	}
	return args
}

// TestScanLab runs `vantage scan` as a user would against a lab host whose
// firewall drops, rejects and resets, and reads both output forms.
func TestScanLab(t *testing.T) {
	lab := netlabtest.New(t, netlab.Config{
		Name: "cli",
		Link: netlab.Link{Delay: 15 * time.Millisecond, Jitter: 3 * time.Millisecond, Seed: 3},
		Ports: map[uint16]netlab.Rule{
			22: netlab.Open, 80: netlab.Open, 443: netlab.Open,
			3306: netlab.RejectHostUnreach, 5432: netlab.Drop, 6379: netlab.RejectReset, 27017: netlab.RejectNetUnreach,
		},
		IPv6: true,
	})
	allow := labAllow(lab)
	table, stderr, err := runCLI(t, slices.Concat(allow, []string{"--ports", "1-1100,3306,5432,6379,27017", lab.Addr4().String()})...)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	t.Logf("vantage scan --ports 1-1100,3306,5432,6379,27017 %s\n%s", lab.Addr4(), table)
	for _, want := range []string{
		"22/tcp     open      syn-ack", "ssh", "medium",
		"3306/tcp   filtered  host-unreach", "mysql",
		"5432/tcp   filtered  no-response", "postgresql",
		"27017/tcp  filtered  net-unreach", "mongodb", "critical",
		"Not shown: 1098 closed ports (conn-refused)",
		"1104 ports in", "3 open, 1098 closed, 3 filtered",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q", want)
		}
	}

	out, stderr, err := runCLI(t, slices.Concat(allow, []string{"--json", "--ports", "22,5432", "[" + lab.Addr6().String() + "]"})...)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	var doc struct {
		IP    string
		Ports []struct {
			Port          uint16
			State, Reason string
			Attempts      int
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.IP != lab.Addr6().String() || len(doc.Ports) != 2 ||
		doc.Ports[0].State != "open" || doc.Ports[1].Reason != "no-response" || doc.Ports[1].Attempts != 2 {
		t.Errorf("IPv6 JSON: %+v", doc)
	}
}

// TestScanLabByName resolves a name through a DNS server on loopback to the
// lab's addresses and scans the family asked for.
func TestScanLabByName(t *testing.T) {
	lab := netlabtest.New(t, netlab.Config{Name: "cli-name", Ports: map[uint16]netlab.Rule{443: netlab.Open}, IPv6: true,
		Link: netlab.Link{Delay: time.Millisecond}})
	dns := dnstest.Start(t, map[string][]netip.Addr{"lab.vantage-test.net": {lab.Addr4(), lab.Addr6()}})
	for _, tc := range []struct {
		flag string
		want netip.Addr
	}{{"-4", lab.Addr4()}, {"-6", lab.Addr6()}, {"", lab.Addr4()}} {
		args := slices.Concat(labAllow(lab), []string{"--resolver", dns, "--json", "https://LAB.vantage-test.net.:443/login"})
		if tc.flag != "" {
			args = append(args, tc.flag)
		}
		out, stderr, err := runCLI(t, args...)
		if err != nil {
			t.Fatalf("%s: %v\n%s", tc.flag, err, stderr)
		}
		var doc struct {
			Target, IP string
			Ports      []struct {
				Port  uint16
				State string
			}
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatal(err)
		}
		if doc.Target != "lab.vantage-test.net" || doc.IP != tc.want.String() || len(doc.Ports) != 1 || doc.Ports[0].State != "open" {
			t.Errorf("%q: %+v", tc.flag, doc)
		}
		if !strings.Contains(stderr, "port 443, taken from the URL") {
			t.Errorf("stderr does not say where the port came from: %q", stderr)
		}
	}
}

// serveProcess runs the real binary's web service and returns its base
// URL once it prints it.
func serveProcess(t *testing.T, db string, args ...string) (*exec.Cmd, string) {
	t.Helper()
	return serveCommand(t, exec.Command(vantageBinary(t), append([]string{"serve", "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--db", db}, args...)...))
}

// serveCommand starts cmd (a vantage serve) and returns its base URL once
// it prints it.
func serveCommand(t *testing.T, cmd *exec.Cmd) (*exec.Cmd, string) {
	t.Helper()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := bufio.NewScanner(out)
	for lines.Scan() {
		if _, u, ok := strings.Cut(lines.Text(), "serving on "); ok {
			go func() { _, _ = io.Copy(io.Discard, out) }()
			return cmd, u
		}
	}
	t.Fatalf("vantage serve never said where it serves: %v", lines.Err())
	return nil, ""
}

// TestServeRestartMidScan kills the service while a scan runs, starts it
// again on the same database, and reads the share link: the rows found
// before the kill are there and the scan says it was interrupted. Then a
// graceful stop (SIGTERM) mid-scan ends the scan as cancelled.
func TestServeRestartMidScan(t *testing.T) {
	rules := map[uint16]netlab.Rule{22: netlab.Open}
	for p := uint16(1); p <= 200; p++ {
		if p != 22 {
			rules[p] = netlab.Drop
		}
	}
	lab := netlabtest.New(t, netlab.Config{Name: "restart", Ports: rules, Link: netlab.Link{Delay: time.Millisecond}})
	db := filepath.Join(t.TempDir(), "v.db")
	allow := labAllow(lab)[1:] // without the leading "scan"
	noRedirect := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	startScan := func(base string) (string, *http.Response) {
		resp, err := noRedirect.PostForm(base+"/scans", url.Values{"host": {lab.Addr4().String()}, "ports": {"quick"}, "custom": {"1-200"}, "consent": {"on"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("submit: %d", resp.StatusCode)
		}
		share := base + resp.Header.Get("Location")
		page, err := noRedirect.Get(share)
		if err != nil {
			t.Fatal(err)
		}
		// Read until the open port's row has streamed in.
		r := bufio.NewReader(page.Body)
		var seen strings.Builder
		for !strings.Contains(seen.String(), `id="port-22"`) {
			b := make([]byte, 1024)
			n, err := r.Read(b)
			seen.Write(b[:n])
			if err != nil {
				t.Fatalf("stream ended before port 22: %v", err)
			}
		}
		return resp.Header.Get("Location"), page
	}

	cmd, base := serveProcess(t, db, allow...)
	loc, page := startScan(base)
	time.Sleep(300 * time.Millisecond) // the row's batch reaches the database
	_ = cmd.Process.Kill()             // no shutdown: a crash
	_ = cmd.Wait()
	page.Body.Close()

	cmd, base = serveProcess(t, db, append(allow, "--grace", "100ms")...)
	resp, err := noRedirect.Get(base + loc)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`id="port-22"`, "Interrupted", "restarted while this scan was running"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("after the restart the share link lacks %q", want)
		}
	}

	_, page = startScan(base)
	_ = cmd.Process.Signal(syscall.SIGTERM)
	rest, _ := io.ReadAll(page.Body) // the stream ends when the scan is cancelled
	page.Body.Close()
	if err := cmd.Wait(); err != nil {
		t.Errorf("graceful stop: %v", err)
	}
	if !strings.Contains(string(rest), "Cancelled") {
		t.Errorf("the page streamed during SIGTERM does not end cancelled:\n%s", rest)
	}
}

// TestServeRestartMidPair crashes the real service while an IPv4/IPv6
// comparison runs: after the restart both halves read interrupted, their
// rows so far kept, and each page shows the partial comparison instead of
// waiting for ever.
func TestServeRestartMidPair(t *testing.T) {
	rules := map[uint16]netlab.Rule{22: netlab.Open}
	for p := uint16(1); p <= 1000; p++ { // about 1.5 s of scanning at the default rate: the crash lands mid-scan
		if p != 22 {
			rules[p] = netlab.Drop
		}
	}
	lab := netlabtest.New(t, netlab.Config{Name: "restart2", IPv6: true, Ports: rules, Link: netlab.Link{Delay: time.Millisecond}})
	dns := dnstest.Start(t, map[string][]netip.Addr{"lab.vantage-test.net": {lab.Addr4(), lab.Addr6()}})
	db := filepath.Join(t.TempDir(), "v.db")
	args := append(labAllow(lab)[1:], "--resolver", dns, "--max-running", "2")
	noRedirect := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	cmd, base := serveProcess(t, db, args...)
	resp, err := noRedirect.PostForm(base+"/scans", url.Values{"host": {"lab.vantage-test.net"}, "ipv6": {"on"}, "ports": {"quick"}, "custom": {"1-1000"}, "consent": {"on"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("submit: %d", resp.StatusCode)
	}
	// Wait until both halves have found port 22, then crash.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		r, err := noRedirect.Get(base + "/api/v1/scans" + strings.TrimPrefix(loc, "/scans"))
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			DualStack struct {
				IPv4Counts struct{ Open int } `json:"ipv4_counts"`
				IPv6Counts struct{ Open int } `json:"ipv6_counts"`
			} `json:"dual_stack"`
		}
		_ = json.NewDecoder(r.Body).Decode(&doc)
		r.Body.Close()
		if doc.DualStack.IPv4Counts.Open == 1 && doc.DualStack.IPv6Counts.Open == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the pair never found port 22 on both families")
		}
	}
	time.Sleep(300 * time.Millisecond) // the rows' batches reach the database
	_ = cmd.Process.Kill()             // no shutdown: a crash
	_ = cmd.Wait()

	_, base = serveProcess(t, db, args...)
	r, err := noRedirect.Get(base + loc)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(r.Body)
	r.Body.Close()
	for _, want := range []string{"Interrupted", `id="port-22"`, `<h2 id="dual-stack">IPv4 and IPv6 side by side</h2>`,
		"This comparison is partial: the IPv4 scan ended interrupted and the IPv6 scan ended interrupted",
		"both scans decided answer"} { // never "every port" for a partial comparison
		if !strings.Contains(string(body), want) {
			t.Errorf("after the restart the IPv4 page lacks %q", want)
			if i := strings.Index(string(body), `id="dual-stack"`); i >= 0 {
				t.Logf("comparison: %.1500s", string(body)[i:])
			}
		}
	}
}

// TestScanLabBoth: `vantage scan --both` scans a dual-stack lab host whose
// SSH is dropped over IPv4 only, prints both tables and the port that
// answers differently, and the same as one JSON document.
func TestScanLabBoth(t *testing.T) {
	lab := netlabtest.New(t, netlab.Config{Name: "cli-both", IPv6: true, Link: netlab.Link{Delay: time.Millisecond},
		Ports: map[uint16]netlab.Rule{22: netlab.Open, 443: netlab.Open}, IPv4Drop: []uint16{22}})
	dns := dnstest.Start(t, map[string][]netip.Addr{
		"lab.vantage-test.net":  {lab.Addr4(), lab.Addr6()},
		"four.vantage-test.net": {lab.Addr4()},
	})
	args := slices.Concat(labAllow(lab), []string{"--resolver", dns, "--both", "--no-checks", "--ports", "22,80,443"})
	table, stderr, err := runCLI(t, append(args, "lab.vantage-test.net")...)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	t.Logf("vantage scan --both\n%s", table)
	for _, want := range []string{
		"Vantage scan of lab.vantage-test.net (" + lab.Addr4().String() + ")",
		"Vantage scan of lab.vantage-test.net (" + lab.Addr6().String() + ")",
		"IPv4 (" + lab.Addr4().String() + ") and IPv6 (" + lab.Addr6().String() + ") side by side: 1 port answers differently.",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q", want)
		}
	}
	if !regexp.MustCompile(`(?m)^22/tcp +filtered \(no-response\) +open \(syn-ack\) +ssh$`).MatchString(table) {
		t.Error("the table does not show 22/tcp filtered over IPv4 and open over IPv6")
	}

	out, stderr, err := runCLI(t, append(args, "--json", "lab.vantage-test.net")...)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	var doc struct {
		Target     string
		IPv4, IPv6 struct {
			IP    string
			Ports []struct{ Port uint16 }
		}
		Differences []struct {
			Port       uint16
			IPv4, IPv6 string
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Target != "lab.vantage-test.net" || doc.IPv4.IP != lab.Addr4().String() || doc.IPv6.IP != lab.Addr6().String() ||
		len(doc.IPv4.Ports) != 3 || len(doc.IPv6.Ports) != 3 || len(doc.Differences) != 1 ||
		doc.Differences[0].Port != 22 || doc.Differences[0].IPv4 != "filtered" || doc.Differences[0].IPv6 != "open" {
		t.Errorf("--both --json: %s", out)
	}

	// On a machine without IPv6 routes, --both says so before scanning.
	routeCheck = func(a netip.Addr) error {
		if a.Is6() {
			return errors.New("network is unreachable")
		}
		return nil
	}
	out, _, err = runCLI(t, append(args, "lab.vantage-test.net")...)
	routeCheck = target.Route
	if err == nil || out != "" || exitCode(err) != 1 ||
		!strings.Contains(err.Error(), "this machine has no route to IPv6 addresses, so it cannot compare the two families of lab.vantage-test.net") {
		t.Errorf("--both without IPv6 routes: %v (exit %d), stdout %q", err, exitCode(err), out)
	}

	_, _, err = runCLI(t, append(args, "four.vantage-test.net")...)
	if err == nil || !strings.Contains(err.Error(), "has no IPv6 address to compare") || exitCode(err) != 1 {
		t.Errorf("a name without IPv6: %v (exit %d)", err, exitCode(err))
	}
}

// TestScanWithoutARouteFails runs `vantage scan` inside a lab's namespace,
// whose only routes lead to the lab's own link: an address it has no route
// to (IPv6 here has none at all, as on an IPv4-only server) must fail the
// scan with a clear message, never read as "filtered" ports. connect()
// fails at once, so no packet leaves.
func TestScanWithoutARouteFails(t *testing.T) {
	lab := netlabtest.New(t, netlab.Config{Name: "noroute"})
	for _, addr := range []string{"2001:db8::1", "198.51.100.1"} {
		cmd := exec.Command("ip", "netns", "exec", lab.Namespace(), vantageBinary(t), "scan",
			"--allow-cidr", "2001:db8::/32", "--allow-cidr", "198.51.100.0/24", "--ports", "22,80,443", "--json", addr)
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 {
			t.Fatalf("%s: err %v, want exit status 1\nstdout: %s\nstderr: %s", addr, err, stdout.String(), stderr.String())
		}
		if stdout.Len() != 0 || !strings.Contains(stderr.String(), "this machine has no route to the target "+addr) {
			t.Errorf("%s: stdout %q, stderr %q", addr, stdout.String(), stderr.String())
		}
	}
}

// TestServeWithoutARouteSaysSo runs the service inside a lab's namespace,
// which has no IPv6 route at all (an IPv4-only server): asking it for an
// IPv6 address is refused at once with a clear message, not queued as a
// scan that cannot run. The test reaches the service over the lab link.
func TestServeWithoutARouteSaysSo(t *testing.T) {
	lab := netlabtest.New(t, netlab.Config{Name: "noroute6"})
	_, base := serveCommand(t, exec.Command("ip", "netns", "exec", lab.Namespace(), vantageBinary(t), "serve",
		"--addr", net.JoinHostPort(lab.Addr4().String(), "0"), "--metrics-addr", "", "--db", filepath.Join(t.TempDir(), "v.db"),
		"--allow-cidr", "2001:db8::/32"))
	resp, err := http.PostForm(base+"/scans", url.Values{"host": {"2001:db8::1"}, "ports": {"quick"}, "consent": {"on"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(string(body), "This Vantage server has no route to IPv6 addresses (its network has no IPv6 connectivity), so it cannot scan 2001:db8::1.") {
		t.Errorf("IPv6 target on an IPv4-only server: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest("POST", base+"/api/v1/scans", strings.NewReader(`{"target":"2001:db8::1","ports":"22","consent":true}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(body), `"code":"no_route"`) {
		t.Errorf("API: %d %s", resp.StatusCode, body)
	}
}
