package netlab

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// requireLab skips when this machine cannot build a lab, or fails when
// VANTAGE_NETLAB=1 (CI). netlabtest.Require is the same for other packages.
func requireLab(t testing.TB) {
	t.Helper()
	if err := Check(); err != nil {
		if os.Getenv("VANTAGE_NETLAB") == "1" {
			t.Fatalf("VANTAGE_NETLAB=1 but: %v", err)
		}
		t.Skipf("no network lab (set VANTAGE_NETLAB=1 to make this a failure): %v", err)
	}
}

func newLab(t testing.TB, cfg Config) *Lab {
	t.Helper()
	requireLab(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Error(err)
		}
	})
	return l
}

// observe classifies a connect() outcome the way a connect scanner does.
func observe(err error) (state, reason string) {
	var ne net.Error
	switch {
	case err == nil:
		return "open", "syn-ack"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "closed", "conn-refused"
	case errors.Is(err, syscall.EHOSTUNREACH):
		return "filtered", "host-unreach"
	case errors.Is(err, syscall.ENETUNREACH):
		return "filtered", "net-unreach"
	case errors.Is(err, syscall.EACCES):
		return "filtered", "admin-prohibited"
	case errors.As(err, &ne) && ne.Timeout():
		return "filtered", "no-response"
	}
	return "error", err.Error()
}

func dial(addr netip.Addr, port uint16, timeout time.Duration) error {
	c, err := net.DialTimeout("tcp", netip.AddrPortFrom(addr, port).String(), timeout)
	if err == nil {
		c.Close()
	}
	return err
}

var allRules = map[uint16]Rule{
	1001: Open,
	1002: Closed,
	1003: Drop,
	1004: RejectHostUnreach,
	1005: RejectAdminProhibited,
	1006: RejectNetUnreach,
	1007: RejectReset,
}

func labAddrs(l *Lab) []netip.Addr {
	as := []netip.Addr{l.Addr4()}
	if l.Addr6().IsValid() {
		as = append(as, l.Addr6())
	}
	return as
}

// checkGroundTruth dials every port of ports on every lab address at once
// and compares connect()'s outcome with Expect.
func checkGroundTruth(t *testing.T, l *Lab, ports []uint16) {
	t.Helper()
	type result struct {
		addr          netip.Addr
		port          uint16
		state, reason string
		took          time.Duration
	}
	var (
		mu      sync.Mutex
		results []result
		wg      sync.WaitGroup
	)
	for _, a := range labAddrs(l) {
		for _, p := range ports {
			wg.Go(func() {
				start := time.Now()
				s, r := observe(dial(a, p, 500*time.Millisecond))
				mu.Lock()
				results = append(results, result{a, p, s, r, time.Since(start)})
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	for _, r := range results {
		ws, wr := l.Expect(r.addr, r.port)
		if r.state != ws || r.reason != wr {
			t.Errorf("%v port %d (%v): connect says %s/%s, Expect %s/%s", r.addr, r.port, l.Rule(r.port), r.state, r.reason, ws, wr)
		} else {
			t.Logf("%-28v %5d %-24v %s/%s in %v", r.addr, r.port, l.Rule(r.port), r.state, r.reason, r.took.Round(time.Millisecond))
		}
	}
}

func TestExpectMatchesConnect(t *testing.T) {
	t.Parallel()
	l := newLab(t, Config{Name: "truth", IPv6: true, Ports: allRules, Link: Link{Delay: 3 * time.Millisecond}})
	checkGroundTruth(t, l, slices.Sorted(func(yield func(uint16) bool) {
		for p := range allRules {
			if !yield(p) {
				return
			}
		}
	}))
}

// A plain veth (no delay) gives prompt answers for everything but ICMP.
func TestVethGroundTruth(t *testing.T) {
	t.Parallel()
	l := newLab(t, Config{Name: "veth", IPv6: true, Ports: allRules})
	if l.fwd != nil {
		t.Fatal("an unshaped link should be a veth pair")
	}
	checkGroundTruth(t, l, []uint16{1001, 1002, 1003, 1007})
}

func TestExpectOtherAddress(t *testing.T) {
	t.Parallel()
	l := newLab(t, Config{Name: "other", Ports: allRules})
	if s, r := l.Expect(netip.MustParseAddr("127.0.0.1"), 1001); s != "" || r != "" {
		t.Errorf("Expect(127.0.0.1) = %q %q, want empty", s, r)
	}
	if l.Addr6().IsValid() {
		t.Errorf("Addr6 = %v without IPv6", l.Addr6())
	}
	if s, _ := l.Expect(l.alloc.lab6, 1001); s != "" {
		t.Errorf("Expect(v6) without IPv6 = %q", s)
	}
}

func TestDelay(t *testing.T) {
	t.Parallel()
	l := newLab(t, Config{Name: "delay", Link: Link{Delay: 15 * time.Millisecond}})
	var rtts []time.Duration
	for range 7 {
		start := time.Now()
		err := dial(l.Addr4(), 1002, 500*time.Millisecond)
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("closed port: %v", err)
		}
		rtts = append(rtts, time.Since(start))
	}
	slices.Sort(rtts)
	med := rtts[len(rtts)/2]
	t.Logf("connect RTTs with 15 ms one-way delay: %v (median %v)", rtts, med)
	if med < 25*time.Millisecond || med > 60*time.Millisecond {
		t.Errorf("median connect RTT %v, want about 30 ms", med)
	}
}

func TestJitter(t *testing.T) {
	t.Parallel()
	const d, j = 10 * time.Millisecond, 5 * time.Millisecond
	l := newLab(t, Config{Name: "jitter", Link: Link{Delay: d, Jitter: j, Seed: 7}})
	var rtts []time.Duration
	for range 15 {
		start := time.Now()
		if err := dial(l.Addr4(), 1002, 500*time.Millisecond); !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("closed port: %v", err)
		}
		rtts = append(rtts, time.Since(start))
	}
	slices.Sort(rtts)
	t.Logf("connect RTTs with %v ± %v one-way: %v", d, j, rtts)
	// Packets are never early, so the minimum is firm; the machine is shared
	// and noisy, so the top is only checked through the median.
	lo, med, hi := rtts[0], rtts[len(rtts)/2], rtts[len(rtts)-1]
	if lo < 2*(d-j) {
		t.Errorf("fastest RTT %v below the minimum %v", lo, 2*(d-j))
	}
	if med > 2*(d+j)+10*time.Millisecond {
		t.Errorf("median RTT %v, want at most about %v", med, 2*(d+j))
	}
	if hi-lo < 2*time.Millisecond {
		t.Errorf("RTTs %v..%v barely vary: no jitter?", lo, hi)
	}
}

func TestLoss(t *testing.T) {
	t.Parallel()
	l := newLab(t, Config{Name: "loss", Link: Link{Delay: time.Millisecond, Loss: 0.2, Seed: 1}})
	const n = 200
	var (
		mu       sync.Mutex
		timeouts int
		wg       sync.WaitGroup
		sem      = make(chan struct{}, 50)
	)
	for range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			s, r := observe(dial(l.Addr4(), 1002, 300*time.Millisecond))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case s == "filtered" && r == "no-response":
				timeouts++
			case s != "closed":
				t.Errorf("closed port under loss: %s/%s", s, r)
			}
		})
	}
	wg.Wait()
	st := l.Stats()
	// Both the SYN and the RST must survive: P(timeout) = 1 - 0.8² = 0.36.
	frac := float64(timeouts) / n
	t.Logf("%d/%d connects timed out (%.2f, expect ≈0.36); stats %+v", timeouts, n, frac, st)
	if frac < 0.15 || frac > 0.6 {
		t.Errorf("timeout fraction %.2f, want about 0.36", frac)
	}
	if st.ToLab.Lost == 0 || st.FromLab.Lost == 0 {
		t.Errorf("no losses counted: %+v", st)
	}
}

func TestSetRule(t *testing.T) {
	t.Parallel()
	for _, shaped := range []bool{false, true} {
		t.Run(fmt.Sprintf("shaped=%v", shaped), func(t *testing.T) {
			t.Parallel()
			cfg := Config{Name: "setrule", IPv6: true}
			if shaped {
				cfg.Link.Delay = 2 * time.Millisecond
			}
			l := newLab(t, cfg)
			const port = 4242
			ctx := context.Background()
			steps := []Rule{Closed, Open, Drop, RejectReset, Open, Closed}
			if shaped {
				steps = []Rule{Closed, Open, Drop, RejectHostUnreach, RejectNetUnreach, Open, RejectAdminProhibited, Closed}
			}
			for _, r := range steps {
				if err := l.SetRule(ctx, port, r); err != nil {
					t.Fatal(err)
				}
				if got := l.Rule(port); got != r {
					t.Fatalf("Rule = %v after SetRule(%v)", got, r)
				}
				for _, a := range labAddrs(l) {
					s, rs := observe(dial(a, port, 500*time.Millisecond))
					ws, wr := l.Expect(a, port)
					if s != ws || rs != wr {
						t.Errorf("%v after SetRule(%v): connect says %s/%s, Expect %s/%s", a, r, s, rs, ws, wr)
					}
				}
			}
		})
	}
}

func TestLabsDoNotCollide(t *testing.T) {
	t.Parallel()
	seen := map[netip.Prefix]bool{}
	for range 3 {
		l := newLab(t, Config{Name: "many", IPv6: true})
		for _, p := range l.Prefixes() {
			if seen[p] {
				t.Errorf("prefix %v given twice", p)
			}
			seen[p] = true
			if !p.Contains(l.Addr4()) && !p.Contains(l.Addr6()) {
				t.Errorf("prefix %v holds neither lab address", p)
			}
		}
		if err := dial(l.Addr6(), 1, 500*time.Millisecond); !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("%v: %v", l.Addr6(), err)
		}
	}
}

func nsList(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		t.Fatalf("ip netns list: %v", err)
	}
	return string(out)
}

// Not parallel: it counts goroutines.
func TestCloseCleansUp(t *testing.T) {
	requireLab(t)
	for _, link := range []Link{{}, {Delay: time.Millisecond, Jitter: time.Millisecond, Loss: 0.01}} {
		base := runtime.NumGoroutine()
		l, err := New(context.Background(), Config{Name: "close", IPv6: true, Link: link, Ports: allRules})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range labAddrs(l) {
			if err := dial(a, 1001, time.Second); err != nil {
				t.Errorf("open port: %v", err)
			}
		}
		ns, rootIf, marker := l.Namespace(), l.rootIf, l.marker
		if !strings.Contains(nsList(t), ns) {
			t.Fatalf("namespace %s missing while the lab runs", ns)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		if err := l.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		if err := l.SetRule(context.Background(), 1, Open); err == nil {
			t.Error("SetRule after Close succeeded")
		}
		if strings.Contains(nsList(t), ns) {
			t.Errorf("namespace %s survives Close", ns)
		}
		if _, err := net.InterfaceByName(rootIf); err == nil {
			t.Errorf("interface %s survives Close", rootIf)
		}
		if _, err := os.Stat(marker); err == nil {
			t.Errorf("marker %s survives Close", marker)
		}
		waitGoroutines(t, base)
	}
}

// Not parallel: it counts goroutines.
func TestNewFailsCleanly(t *testing.T) {
	requireLab(t)
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // the first setup command fails
		if _, err := New(ctx, Config{Name: "fail", Ports: allRules}); err == nil {
			t.Fatal("New with a cancelled context succeeded")
		}
	})
	for _, step := range []string{"namespace", "sysctls", "link", "firewall", "listeners"} {
		for _, link := range []Link{{}, {Delay: time.Millisecond}} {
			t.Run(fmt.Sprintf("%s/shaped=%v", step, link.shaped()), func(t *testing.T) {
				base := runtime.NumGoroutine()
				ifsBefore, _ := net.Interfaces()
				_, err := New(context.Background(), Config{Name: "fail", IPv6: true, Ports: allRules, Link: link, failAt: step})
				if err == nil || !strings.Contains(err.Error(), "as the test asked") {
					t.Fatalf("New = %v, want the injected failure", err)
				}
				if list := nsList(t); strings.Contains(list, "vlab-fail-") {
					t.Errorf("failed New left a namespace:\n%s", list)
				}
				if ifs, _ := net.Interfaces(); len(ifs) > len(ifsBefore) {
					t.Errorf("failed New left interfaces: %d before, %d after", len(ifsBefore), len(ifs))
				}
				ms, _ := filepath.Glob(filepath.Join(markerDir, "vlab-fail-*"))
				if len(ms) > 0 {
					t.Errorf("failed New left markers %v", ms)
				}
				waitGoroutines(t, base)
			})
		}
	}
}

// waitGoroutines fails t unless the goroutine count drops back to base
// within a few seconds.
func waitGoroutines(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > base {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines, %d before:\n%s", n, base, buf[:runtime.Stack(buf, true)])
	}
}

func TestSweep(t *testing.T) {
	requireLab(t)
	live := newLab(t, Config{Name: "sweeplive"})

	// A dead creator: a process that has exited.
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	dead := nsPrefix + "sweeptest-" + randomSuffix()
	if err := run(context.Background(), "", "ip", "netns", "add", dead); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", dead).Run() })
	marker := filepath.Join(markerDir, dead)
	if err := os.WriteFile(marker, fmt.Appendf(nil, "%d 1\n", cmd.Process.Pid), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Remove(marker) })

	if err := Sweep(); err != nil {
		t.Fatal(err)
	}
	list := nsList(t)
	if strings.Contains(list, dead) {
		t.Errorf("Sweep left %s", dead)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("Sweep left marker %s", marker)
	}
	if !strings.Contains(list, live.Namespace()) {
		t.Errorf("Sweep deleted the live lab %s", live.Namespace())
	}
	if err := dial(live.Addr4(), 1, time.Second); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("live lab after Sweep: %v", err)
	}
}

// TestForwarderThroughput sends a paced UDP burst (30k packets/s for one
// second) into a shaped lab and counts what a socket inside receives.
func TestForwarderThroughput(t *testing.T) {
	t.Parallel()
	l := newLab(t, Config{Name: "tput", Link: Link{Delay: 5 * time.Millisecond}})
	const port = 9999
	rate := 30000 // packets per second, for one second
	if v, err := strconv.Atoi(os.Getenv("VANTAGE_NETLAB_PPS")); err == nil && v >= 1000 && v <= 1000000 {
		rate = v // measure another rate by hand
	}
	total := rate / 1000 * 1000
	var pc net.PacketConn
	err := l.inNS(func() error {
		var err error
		pc, err = net.ListenPacket("udp4", netip.AddrPortFrom(l.Addr4(), port).String())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	// Past net.core.rmem_max, so the receiver is not what drops.
	if rc, err := pc.(*net.UDPConn).SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) {
			_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, 16<<20)
		})
	}
	got := make(chan int, 1)
	go func() {
		n, buf := 0, make([]byte, 2048)
		for {
			_ = pc.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
			if _, _, err := pc.ReadFrom(buf); err != nil {
				got <- n
				return
			}
			n++
		}
	}()
	c, err := net.Dial("udp4", netip.AddrPortFrom(l.Addr4(), port).String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	payload := make([]byte, 64)
	start := time.Now()
	sendErrs := 0
	for ms := range 1000 {
		for range rate / 1000 {
			if _, err := c.Write(payload); err != nil {
				sendErrs++
			}
		}
		if d := time.Until(start.Add(time.Duration(ms+1) * time.Millisecond)); d > 0 {
			time.Sleep(d)
		}
	}
	sent := time.Since(start)
	n := <-got
	st := l.Stats()
	if out, err := exec.Command("ip", "-s", "link", "show", "dev", l.rootIf).CombinedOutput(); err == nil {
		t.Logf("root side:\n%s", out)
	}
	t.Logf("sent %d UDP packets in %v (%.0f/s), %d send errors; received %d (%.2f%%); stats %+v",
		total, sent.Round(time.Millisecond), float64(total)/sent.Seconds(), sendErrs, n, 100*float64(n)/float64(total), st)
	if st.ToLab.Overflow != 0 || st.ToLab.WriteErrors != 0 {
		t.Errorf("forwarder dropped packets: %+v", st.ToLab)
	}
	if raceEnabled {
		return // the race detector slows the forwarder several-fold: measure only
	}
	if float64(n) < 0.95*float64(total) {
		t.Errorf("received %d of %d packets at %d/s", n, total, rate)
	}
}

// TestNmapAgrees runs nmap -sT against the lab when VANTAGE_NETLAB_NMAP=1
// and compares its states and reasons with Expect.
func TestNmapAgrees(t *testing.T) {
	if os.Getenv("VANTAGE_NETLAB_NMAP") != "1" {
		t.Skip("set VANTAGE_NETLAB_NMAP=1 to compare with nmap")
	}
	if _, err := exec.LookPath("nmap"); err != nil {
		t.Skip(err)
	}
	t.Parallel()
	l := newLab(t, Config{Name: "nmap", IPv6: true, Ports: allRules, Link: Link{Delay: 3 * time.Millisecond}})
	for _, a := range labAddrs(l) {
		xmlPath := filepath.Join(t.TempDir(), "nmap.xml")
		args := []string{"-sT", "-Pn", "-n", "--reason", "-p", "1001-1007", "-oX", xmlPath, a.String()}
		if a.Is6() {
			args = append([]string{"-6"}, args...)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		text, err := exec.CommandContext(ctx, "nmap", args...).Output()
		cancel()
		if err != nil {
			t.Fatalf("nmap %v: %v", args, err)
		}
		t.Logf("nmap %s\n%s", strings.Join(args, " "), text)
		out, err := os.ReadFile(xmlPath)
		if err != nil {
			t.Fatal(err)
		}
		var run struct {
			Ports []struct {
				ID    uint16 `xml:"portid,attr"`
				State struct {
					State  string `xml:"state,attr"`
					Reason string `xml:"reason,attr"`
				} `xml:"state"`
			} `xml:"host>ports>port"`
		}
		if err := xml.Unmarshal(out, &run); err != nil {
			t.Fatalf("nmap XML: %v", err)
		}
		if len(run.Ports) != len(allRules) {
			t.Errorf("nmap reported %d ports, want %d", len(run.Ports), len(allRules))
		}
		for _, p := range run.Ports {
			ws, wr := l.Expect(a, p.ID)
			t.Logf("nmap %v %d (%v): %s %s; Expect %s %s", a, p.ID, l.Rule(p.ID), p.State.State, p.State.Reason, ws, wr)
			if p.State.State != ws || p.State.Reason != wr {
				t.Errorf("nmap %v %d: %s/%s, Expect %s/%s", a, p.ID, p.State.State, p.State.Reason, ws, wr)
			}
		}
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"zero", Config{}, true},
		{"full", Config{Name: "a.b_c-1", Link: Link{Delay: time.Millisecond, Jitter: time.Millisecond, Loss: 0.5}, Ports: allRules}, true},
		{"bad name", Config{Name: "a b"}, false},
		{"long name", Config{Name: strings.Repeat("x", 25)}, false},
		{"loss 1", Config{Link: Link{Loss: 1}}, false},
		{"negative loss", Config{Link: Link{Loss: -0.1}}, false},
		{"negative delay", Config{Link: Link{Delay: -1}}, false},
		{"port 0", Config{Ports: map[uint16]Rule{0: Open}}, false},
		{"unknown rule", Config{Ports: map[uint16]Rule{1: numRules}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.cfg.validate(); (err == nil) != tt.ok {
				t.Errorf("validate() = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestBlockAddrs(t *testing.T) {
	a := blockAddrs(0x1234)
	if got, want := a.net4.String(), "198.18.72.208/30"; got != want {
		t.Errorf("net4 = %s, want %s", got, want)
	}
	if a.lab4.String() != "198.18.72.210" || a.root4.String() != "198.18.72.209" {
		t.Errorf("v4 = %v / %v", a.root4, a.lab4)
	}
	if got, want := a.net6.String(), "fd76:6c61:6200:1234::/64"; got != want {
		t.Errorf("net6 = %s, want %s", got, want)
	}
	if a.lab6.String() != "fd76:6c61:6200:1234::2" || a.rootIf != "vlab1234" {
		t.Errorf("lab6 %v, if %s", a.lab6, a.rootIf)
	}
	last := blockAddrs(numBlocks - 1)
	if !bench4.Contains(last.lab4) || last.net4.String() != "198.19.255.252/30" {
		t.Errorf("last block %v", last.net4)
	}
}

func TestFirewallScript(t *testing.T) {
	s := firewallScript(map[uint16]Rule{80: Drop, 22: Drop, 443: RejectReset, 8080: Open}, []uint16{3306, 22, 3306})
	for _, want := range []string{"set p_drop4 {\n\t\ttype inet_service\n\t\telements = { 22, 3306 }\n", "meta nfproto ipv4 tcp dport @p_drop4 drop", "set p_drop {\n\t\ttype inet_service\n\t\telements = { 22, 80 }\n", "elements = { 443 }", "set p_admin {\n\t\ttype inet_service\n\t}"} {
		if !strings.Contains(s, want) {
			t.Errorf("script lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "8080") {
		t.Errorf("open port in the firewall:\n%s", s)
	}
	if s := firewallScript(nil, nil); !strings.Contains(s, "set p_drop4 {\n\t\ttype inet_service\n\t}") {
		t.Errorf("empty IPv4-only set:\n%s", s)
	}
}

// TestIPv4DropGroundTruth: a port dropped over IPv4 only is filtered there
// and keeps its rule over IPv6, as connect() sees it.
func TestIPv4DropGroundTruth(t *testing.T) {
	t.Parallel()
	l := newLab(t, Config{Name: "drop4", IPv6: true, Ports: allRules, IPv4Drop: []uint16{1001, 1002}, Link: Link{Delay: time.Millisecond}})
	if s, r := l.Expect(l.Addr4(), 1001); s != "filtered" || r != "no-response" {
		t.Errorf("Expect IPv4 1001: %s/%s", s, r)
	}
	if s, _ := l.Expect(l.Addr6(), 1001); s != "open" {
		t.Errorf("Expect IPv6 1001: %s", s)
	}
	checkGroundTruth(t, l, []uint16{1001, 1002, 1003, 1007})
}
