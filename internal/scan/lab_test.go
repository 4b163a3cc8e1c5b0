package scan

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vantagescan/vantage/internal/netlab"
	"github.com/vantagescan/vantage/internal/netlab/netlabtest"
	"github.com/vantagescan/vantage/internal/netlab/nmap"
)

// labRules gives every rule the lab knows several ports, spread over the
// range the tests scan.
var labRules = map[uint16]netlab.Rule{
	21: netlab.Open, 22: netlab.Open, 80: netlab.Open, 443: netlab.Open, 993: netlab.Open, 8080: netlab.Open,
	23: netlab.Drop, 135: netlab.Drop, 445: netlab.Drop, 1000: netlab.Drop, 3389: netlab.Drop,
	111: netlab.RejectHostUnreach, 139: netlab.RejectHostUnreach, 3306: netlab.RejectHostUnreach,
	161: netlab.RejectAdminProhibited, 389: netlab.RejectAdminProhibited, 5432: netlab.RejectAdminProhibited,
	512: netlab.RejectNetUnreach, 513: netlab.RejectNetUnreach, 27017: netlab.RejectNetUnreach,
	25: netlab.RejectReset, 110: netlab.RejectReset, 6379: netlab.RejectReset,
}

func labPorts() []uint16 {
	var ports []uint16
	for p := uint16(1); p <= 1100; p++ {
		ports = append(ports, p)
	}
	return append(ports, 3306, 3389, 5432, 6379, 8080, 27017)
}

func formatPorts(ports []uint16) string {
	s := make([]string, len(ports))
	for i, p := range ports {
		s[i] = strconv.Itoa(int(p))
	}
	return strings.Join(s, ",")
}

func scanLab(t *testing.T, cfg Config, addr netip.Addr, ports []uint16) (map[uint16]PortResult, Summary) {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	got := make(map[uint16]PortResult, len(ports))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sum, err := s.Scan(ctx, addr, ports, func(r PortResult) { got[r.Port] = r })
	if err != nil {
		t.Fatalf("scan %v: %v", addr, err)
	}
	return got, sum
}

// TestLabMatchesGroundTruthAndNmap scans a lab with every firewall behaviour
// over IPv4 and IPv6, holds each port's state and reason against the lab's
// ground truth, and holds the ground truth against nmap -sT on the same lab.
func TestLabMatchesGroundTruthAndNmap(t *testing.T) {
	lab := netlabtest.New(t, netlab.Config{
		Name:  "scan-truth",
		Link:  netlab.Link{Delay: 2 * time.Millisecond, Jitter: 500 * time.Microsecond, Seed: 1},
		Ports: labRules,
		IPv6:  true,
	})
	ports := labPorts()
	for _, addr := range []netip.Addr{lab.Addr4(), lab.Addr6()} {
		t.Run(fmt.Sprintf("IPv%d", map[bool]int{true: 4, false: 6}[addr.Is4()]), func(t *testing.T) {
			got, sum := scanLab(t, Config{}, addr, ports)
			mismatches := 0
			for _, p := range ports {
				state, reason := lab.Expect(addr, p)
				r := got[p]
				if r.State.String() != state || r.Reason.String() != reason {
					mismatches++
					t.Errorf("port %d (%v): got %v/%v, lab truth %s/%s", p, lab.Rule(p), r.State, r.Reason, state, reason)
				}
			}
			if sum.Open != 6 || sum.Filtered != 14 || sum.Decided != len(ports) {
				t.Errorf("summary %+v", sum)
			}
			t.Logf("%d ports in %v, %d mismatches; timing %+v", len(ports), sum.Duration, mismatches, sum.Timing)

			if err := nmap.Available(); err != nil {
				if os.Getenv(netlabtest.EnvRequire) == "1" {
					t.Fatalf("nmap is required with %s=1: %v", netlabtest.EnvRequire, err)
				}
				t.Skipf("no nmap: %v", err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			ref, err := nmap.Scan(ctx, addr, formatPorts(ports), true)
			if err != nil {
				t.Fatal(err)
			}
			// nmap is the reference the lab's ground truth was checked
			// against; a port or two may go astray in nmap itself when the
			// machine is loaded (seen once: a net-unreach port read as
			// open), so nmap's own slips are logged, not failed on, unless
			// there are enough of them to doubt the ground truth.
			nmapSlips := 0
			for _, p := range ports {
				n, r := ref.Ports[p], got[p]
				state, reason := lab.Expect(addr, p)
				if n.State != state || n.Reason != reason {
					nmapSlips++
					t.Logf("port %d (%v): nmap %s/%s, lab truth %s/%s, vantage %v/%v", p, lab.Rule(p), n.State, n.Reason, state, reason, r.State, r.Reason)
				}
			}
			if nmapSlips > 2 {
				t.Errorf("nmap disagrees with the lab's ground truth on %d ports", nmapSlips)
			}
		})
	}
}

// TestLabLossyLink scans over a link that loses 2% of packets each way: the
// engine must notice, raise its retries, and misread no open port.
func TestLabLossyLink(t *testing.T) {
	lab := netlabtest.New(t, netlab.Config{
		Name:  "scan-loss",
		Link:  netlab.Link{Delay: 5 * time.Millisecond, Jitter: time.Millisecond, Loss: 0.02, Seed: 7},
		Ports: labRules,
	})
	ports := labPorts()
	for run := range 2 {
		got, sum := scanLab(t, Config{}, lab.Addr4(), ports)
		if !sum.Timing.LossDetected || sum.Timing.Retries < 2 {
			t.Errorf("run %d: loss not acted on: %+v", run, sum.Timing)
		}
		misread := 0
		for _, p := range ports {
			state, reason := lab.Expect(lab.Addr4(), p)
			r := got[p]
			switch {
			case lab.Rule(p) == netlab.Open && r.State != Open:
				t.Errorf("run %d: open port %d read as %v/%v after %d attempts", run, p, r.State, r.Reason, r.Attempts)
			case lab.Rule(p) == netlab.Drop && (r.State != Filtered || r.Attempts != sum.Timing.Retries+1):
				t.Errorf("run %d: dropped port %d: %+v", run, p, r)
			case r.State.String() != state || r.Reason.String() != reason:
				misread++
			}
		}
		t.Logf("run %d: %v, loss rate %.3f, retries %d, %d attempts, %d other ports misread",
			run, sum.Duration, sum.Timing.LossRate, sum.Timing.Retries, sum.Attempts, misread)
	}
}

// TestLabCancelLeavesNoSocket cancels a scan of a lab whose ports mostly drop
// and checks that it returns at once and the socket pool is empty again.
func TestLabCancelLeavesNoSocket(t *testing.T) {
	rules := map[uint16]netlab.Rule{}
	for p := uint16(1); p <= 400; p++ {
		rules[p] = netlab.Drop
	}
	lab := netlabtest.New(t, netlab.Config{Name: "scan-cancel", Ports: rules})
	pool := NewSocketPool(64)
	s, err := New(Config{Sockets: pool, Concurrency: 48, InitialTimeout: 10 * time.Second, MaxTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	// Watch the kernel's sockets: never more connecting than the cap.
	peak := 0
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		deadline := time.Now().Add(250 * time.Millisecond)
		for time.Now().Before(deadline) {
			peak = max(peak, synSent(t, lab.Addr4()))
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
	}()
	ports := make([]uint16, 400)
	for i := range ports {
		ports[i] = uint16(i + 1)
	}
	start := time.Now()
	_, err = s.Scan(ctx, lab.Addr4(), ports, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("cancel took %v to stop a scan waiting on 10 s timeouts", el)
	}
	<-sampled
	if n := pool.InUse(); n != 0 {
		t.Errorf("%d sockets still held", n)
	}
	if peak == 0 || peak > 48 {
		t.Errorf("peak of %d connecting sockets; the cap is 48", peak)
	}
	if n := synSent(t, lab.Addr4()); n != 0 {
		t.Errorf("%d sockets still connecting after Scan returned", n)
	}
}

// synSent counts this machine's sockets in SYN_SENT towards addr (IPv4).
func synSent(t *testing.T, addr netip.Addr) int {
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		t.Fatal(err)
	}
	a := addr.As4()
	want := fmt.Sprintf("%02X%02X%02X%02X:", a[3], a[2], a[1], a[0])
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 3 && f[3] == "02" && strings.HasPrefix(f[2], want) {
			n++
		}
	}
	return n
}

// TestLabICMPRejectedNeverOpen is the regression test for a spurious
// wake-up: an ICMP error racing the handshake could leave a socket
// writable with no error and no peer, which read as open (about 1.5 ports
// in 1000). Now the connector checks getpeername, as Go's connect does.
func TestLabICMPRejectedNeverOpen(t *testing.T) {
	rules := map[uint16]netlab.Rule{22: netlab.Open}
	var ports []uint16
	for p := uint16(1000); p < 2000; p++ {
		rules[p] = netlab.RejectAdminProhibited
		ports = append(ports, p)
	}
	lab := netlabtest.New(t, netlab.Config{Name: "scan-icmp", Ports: rules,
		Link: netlab.Link{Delay: 2 * time.Millisecond, Jitter: 500 * time.Microsecond, Seed: 1}})
	for run := range 8 {
		got, _ := scanLab(t, Config{}, lab.Addr4(), append([]uint16{22}, ports...))
		for _, p := range ports {
			if got[p].State == Open {
				t.Errorf("run %d: ICMP-rejected port %d read as open", run, p)
			}
		}
		if got[22].State != Open {
			t.Errorf("run %d: the open port read as %v", run, got[22].State)
		}
	}
}
