package scan

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var target = netip.MustParseAddr("192.0.2.7") // never dialled: every test injects a fake dialer

// fastConfig keeps fake-network tests quick: silent attempts wait 20 ms.
func fastConfig(f *fakeNet) Config {
	return Config{
		Dial:           f.dial,
		Concurrency:    64,
		InitialTimeout: 20 * time.Millisecond,
		MinTimeout:     20 * time.Millisecond,
		MaxTimeout:     20 * time.Millisecond,
	}
}

// mustScan runs a scan and checks the invariants every scan must keep:
// each port emitted once, counts adding up, no connection left open.
func mustScan(t *testing.T, cfg Config, f *fakeNet, ports []uint16) (map[uint16]PortResult, Summary) {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	got := map[uint16]PortResult{}
	sum, err := s.Scan(context.Background(), target, ports, func(r PortResult) {
		if _, dup := got[r.Port]; dup {
			t.Errorf("port %d emitted twice", r.Port)
		}
		got[r.Port] = r
	})
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	if len(got) != sum.Ports || sum.Decided != sum.Ports || sum.Open+sum.Closed+sum.Filtered != sum.Ports {
		t.Errorf("emitted %d, summary %+v", len(got), sum)
	}
	if n := f.openConns.Load(); n != 0 {
		t.Errorf("%d connections left open", n)
	}
	return got, sum
}

// uniform gives ports 1..n the same behaviour and returns them as a map
// for the fake network and as the list to scan.
func uniform(n int, b behaviour) (map[uint16]behaviour, []uint16) {
	ports := make(map[uint16]behaviour, n)
	list := make([]uint16, n)
	for i := range list {
		list[i] = uint16(i + 1)
		ports[list[i]] = b
	}
	return ports, list
}

func TestClassify(t *testing.T) {
	timeoutErr := &net.OpError{Op: "dial", Net: "tcp", Err: os.ErrDeadlineExceeded}
	tests := []struct {
		name     string
		err      error
		timedOut bool
		reason   Reason
		kind     kind
	}{
		{"connected", nil, false, SynAck, kindAnswered},
		{"ECONNREFUSED", connectErr(syscall.ECONNREFUSED), false, ConnRefused, kindAnswered},
		{"ECONNRESET", connectErr(syscall.ECONNRESET), false, ConnRefused, kindAnswered},
		{"EHOSTUNREACH", connectErr(syscall.EHOSTUNREACH), false, HostUnreach, kindAnswered},
		{"EHOSTDOWN", connectErr(syscall.EHOSTDOWN), false, HostUnreach, kindAnswered},
		{"ENETUNREACH", connectErr(syscall.ENETUNREACH), false, NetUnreach, kindAnswered},
		{"ENETDOWN", connectErr(syscall.ENETDOWN), false, NetUnreach, kindAnswered},
		{"EACCES (ICMPv6 admin-prohibited)", connectErr(syscall.EACCES), false, AdminProhibited, kindAnswered},
		{"EPERM (local firewall)", connectErr(syscall.EPERM), false, AdminProhibited, kindAnswered},
		{"refused beats a late timer", connectErr(syscall.ECONNREFUSED), true, ConnRefused, kindAnswered},
		{"EMFILE", connectErr(syscall.EMFILE), false, 0, kindLocal},
		{"ENFILE", connectErr(syscall.ENFILE), false, 0, kindLocal},
		{"EADDRNOTAVAIL", connectErr(syscall.EADDRNOTAVAIL), false, 0, kindLocal},
		{"ENOBUFS", connectErr(syscall.ENOBUFS), false, 0, kindLocal},
		{"EAGAIN", connectErr(syscall.EAGAIN), false, 0, kindLocal},
		{"EMFILE from socket()", &net.OpError{Op: "dial", Err: os.NewSyscallError("socket", syscall.EMFILE)}, false, 0, kindLocal},
		{"probe timer fired", &net.OpError{Op: "dial", Err: errors.New("operation was canceled")}, true, NoResponse, kindSilent},
		{"os.ErrDeadlineExceeded", timeoutErr, false, NoResponse, kindSilent},
		{"context.DeadlineExceeded", fmt.Errorf("dial: %w", context.DeadlineExceeded), false, NoResponse, kindSilent},
		{"kernel ETIMEDOUT", connectErr(syscall.ETIMEDOUT), false, NoResponse, kindSilent},
		{"net.Error Timeout()", timeoutOnly{}, false, NoResponse, kindSilent},
		{"policy refusal", errors.New("dial 10.0.0.1:22: address is forbidden"), false, 0, kindFatal},
		{"cancellation without a stop is not a port state", context.Canceled, false, 0, kindFatal},
		{"EINVAL", connectErr(syscall.EINVAL), false, 0, kindFatal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reason, k := classify(tt.err, tt.timedOut)
			if reason != tt.reason || k != tt.kind {
				t.Errorf("classify(%v, %v) = %v, %d; want %v, %d", tt.err, tt.timedOut, reason, k, tt.reason, tt.kind)
			}
		})
	}
}

// timeoutOnly is a net.Error recognisable only through Timeout().
type timeoutOnly struct{}

func (timeoutOnly) Error() string   { return "i/o timeout" }
func (timeoutOnly) Timeout() bool   { return true }
func (timeoutOnly) Temporary() bool { return false }

func TestScanStatesAndReasons(t *testing.T) {
	f := newFakeNet(map[uint16]behaviour{
		22:  accept,
		23:  refuse,
		25:  silent,
		80:  errnoBehaviour(syscall.EHOSTUNREACH),
		81:  errnoBehaviour(syscall.ENETUNREACH),
		82:  errnoBehaviour(syscall.EACCES),
		83:  errnoBehaviour(syscall.EPERM),
		443: accept,
	})
	got, sum := mustScan(t, fastConfig(f), f, []uint16{22, 23, 25, 80, 81, 82, 83, 443, 443, 22})
	want := map[uint16]struct {
		state    State
		reason   Reason
		attempts int
	}{
		22:  {Open, SynAck, 1},
		23:  {Closed, ConnRefused, 1},
		25:  {Filtered, NoResponse, 2}, // one retry by default
		80:  {Filtered, HostUnreach, 1},
		81:  {Filtered, NetUnreach, 1},
		82:  {Filtered, AdminProhibited, 1},
		83:  {Filtered, AdminProhibited, 1},
		443: {Open, SynAck, 1},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d ports, want %d (duplicates folded)", len(got), len(want))
	}
	for port, w := range want {
		r := got[port]
		if r.State != w.state || r.Reason != w.reason || r.Attempts != w.attempts {
			t.Errorf("port %d: got %v/%v in %d attempts; want %v/%v in %d", port, r.State, r.Reason, r.Attempts, w.state, w.reason, w.attempts)
		}
		if n := f.attemptsTo(port); n != w.attempts {
			t.Errorf("port %d dialled %d times, want %d", port, n, w.attempts)
		}
	}
	if sum.Open != 2 || sum.Closed != 1 || sum.Filtered != 5 || sum.Attempts != 9 {
		t.Errorf("summary %+v", sum)
	}
	if n := f.lingered.Load(); n != 2 {
		t.Errorf("%d open connections closed with SO_LINGER 0, want 2", n)
	}
	for _, a := range f.dialed {
		if a.Addr() != target {
			t.Errorf("dialled %v, not the target", a)
		}
	}
}

func TestSilentPortsComeLastInPortOrder(t *testing.T) {
	f := newFakeNet(map[uint16]behaviour{9: silent, 3: silent, 5: accept, 7: refuse})
	s, err := New(fastConfig(f))
	if err != nil {
		t.Fatal(err)
	}
	var order []uint16
	if _, err := s.Scan(context.Background(), target, []uint16{9, 3, 5, 7}, func(r PortResult) { order = append(order, r.Port) }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(order[2:], []uint16{3, 9}) || !slices.Contains(order[:2], 5) || !slices.Contains(order[:2], 7) {
		t.Errorf("emission order %v: answered ports first, then silent ones by port", order)
	}
}

func TestRetriesAreTunable(t *testing.T) {
	for _, retries := range []int{0, 1, 3} {
		t.Run(fmt.Sprint(retries), func(t *testing.T) {
			f := newFakeNet(map[uint16]behaviour{1: silent})
			cfg := fastConfig(f)
			cfg.Retries = retries
			if retries == 0 {
				cfg.Retries = NoRetries
			}
			got, _ := mustScan(t, cfg, f, []uint16{1, 2})
			if got[1].Attempts != retries+1 || f.attemptsTo(1) != retries+1 {
				t.Errorf("silent port: %d attempts (dialled %d), want %d", got[1].Attempts, f.attemptsTo(1), retries+1)
			}
		})
	}
}

func TestLossRaisesRetriesForPortsStillSilent(t *testing.T) {
	ports, list := uniform(40, refuse)
	ports[10] = after(2, accept) // answers only on the retry: packets are being lost
	ports[11] = after(3, accept) // would be misread as filtered with one retry
	ports[20] = silent
	ports[21] = silent
	f := newFakeNet(ports)
	cfg := fastConfig(f)
	got, sum := mustScan(t, cfg, f, list)
	if got[10].State != Open || got[10].Attempts != 2 {
		t.Errorf("port 10: %+v", got[10])
	}
	if got[11].State != Open || got[11].Attempts != 3 {
		t.Errorf("port 11 needs the raised budget: %+v", got[11])
	}
	if !sum.Timing.LossDetected || sum.Timing.Retries < 2 {
		t.Errorf("timing %+v: loss should have raised the retries", sum.Timing)
	}
	for _, p := range []uint16{20, 21} {
		if got[p].State != Filtered || got[p].Attempts != sum.Timing.Retries+1 {
			t.Errorf("port %d: %+v; want filtered after %d attempts", p, got[p], sum.Timing.Retries+1)
		}
	}
	// A heavier loss estimate asks for more retries, up to the ceiling.
	cfg.MaxRetries = 2
	f = newFakeNet(map[uint16]behaviour{1: after(2, refuse), 2: after(2, refuse), 3: refuse, 4: silent})
	cfg.Dial = f.dial
	_, sum = mustScan(t, cfg, f, []uint16{1, 2, 3, 4})
	if sum.Timing.Retries != 2 {
		t.Errorf("retries %d, want the ceiling 2", sum.Timing.Retries)
	}
}

func TestRetriesFor(t *testing.T) {
	tests := []struct {
		loss float64
		want int
	}{
		{0, 0}, {0.5, 13}, {0.04, 2}, {0.01, 1}, {0.001, 1}, {0.0001, 0}, {0.95, -1},
	}
	for _, tt := range tests {
		got := retriesFor(tt.loss, 1e-4)
		if tt.loss >= 0.9 {
			if got < 1000 {
				t.Errorf("retriesFor(%v) = %d, want effectively unbounded", tt.loss, got)
			}
			continue
		}
		if got != tt.want {
			t.Errorf("retriesFor(%v) = %d, want %d", tt.loss, got, tt.want)
		}
	}
}

func TestRTTEstimator(t *testing.T) {
	e := newRTTEstimator(time.Second, 100*time.Millisecond, 2*time.Second)
	if got := e.current(); got != time.Second {
		t.Fatalf("before samples: %v, want the initial timeout", got)
	}
	e.observe(200 * time.Millisecond) // srtt 200, rttvar 100 → 600
	if got := e.current(); got != 600*time.Millisecond {
		t.Errorf("after one sample: %v, want 600ms", got)
	}
	for range 50 {
		e.observe(10 * time.Millisecond)
	}
	if got := e.current(); got != 100*time.Millisecond {
		t.Errorf("fast answers: %v, want the 100ms floor", got)
	}
	for range 50 {
		e.observe(5 * time.Second)
	}
	if got := e.current(); got != 2*time.Second {
		t.Errorf("slow answers: %v, want the 2s ceiling", got)
	}
	r := e.report()
	if r.Samples != 101 || r.SRTT < 4*time.Second {
		t.Errorf("report %+v", r)
	}
}

func TestAdaptiveTimeoutShortensEarlyAttempts(t *testing.T) {
	// Every attempt starts before any answer, under a 2 s initial timeout;
	// the answers that land within milliseconds must cut the silent
	// ports' wait to the 30 ms floor instead.
	ports, list := uniform(30, delayed(2*time.Millisecond, refuse))
	ports[31], ports[32] = silent, silent
	list = append(list, 31, 32)
	f := newFakeNet(ports)
	cfg := Config{Dial: f.dial, Concurrency: 64, InitialTimeout: 2 * time.Second, MinTimeout: 30 * time.Millisecond, MaxTimeout: 5 * time.Second, Retries: NoRetries}
	got, sum := mustScan(t, cfg, f, list)
	if w := got[31].RTT; w >= time.Second {
		t.Errorf("silent port waited %v: the timeout did not adapt", w)
	}
	if sum.Timing.Timeout != 30*time.Millisecond || sum.Timing.Samples != 30 {
		t.Errorf("timing %+v", sum.Timing)
	}
}

func TestTimeoutShapesFromTheDialer(t *testing.T) {
	f := newFakeNet(map[uint16]behaviour{
		1: func(context.Context, int) (net.Conn, error) {
			return nil, fmt.Errorf("dial: %w", context.DeadlineExceeded)
		},
		2: func(context.Context, int) (net.Conn, error) {
			return nil, &net.OpError{Op: "dial", Err: os.ErrDeadlineExceeded}
		},
	})
	got, _ := mustScan(t, fastConfig(f), f, []uint16{1, 2})
	for _, p := range []uint16{1, 2} {
		if got[p].State != Filtered || got[p].Reason != NoResponse || got[p].Attempts != 2 {
			t.Errorf("port %d: %+v", p, got[p])
		}
	}
}

func TestLocalShortageIsRetriedNotAState(t *testing.T) {
	var fails atomic.Int64
	flaky := func(ctx context.Context, n int) (net.Conn, error) {
		if fails.Add(1) <= 5 {
			return nil, connectErr(syscall.EMFILE)
		}
		return accept(ctx, n)
	}
	f := newFakeNet(map[uint16]behaviour{80: flaky, 81: errnoBehaviour(syscall.EADDRNOTAVAIL)})
	f.ports[81] = func(ctx context.Context, n int) (net.Conn, error) {
		if n <= 2 {
			return nil, connectErr(syscall.ENOBUFS)
		}
		return refuse(ctx, n)
	}
	got, sum := mustScan(t, fastConfig(f), f, []uint16{80, 81})
	if got[80].State != Open || got[80].Attempts != 1 {
		t.Errorf("port 80: %+v; local failures must not count as attempts", got[80])
	}
	if got[81].State != Closed || got[81].Attempts != 1 {
		t.Errorf("port 81: %+v", got[81])
	}
	if sum.Attempts != 2 {
		t.Errorf("attempts %d, want 2", sum.Attempts)
	}

	// A shortage that never ends fails the scan instead of inventing a state.
	f = newFakeNet(map[uint16]behaviour{80: errnoBehaviour(syscall.EMFILE)})
	cfg := fastConfig(f)
	s, _ := New(cfg)
	_, err := s.Scan(context.Background(), target, []uint16{80}, nil)
	if !errors.Is(err, syscall.EMFILE) {
		t.Errorf("endless EMFILE: err = %v", err)
	}
}

func TestFatalDialErrorStopsTheScan(t *testing.T) {
	policy := errors.New("address is not the pinned target")
	f := newFakeNet(map[uint16]behaviour{443: func(context.Context, int) (net.Conn, error) { return nil, policy }, 1: silent})
	s, _ := New(fastConfig(f))
	_, err := s.Scan(context.Background(), target, []uint16{1, 443}, nil)
	if !errors.Is(err, policy) {
		t.Fatalf("err = %v, want the dialer's error", err)
	}
	if want := "port 443"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not name the port", err)
	}
}

func TestConcurrencyCapHonoured(t *testing.T) {
	ports, list := uniform(300, delayed(time.Millisecond, refuse))
	f := newFakeNet(ports)
	cfg := fastConfig(f)
	cfg.Concurrency = 7
	mustScan(t, cfg, f, list)
	if m := f.maxInflight.Load(); m > 7 || m < 2 {
		t.Errorf("max in flight %d, want 2..7", m)
	}
}

func TestSocketPoolSharedAcrossScans(t *testing.T) {
	pool := NewSocketPool(5)
	var shared, sharedMax atomic.Int64
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ports, list := uniform(60, delayed(time.Millisecond, refuse))
			f := newFakeNet(ports)
			f.shared, f.sharedMax = &shared, &sharedMax
			cfg := fastConfig(f)
			cfg.Concurrency = 50
			cfg.Sockets = pool
			s, _ := New(cfg)
			sum, err := s.Scan(context.Background(), target, list, nil)
			if err != nil || sum.Closed != 60 {
				t.Errorf("scan %d: %+v, %v", i, sum, err)
			}
		}()
	}
	wg.Wait()
	if m := sharedMax.Load(); m > 5 {
		t.Errorf("%d sockets in flight across scans, pool allows 5", m)
	}
	if pool.InUse() != 0 {
		t.Errorf("pool still holds %d", pool.InUse())
	}
}

func TestRateCapHonoured(t *testing.T) {
	f := newFakeNet(nil) // every port refuses at once
	cfg := fastConfig(f)
	cfg.Rate, cfg.Burst = 200, 1
	start := time.Now()
	mustScan(t, cfg, f, []uint16{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11})
	// 11 connections at 200/s with a bucket of 1 cannot start in under 50 ms;
	// this bounds from below only, so a slow machine cannot make it fail.
	if el := time.Since(start); el < 50*time.Millisecond {
		t.Errorf("11 connections took %v at 200/s", el)
	}
}

func TestCancelStopsPromptlyAndLeaksNothing(t *testing.T) {
	ports, list := uniform(500, silent)
	ports[1] = accept
	f := newFakeNet(ports)
	cfg := Config{Dial: f.dial, Concurrency: 100, InitialTimeout: time.Minute, MinTimeout: time.Minute, MaxTimeout: time.Minute}
	s, _ := New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	var once sync.Once
	go func() {
		<-started
		for f.inflight.Load() < 100 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	var emitted int
	done := make(chan error, 1)
	go func() {
		_, err := s.Scan(ctx, target, list, func(PortResult) { emitted++; once.Do(func() { close(started) }) })
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Scan did not return after cancel")
	}
	if n := f.inflight.Load(); n != 0 {
		t.Errorf("%d attempts still in flight after Scan returned", n)
	}
	if emitted != 1 {
		t.Errorf("emitted %d results, want only the open port's", emitted)
	}
	// goleak (TestMain) checks that no goroutine outlives the tests.
}

func TestHardDeadline(t *testing.T) {
	f := newFakeNet(map[uint16]behaviour{1: silent, 2: refuse})
	cfg := Config{Dial: f.dial, InitialTimeout: time.Minute, MinTimeout: time.Minute, MaxTimeout: time.Minute, MaxDuration: 50 * time.Millisecond}
	s, _ := New(cfg)
	sum, err := s.Scan(context.Background(), target, []uint16{1, 2}, nil)
	if !errors.Is(err, ErrDeadline) {
		t.Fatalf("err = %v, want ErrDeadline", err)
	}
	if sum.Decided != 1 || sum.Closed != 1 {
		t.Errorf("summary %+v", sum)
	}
}

func TestAllFilteredVerdict(t *testing.T) {
	f := newFakeNet(map[uint16]behaviour{1: silent, 2: silent, 3: errnoBehaviour(syscall.EHOSTUNREACH)})
	_, sum := mustScan(t, fastConfig(f), f, []uint16{1, 2, 3})
	if !sum.AllFiltered() || !strings.Contains(sum.Verdict(), "looks down") {
		t.Errorf("all filtered: %v %q", sum.AllFiltered(), sum.Verdict())
	}
	if sum.Timing.Timeout != 20*time.Millisecond {
		t.Errorf("timeout %v", sum.Timing.Timeout)
	}
}

func TestInvalidInput(t *testing.T) {
	s, err := New(Config{Dial: newFakeNet(nil).dial})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		addr  netip.Addr
		ports []uint16
	}{
		{"no address", netip.Addr{}, []uint16{80}},
		{"zone", netip.MustParseAddr("fe80::1%eth0"), []uint16{80}},
		{"unspecified", netip.IPv4Unspecified(), []uint16{80}},
		{"no ports", target, nil},
		{"port zero", target, []uint16{80, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.Scan(context.Background(), tt.addr, tt.ports, nil); !errors.Is(err, ErrInvalidInput) {
				t.Errorf("err = %v, want ErrInvalidInput", err)
			}
		})
	}
}

func TestConfigValidation(t *testing.T) {
	bad := []Config{
		{Concurrency: -1},
		{MinTimeout: time.Second, MaxTimeout: time.Millisecond},
		{InitialTimeout: 10 * time.Second, MaxTimeout: time.Second},
		{Retries: 5, MaxRetries: 2},
		{Rate: -1},
		{LossTarget: 2},
		{MaxDuration: -time.Second},
	}
	for i, c := range bad {
		if _, err := New(c); err == nil {
			t.Errorf("config %d (%+v) accepted", i, c)
		}
	}
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	c := s.Config()
	if c.Concurrency != DefaultConcurrency || c.MinTimeout != DefaultMinTimeout || c.Retries != DefaultRetries || (c.Dial == nil) != nativeConnector {
		t.Errorf("defaults not applied: %+v", c)
	}
}

func TestStateAndReasonText(t *testing.T) {
	for r := SynAck; r <= AdminProhibited; r++ {
		b, err := r.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back Reason
		if err := back.UnmarshalText(b); err != nil || back != r {
			t.Errorf("reason %v round trip: %v %v", r, back, err)
		}
	}
	for s := Open; s <= Filtered; s++ {
		b, _ := s.MarshalText()
		var back State
		if err := back.UnmarshalText(b); err != nil || back != s {
			t.Errorf("state %v round trip", s)
		}
	}
	if _, err := Reason(0).MarshalText(); err == nil {
		t.Error("zero reason marshalled")
	}
	var s State
	if err := s.UnmarshalText([]byte("opened")); err == nil {
		t.Error("unknown state accepted")
	}
}
