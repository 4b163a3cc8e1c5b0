// Package jobs owns the life of a scan in the service: submitted → queued →
// running → done, failed or cancelled. It bounds how many scans run and
// wait, shares one socket cap among all running scans, persists results as
// they land and fans them out to every watcher, so that a watcher arriving
// mid-scan sees the rows so far and then the live ones, none lost, none
// twice. It never resolves names or checks targets itself: it is given a
// pinned target and dials through the policy's guard.
package jobs

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/vantagescan/vantage/internal/probe"
	"github.com/vantagescan/vantage/internal/report"
	"github.com/vantagescan/vantage/internal/scan"
	"github.com/vantagescan/vantage/internal/store"
	"github.com/vantagescan/vantage/internal/target"
)

// Errors Submit returns.
var (
	ErrQueueFull    = errors.New("jobs: the scan queue is full")
	ErrShuttingDown = errors.New("jobs: the service is shutting down")
	// ErrQueueTooSmall: the request needs more queue places than the
	// queue has at all (a pair with MaxQueued 1), so retrying cannot help.
	ErrQueueTooSmall = errors.New("jobs: the scan queue is too small for this request")
	// ErrFinished: Cancel came after the scan had ended.
	ErrFinished = errors.New("jobs: the scan has already ended")
)

// errStoppedByCreator is the cancel cause of a scan its creator stopped.
var errStoppedByCreator = errors.New("jobs: stopped by the person who started it")

// Config tunes a Runner.
type Config struct {
	Store      store.Store
	Policy     *target.Policy // its Control guards every socket of every scan
	Scan       scan.Config    // per-scan engine settings; Control and Sockets are set by the Runner
	MaxRunning int            // scans running at once (default 2)
	MaxQueued  int            // scans waiting for a slot (default 20)
	MaxSockets int            // sockets in flight across all running scans (default 1024)
	Grace      time.Duration  // how long Shutdown lets running scans finish (default 10s)
	Log        *slog.Logger
	Now        func() time.Time // for tests; default time.Now
	Metrics    Recorder         // optional
	// Probe, when set, runs the follow-up checks on open ports after the
	// port scan (its Dial and Host are set per scan).
	Probe *probe.Config
}

// Outcome is what the store keeps as a finished scan's summary.
type Outcome struct {
	Scan     scan.Summary    `json:"scan"`
	Findings []probe.Finding `json:"findings,omitempty"`
	Grade    *report.Grade   `json:"grade,omitempty"`
}

// Recorder receives what the runner measures (internal/metrics is one).
type Recorder interface {
	ScanEnded(outcome string, d time.Duration)
	PortDecided(state string)
}

type noRecorder struct{}

func (noRecorder) ScanEnded(string, time.Duration) {}
func (noRecorder) PortDecided(string)              {}

// Request is a scan to run: a target already pinned by the policy and a
// parsed port set.
type Request struct {
	Target   target.PinnedTarget
	PortSpec string   // as given, for display
	Ports    []uint16 // parsed, unique
	Client   string   // who asked, for the log line
	// PreviousID links a rescan to the scan it repeats.
	PreviousID string
}

// Runner runs scans.
type Runner struct {
	cfg     Config
	sockets *scan.SocketPool
	base    context.Context // cancelled when Shutdown's grace runs out
	stop    context.CancelFunc
	wg      sync.WaitGroup

	mu       sync.Mutex
	ready    *sync.Cond // signalled when a job is queued or the runner closes
	closed   bool
	waiting  []*job          // queued scans in order; workers take the first
	live     map[string]*job // queued and running scans
	capacity int             // MaxQueued minus scans waiting
}

// job is one live scan and its fan-out.
type job struct {
	id  string
	req Request

	mu       sync.Mutex
	status   store.Status
	probing  bool // the port scan is over; follow-up checks are running
	results  []store.Result
	findings []probe.Finding
	changed  chan struct{} // closed and replaced whenever results, findings or status change
	done     chan struct{} // closed once the scan is final (and stored so)
	started  bool          // a worker took it from the queue
	stopped  bool          // its creator stopped it (Cancel)
	cancel   context.CancelCauseFunc
}

// New returns a Runner; call Start before Submit.
func New(cfg Config) (*Runner, error) {
	if cfg.Store == nil || cfg.Policy == nil {
		return nil, errors.New("jobs: Store and Policy are required")
	}
	if cfg.MaxRunning <= 0 {
		cfg.MaxRunning = 2
	}
	if cfg.MaxQueued < 0 {
		return nil, errors.New("jobs: MaxQueued must not be negative")
	}
	if cfg.MaxQueued == 0 {
		cfg.MaxQueued = 20
	}
	if cfg.MaxSockets <= 0 {
		cfg.MaxSockets = 1024
	}
	if cfg.Grace <= 0 {
		cfg.Grace = 10 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Metrics == nil {
		cfg.Metrics = noRecorder{}
	}
	base, stop := context.WithCancel(context.Background())
	r := &Runner{
		cfg:      cfg,
		sockets:  scan.NewSocketPool(cfg.MaxSockets),
		base:     base,
		stop:     stop,
		live:     map[string]*job{},
		capacity: cfg.MaxQueued,
	}
	r.ready = sync.NewCond(&r.mu)
	return r, nil
}

// Start marks scans a previous process left queued or running as
// interrupted, then starts the workers.
func (r *Runner) Start(ctx context.Context) error {
	n, err := r.cfg.Store.Interrupt(ctx, "The service restarted while this scan was running; the rows below are what it had found.", r.cfg.Now())
	if err != nil {
		return fmt.Errorf("jobs: mark interrupted scans: %w", err)
	}
	if n > 0 {
		r.cfg.Log.Warn("scans interrupted by the last stop", "count", n)
	}
	for range r.cfg.MaxRunning {
		r.wg.Go(r.work)
	}
	return nil
}

// Submit queues a scan and returns its ID.
func (r *Runner) Submit(ctx context.Context, req Request) (string, error) {
	ids, err := r.submit(ctx, req)
	if err != nil {
		return "", err
	}
	return ids[0], nil
}

// SubmitPair queues a dual-stack comparison: the same name and ports over
// IPv4 (a) and IPv6 (b), stored together with each scan naming the other.
// Both are queued or neither is: the queue needs room for two.
func (r *Runner) SubmitPair(ctx context.Context, a, b Request) (idA, idB string, err error) {
	if !a.Target.IP.Is4() || !b.Target.IP.Is6() || b.Target.IP.Is4In6() {
		return "", "", errors.New("jobs: a pair is an IPv4 request and an IPv6 one")
	}
	ids, err := r.submit(ctx, a, b)
	if err != nil {
		return "", "", err
	}
	return ids[0], ids[1], nil
}

func (r *Runner) submit(ctx context.Context, reqs ...Request) ([]string, error) {
	for _, req := range reqs {
		if len(req.Ports) == 0 || !req.Target.IP.IsValid() {
			return nil, errors.New("jobs: a request needs a pinned address and ports")
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.closed:
		return nil, ErrShuttingDown
	case len(reqs) > r.cfg.MaxQueued:
		return nil, ErrQueueTooSmall
	case r.capacity < len(reqs):
		return nil, ErrQueueFull
	}
	now := r.cfg.Now()
	jobs := make([]*job, len(reqs))
	scans := make([]store.Scan, len(reqs))
	for i, req := range reqs {
		jobs[i] = &job{id: store.NewID(), req: req, status: store.Queued, changed: make(chan struct{}), done: make(chan struct{})}
		scans[i] = store.Scan{
			ID: jobs[i].id, Target: req.Target.Typed, Host: req.Target.Host, IP: req.Target.IP,
			PortSpec: req.PortSpec, PortCount: len(req.Ports), Status: store.Queued, CreatedAt: now,
			PreviousID: req.PreviousID,
		}
	}
	if len(reqs) == 2 {
		scans[0].SiblingID, scans[1].SiblingID = scans[1].ID, scans[0].ID
	}
	if err := r.cfg.Store.CreateScan(ctx, scans...); err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	ids := make([]string, len(jobs))
	for i, j := range jobs {
		r.capacity--
		r.waiting = append(r.waiting, j)
		r.live[j.id] = j
		ids[i] = j.id
	}
	r.ready.Broadcast()
	return ids, nil
}

// Protect gives a scan a secret delete token and stores only its hash;
// the creator keeps the token (a cookie scoped to the scan, or the API
// answer).
//
// The scans of one request (an IPv4/IPv6 pair) share one token: whoever
// started them may stop or delete either.
func (r *Runner) Protect(ctx context.Context, ids ...string) (string, error) {
	token := rand.Text()
	sum := sha256.Sum256([]byte(token))
	for _, id := range ids {
		if err := r.cfg.Store.SetDeleteHash(ctx, id, sum[:]); err != nil {
			return "", err
		}
	}
	return token, nil
}

// Delete removes a finished scan for good when token is its delete token.
func (r *Runner) Delete(ctx context.Context, id, token string) error {
	sum := sha256.Sum256([]byte(token))
	return r.cfg.Store.Delete(ctx, id, sum[:])
}

// Position returns a queued scan's place in the queue (1 is next), or 0 if
// it is not waiting.
func (r *Runner) Position(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.position(id)
}

// position is Position with r.mu held.
func (r *Runner) position(id string) int {
	return slices.IndexFunc(r.waiting, func(j *job) bool { return j.id == id }) + 1
}

// Running returns the number of scans running and waiting.
func (r *Runner) Running() (running, queued int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.live) - len(r.waiting), len(r.waiting)
}

func (r *Runner) work() {
	for {
		r.mu.Lock()
		for len(r.waiting) == 0 && !r.closed {
			r.ready.Wait()
		}
		if len(r.waiting) == 0 { // closed and drained
			r.mu.Unlock()
			return
		}
		j := r.waiting[0]
		r.waiting[0] = nil // the slice's array must not keep the job alive
		r.waiting = r.waiting[1:]
		r.capacity++
		closed := r.closed
		r.mu.Unlock()
		if !j.begin() {
			continue // stopped by its creator as it left the queue: already final
		}
		if closed {
			r.finish(j, store.Cancelled, "The service shut down before this scan could start.", nil)
			continue
		}
		r.run(j)
	}
}

// begin marks a job taken from the queue, unless its creator stopped it.
func (j *job) begin() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.stopped {
		return false
	}
	j.started = true
	return true
}

// Cancel stops a queued or running scan when token is its delete token:
// a queued one ends at once, a running one within moments, keeping the
// rows it has found. ErrFinished when it has already ended; the store's
// ErrForbidden or ErrNotFound for a wrong token or an unknown scan.
func (r *Runner) Cancel(ctx context.Context, id, token string) error {
	sum := sha256.Sum256([]byte(token))
	if err := r.cfg.Store.CheckDeleteHash(ctx, id, sum[:]); err != nil {
		return err
	}
	r.mu.Lock()
	j := r.live[id]
	r.mu.Unlock()
	if j == nil {
		return ErrFinished
	}
	j.mu.Lock()
	if j.stopped {
		j.mu.Unlock()
		return nil
	}
	j.stopped = true
	started, cancel := j.started, j.cancel
	j.mu.Unlock()
	switch {
	case !started: // still waiting: no worker will run it now
		r.mu.Lock()
		if i := r.position(id) - 1; i >= 0 { // else a worker has just taken it, and begin refuses it
			r.waiting = slices.Delete(r.waiting, i, i+1)
			r.capacity++ // its place in the queue is free at once
		}
		r.mu.Unlock()
		r.finish(j, store.Cancelled, "Stopped by the person who started it, before it began.", nil)
		r.cfg.Metrics.ScanEnded(string(store.Cancelled), 0)
	case cancel != nil:
		cancel(errStoppedByCreator)
	}
	// Started but not yet cancellable: run sees stopped as it sets cancel
	// and ends the scan there.
	r.cfg.Log.Info("scan stopped by its creator", "id", id)
	return nil
}

// run scans one job to its end.
func (r *Runner) run(j *job) {
	ctx, cancel := context.WithCancelCause(r.base)
	defer cancel(nil)
	j.mu.Lock()
	j.cancel = cancel
	stopped := j.stopped
	j.mu.Unlock()
	if stopped { // Cancel came between begin and here
		r.finish(j, store.Cancelled, "Stopped by the person who started it, before it began.", nil)
		return
	}

	started := r.cfg.Now()
	// The record must say running even if the scan is stopped this instant.
	if err := r.cfg.Store.Start(context.WithoutCancel(ctx), j.id, started); err != nil {
		r.finish(j, store.Failed, "The scan could not be started.", nil)
		r.cfg.Log.Error("scan start", "id", j.id, "err", err)
		return
	}
	j.setStatus(store.Running)

	cfg := r.cfg.Scan
	cfg.Control = r.cfg.Policy.Control(j.req.Target.IP)
	cfg.Sockets = r.sockets
	cfg.Dial = nil
	scanner, err := scan.New(cfg)
	if err != nil {
		r.finish(j, store.Failed, "The scan could not be started.", nil)
		r.cfg.Log.Error("scan config", "id", j.id, "err", err)
		return
	}
	w := newWriter(r.cfg.Store, j.id, r.cfg.Log)
	sum, err := scanner.Scan(ctx, j.req.Target.IP, j.req.Ports, func(res scan.PortResult) {
		row := j.add(res)
		w.add(row)
		r.cfg.Metrics.PortDecided(row.State)
	})
	w.close() // every row is in the store before the final status
	status, reason := outcome(err)
	out := Outcome{Scan: sum}
	if err == nil {
		out.Findings, out.Grade = r.followUp(ctx, j)
	}
	if errors.Is(context.Cause(ctx), errStoppedByCreator) {
		status, reason = store.Cancelled, "Stopped by the person who started it; the rows below are what it had found."
		if err == nil {
			reason = "Stopped by the person who started it while the follow-up checks ran: every port was decided, some checks were cut short, so there is no grade."
		}
		out.Grade = nil // a grade from cut-short checks would flatter the host
	}
	summary, _ := json.Marshal(out)
	r.finish(j, status, reason, summary)
	r.cfg.Metrics.ScanEnded(string(status), time.Since(started))
	r.cfg.Log.Info("scan",
		slog.String("id", j.id), slog.String("client", j.req.Client),
		slog.String("target", j.req.Target.Host), slog.String("ip", j.req.Target.IP.String()),
		slog.Int("ports", len(j.req.Ports)), slog.Int("open", sum.Open),
		slog.Duration("duration", time.Since(started)), slog.String("outcome", string(status)),
		slog.Any("err", err))
}

// followUp runs the checks on the open ports (streaming each finding to
// watchers) and grades the host.
func (r *Runner) followUp(ctx context.Context, j *job) ([]probe.Finding, *report.Grade) {
	j.mu.Lock()
	j.probing = true
	rows := slices.Clone(j.results)
	j.wake()
	j.mu.Unlock()
	var open []uint16
	ports := make([]report.Port, len(rows))
	for i, row := range rows {
		ports[i] = report.Port{Port: row.Port, State: row.State}
		if row.State == "open" {
			open = append(open, row.Port)
		}
	}
	if r.cfg.Probe != nil && len(open) > 0 {
		cfg := *r.cfg.Probe
		cfg.Dial = r.cfg.Policy.Dialer(j.req.Target.IP).DialContext
		cfg.Host = j.req.Target.Host
		if err := probe.Run(ctx, cfg, j.req.Target.IP, open, j.addFinding); err != nil {
			r.cfg.Log.Warn("probes", "id", j.id, "err", err)
		}
	}
	j.mu.Lock()
	findings := slices.Clone(j.findings)
	j.mu.Unlock()
	g := report.Compute(ports, findings, r.cfg.Now())
	return findings, &g
}

// outcome turns the engine's error into a final status and the sentence
// the results page shows.
func outcome(err error) (store.Status, string) {
	switch {
	case err == nil:
		return store.Done, ""
	case errors.Is(err, context.Canceled):
		return store.Cancelled, "The scan was stopped before it finished (the service was shutting down)."
	case errors.Is(err, scan.ErrDeadline):
		return store.Failed, "The scan ran out of time before every port was decided."
	case errors.Is(err, target.ErrForbidden):
		return store.Failed, "The scan was stopped: a connection would have left the pinned address."
	case errors.Is(err, scan.ErrNoRoute):
		return store.Failed, "The scanning server has no network route to this address (for an IPv6 address: the server may have no IPv6 connectivity), so the scan could not go on. This says nothing about the host's ports."
	default:
		return store.Failed, "The scan failed on the scanning server's side; please try again later."
	}
}

func (r *Runner) finish(j *job, status store.Status, reason string, summary []byte) {
	// A fresh context: the scan's own may be cancelled, the record must land.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.cfg.Store.Finish(ctx, j.id, status, reason, summary, r.cfg.Now()); err != nil {
		r.cfg.Log.Error("scan finish", "id", j.id, "err", err)
	}
	r.mu.Lock()
	delete(r.live, j.id)
	r.mu.Unlock()
	j.setStatus(status)
	close(j.done)
}

// closedChan is what Done returns for a scan that is not live.
var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// Done returns a channel closed once the scan is final and stored so:
// already closed for a scan that is not queued or running here (final, or
// unknown). Cheaper than following Watch when only the end matters.
func (r *Runner) Done(id string) <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	if j := r.live[id]; j != nil {
		return j.done
	}
	return closedChan
}

// Shutdown stops accepting scans, cancels the queued ones, lets running
// scans finish for the grace period (or until ctx ends), then cancels them;
// every scan ends with a final status.
func (r *Runner) Shutdown(ctx context.Context) {
	r.mu.Lock()
	r.closed = true
	r.ready.Broadcast()
	r.mu.Unlock()
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	grace := time.NewTimer(r.cfg.Grace)
	defer grace.Stop()
	select {
	case <-done:
	case <-grace.C:
	case <-ctx.Done():
	}
	r.stop()
	<-done
}

// Snapshot is what a watcher sees at one moment.
type Snapshot struct {
	Scan    store.Scan     // the stored record (Status current as of the read)
	Rows    []store.Result // rows after the watcher's cursor
	Changed <-chan struct{}
	// Changed is closed when more rows arrive or the status changes; nil
	// when the scan is final (nothing more will come).
	Position int // place in the queue while queued
	// Probing is true once every port is decided and the follow-up checks
	// run; Findings holds every check finished so far (for a final scan:
	// all of them, from the stored outcome).
	Probing  bool
	Findings []probe.Finding
}

// Watch returns the scan's rows with Seq > after. While the scan is live,
// Changed says when to call Watch again with the last Seq seen; once the
// scan is final, Changed is nil. Unknown IDs give store.ErrNotFound.
func (r *Runner) Watch(ctx context.Context, id string, after int) (Snapshot, error) {
	r.mu.Lock()
	j := r.live[id]
	pos := r.position(id)
	r.mu.Unlock()
	if j != nil {
		rows, status, changed, probing, findings := j.since(after)
		if !status.Final() {
			sc, err := r.cfg.Store.Scan(ctx, id)
			if err != nil {
				return Snapshot{}, err
			}
			sc.Status = status
			return Snapshot{Scan: sc, Rows: rows, Changed: changed, Position: pos, Probing: probing, Findings: findings}, nil
		}
		// It ended between the two reads: the store has everything.
	}
	sc, err := r.cfg.Store.Scan(ctx, id)
	if err != nil {
		return Snapshot{}, err
	}
	rows, err := r.cfg.Store.Results(ctx, id, after)
	if err != nil {
		return Snapshot{}, err
	}
	snap := Snapshot{Scan: sc, Rows: rows, Probing: true}
	if out, ok := ReadOutcome(sc.Summary); ok {
		snap.Findings = out.Findings
	}
	return snap, nil
}

// ReadOutcome decodes a stored summary.
func ReadOutcome(b []byte) (Outcome, bool) {
	var out Outcome
	if len(b) == 0 || json.Unmarshal(b, &out) != nil {
		return Outcome{}, false
	}
	return out, true
}

// add records a decided port and wakes the watchers.
func (j *job) add(res scan.PortResult) store.Result {
	j.mu.Lock()
	defer j.mu.Unlock()
	row := store.Result{
		Seq: len(j.results) + 1, Port: res.Port, State: res.State.String(), Reason: res.Reason.String(),
		RTT: res.RTT, Attempts: res.Attempts,
	}
	j.results = append(j.results, row)
	j.wake()
	return row
}

// addFinding records a follow-up check's result and wakes the watchers.
func (j *job) addFinding(f probe.Finding) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.findings = append(j.findings, f)
	j.wake()
}

func (j *job) setStatus(s store.Status) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.status = s
	j.wake()
}

// wake closes the current change channel; j.mu is held.
func (j *job) wake() {
	if j.changed == nil {
		return // final already
	}
	close(j.changed)
	if j.status.Final() {
		j.changed = nil
		return
	}
	j.changed = make(chan struct{})
}

func (j *job) since(after int) ([]store.Result, store.Status, <-chan struct{}, bool, []probe.Finding) {
	j.mu.Lock()
	defer j.mu.Unlock()
	var rows []store.Result
	if after < len(j.results) {
		rows = slices.Clone(j.results[max(after, 0):])
	}
	findings := slices.Clone(j.findings)
	if j.changed == nil {
		return rows, j.status, nil, j.probing, findings
	}
	return rows, j.status, j.changed, j.probing, findings
}
