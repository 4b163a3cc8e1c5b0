// Command benchscan measures Vantage against nmap's connect scan on the
// network lab: for each scenario it builds a lab, runs `vantage scan` and
// `nmap -sT -Pn -n --reason -T4` alternately against the same target, and
// prints each tool's median wall time, the ratio, and per-port agreement with
// the lab's ground truth. It needs root, iproute2, nftables and nmap, and
// sends traffic only into the labs it builds.
//
//	go run ./internal/netlab/cmd/benchscan -vantage ./bin/vantage [-runs 3] [-only a,b]
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/vantagescan/vantage/internal/netlab"
	"github.com/vantagescan/vantage/internal/netlab/nmap"
	"github.com/vantagescan/vantage/internal/ports"
)

// scenario is one benchmark setting.
type scenario struct {
	id, title string
	link      netlab.Link
	ipv6      bool
	ports     []uint16
	rules     map[uint16]netlab.Rule
	bar       float64 // vantage/nmap wall-time ratio to stay under
	lossy     bool    // agreement may dip; no open port may be missed
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "benchscan: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("benchscan", flag.ContinueOnError)
	vantage := fs.String("vantage", "bin/vantage", "path of the vantage binary")
	runs := fs.Int("runs", 3, "timed runs per tool and scenario (median reported)")
	only := fs.String("only", "a,b,c,d", "scenarios to run")
	verbose := fs.Bool("v", false, "print every run and every disagreement")
	vargs := fs.String("vantage-args", "", "extra flags for vantage scan, space-separated (for tuning experiments)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *runs < 1 || *runs > 15 {
		return errors.New("-runs must be 1..15")
	}
	if err := netlab.Check(); err != nil {
		return err
	}
	if err := nmap.Available(); err != nil {
		return fmt.Errorf("nmap: %w", err)
	}
	if _, err := os.Stat(*vantage); err != nil {
		return fmt.Errorf("vantage binary: %w (run make build)", err)
	}
	if err := netlab.Sweep(); err != nil {
		fmt.Fprintf(out, "sweep: %v\n", err)
	}
	want := strings.Split(*only, ",")
	var rows []row
	for _, sc := range scenarios() {
		if !slices.Contains(want, sc.id) {
			continue
		}
		r, err := bench(ctx, sc, append([]string{*vantage}, strings.Fields(*vargs)...), *runs, *verbose, out)
		if err != nil {
			return fmt.Errorf("scenario (%s): %w", sc.id, err)
		}
		rows = append(rows, r)
	}
	printRows(out, rows, *runs)
	for _, r := range rows {
		if !r.pass() {
			return errors.New("a scenario missed its bar (see the table)")
		}
	}
	return nil
}

// scenarios builds the four settings of the benchmark.
func scenarios() []scenario {
	// (a)-(c): 1-1100 plus every catalogued port above it, about 1200.
	var mid []uint16
	for p := uint16(1); p <= 1100; p++ {
		mid = append(mid, p)
	}
	for _, e := range ports.Catalog() {
		if e.Port > 1100 {
			mid = append(mid, e.Port)
		}
	}
	open := []uint16{21, 22, 53, 80, 143, 443, 587, 993, 995, 3000, 8080, 8443}
	midRules := assign(mid, open, 1, map[netlab.Rule]int{
		netlab.Drop: 30, netlab.RejectHostUnreach: 5, netlab.RejectAdminProhibited: 5,
		netlab.RejectNetUnreach: 5, netlab.RejectReset: 4,
	})
	wan := netlab.Link{Delay: 15 * time.Millisecond, Jitter: 3 * time.Millisecond, Seed: 11}
	lossy := wan
	lossy.Loss = 0.02

	all := make([]uint16, 65535)
	for i := range all {
		all[i] = uint16(i + 1)
	}
	allRules := assign(all, open, 2, map[netlab.Rule]int{netlab.Drop: 50})

	return []scenario{
		{id: "a", title: "~1200 ports, 30±6 ms RTT, IPv4", link: wan, ports: mid, rules: midRules, bar: 0.5},
		{id: "b", title: "(a) with 2% loss each way", link: lossy, ports: mid, rules: midRules, bar: 0.5, lossy: true},
		{id: "c", title: "(a) over IPv6", link: wan, ipv6: true, ports: mid, rules: midRules, bar: 0.5},
		{id: "d", title: "all 65535 ports, no added delay", ports: all, rules: allRules, bar: 0.8},
	}
}

// assign gives the open ports their rule and spreads the counted rules over
// other ports of the list, reproducibly.
func assign(list, open []uint16, seed uint64, counts map[netlab.Rule]int) map[uint16]netlab.Rule {
	rules := map[uint16]netlab.Rule{}
	for _, p := range open {
		rules[p] = netlab.Open
	}
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	order := []netlab.Rule{netlab.Drop, netlab.RejectHostUnreach, netlab.RejectAdminProhibited, netlab.RejectNetUnreach, netlab.RejectReset}
	for _, r := range order {
		for n := counts[r]; n > 0; {
			p := list[rng.IntN(len(list))]
			if _, taken := rules[p]; taken {
				continue
			}
			rules[p] = r
			n--
		}
	}
	return rules
}

// row is one scenario's outcome.
type row struct {
	sc                  scenario
	ports               int
	vantage, nmap       []time.Duration
	agree               []int // per vantage run: ports matching the ground truth
	openMissed          []int // per vantage run: open ports reported closed or filtered
	nmapAgree           int
	nmapOpenMissed      int
	vantageMed, nmapMed time.Duration
}

func (r row) ratio() float64 { return r.vantageMed.Seconds() / r.nmapMed.Seconds() }

func (r row) pass() bool {
	if r.ratio() > r.sc.bar {
		return false
	}
	for i := range r.agree {
		if r.openMissed[i] > 0 || (!r.sc.lossy && r.agree[i] != r.ports) {
			return false
		}
	}
	return true
}

func bench(ctx context.Context, sc scenario, vantage []string, runs int, verbose bool, out io.Writer) (row, error) {
	setup, cancel := context.WithTimeout(ctx, time.Minute)
	lab, err := netlab.New(setup, netlab.Config{Name: "bench-" + sc.id, Link: sc.link, Ports: sc.rules, IPv6: sc.ipv6})
	cancel()
	if err != nil {
		return row{}, err
	}
	defer lab.Close()
	addr := lab.Addr4()
	if sc.ipv6 {
		addr = lab.Addr6()
	}
	spec := ports.Format(sc.ports)
	r := row{sc: sc, ports: len(sc.ports)}
	fmt.Fprintf(out, "(%s) %s: %d ports against %s ...\n", sc.id, sc.title, len(sc.ports), addr)

	for i := range runs {
		// Alternate the tools so drifting machine load hits both alike.
		got, took, err := runVantage(ctx, vantage, lab, addr, spec)
		if err != nil {
			return r, err
		}
		agree, missed, diffs := compare(lab, addr, sc.ports, got)
		r.vantage, r.agree, r.openMissed = append(r.vantage, took), append(r.agree, agree), append(r.openMissed, missed)
		ref, err := runNmap(ctx, addr, spec, false)
		if err != nil {
			return r, err
		}
		r.nmap = append(r.nmap, ref.Elapsed)
		if verbose {
			fmt.Fprintf(out, "  run %d: vantage %.2fs (%d/%d agree, %d open missed)  nmap %.2fs\n",
				i+1, took.Seconds(), agree, len(sc.ports), missed, ref.Elapsed.Seconds())
			for _, d := range diffs {
				fmt.Fprintf(out, "    vantage: %s\n", d)
			}
		}
	}
	// One more nmap run with every port listed, for nmap's own agreement.
	ref, err := runNmap(ctx, addr, spec, true)
	if err != nil {
		return r, err
	}
	nmapGot := map[uint16]string{}
	for p, v := range ref.Ports {
		nmapGot[p] = v.State + "/" + v.Reason
	}
	var diffs []string
	r.nmapAgree, r.nmapOpenMissed, diffs = compare(lab, addr, sc.ports, nmapGot)
	if verbose {
		for _, d := range diffs {
			fmt.Fprintf(out, "    nmap: %s\n", d)
		}
	}
	r.vantageMed, r.nmapMed = median(r.vantage), median(r.nmap)
	return r, nil
}

// runVantage runs vantage[0] scan with the flags in vantage[1:].
// The lab's prefixes are opened with --allow-cidr, as the policy forbids
// the benchmarking range.
func runVantage(ctx context.Context, vantage []string, lab *netlab.Lab, addr netip.Addr, spec string) (map[uint16]string, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	// --no-checks: the comparison is with nmap -sT, which runs no follow-up checks.
	args := []string{"scan", "--json", "--no-checks", "--max-ports", "65535", "--ports", spec}
	for _, p := range lab.Prefixes() {
		args = append(args, "--allow-cidr", p.String())
	}
	args = append(args, vantage[1:]...)
	cmd := exec.CommandContext(ctx, vantage[0], append(args, addr.String())...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	stdout, err := cmd.Output()
	took := time.Since(start)
	if err != nil {
		return nil, 0, fmt.Errorf("vantage: %w: %s", err, stderr.String())
	}
	var doc struct {
		Ports []struct {
			Port          uint16
			State, Reason string
		}
	}
	if err := json.Unmarshal(stdout, &doc); err != nil {
		return nil, 0, fmt.Errorf("vantage JSON: %w", err)
	}
	got := make(map[uint16]string, len(doc.Ports))
	for _, p := range doc.Ports {
		got[p.Port] = p.State + "/" + p.Reason
	}
	return got, took, nil
}

func runNmap(ctx context.Context, addr netip.Addr, spec string, listAll bool) (nmap.Result, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	res, err := nmap.Scan(ctx, addr, spec, listAll)
	if errors.Is(err, nmap.ErrFolded) && !listAll {
		err = nil // timing runs let nmap fold, as it normally does
	}
	return res, err
}

// compare counts ports whose "state/reason" matches the lab's ground truth
// and open ports reported as anything else.
func compare(lab *netlab.Lab, addr netip.Addr, list []uint16, got map[uint16]string) (agree, openMissed int, diffs []string) {
	for _, p := range list {
		state, reason := lab.Expect(addr, p)
		want := state + "/" + reason
		g, ok := got[p]
		if !ok {
			g = "missing"
		}
		if g == want {
			agree++
			continue
		}
		if state == "open" {
			openMissed++
		}
		if len(diffs) < 10 {
			diffs = append(diffs, fmt.Sprintf("port %d (%v): got %s, truth %s", p, lab.Rule(p), g, want))
		}
	}
	return agree, openMissed, diffs
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func printRows(out io.Writer, rows []row, runs int) {
	fmt.Fprintln(out)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "scenario\tports\tvantage (median of %d)\tnmap -T4 (median of %d)\tratio\tbar\tvantage agreement per run\topen missed\tnmap agreement\tresult\n", runs, runs)
	for _, r := range rows {
		agree := make([]string, len(r.agree))
		missed := make([]string, len(r.openMissed))
		for i := range r.agree {
			agree[i] = fmt.Sprintf("%.2f%%", 100*float64(r.agree[i])/float64(r.ports))
			missed[i] = fmt.Sprint(r.openMissed[i])
		}
		result := "PASS"
		if !r.pass() {
			result = "MISS"
		}
		fmt.Fprintf(tw, "(%s) %s\t%d\t%.2fs %s\t%.2fs %s\t%.2f\t≤%.1f\t%s\t%s\t%.2f%%\t%s\n",
			r.sc.id, r.sc.title, r.ports,
			r.vantageMed.Seconds(), secs(r.vantage), r.nmapMed.Seconds(), secs(r.nmap),
			r.ratio(), r.sc.bar, strings.Join(agree, " "), strings.Join(missed, " "),
			100*float64(r.nmapAgree)/float64(r.ports), result)
	}
	tw.Flush()
}

func secs(ds []time.Duration) string {
	s := make([]string, len(ds))
	for i, d := range ds {
		s[i] = fmt.Sprintf("%.2f", d.Seconds())
	}
	return "[" + strings.Join(s, " ") + "]"
}
