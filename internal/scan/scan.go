package scan

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Errors Scan returns besides the context's own.
var (
	ErrDeadline     = errors.New("the scan hit its time limit")
	ErrInvalidInput = errors.New("invalid scan input")
	// ErrNoRoute: this machine cannot reach the target at all (no route,
	// e.g. no IPv6 connectivity, or no IPv6 in the kernel). connect() failed
	// at once, before any packet left, so it says nothing about the
	// target's ports and is not reported as a port state.
	ErrNoRoute = errors.New("this machine has no route to the target")
)

// maxLocalErrors bounds how often one port may hit a local shortage
// (EMFILE, EADDRNOTAVAIL, …) before the scan gives up on this machine.
const maxLocalErrors = 12

// errProbeTimeout is the cancel cause the probe timer sets.
var errProbeTimeout = errors.New("probe timed out")

// Scanner runs TCP connect scans with one configuration. It is safe for
// concurrent use; each Scan has its own timing state.
type Scanner struct {
	cfg Config
}

// New returns a Scanner, filling zero Config fields with the defaults.
func New(cfg Config) (*Scanner, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Scanner{cfg: c}, nil
}

// Config returns the effective configuration (defaults filled in).
func (s *Scanner) Config() Config { return s.cfg }

// Scan probes each port of addr and calls emit once per port as soon as the
// port is decided: answered ports as their answers land, silent ports
// (filtered/no-response) at the end, once the retry budget is final. emit is
// never called concurrently and should return quickly.
//
// Scan returns when every port is decided, or early with ctx's error or
// ErrDeadline; in every case no attempt is left running and no socket open.
func (s *Scanner) Scan(ctx context.Context, addr netip.Addr, ports []uint16, emit func(PortResult)) (Summary, error) {
	start := time.Now()
	addr = addr.Unmap()
	if !addr.IsValid() || addr.Zone() != "" || addr.IsUnspecified() {
		return Summary{Started: start}, fmt.Errorf("%w: %q is not a single IP address", ErrInvalidInput, addr)
	}
	ports, err := uniquePorts(ports)
	if err != nil {
		return Summary{Started: start}, err
	}
	if emit == nil {
		emit = func(PortResult) {}
	}
	if s.cfg.MaxDuration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, s.cfg.MaxDuration, ErrDeadline)
		defer cancel()
	}
	sh := newShared(s.cfg, emit)
	shards := newShards(s.cfg, sh, addr, ports)
	err = runShards(ctx, shards)
	if err == nil {
		flushSilent(sh, shards)
	}
	sum := summarize(sh, shards, start)
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err() // a stop wins over whatever the stopped attempts said
		}
		if errors.Is(context.Cause(ctx), ErrDeadline) {
			return sum, fmt.Errorf("%w (%v); %d of %d ports decided", ErrDeadline, s.cfg.MaxDuration, sum.Decided, sum.Ports)
		}
		return sum, err
	}
	return sum, nil
}

func uniquePorts(ports []uint16) ([]uint16, error) {
	if len(ports) == 0 {
		return nil, fmt.Errorf("%w: no ports to scan", ErrInvalidInput)
	}
	var seen [65536 / 64]uint64
	out := make([]uint16, 0, len(ports))
	for _, p := range ports {
		if p == 0 {
			return nil, fmt.Errorf("%w: port 0 cannot be scanned", ErrInvalidInput)
		}
		if seen[p/64]&(1<<(p%64)) != 0 {
			continue
		}
		seen[p/64] |= 1 << (p % 64)
		out = append(out, p)
	}
	return out, nil
}

// outcome is one attempt's result, sent from its goroutine to the dispatcher.
type outcome struct {
	idx    int32
	kind   kind
	reason Reason
	rtt    time.Duration
	err    error
	// immediate marks an attempt that ended inside socket()/connect()
	// and so was never counted in flight.
	immediate bool
}

type portState struct {
	attempts  int
	localErrs int
	waited    time.Duration // how long the last silent attempt waited
	decided   bool
}

// shared is what the shards of one scan have in common: the timing
// estimate, the rate limiter, the retry budget and the output.
type shared struct {
	cfg Config
	est *rttEstimator
	lim *rate.Limiter

	mu              sync.Mutex
	retries         int // current retry budget; never falls during a scan
	answered        int
	answeredOnRetry int

	emitMu sync.Mutex
	emit   func(PortResult)
}

func newShared(cfg Config, emit func(PortResult)) *shared {
	sh := &shared{
		cfg:     cfg,
		est:     newRTTEstimator(cfg.InitialTimeout, cfg.MinTimeout, cfg.MaxTimeout),
		retries: cfg.Retries,
		emit:    emit,
	}
	if cfg.Rate > 0 {
		sh.lim = rate.NewLimiter(rate.Limit(cfg.Rate), cfg.Burst)
	}
	return sh
}

func (sh *shared) budget() int {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return sh.retries
}

// answer records an answered port and returns the retry budget. Once
// answers arrive only on retries, packets are being lost, and more retries
// keep open ports from being misread as filtered.
func (sh *shared) answer(onRetry bool) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.answered++
	if onRetry {
		sh.answeredOnRetry++
	}
	if sh.answeredOnRetry == 0 {
		return
	}
	lossRate := float64(sh.answeredOnRetry) / float64(sh.answered)
	need := max(retriesFor(lossRate, sh.cfg.LossTarget), sh.cfg.Retries+1, sh.retries)
	sh.retries = min(need, sh.cfg.MaxRetries)
}

func (sh *shared) send(r PortResult) {
	sh.emitMu.Lock()
	defer sh.emitMu.Unlock()
	sh.emit(r)
}

// run is one shard of a scan: a share of the ports and everything about
// them. All its fields but wg and results are owned by the goroutine
// running its loop.
type run struct {
	cfg   Config
	sh    *shared
	addr  netip.Addr
	ports []uint16

	wg      sync.WaitGroup
	results chan outcome

	state    []portState
	queue    []int32 // port indices waiting for an attempt, FIFO from head
	head     int
	silent   []int32 // ports silent on every attempt so far
	inflight int
	conc     int // effective concurrency: cut on local shortages, regrown on answers

	pauseUntil time.Time // no launches before this, after a local shortage

	attempts int
	counts   [Filtered + 1]int
}

// newShards splits a scan into independent shards, one per core the native
// connector can keep busy (the kernel work of connect() and close() is what
// bounds a fast scan), each with its share of the concurrency.
func newShards(cfg Config, sh *shared, addr netip.Addr, ports []uint16) []*run {
	n := 1
	if cfg.Dial == nil && len(ports) >= minPortsPerShard*2 {
		n = min(runtime.GOMAXPROCS(0), maxShards, len(ports)/minPortsPerShard, cfg.Concurrency)
	}
	shards := make([]*run, n)
	for i := range shards {
		var mine []uint16
		for j := i; j < len(ports); j += n {
			mine = append(mine, ports[j])
		}
		conc := cfg.Concurrency / n
		if i < cfg.Concurrency%n {
			conc++
		}
		shards[i] = newRun(cfg, sh, addr, mine, conc)
	}
	return shards
}

const (
	maxShards        = 8
	minPortsPerShard = 256
)

func newRun(cfg Config, sh *shared, addr netip.Addr, ports []uint16, conc int) *run {
	r := &run{
		cfg:   cfg,
		sh:    sh,
		addr:  addr,
		ports: ports,
		state: make([]portState, len(ports)),
		queue: make([]int32, len(ports)),
		conc:  conc,
	}
	if cfg.Dial != nil {
		r.results = make(chan outcome, conc) // room for every attempt in flight
	}
	for i := range r.queue {
		r.queue[i] = int32(i)
	}
	return r
}

// runShards runs every shard until each is idle, then gives ports that went
// silent before the retry budget rose the attempts they are owed, and runs
// again, until no port is owed anything.
func runShards(ctx context.Context, shards []*run) error {
	for {
		if err := runShardsOnce(ctx, shards); err != nil {
			return err
		}
		owed := false
		for _, r := range shards {
			if r.requeueSilent() {
				owed = true
			}
		}
		if !owed {
			return nil
		}
	}
}

func runShardsOnce(ctx context.Context, shards []*run) error {
	if len(shards) == 1 {
		return shards[0].run(ctx)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	for _, r := range shards {
		wg.Go(func() {
			if err := r.run(ctx); err != nil {
				cancel(err)
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && ctx.Err() != nil {
		return err
	}
	return nil
}

// run drives the shard's attempts until it is idle.
func (r *run) run(ctx context.Context) error {
	if r.cfg.Dial == nil {
		return r.loopNative(ctx)
	}
	probeCtx, cancel := context.WithCancel(ctx)
	err := r.loop(ctx, probeCtx)
	cancel()
	r.wg.Wait() // the results channel holds every in-flight outcome, so this cannot block
	return err
}

// loop dispatches attempts to Dial, one goroutine each, and digests their
// outcomes until nothing is queued or in flight.
func (r *run) loop(ctx, probeCtx context.Context) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := r.launch(ctx, probeCtx); err != nil {
			return err
		}
		if r.inflight == 0 {
			return nil
		}
		select {
		case o := <-r.results:
			r.inflight--
			if err := r.handle(o); err != nil {
				return err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// launch starts attempts while the concurrency and rate caps allow.
func (r *run) launch(ctx, probeCtx context.Context) error {
	for r.inflight < r.conc && r.head < len(r.queue) {
		if r.sh.lim != nil {
			if err := r.sh.lim.Wait(ctx); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				<-ctx.Done() // the wait would pass the scan's deadline
				return ctx.Err()
			}
		}
		idx := r.queue[r.head]
		r.head++
		r.inflight++
		r.wg.Add(1)
		go r.attempt(probeCtx, idx, r.state[idx].localErrs)
	}
	if r.head == len(r.queue) {
		r.queue, r.head = r.queue[:0], 0
	}
	return nil
}

// handle digests one attempt's outcome.
func (r *run) handle(o outcome) error {
	st := &r.state[o.idx]
	switch o.kind {
	case kindAnswered:
		st.attempts++
		r.attempts++
		r.sh.est.observe(o.rtt)
		r.sh.answer(st.attempts > 1)
		if r.conc < r.cfg.Concurrency {
			r.conc++
		}
		r.decide(o.idx, o.reason, o.rtt)
	case kindSilent:
		st.attempts++
		r.attempts++
		st.waited = o.rtt
		if st.attempts <= r.sh.budget() {
			r.queue = append(r.queue, o.idx)
		} else {
			r.silent = append(r.silent, o.idx)
		}
	case kindLocal:
		st.localErrs++
		if st.localErrs > maxLocalErrors {
			return fmt.Errorf("this machine keeps running out of resources (%w); lower the concurrency", o.err)
		}
		r.conc = max(1, r.conc*3/4)
		r.queue = append(r.queue, o.idx)
	case kindCancelled:
		// The scan is stopping; loop sees ctx.Done.
	case kindFatal:
		return fmt.Errorf("port %d: %w", r.ports[o.idx], o.err)
	}
	return nil
}

// requeueSilent gives ports that went silent before the retry budget was
// raised the attempts they are now owed. It reports whether it queued any.
func (r *run) requeueSilent() bool {
	budget := r.sh.budget()
	kept := r.silent[:0]
	for _, idx := range r.silent {
		if r.state[idx].attempts <= budget {
			r.queue = append(r.queue, idx)
		} else {
			kept = append(kept, idx)
		}
	}
	r.silent = kept
	return len(r.queue) > 0
}

// flushSilent decides every port that stayed silent, across shards, in
// port order: filtered/no-response.
func flushSilent(sh *shared, shards []*run) {
	type silentPort struct {
		r   *run
		idx int32
	}
	var all []silentPort
	for _, r := range shards {
		for _, idx := range r.silent {
			all = append(all, silentPort{r, idx})
		}
		r.silent = nil
	}
	slices.SortFunc(all, func(a, b silentPort) int { return cmp.Compare(a.r.ports[a.idx], b.r.ports[b.idx]) })
	for _, p := range all {
		p.r.decide(p.idx, NoResponse, p.r.state[p.idx].waited)
	}
}

func (r *run) decide(idx int32, reason Reason, rtt time.Duration) {
	st := &r.state[idx]
	st.decided = true
	res := PortResult{Port: r.ports[idx], State: reason.State(), Reason: reason, RTT: rtt, Attempts: st.attempts}
	r.counts[res.State]++
	r.sh.send(res)
}

func summarize(sh *shared, shards []*run, start time.Time) Summary {
	t := sh.est.report()
	sh.mu.Lock()
	t.Retries = sh.retries
	t.LossDetected = sh.answeredOnRetry > 0
	if sh.answered > 0 {
		t.LossRate = float64(sh.answeredOnRetry) / float64(sh.answered)
	}
	sh.mu.Unlock()
	sum := Summary{Started: start, Duration: time.Since(start), Timing: t}
	for _, r := range shards {
		sum.Ports += len(r.ports)
		sum.Open += r.counts[Open]
		sum.Closed += r.counts[Closed]
		sum.Filtered += r.counts[Filtered]
		sum.Attempts += r.attempts
	}
	sum.Decided = sum.Open + sum.Closed + sum.Filtered
	return sum
}

// attempt makes one connection attempt and reports its outcome.
func (r *run) attempt(ctx context.Context, idx int32, localErrs int) {
	defer r.wg.Done()
	r.results <- r.probe(ctx, idx, localErrs)
}

func (r *run) probe(ctx context.Context, idx int32, localErrs int) outcome {
	if localErrs > 0 && !sleep(ctx, localBackoff(localErrs)) {
		return outcome{idx: idx, kind: kindCancelled}
	}
	if p := r.cfg.Sockets; p != nil {
		if err := p.acquire(ctx); err != nil {
			return outcome{idx: idx, kind: kindCancelled}
		}
		defer p.release()
	}
	attemptCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	timer := startProbeTimer(r.sh.est, cancel)
	conn, err := r.cfg.Dial(attemptCtx, netip.AddrPortFrom(r.addr, r.ports[idx]))
	rtt := time.Since(timer.start)
	timedOut := timer.stop()
	if err == nil {
		closeAbortively(conn)
		return outcome{idx: idx, kind: kindAnswered, reason: SynAck, rtt: rtt}
	}
	if ctx.Err() != nil {
		return outcome{idx: idx, kind: kindCancelled}
	}
	reason, k := classify(err, timedOut)
	return outcome{idx: idx, kind: k, reason: reason, rtt: rtt, err: err}
}

// closeAbortively closes with an RST (SO_LINGER 0): the port's question is
// answered, and a scan must leave no TIME_WAIT sockets behind.
func closeAbortively(c net.Conn) {
	if l, ok := c.(interface{ SetLinger(int) error }); ok {
		_ = l.SetLinger(0)
	}
	_ = c.Close()
}

func localBackoff(n int) time.Duration {
	return min(time.Second, 5*time.Millisecond<<min(n, 10))
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// probeTimer cancels an attempt once it has waited longer than the scan's
// current timeout. The timeout is read again when the timer fires, so
// attempts started before the first answers benefit from what was learnt
// since (a fixed per-dial timeout would keep the cautious initial value).
type probeTimer struct {
	mu      sync.Mutex
	t       *time.Timer
	start   time.Time
	est     *rttEstimator
	cancel  context.CancelCauseFunc
	fired   bool
	stopped bool
}

func startProbeTimer(est *rttEstimator, cancel context.CancelCauseFunc) *probeTimer {
	p := &probeTimer{start: time.Now(), est: est, cancel: cancel}
	p.mu.Lock()
	p.t = time.AfterFunc(est.nextCheck(est.current()), p.fire)
	p.mu.Unlock()
	return p
}

func (p *probeTimer) fire() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return
	}
	if left := p.est.current() - time.Since(p.start); left > 0 {
		p.t.Reset(p.est.nextCheck(left))
		return
	}
	p.fired = true
	p.cancel(errProbeTimeout)
}

// stop disarms the timer and reports whether it had cancelled the attempt.
func (p *probeTimer) stop() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopped = true
	p.t.Stop()
	return p.fired
}
