package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/vantagescan/vantage/internal/jobs"
	"github.com/vantagescan/vantage/internal/limit"
	"github.com/vantagescan/vantage/internal/metrics"
	"github.com/vantagescan/vantage/internal/probe"
	"github.com/vantagescan/vantage/internal/scan"
	"github.com/vantagescan/vantage/internal/store"
	"github.com/vantagescan/vantage/internal/target"
	"github.com/vantagescan/vantage/web"
)

// serveOptions are the flags of `vantage serve`; each has an environment
// twin VANTAGE_<NAME> (dashes as underscores), which the flag overrides.
type serveOptions struct {
	addr        string
	metricsAddr string
	db          string
	allow       prefixList
	deny        prefixList
	resolver    string
	maxRunning  int
	maxQueued   int
	maxSockets  int
	maxPorts    int
	retention   time.Duration
	grace       time.Duration
	logFormat   string

	ratePerHour    float64
	rateBurst      int
	targetCooldown time.Duration
	scanRate       float64
	trustedProxies prefixList
}

func serveFlags(o *serveOptions, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("vantage serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.addr, "addr", ":8080", "`address` to serve HTTP on")
	fs.StringVar(&o.metricsAddr, "metrics-addr", "127.0.0.1:9090", "`address` of the Prometheus /metrics listener, kept apart from the public one (empty: off)")
	fs.StringVar(&o.db, "db", "./data/vantage.db", "SQLite database `file` (created if missing)")
	fs.Var(&o.allow, "allow-cidr", "let scans into this `CIDR` although the policy forbids it (repeatable; logged loudly)")
	fs.Var(&o.deny, "deny-cidr", "never scan this `CIDR` (repeatable)")
	fs.StringVar(&o.resolver, "resolver", "", "DNS server `HOST:PORT` for names (default: the system's)")
	fs.IntVar(&o.maxRunning, "max-running", 2, "scans running at once")
	fs.IntVar(&o.maxQueued, "max-queue", 20, "scans waiting for a slot; beyond it the form answers 503")
	fs.IntVar(&o.maxSockets, "max-sockets", 1024, "sockets in flight across all running scans")
	fs.IntVar(&o.maxPorts, "max-ports", web.DefaultMaxPorts, "largest port set the form accepts")
	fs.DurationVar(&o.retention, "retention", 30*24*time.Hour, "how long results are kept")
	fs.DurationVar(&o.grace, "grace", 10*time.Second, "how long running scans may finish on shutdown")
	fs.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	fs.Float64Var(&o.ratePerHour, "rate-per-hour", 20, "scans one client (IPv4 address or IPv6 /64) may start per hour")
	fs.IntVar(&o.rateBurst, "rate-burst", 3, "scans one client may start at once before the hourly rate applies")
	fs.DurationVar(&o.targetCooldown, "target-cooldown", time.Minute, "the same target and ports asked again within this get the recent result (0: off)")
	fs.Float64Var(&o.scanRate, "scan-rate", 1000, "new connections per second one scan may open")
	fs.Var(&o.trustedProxies, "trusted-proxy", "`CIDR` of a reverse proxy whose X-Forwarded-For is believed (repeatable)")
	return fs
}

// applyEnv sets every flag not given on the command line from its
// VANTAGE_* twin.
func applyEnv(fs *flag.FlagSet, getenv func(string) string) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		name := "VANTAGE_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		v := getenv(name)
		if given[f.Name] || v == "" {
			return
		}
		for _, part := range strings.Split(v, " ") { // repeatable flags: space-separated
			if part == "" {
				continue
			}
			if err := fs.Set(f.Name, part); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
			}
		}
	})
	return errors.Join(errs...)
}

func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var o serveOptions
	fs := serveFlags(&o, stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return errSilentExit
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("serve takes no arguments, got %q", fs.Args())}
	}
	if err := applyEnv(fs, getenv); err != nil {
		return usageError{err.Error()}
	}
	log, err := newLogger(o.logFormat, stderr)
	if err != nil {
		return usageError{err.Error()}
	}

	policy, err := target.NewPolicy(target.PolicyConfig{Allow: o.allow, Deny: o.deny, Interfaces: true})
	if err != nil {
		return usageError{err.Error()}
	}
	if open := policy.AllowsForbidden(); len(open) > 0 {
		l := prefixList(open)
		log.Warn("ALLOW-CIDR IS SET: scans may reach ranges the target policy forbids", "allow_cidr", l.String())
	}
	resolver, err := target.NewResolver(o.resolver)
	if err != nil {
		return usageError{err.Error()}
	}
	st, err := store.OpenSQLite(ctx, o.db)
	if err != nil {
		return fmt.Errorf("open the database: %w", err)
	}
	defer st.Close()

	// The gauges read the runner when scraped, after it exists.
	var runner *jobs.Runner
	m := metrics.New(
		func() float64 { n, _ := runner.Running(); return float64(n) },
		func() float64 { _, n := runner.Running(); return float64(n) },
	)
	runner, err = jobs.New(jobs.Config{
		Store: st, Policy: policy, Log: log, Grace: o.grace, Metrics: m,
		MaxRunning: o.maxRunning, MaxQueued: o.maxQueued, MaxSockets: o.maxSockets,
		Scan:  scan.Config{Concurrency: 256, Rate: o.scanRate, MaxDuration: 10 * time.Minute},
		Probe: &probe.Config{}, // the defaults: 3 s per check, 10 s in all, 4 at once
	})
	if err != nil {
		return usageError{err.Error()}
	}
	if err := runner.Start(ctx); err != nil {
		return err
	}
	purgeCtx, stopPurge := context.WithCancel(context.Background())
	defer stopPurge()
	go st.RunPurger(purgeCtx, time.Hour, o.retention, log)

	clients, err := limit.NewClients(o.ratePerHour, o.rateBurst, 0, nil)
	if err != nil {
		return usageError{err.Error()}
	}
	go sweepEvery(purgeCtx, 10*time.Minute, clients.Sweep)

	var shuttingDown atomic.Bool
	srv := &http.Server{
		Handler: web.NewServer(web.Deps{
			Log: log, Runner: runner, Pinner: &target.Pinner{Policy: policy, Resolver: resolver}, Store: st,
			MaxPorts: o.maxPorts, Ready: func() bool { return !shuttingDown.Load() },
			Clients: clients, Cooldown: limit.NewCooldown(o.targetCooldown, 0, nil), TrustedProxies: o.trustedProxies,
			Metrics: m, Version: version,
		}),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		// No WriteTimeout: a results page streams for as long as its scan runs.
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	log.Info("serving", "addr", ln.Addr().String(), "db", o.db)
	fmt.Fprintf(stdout, "Vantage is serving on http://%s\n", displayAddr(ln.Addr()))
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	var metricsSrv *http.Server
	if o.metricsAddr != "" {
		mln, err := net.Listen("tcp", o.metricsAddr)
		if err != nil {
			_ = srv.Close()
			return fmt.Errorf("metrics listen: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", m.Handler())
		metricsSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second}
		go func() { _ = metricsSrv.Serve(mln) }()
		log.Info("metrics", "addr", mln.Addr().String())
		fmt.Fprintf(stdout, "Metrics on http://%s/metrics\n", displayAddr(mln.Addr()))
	}

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shuttingDown.Store(true)
	// Scans first: their pages stream until they end, so the HTTP server
	// can only drain once they have.
	stopCtx, cancel := context.WithTimeout(context.Background(), o.grace+15*time.Second)
	defer cancel()
	runner.Shutdown(stopCtx)
	if err := srv.Shutdown(stopCtx); err != nil {
		log.Warn("http shutdown", "err", err)
	}
	if metricsSrv != nil {
		_ = metricsSrv.Shutdown(stopCtx)
	}
	return nil
}

// sweepEvery calls f every interval until ctx ends.
func sweepEvery(ctx context.Context, every time.Duration, f func()) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			f()
		case <-ctx.Done():
			return
		}
	}
}

func newLogger(format string, w io.Writer) (*slog.Logger, error) {
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, nil)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, nil)), nil
	}
	return nil, fmt.Errorf("--log-format must be text or json, not %q", format)
}

// displayAddr turns ":8080" into "localhost:8080" for the start-up line.
func displayAddr(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if host == "" || host == "::" || host == "0.0.0.0" {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}
