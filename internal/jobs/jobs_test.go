package jobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vantagescan/vantage/internal/netlab/netlabtest"
	"github.com/vantagescan/vantage/internal/probe"
	"github.com/vantagescan/vantage/internal/scan"
	"github.com/vantagescan/vantage/internal/store"
	"github.com/vantagescan/vantage/internal/target"
)

// memStore is an in-memory store.Store with the SQLite store's rules.
type memStore struct {
	mu      sync.Mutex
	scans   map[string]store.Scan
	results map[string][]store.Result
	hashes  map[string][]byte
}

func newMemStore() *memStore {
	return &memStore{scans: map[string]store.Scan{}, results: map[string][]store.Result{}}
}

func (m *memStore) CreateScan(_ context.Context, scans ...store.Scan) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, s := range scans {
		if _, dup := m.scans[s.ID]; dup || slices.ContainsFunc(scans[:i], func(o store.Scan) bool { return o.ID == s.ID }) {
			return errors.New("duplicate")
		}
	}
	for _, s := range scans {
		m.scans[s.ID] = s
	}
	return nil
}

func (m *memStore) Scan(_ context.Context, id string) (store.Scan, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.scans[id]
	if !ok {
		return s, store.ErrNotFound
	}
	return s, nil
}

func (m *memStore) Start(_ context.Context, id string, t time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.scans[id]
	if !ok || s.Status != store.Queued {
		return errors.New("not queued")
	}
	s.Status, s.StartedAt = store.Running, t
	m.scans[id] = s
	return nil
}

func (m *memStore) AddResults(_ context.Context, id string, rs []store.Result) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.scans[id]
	if !ok || s.Status.Final() {
		return errors.New("not live")
	}
	m.results[id] = append(m.results[id], rs...)
	return nil
}

func (m *memStore) Results(_ context.Context, id string, after int) ([]store.Result, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.Result
	for _, r := range m.results[id] {
		if r.Seq > after {
			out = append(out, r)
		}
	}
	return out, nil
}

func (m *memStore) Finish(_ context.Context, id string, st store.Status, reason string, summary []byte, t time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.scans[id]
	if !ok || s.Status.Final() {
		return errors.New("not live")
	}
	s.Status, s.Reason, s.Summary, s.FinishedAt = st, reason, summary, t
	m.scans[id] = s
	return nil
}

func (m *memStore) Interrupt(_ context.Context, reason string, t time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for id, s := range m.scans {
		if !s.Status.Final() {
			s.Status, s.Reason, s.FinishedAt = store.Interrupted, reason, t
			m.scans[id] = s
			n++
		}
	}
	return n, nil
}

func (m *memStore) SetDeleteHash(_ context.Context, id string, hash []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.hashes == nil {
		m.hashes = map[string][]byte{}
	}
	m.hashes[id] = hash
	return nil
}

func (m *memStore) CheckDeleteHash(_ context.Context, id string, hash []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.scans[id]; !ok {
		return store.ErrNotFound
	}
	if h := m.hashes[id]; len(h) == 0 || string(h) != string(hash) {
		return store.ErrForbidden
	}
	return nil
}

func (m *memStore) Delete(context.Context, string, []byte) error  { return nil }
func (m *memStore) Purge(context.Context, time.Time) (int, error) { return 0, nil }
func (m *memStore) Ping(context.Context) error                    { return nil }
func (m *memStore) Close() error                                  { return nil }

var loopback = netip.MustParseAddr("127.0.0.1")

// newRunner starts a Runner whose policy lets scans reach loopback only.
func newRunner(t *testing.T, st store.Store, mod func(*Config)) *Runner {
	t.Helper()
	policy, err := target.NewPolicy(target.PolicyConfig{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Store: st, Policy: policy, MaxRunning: 1, MaxQueued: 2}
	if mod != nil {
		mod(&cfg)
	}
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Shutdown(context.Background()) })
	return r
}

// request scans n ports from 61000 (above the ephemeral range: closed)
// plus an optional open port.
func request(n int, open uint16) Request {
	ports := make([]uint16, 0, n+1)
	for i := range n {
		ports = append(ports, uint16(61000+i))
	}
	if open != 0 {
		ports = append(ports, open)
	}
	return Request{Target: target.PinnedTarget{Typed: "127.0.0.1", Host: "127.0.0.1", IP: loopback}, PortSpec: "test", Ports: ports, Client: "test"}
}

// watchAll follows a scan from cursor 0 to its end, as a results page
// does, and returns every row it saw and the final scan record.
func watchAll(t *testing.T, r *Runner, id string) ([]store.Result, store.Scan) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var rows []store.Result
	after := 0
	for {
		snap, err := r.Watch(ctx, id, after)
		if err != nil {
			t.Error(err)
			return rows, store.Scan{}
		}
		rows = append(rows, snap.Rows...)
		if n := len(snap.Rows); n > 0 {
			after = snap.Rows[n-1].Seq
		}
		if snap.Changed == nil {
			return rows, snap.Scan
		}
		select {
		case <-snap.Changed:
		case <-ctx.Done():
			t.Error("watch timed out")
			return rows, snap.Scan
		}
	}
}

func TestScanLifecycleAndConcurrentWatchers(t *testing.T) {
	for name, open := range map[string]func(t *testing.T) store.Store{
		"memory": func(*testing.T) store.Store { return newMemStore() },
		"sqlite": func(t *testing.T) store.Store {
			st, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "v.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
	} {
		t.Run(name, func(t *testing.T) { lifecycle(t, open(t)) })
	}
}

func lifecycle(t *testing.T, st store.Store) {
	// 200 connections at 1000/s: about 0.2 s, long enough to join mid-scan.
	r := newRunner(t, st, func(c *Config) { c.Scan = scan.Config{Rate: 1000, Burst: 1} })
	open := netlabtest.OpenPort(t)
	id, err := r.Submit(context.Background(), request(199, open))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	seen := make([][]store.Result, 6)
	for i := range seen {
		wg.Go(func() {
			time.Sleep(time.Duration(i) * 50 * time.Millisecond) // before, during and after
			seen[i], _ = watchAll(t, r, id)
		})
	}
	wg.Wait()
	for i, rows := range seen {
		if len(rows) != 200 {
			t.Errorf("watcher %d saw %d rows, want 200", i, len(rows))
			continue
		}
		for k, row := range rows {
			if row.Seq != k+1 {
				t.Errorf("watcher %d: row %d has seq %d (lost or repeated)", i, k, row.Seq)
				break
			}
		}
	}
	sc, err := st.Scan(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := st.Results(context.Background(), id, 0)
	if sc.Status != store.Done || len(stored) != 200 || len(sc.Summary) == 0 || sc.StartedAt.IsZero() || sc.FinishedAt.IsZero() {
		t.Errorf("stored scan %+v with %d rows", sc, len(stored))
	}
	openRows := slices.DeleteFunc(stored, func(r store.Result) bool { return r.State != "open" })
	if len(openRows) != 1 || openRows[0].Port != open {
		t.Errorf("open rows %+v, want port %d", openRows, open)
	}
	if _, err := r.Watch(context.Background(), "no-such-scan", 0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown id: %v", err)
	}
}

func TestQueueBoundsAndPosition(t *testing.T) {
	st := newMemStore()
	r := newRunner(t, st, func(c *Config) {
		c.Scan = scan.Config{Rate: 50, Burst: 1} // 20 ports: ~0.4 s each
		c.Grace = 50 * time.Millisecond
	})
	first, err := r.Submit(context.Background(), request(20, 0))
	if err != nil {
		t.Fatal(err)
	}
	// Wait until the first scan holds the only slot.
	for deadline := time.Now().Add(5 * time.Second); r.Position(first) != 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	second, _ := r.Submit(context.Background(), request(20, 0))
	third, _ := r.Submit(context.Background(), request(20, 0))
	if p2, p3 := r.Position(second), r.Position(third); p2 != 1 || p3 != 2 {
		t.Errorf("positions %d, %d; want 1, 2", p2, p3)
	}
	if _, err := r.Submit(context.Background(), request(20, 0)); !errors.Is(err, ErrQueueFull) {
		t.Errorf("fourth submit: %v, want ErrQueueFull", err)
	}
	running, queued := r.Running()
	if running != 1 || queued != 2 {
		t.Errorf("running %d queued %d", running, queued)
	}

	// Shutdown: the running scan is cancelled after the grace period, the
	// queued ones never start; every scan ends final.
	r.Shutdown(context.Background())
	for _, id := range []string{first, second, third} {
		sc, _ := st.Scan(context.Background(), id)
		if sc.Status != store.Cancelled || sc.Reason == "" {
			t.Errorf("scan %s after shutdown: %s %q", id, sc.Status, sc.Reason)
		}
	}
	if _, err := r.Submit(context.Background(), request(1, 0)); !errors.Is(err, ErrShuttingDown) {
		t.Errorf("submit after shutdown: %v", err)
	}
}

func TestStartMarksLeftoversInterrupted(t *testing.T) {
	st := newMemStore()
	_ = st.CreateScan(context.Background(), store.Scan{ID: "left-running", Status: store.Queued})
	_ = st.Start(context.Background(), "left-running", time.Now())
	_ = st.AddResults(context.Background(), "left-running", []store.Result{{Seq: 1, Port: 22, State: "open", Reason: "syn-ack"}})
	r := newRunner(t, st, nil)
	rows, sc := watchAll(t, r, "left-running")
	if sc.Status != store.Interrupted || sc.Reason == "" || len(rows) != 1 {
		t.Errorf("leftover: %+v, rows %v", sc, rows)
	}
}

func TestGuardStopsAScanOutsideThePolicy(t *testing.T) {
	st := newMemStore()
	strict, err := target.NewPolicy(target.PolicyConfig{}) // loopback forbidden
	if err != nil {
		t.Fatal(err)
	}
	r := newRunner(t, st, func(c *Config) { c.Policy = strict })
	id, err := r.Submit(context.Background(), request(5, 0))
	if err != nil {
		t.Fatal(err)
	}
	rows, sc := watchAll(t, r, id)
	if sc.Status != store.Failed || len(rows) != 0 {
		t.Errorf("scan of a forbidden address: %s %q with %d rows", sc.Status, sc.Reason, len(rows))
	}
}

// TestSubmitPair: a dual-stack pair is queued together (or not at all),
// each scan names the other, and each dials only its own address.
func TestSubmitPair(t *testing.T) {
	// Port 61500 is above the ephemeral range: nothing else listens there.
	open := netlabtest.Listen(t, "tcp6", "[::1]:61500")
	for name, openStore := range map[string]func(t *testing.T) store.Store{
		"memory": func(*testing.T) store.Store { return newMemStore() },
		"sqlite": func(t *testing.T) store.Store {
			st, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "v.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
	} {
		t.Run(name, func(t *testing.T) {
			st := openStore(t)
			policy, err := target.NewPolicy(target.PolicyConfig{Allow: []netip.Prefix{
				netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}})
			if err != nil {
				t.Fatal(err)
			}
			r := newRunner(t, st, func(c *Config) { c.Policy = policy; c.MaxRunning = 2 })
			a := request(3, 0)
			b := request(3, 0)
			a.Ports = append(a.Ports, open)
			b.Ports = append(b.Ports, open)
			b.Target.IP = netip.IPv6Loopback()
			if _, _, err := r.SubmitPair(context.Background(), b, a); err == nil {
				t.Error("a pair in the wrong order was accepted")
			}
			id4, id6, err := r.SubmitPair(context.Background(), a, b)
			if err != nil {
				t.Fatal(err)
			}
			rows4, sc4 := watchAll(t, r, id4)
			rows6, sc6 := watchAll(t, r, id6)
			if sc4.SiblingID != id6 || sc6.SiblingID != id4 || sc4.IP != loopback || sc6.IP != netip.IPv6Loopback() {
				t.Fatalf("pair not linked: %+v / %+v", sc4, sc6)
			}
			state := func(rows []store.Result, p uint16) string {
				for _, r := range rows {
					if r.Port == p {
						return r.State
					}
				}
				return "missing"
			}
			// The port listens on ::1 only: open over IPv6, closed over IPv4.
			if s4, s6 := state(rows4, open), state(rows6, open); s4 != "closed" || s6 != "open" || len(rows4) != 4 || len(rows6) != 4 {
				t.Errorf("port %d: IPv4 %s, IPv6 %s; rows %d, %d", open, s4, s6, len(rows4), len(rows6))
			}
		})
	}
}

// TestSubmitPairNeedsRoomForBoth: a queue of one can never hold a pair: it
// is refused as such (not "busy"), and nothing is stored. A queue with room
// for one of two places refuses it as full.
func TestSubmitPairNeedsRoomForBoth(t *testing.T) {
	st := newMemStore()
	r := newRunner(t, st, func(c *Config) { c.MaxQueued = 1; c.Scan = scan.Config{Rate: 50, Burst: 1} })
	first, err := r.Submit(context.Background(), request(20, 0))
	if err != nil {
		t.Fatal(err)
	}
	leftQueue(t, r, first)
	b := request(1, 0)
	b.Target.IP = netip.IPv6Loopback()
	if _, _, err := r.SubmitPair(context.Background(), request(1, 0), b); !errors.Is(err, ErrQueueTooSmall) {
		t.Errorf("pair with a queue of one: %v, want ErrQueueTooSmall (retrying cannot help)", err)
	}
	st.mu.Lock()
	n := len(st.scans)
	st.mu.Unlock()
	if n != 1 {
		t.Errorf("%d scans stored, want only the first", n)
	}
	if _, queued := r.Running(); queued != 0 {
		t.Errorf("%d queued after a refused pair", queued)
	}
}

func TestSubmitPairWhenTheQueueIsFull(t *testing.T) {
	st := newMemStore()
	r := newRunner(t, st, func(c *Config) { c.MaxQueued = 2; c.Scan = scan.Config{Rate: 50, Burst: 1} })
	first, err := r.Submit(context.Background(), request(20, 0))
	if err != nil {
		t.Fatal(err)
	}
	leftQueue(t, r, first)
	if _, err := r.Submit(context.Background(), request(20, 0)); err != nil {
		t.Fatal(err)
	}
	b := request(1, 0)
	b.Target.IP = netip.IPv6Loopback()
	if _, _, err := r.SubmitPair(context.Background(), request(1, 0), b); !errors.Is(err, ErrQueueFull) {
		t.Errorf("pair with one place left: %v, want ErrQueueFull", err)
	}
	if _, queued := r.Running(); queued != 1 {
		t.Errorf("%d queued after a refused pair, want 1", queued)
	}
}

// TestDone: the channel closes once the scan is final and stored so; an
// unknown or finished scan's is closed already.
func TestDone(t *testing.T) {
	st := newMemStore()
	r := newRunner(t, st, func(c *Config) { c.Scan = scan.Config{Rate: 20, Burst: 1} })
	id, err := r.Submit(context.Background(), request(5, 0))
	if err != nil {
		t.Fatal(err)
	}
	done := r.Done(id)
	select {
	case <-done:
		t.Fatal("Done is closed while the scan is queued or running")
	default:
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Done never closed")
	}
	if sc, _ := st.Scan(context.Background(), id); !sc.Status.Final() {
		t.Errorf("Done closed before the final status was stored: %s", sc.Status)
	}
	for _, other := range []string{id, "unknown"} {
		select {
		case <-r.Done(other):
		default:
			t.Errorf("Done(%q) is not closed", other)
		}
	}
}

func TestOutcomeOfNoRoute(t *testing.T) {
	status, reason := outcome(fmt.Errorf("port 22: %w 2001:db8::1 (connect: network is unreachable)", scan.ErrNoRoute))
	if status != store.Failed || !strings.Contains(reason, "no network route") || strings.Contains(reason, "2001:db8") {
		t.Errorf("outcome: %s %q", status, reason)
	}
}

// TestCancel: the creator's token stops a running scan (rows kept) and a
// queued one (at once); a wrong token, an unknown scan and a finished one
// are told apart.
func TestCancel(t *testing.T) {
	st := newMemStore()
	r := newRunner(t, st, func(c *Config) { c.Scan = scan.Config{Rate: 10, Burst: 1}; c.MaxQueued = 3 })
	running, err := r.Submit(context.Background(), request(50, 0)) // about 5 s
	if err != nil {
		t.Fatal(err)
	}
	queued, err := r.Submit(context.Background(), request(5, 0))
	if err != nil {
		t.Fatal(err)
	}
	tokRunning, _ := r.Protect(context.Background(), running)
	tokQueued, _ := r.Protect(context.Background(), queued)

	if err := r.Cancel(context.Background(), queued, tokRunning); !errors.Is(err, store.ErrForbidden) {
		t.Errorf("another scan's token: %v", err)
	}
	if err := r.Cancel(context.Background(), "unknown", tokRunning); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown scan: %v", err)
	}
	// The queued scan ends at once and leaves the queue.
	if err := r.Cancel(context.Background(), queued, tokQueued); err != nil {
		t.Fatal(err)
	}
	select {
	case <-r.Done(queued):
	case <-time.After(time.Second):
		t.Fatal("the queued scan did not end at once")
	}
	if sc, _ := st.Scan(context.Background(), queued); sc.Status != store.Cancelled || !strings.Contains(sc.Reason, "before it began") || !sc.StartedAt.IsZero() {
		t.Errorf("queued scan after Cancel: %s %q", sc.Status, sc.Reason)
	}
	if r.Position(queued) != 0 {
		t.Error("the stopped scan still has a place in the queue")
	}
	// The running one stops within moments, keeping its rows.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if snap, _ := r.Watch(context.Background(), running, 0); len(snap.Rows) >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the running scan decided no rows")
		}
	}
	start := time.Now()
	if err := r.Cancel(context.Background(), running, tokRunning); err != nil {
		t.Fatal(err)
	}
	select {
	case <-r.Done(running):
	case <-time.After(3 * time.Second):
		t.Fatal("the running scan did not stop")
	}
	rows, sc := watchAll(t, r, running)
	if sc.Status != store.Cancelled || !strings.Contains(sc.Reason, "Stopped by the person who started it") || len(rows) < 3 || len(rows) == 50 {
		t.Errorf("running scan after Cancel (%v): %s %q, %d rows", time.Since(start), sc.Status, sc.Reason, len(rows))
	}
	if err := r.Cancel(context.Background(), running, tokRunning); !errors.Is(err, ErrFinished) {
		t.Errorf("cancel a finished scan: %v", err)
	}
	// The slot is free again: a new scan runs to the end.
	id, err := r.Submit(context.Background(), request(2, 0))
	if err != nil {
		t.Fatal(err)
	}
	if _, sc := watchAll(t, r, id); sc.Status != store.Done {
		t.Errorf("next scan: %s", sc.Status)
	}
}

// TestCancelFreesTheQueuePlace: stopping queued scans gives their places
// back at once, though the running scan still holds the only slot.
func TestCancelFreesTheQueuePlace(t *testing.T) {
	st := newMemStore()
	r := newRunner(t, st, func(c *Config) {
		c.Scan = scan.Config{Rate: 10, Burst: 1}
		c.MaxQueued = 2
		c.Grace = 50 * time.Millisecond
	})
	if _, err := r.Submit(context.Background(), request(50, 0)); err != nil { // about 5 s in the only slot
		t.Fatal(err)
	}
	var queued []string
	for len(queued) < 2 {
		id, err := r.Submit(context.Background(), request(5, 0))
		if errors.Is(err, ErrQueueFull) { // the first has not left the queue yet
			time.Sleep(time.Millisecond)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		queued = append(queued, id)
	}
	if _, err := r.Submit(context.Background(), request(5, 0)); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("third queued scan: %v, want ErrQueueFull", err)
	}
	for _, id := range queued {
		tok, _ := r.Protect(context.Background(), id)
		if err := r.Cancel(context.Background(), id, tok); err != nil {
			t.Fatal(err)
		}
	}
	if _, n := r.Running(); n != 0 {
		t.Errorf("%d queued after stopping both", n)
	}
	for range 2 {
		if _, err := r.Submit(context.Background(), request(5, 0)); err != nil {
			t.Errorf("submit after stopping the queued scans: %v", err)
		}
	}
}

// TestCancelDuringChecksLeavesNoGrade: stopped while the follow-up checks
// run, the scan keeps every row but gets no grade (cut-short checks would
// flatter it).
func TestCancelDuringChecksLeavesNoGrade(t *testing.T) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() { // accepts and stays silent: the greeting check waits
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	open := uint16(l.Addr().(*net.TCPAddr).Port)
	st := newMemStore()
	r := newRunner(t, st, func(c *Config) {
		c.Probe = &probe.Config{Checks: map[uint16][]string{open: {probe.CheckBanner}}, PerProbe: 5 * time.Second, Total: 10 * time.Second}
	})
	id, err := r.Submit(context.Background(), request(2, open))
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := r.Protect(context.Background(), id)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if snap, _ := r.Watch(context.Background(), id, 0); snap.Probing {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the checks never started")
		}
	}
	if err := r.Cancel(context.Background(), id, tok); err != nil {
		t.Fatal(err)
	}
	rows, sc := watchAll(t, r, id)
	out, ok := ReadOutcome(sc.Summary)
	if sc.Status != store.Cancelled || !strings.Contains(sc.Reason, "no grade") || len(rows) != 3 || !ok || out.Grade != nil {
		t.Errorf("stopped during the checks: %s %q, %d rows, grade %v", sc.Status, sc.Reason, len(rows), out.Grade)
	}
}

// TestCancelAtAnyMoment: a stop that lands while the scan is being taken
// from the queue, started or run always ends it Cancelled, never Failed.
func TestCancelAtAnyMoment(t *testing.T) {
	st, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "v.db")) // honours contexts, as a real store does
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	r := newRunner(t, st, func(c *Config) { c.MaxQueued = 5 })
	for i := range 200 {
		id, err := r.Submit(context.Background(), request(3, 0))
		if err != nil {
			t.Fatal(err)
		}
		tok, _ := r.Protect(context.Background(), id)
		if i%2 == 1 {
			time.Sleep(time.Duration(i%7) * 50 * time.Microsecond)
		}
		if err := r.Cancel(context.Background(), id, tok); err != nil && !errors.Is(err, ErrFinished) {
			t.Fatal(err)
		}
		<-r.Done(id)
		if sc, _ := st.Scan(context.Background(), id); sc.Status != store.Cancelled && sc.Status != store.Done {
			t.Fatalf("try %d: %s %q", i, sc.Status, sc.Reason)
		}
	}
}

// leftQueue waits until a worker has taken scan id from the queue.
func leftQueue(t *testing.T, r *Runner, id string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); r.Position(id) != 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("scan %s never left the queue", id)
		}
	}
}
