package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vantagescan/vantage/internal/ports"
	"github.com/vantagescan/vantage/internal/probe"
	"github.com/vantagescan/vantage/internal/report"
	"github.com/vantagescan/vantage/internal/scan"
	"github.com/vantagescan/vantage/internal/target"
)

// scanOptions are the flags of `vantage scan`.
type scanOptions struct {
	ports       string
	json        bool
	all         bool
	timeout     time.Duration
	minTimeout  time.Duration
	retries     int
	maxRetries  int
	concurrency int
	rate        float64
	maxDuration time.Duration
	maxPorts    int
	noChecks    bool

	allow    prefixList
	deny     prefixList
	resolver string
	only4    bool
	only6    bool
	both     bool
}

// prefixList is a repeatable CIDR flag.
type prefixList []netip.Prefix

func (l *prefixList) String() string {
	s := make([]string, len(*l))
	for i, p := range *l {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

func (l *prefixList) Set(v string) error {
	for _, part := range strings.Split(v, ",") {
		p, err := netip.ParsePrefix(strings.TrimSpace(part))
		if err != nil {
			if a, aerr := netip.ParseAddr(strings.TrimSpace(part)); aerr == nil {
				p = netip.PrefixFrom(a, a.BitLen()) // a bare address is its own /32 or /128
			} else {
				return fmt.Errorf("%q is not a CIDR prefix like 198.18.0.0/15", part)
			}
		}
		*l = append(*l, p.Masked())
	}
	return nil
}

func scanFlags(o *scanOptions, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("vantage scan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.ports, "ports", "preset:common", "port set: `SPEC` such as 22,80,443 or 8000-8100 or preset:quick|common|extended|all")
	fs.BoolVar(&o.json, "json", false, "print one JSON document instead of a table")
	fs.BoolVar(&o.all, "all", false, "list every port in the table, not only the interesting ones")
	fs.DurationVar(&o.timeout, "timeout", scan.DefaultMaxTimeout, "longest wait for a silent port per attempt (before any answer, and the adaptive timeout's ceiling)")
	fs.DurationVar(&o.minTimeout, "min-timeout", scan.DefaultMinTimeout, "floor of the adaptive timeout (srtt + 4·rttvar)")
	fs.IntVar(&o.retries, "retries", scan.DefaultRetries, "retries for a silent port (raised automatically when packet loss is seen)")
	fs.IntVar(&o.maxRetries, "max-retries", scan.DefaultMaxRetries, "ceiling for retries raised on packet loss")
	fs.IntVar(&o.concurrency, "concurrency", scan.DefaultConcurrency, "connection attempts in flight at once")
	fs.Float64Var(&o.rate, "rate", 0, "new connections per second (0: limited by --concurrency only)")
	fs.DurationVar(&o.maxDuration, "max-duration", 30*time.Minute, "hard limit on the whole scan")
	fs.IntVar(&o.maxPorts, "max-ports", 65535, "refuse port sets larger than this")
	fs.BoolVar(&o.noChecks, "no-checks", false, "skip the follow-up checks of open ports (TLS, HTTP, SSH, greetings) and the grade")
	fs.Var(&o.allow, "allow-cidr", "let scans into this `CIDR` although the policy forbids it, e.g. a lab (repeatable)")
	fs.Var(&o.deny, "deny-cidr", "never scan this `CIDR` (repeatable; wins over --allow-cidr)")
	fs.StringVar(&o.resolver, "resolver", "", "DNS server `HOST:PORT` to resolve names with (default: the system's, through Go's own resolver)")
	fs.BoolVar(&o.only4, "4", false, "scan the name's IPv4 address only")
	fs.BoolVar(&o.only6, "6", false, "scan the name's IPv6 address only")
	fs.BoolVar(&o.both, "both", false, "scan the name's IPv4 and IPv6 addresses and show the ports that answer differently")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: vantage scan [flags] HOST\n\n"+
			"TCP connect scan of one host: a name, an IP address or a pasted URL. Names are\n"+
			"resolved once and every address is checked against the target policy\n"+
			"(private, loopback, link-local, reserved and this machine's own addresses are\n"+
			"refused unless --allow-cidr opens them). Prints a table or, with --json, one\n"+
			"JSON document.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	return fs
}

// parseInterspersed parses flags given before or after the positional
// arguments (vantage scan 192.0.2.1 --json).
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

func runScan(ctx context.Context, args []string, _ func(string) string, stdout, stderr io.Writer) error {
	var o scanOptions
	fs := scanFlags(&o, stderr)
	positional, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return errSilentExit // flag has printed the problem and the usage
	}
	if len(positional) != 1 {
		fs.Usage()
		return usageError{fmt.Sprintf("scan needs exactly one HOST, got %d arguments", len(positional))}
	}
	if o.only4 && o.only6 || o.both && (o.only4 || o.only6) {
		return usageError{"-4, -6 and --both exclude each other"}
	}
	pinner, err := o.pinner(stderr)
	if err != nil {
		return usageError{err.Error()}
	}
	var pts []target.PinnedTarget
	if o.both {
		v4, v6, err := pinner.PinBoth(ctx, positional[0])
		if err != nil {
			return targetError(err)
		}
		pts = []target.PinnedTarget{v4, v6}
	} else {
		pt, err := pinner.Pin(ctx, positional[0], o.family())
		if err != nil {
			return targetError(err)
		}
		pts = []target.PinnedTarget{pt}
	}
	spec := o.ports
	portsGiven := false
	fs.Visit(func(f *flag.Flag) { portsGiven = portsGiven || f.Name == "ports" })
	if u := pts[0].URLPort; u != 0 {
		if portsGiven {
			fmt.Fprintf(stderr, "vantage: the port %d in the URL is ignored; --ports decides what is scanned\n", u)
		} else {
			spec = strconv.Itoa(int(u))
			fmt.Fprintf(stderr, "vantage: scanning port %d, taken from the URL (give --ports to scan others)\n", u)
		}
	}
	portList, err := ports.Parse(spec, o.maxPorts)
	if err != nil {
		return usageError{err.Error()}
	}
	if o.both {
		// Before anything is scanned: half a comparison is no comparison.
		for _, pt := range pts {
			if err := routeCheck(pt.IP); err != nil {
				family := "IPv4"
				if pt.IP.Is6() {
					family = "IPv6"
				}
				return fmt.Errorf("this machine has no route to %s addresses, so it cannot compare the two families of %s (scan one with -4 or -6): %w", family, pt.Host, err)
			}
		}
	}
	reps := make([]scanReport, len(pts))
	for i, pt := range pts {
		if reps[i], err = o.scanOne(ctx, pinner.Policy, pt, portList, stderr); err != nil {
			return err
		}
	}
	if o.both {
		pair := pairReport{IPv4: reps[0], IPv6: reps[1]}
		if o.json {
			return pair.writeJSON(stdout)
		}
		return pair.writeTable(stdout, o.all)
	}
	if o.json {
		return reps[0].writeJSON(stdout)
	}
	return reps[0].writeTable(stdout, o.all)
}

// routeCheck is target.Route; tests replace it.
var routeCheck = target.Route

// scanOne scans pt's pinned address and, unless --no-checks, checks its
// open ports and grades it.
func (o scanOptions) scanOne(ctx context.Context, policy *target.Policy, pt target.PinnedTarget, portList []uint16, stderr io.Writer) (scanReport, error) {
	cfg := o.config()
	cfg.Control = policy.Control(pt.IP) // every socket is checked again at connect time
	scanner, err := scan.New(cfg)
	if err != nil {
		return scanReport{}, usageError{err.Error()}
	}
	addr := pt.IP
	results := make([]scan.PortResult, 0, len(portList))
	progress := newProgress(stderr, addr, len(portList))
	sum, err := scanner.Scan(ctx, addr, portList, func(r scan.PortResult) {
		results = append(results, r)
		progress.update(r)
	})
	progress.clear()
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return scanReport{}, fmt.Errorf("scan of %s interrupted after %d of %d ports", addr, sum.Decided, sum.Ports)
		}
		return scanReport{}, fmt.Errorf("scan of %s: %w", addr, err)
	}
	slices.SortFunc(results, func(a, b scan.PortResult) int { return int(a.Port) - int(b.Port) })
	rep := scanReport{Target: pt.Host, Addr: addr, Results: results, Summary: sum}
	if !o.noChecks {
		rep.Findings, rep.Grade = followUp(ctx, policy, pt, results)
	}
	return rep, nil
}

func (o scanOptions) config() scan.Config {
	retries := o.retries
	if retries == 0 {
		retries = scan.NoRetries
	}
	return scan.Config{
		Concurrency:    o.concurrency,
		Rate:           o.rate,
		InitialTimeout: o.timeout,
		MinTimeout:     min(o.minTimeout, o.timeout),
		MaxTimeout:     o.timeout,
		Retries:        retries,
		MaxRetries:     max(o.maxRetries, o.retries),
		MaxDuration:    o.maxDuration,
	}
}

// followUp runs the read-only checks on the open ports, through the
// policy's guarded dialer, and grades the host.
func followUp(ctx context.Context, policy *target.Policy, pt target.PinnedTarget, results []scan.PortResult) ([]probe.Finding, *report.Grade) {
	var open []uint16
	rows := make([]report.Port, len(results))
	for i, r := range results {
		rows[i] = report.Port{Port: r.Port, State: r.State.String()}
		if r.State == scan.Open {
			open = append(open, r.Port)
		}
	}
	var findings []probe.Finding
	if len(open) > 0 {
		cfg := probe.Config{Dial: policy.Dialer(pt.IP).DialContext, Host: pt.Host}
		_ = probe.Run(ctx, cfg, pt.IP, open, func(f probe.Finding) { findings = append(findings, f) })
		slices.SortStableFunc(findings, func(a, b probe.Finding) int { return int(a.Port) - int(b.Port) })
	}
	g := report.Compute(rows, findings, time.Now())
	return findings, &g
}

// pinner builds the target policy from the flags. Opening forbidden
// ranges is said loudly, every time.
func (o scanOptions) pinner(stderr io.Writer) (*target.Pinner, error) {
	policy, err := target.NewPolicy(target.PolicyConfig{Allow: o.allow, Deny: o.deny, Interfaces: true})
	if err != nil {
		return nil, err
	}
	if open := policy.AllowsForbidden(); len(open) > 0 {
		l := prefixList(open)
		fmt.Fprintf(stderr, "vantage: WARNING: --allow-cidr opens ranges the target policy forbids: %s\n", l.String())
	}
	resolver, err := target.NewResolver(o.resolver)
	if err != nil {
		return nil, err
	}
	return &target.Pinner{Policy: policy, Resolver: resolver}, nil
}

func (o scanOptions) family() target.Family {
	switch {
	case o.only4:
		return target.IPv4Only
	case o.only6:
		return target.IPv6Only
	default:
		return target.Auto
	}
}

// targetError maps the policy's verdicts to exit statuses: what was typed
// (invalid or forbidden) is a usage error; a name that does not resolve, or
// a resolver that fails, is a failed run. The message is the policy's
// user-facing sentence, which never names a forbidden address.
func targetError(err error) error {
	var te *target.Error
	if !errors.As(err, &te) {
		return err
	}
	if errors.Is(err, target.ErrInvalidInput) || errors.Is(err, target.ErrForbidden) {
		return usageError{te.Msg}
	}
	return errors.New(te.Msg)
}

// progress draws a one-line progress indicator on a terminal.
type progress struct {
	w          io.Writer
	on         bool
	addr       netip.Addr
	total      int
	done, open int
	start      time.Time
	last       time.Time
}

func newProgress(w io.Writer, addr netip.Addr, total int) *progress {
	return &progress{w: w, on: isTerminal(w), addr: addr, total: total, start: time.Now()}
}

func (p *progress) update(r scan.PortResult) {
	p.done++
	if r.State == scan.Open {
		p.open++
	}
	if !p.on || time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	fmt.Fprintf(p.w, "\r\033[KScanning %s: %d/%d ports, %d open (%.1fs)", p.addr, p.done, p.total, p.open, time.Since(p.start).Seconds())
}

func (p *progress) clear() {
	if p.on && !p.last.IsZero() {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// scanReport renders a finished scan.
type scanReport struct {
	Target   string
	Addr     netip.Addr
	Results  []scan.PortResult // sorted by port
	Summary  scan.Summary
	Findings []probe.Finding
	Grade    *report.Grade // nil when the checks were skipped
}

type jsonPort struct {
	Port     uint16      `json:"port"`
	State    scan.State  `json:"state"`
	Reason   scan.Reason `json:"reason"`
	RTTms    float64     `json:"rtt_ms"`
	Attempts int         `json:"attempts"`
	Service  string      `json:"service"`
	Risk     string      `json:"risk,omitempty"`
}

type jsonTiming struct {
	InitialTimeoutMS float64 `json:"initial_timeout_ms"`
	MinTimeoutMS     float64 `json:"min_timeout_ms"`
	MaxTimeoutMS     float64 `json:"max_timeout_ms"`
	TimeoutMS        float64 `json:"timeout_ms"`
	SRTTms           float64 `json:"srtt_ms"`
	RTTVarMS         float64 `json:"rttvar_ms"`
	Retries          int     `json:"retries"`
	LossDetected     bool    `json:"loss_detected"`
}

type jsonSummary struct {
	Open        int        `json:"open"`
	Closed      int        `json:"closed"`
	Filtered    int        `json:"filtered"`
	Attempts    int        `json:"attempts"`
	AllFiltered bool       `json:"all_filtered"`
	Verdict     string     `json:"verdict"`
	Timing      jsonTiming `json:"timing"`
}

type jsonReport struct {
	Target         string          `json:"target"`
	IP             string          `json:"ip"`
	StartedAt      time.Time       `json:"started_at"`
	DurationMS     int64           `json:"duration_ms"`
	Ports          []jsonPort      `json:"ports"`
	Summary        jsonSummary     `json:"summary"`
	Findings       []probe.Finding `json:"findings,omitempty"`
	Grade          *report.Grade   `json:"grade,omitempty"`
	CatalogVersion string          `json:"catalog_version"`
	Version        string          `json:"vantage_version"`
}

func (r scanReport) writeJSON(w io.Writer) error {
	return writeLine(w, r.document())
}

// writeLine writes v as one compact line of JSON: indenting 65535 ports
// doubles the output and its cost; jq pretty-prints for people.
func writeLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// document is the report as --json prints it.
func (r scanReport) document() jsonReport {
	s, t := r.Summary, r.Summary.Timing
	doc := jsonReport{
		Target:     r.Target,
		IP:         r.Addr.String(),
		StartedAt:  s.Started.UTC(),
		DurationMS: s.Duration.Milliseconds(),
		Ports:      make([]jsonPort, 0, len(r.Results)),
		Summary: jsonSummary{
			Open: s.Open, Closed: s.Closed, Filtered: s.Filtered, Attempts: s.Attempts,
			AllFiltered: s.AllFiltered(), Verdict: s.Verdict(),
			Timing: jsonTiming{
				InitialTimeoutMS: scan.Milliseconds(t.InitialTimeout),
				MinTimeoutMS:     scan.Milliseconds(t.MinTimeout),
				MaxTimeoutMS:     scan.Milliseconds(t.MaxTimeout),
				TimeoutMS:        scan.Milliseconds(t.Timeout),
				SRTTms:           scan.Milliseconds(t.SRTT),
				RTTVarMS:         scan.Milliseconds(t.RTTVar),
				Retries:          t.Retries,
				LossDetected:     t.LossDetected,
			},
		},
		Findings:       r.Findings,
		Grade:          r.Grade,
		CatalogVersion: ports.CatalogVersion,
		Version:        version,
	}
	for _, p := range r.Results {
		service, risk := describe(p.Port)
		doc.Ports = append(doc.Ports, jsonPort{p.Port, p.State, p.Reason, scan.Milliseconds(p.RTT), p.Attempts, service, risk})
	}
	return doc
}

// describe names the service a port is known for and its exposure risk.
func describe(port uint16) (service, risk string) {
	e, ok := ports.Lookup(port)
	if !ok {
		return "unknown", ""
	}
	return e.Service, e.Risk.String()
}

// collapseAbove is how many ports of one uninteresting kind the table lists
// before it folds them into a "Not shown" line, as nmap does.
const collapseAbove = 25

func (r scanReport) writeTable(w io.Writer, all bool) error {
	s := r.Summary
	hidden := map[scan.Reason]int{}
	if !all {
		for _, p := range r.Results {
			if p.State != scan.Open {
				hidden[p.Reason]++
			}
		}
		for reason, n := range hidden {
			if n <= collapseAbove {
				delete(hidden, reason)
			}
		}
	}
	fmt.Fprintf(w, "Vantage scan of %s", r.Target)
	if r.Target != r.Addr.String() {
		fmt.Fprintf(w, " (%s)", r.Addr)
	}
	fmt.Fprintf(w, ": %d ports, started %s\n\n", s.Ports, s.Started.UTC().Format("2006-01-02 15:04:05 MST"))

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PORT\tSTATE\tREASON\tRTT\tSERVICE\tRISK")
	listed := 0
	for _, p := range r.Results {
		if _, fold := hidden[p.Reason]; fold {
			continue
		}
		service, risk := describe(p.Port)
		if risk == "" {
			risk = "-"
		}
		fmt.Fprintf(tw, "%d/tcp\t%s\t%s\t%s\t%s\t%s\n", p.Port, p.State, p.Reason, formatRTT(p.RTT), service, risk)
		listed++
	}
	if listed == 0 {
		fmt.Fprintln(tw, "(no port to list)")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(hidden) > 0 {
		var parts []string
		for _, reason := range []scan.Reason{scan.ConnRefused, scan.NoResponse, scan.HostUnreach, scan.NetUnreach, scan.AdminProhibited} {
			if n, ok := hidden[reason]; ok {
				parts = append(parts, fmt.Sprintf("%d %s ports (%s)", n, reason.State(), reason))
			}
		}
		fmt.Fprintf(w, "Not shown: %s; --all lists them\n", strings.Join(parts, ", "))
	}

	t := s.Timing
	fmt.Fprintf(w, "\n%d ports in %.2fs: %d open, %d closed, %d filtered.\n", s.Ports, s.Duration.Seconds(), s.Open, s.Closed, s.Filtered)
	fmt.Fprintf(w, "Timing: timeout %s", formatRTT(t.Timeout))
	if t.Samples > 0 {
		fmt.Fprintf(w, " (srtt %s, rttvar %s)", formatRTT(t.SRTT), formatRTT(t.RTTVar))
	}
	fmt.Fprintf(w, ", %s per silent port, %d attempts", plural(t.Retries, "retry", "retries"), s.Attempts)
	if t.LossDetected {
		fmt.Fprintf(w, "; packet loss seen (about %.1f%% of first attempts), retries raised", 100*t.LossRate)
	}
	fmt.Fprintf(w, ".\n%s\n", s.Verdict())
	if len(r.Findings) > 0 {
		fmt.Fprintln(w, "\nChecks of the open ports:")
		for _, f := range r.Findings {
			title, lines, problem := report.Describe(f)
			mark := " "
			if problem {
				mark = "!"
			}
			fmt.Fprintf(w, "%s %d/tcp %s\n", mark, f.Port, title)
			if f.Err != "" {
				fmt.Fprintf(w, "    %s\n", f.Err)
			}
			for _, l := range lines {
				fmt.Fprintf(w, "    %s\n", l)
			}
		}
	}
	if r.Grade != nil {
		fmt.Fprintf(w, "\nGrade %s (A is best)\n", r.Grade.Letter)
		for _, reason := range r.Grade.Reasons {
			fmt.Fprintf(w, "  - %s (%s)\n", reason.Text, reason.Effect)
		}
	}
	return nil
}

func formatRTT(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return d.Round(time.Second).String()
	case d >= time.Millisecond:
		return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000)
	default:
		return fmt.Sprintf("%dµs", d.Microseconds())
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
