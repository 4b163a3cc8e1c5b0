package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"
)

// mustOpen opens a fresh database in a temporary directory, closed when the
// test ends.
func mustOpen(t *testing.T) (*SQLite, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "vantage.db")
	return mustOpenAt(t, path), path
}

func mustOpenAt(t *testing.T, path string) *SQLite {
	t.Helper()
	s, err := OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatalf("OpenSQLite(%q): %v", path, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// base is a fixed instant with nanoseconds and a non-UTC zone, so tests see
// both the UTC conversion and the precision of the round trip.
var base = time.Date(2026, 3, 14, 15, 9, 26, 535897932, time.FixedZone("CET", 3600))

func newScan(created time.Time) Scan {
	return Scan{
		ID:        NewID(),
		Target:    "Example.COM.",
		Host:      "example.com",
		IP:        netip.MustParseAddr("2001:db8::1"),
		PortSpec:  "preset:common",
		PortCount: 3,
		Status:    Queued,
		CreatedAt: created,
	}
}

func mustCreate(t *testing.T, s *SQLite, sc Scan) Scan {
	t.Helper()
	if err := s.CreateScan(t.Context(), sc); err != nil {
		t.Fatalf("CreateScan: %v", err)
	}
	return sc
}

// results makes n results numbered from first.
func results(first, n int) []Result {
	rs := make([]Result, n)
	for i := range rs {
		seq := first + i
		rs[i] = Result{
			Seq:      seq,
			Port:     uint16(1000 + seq),
			State:    []string{"open", "closed", "filtered"}[seq%3],
			Reason:   []string{"syn-ack", "conn-refused", "no-response"}[seq%3],
			RTT:      time.Duration(seq)*time.Millisecond + 123*time.Microsecond,
			Attempts: 1 + seq%2,
		}
	}
	return rs
}

func assertScan(t *testing.T, got, want Scan) {
	t.Helper()
	for _, tm := range []struct {
		name      string
		got, want time.Time
	}{
		{"CreatedAt", got.CreatedAt, want.CreatedAt},
		{"StartedAt", got.StartedAt, want.StartedAt},
		{"FinishedAt", got.FinishedAt, want.FinishedAt},
	} {
		if !tm.got.Equal(tm.want) || tm.got.IsZero() != tm.want.IsZero() {
			t.Errorf("%s = %v, want %v", tm.name, tm.got, tm.want)
		}
		if !tm.got.IsZero() && tm.got.Location() != time.UTC {
			t.Errorf("%s location = %v, want UTC", tm.name, tm.got.Location())
		}
	}
	if (got.Summary == nil) != (want.Summary == nil) || !bytes.Equal(got.Summary, want.Summary) {
		t.Errorf("Summary = %q (nil %t), want %q (nil %t)", got.Summary, got.Summary == nil, want.Summary, want.Summary == nil)
	}
	type plain struct { // the comparable fields
		ID, Target, Host, PortSpec, Reason string
		IP                                 netip.Addr
		PortCount                          int
		Status                             Status
	}
	g := plain{got.ID, got.Target, got.Host, got.PortSpec, got.Reason, got.IP, got.PortCount, got.Status}
	w := plain{want.ID, want.Target, want.Host, want.PortSpec, want.Reason, want.IP, want.PortCount, want.Status}
	if g != w {
		t.Errorf("scan = %+v, want %+v", g, w)
	}
}

func assertResults(t *testing.T, got, want []Result) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d results, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("result %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestLifecycle(t *testing.T) {
	s, _ := mustOpen(t)
	ctx := t.Context()
	want := mustCreate(t, s, newScan(base))

	got, err := s.Scan(ctx, want.ID)
	if err != nil {
		t.Fatal(err)
	}
	assertScan(t, got, want)

	started := base.Add(1500 * time.Millisecond)
	if err := s.Start(ctx, want.ID, started); err != nil {
		t.Fatalf("Start: %v", err)
	}
	all := results(1, 25)
	for _, batch := range [][]Result{all[:1], all[1:10], all[10:11], all[11:]} {
		if err := s.AddResults(ctx, want.ID, batch); err != nil {
			t.Fatalf("AddResults: %v", err)
		}
	}
	if err := s.AddResults(ctx, want.ID, nil); err != nil {
		t.Fatalf("AddResults(nil): %v", err)
	}
	for _, after := range []int{0, 1, 10, 24, 25, 100, -5} {
		rs, err := s.Results(ctx, want.ID, after)
		if err != nil {
			t.Fatalf("Results(after=%d): %v", after, err)
		}
		assertResults(t, rs, all[min(max(after, 0), len(all)):])
	}

	finished := started.Add(3*time.Second + 7*time.Nanosecond)
	summary := []byte(`{"open":9,"closed":8,"filtered":8}`)
	if err := s.Finish(ctx, want.ID, Done, "", summary, finished); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	want.Status, want.StartedAt, want.FinishedAt, want.Summary = Done, started, finished, summary
	got, err = s.Scan(ctx, want.ID)
	if err != nil {
		t.Fatal(err)
	}
	assertScan(t, got, want)
	if got.StartedAt.Nanosecond() != started.Nanosecond() {
		t.Errorf("StartedAt lost precision: %v vs %v", got.StartedAt, started)
	}
}

func TestRoundTripEdges(t *testing.T) {
	s, _ := mustOpen(t)
	ctx := t.Context()
	cases := []struct {
		name string
		edit func(*Scan)
	}{
		{"no IP", func(sc *Scan) { sc.IP = netip.Addr{} }},
		{"IPv4", func(sc *Scan) { sc.IP = netip.MustParseAddr("192.0.2.7") }},
		{"IPv4-mapped IPv6", func(sc *Scan) { sc.IP = netip.MustParseAddr("::ffff:192.0.2.7") }},
		{"zoned IPv6", func(sc *Scan) { sc.IP = netip.MustParseAddr("fe80::1%eth0") }},
		{"empty strings", func(sc *Scan) { sc.Target, sc.Host, sc.PortSpec = "", "", "" }},
		{"unicode", func(sc *Scan) { sc.Target, sc.Reason = "bücher.example", "naïve — reason" }},
		{"empty non-nil summary", func(sc *Scan) { sc.Summary = []byte{} }},
		{"binary summary", func(sc *Scan) { sc.Summary = []byte{0, 1, 2, 0xff} }},
		{"empty status means queued", func(sc *Scan) { sc.Status = "" }},
		{"UTC created", func(sc *Scan) { sc.CreatedAt = time.Date(2000, 1, 1, 0, 0, 0, 1, time.UTC) }},
		{"local created with monotonic", func(sc *Scan) { sc.CreatedAt = time.Now() }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sc := newScan(base)
			tc.edit(&sc)
			mustCreate(t, s, sc)
			got, err := s.Scan(ctx, sc.ID)
			if err != nil {
				t.Fatal(err)
			}
			if sc.Status == "" {
				sc.Status = Queued
			}
			assertScan(t, got, sc)
		})
	}
}

func TestResultRTTMicroseconds(t *testing.T) {
	s, _ := mustOpen(t)
	ctx := t.Context()
	sc := mustCreate(t, s, newScan(base))
	in := []Result{
		{Seq: 1, Port: 0, State: "open", Reason: "syn-ack", RTT: 1234567 * time.Nanosecond, Attempts: 1},
		{Seq: 2, Port: 65535, State: "filtered", Reason: "no-response", RTT: 0, Attempts: 0},
	}
	if err := s.AddResults(ctx, sc.ID, in); err != nil {
		t.Fatal(err)
	}
	got, err := s.Results(ctx, sc.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []Result{in[0], in[1]}
	want[0].RTT = 1234 * time.Microsecond // stored as whole microseconds
	assertResults(t, got, want)
}

func TestCreateScanErrors(t *testing.T) {
	s, _ := mustOpen(t)
	existing := mustCreate(t, s, newScan(base))
	cases := []struct {
		name string
		edit func(*Scan)
		want error
	}{
		{"empty ID", func(sc *Scan) { sc.ID = "" }, ErrInvalid},
		{"duplicate ID", func(sc *Scan) { sc.ID = existing.ID }, ErrExists},
		{"running status", func(sc *Scan) { sc.Status = Running }, ErrInvalid},
		{"final status", func(sc *Scan) { sc.Status = Done }, ErrInvalid},
		{"unknown status", func(sc *Scan) { sc.Status = "paused" }, ErrInvalid},
		{"negative port count", func(sc *Scan) { sc.PortCount = -1 }, ErrInvalid},
		{"zero created", func(sc *Scan) { sc.CreatedAt = time.Time{} }, ErrInvalid},
		{"created out of range", func(sc *Scan) { sc.CreatedAt = time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC) }, ErrInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sc := newScan(base)
			tc.edit(&sc)
			err := s.CreateScan(t.Context(), sc)
			if !errors.Is(err, tc.want) {
				t.Fatalf("CreateScan = %v, want %v", err, tc.want)
			}
		})
	}
	// The duplicate must not have overwritten the original.
	got, err := s.Scan(t.Context(), existing.ID)
	if err != nil {
		t.Fatal(err)
	}
	assertScan(t, got, existing)
}

// states creates one scan in each status and returns their IDs by status.
func states(t *testing.T, s *SQLite, created time.Time) map[Status]string {
	t.Helper()
	ctx := t.Context()
	ids := map[Status]string{}
	for _, st := range []Status{Queued, Running, Done, Failed, Cancelled, Interrupted} {
		sc := mustCreate(t, s, newScan(created))
		ids[st] = sc.ID
		if st == Queued {
			continue
		}
		if err := s.Start(ctx, sc.ID, created.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		if st == Running {
			continue
		}
		if err := s.Finish(ctx, sc.ID, st, "because", nil, created.Add(2*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

func TestStateErrors(t *testing.T) {
	s, _ := mustOpen(t)
	ids := states(t, s, base)
	unknown := NewID()
	later := base.Add(time.Minute)
	start := func(id string, tm time.Time) func(context.Context) error {
		return func(ctx context.Context) error { return s.Start(ctx, id, tm) }
	}
	add := func(id string, rs []Result) func(context.Context) error {
		return func(ctx context.Context) error { return s.AddResults(ctx, id, rs) }
	}
	finish := func(id string, st Status, tm time.Time) func(context.Context) error {
		return func(ctx context.Context) error { return s.Finish(ctx, id, st, "r", []byte("{}"), tm) }
	}
	results := func(id string) func(context.Context) error {
		return func(ctx context.Context) error { _, err := s.Results(ctx, id, 0); return err }
	}
	scan := func(id string) func(context.Context) error {
		return func(ctx context.Context) error { _, err := s.Scan(ctx, id); return err }
	}
	one := []Result{{Seq: 1, Port: 22, State: "open", Reason: "syn-ack", RTT: time.Millisecond, Attempts: 1}}
	cases := []struct {
		name string
		op   func(context.Context) error
		want error
	}{
		{"Scan unknown", scan(unknown), ErrNotFound},
		{"Scan empty ID", scan(""), ErrNotFound},
		{"Results unknown", results(unknown), ErrNotFound},

		{"Start unknown", start(unknown, later), ErrNotFound},
		{"Start running", start(ids[Running], later), ErrConflict},
		{"Start done", start(ids[Done], later), ErrConflict},
		{"Start interrupted", start(ids[Interrupted], later), ErrConflict},
		{"Start zero time", start(ids[Queued], time.Time{}), ErrInvalid},

		{"AddResults unknown", add(unknown, one), ErrNotFound},
		{"AddResults unknown empty batch", add(unknown, nil), ErrNotFound},
		{"AddResults done", add(ids[Done], one), ErrConflict},
		{"AddResults failed", add(ids[Failed], one), ErrConflict},
		{"AddResults cancelled", add(ids[Cancelled], one), ErrConflict},
		{"AddResults interrupted", add(ids[Interrupted], one), ErrConflict},
		{"AddResults seq zero", add(ids[Running], []Result{{Seq: 0}}), ErrInvalid},
		{"AddResults seq decreasing", add(ids[Running], []Result{{Seq: 2}, {Seq: 1}}), ErrInvalid},
		{"AddResults seq repeated", add(ids[Running], []Result{{Seq: 1}, {Seq: 1}}), ErrInvalid},
		{"AddResults negative rtt", add(ids[Running], []Result{{Seq: 1, RTT: -1}}), ErrInvalid},
		{"AddResults negative attempts", add(ids[Running], []Result{{Seq: 1, Attempts: -1}}), ErrInvalid},

		{"Finish unknown", finish(unknown, Done, later), ErrNotFound},
		{"Finish to running", finish(ids[Running], Running, later), ErrInvalid},
		{"Finish to queued", finish(ids[Running], Queued, later), ErrInvalid},
		{"Finish to unknown status", finish(ids[Running], "exploded", later), ErrInvalid},
		{"Finish to empty status", finish(ids[Running], "", later), ErrInvalid},
		{"Finish zero time", finish(ids[Running], Done, time.Time{}), ErrInvalid},
		{"Finish done", finish(ids[Done], Failed, later), ErrConflict},
		{"Finish failed", finish(ids[Failed], Done, later), ErrConflict},
		{"Finish cancelled", finish(ids[Cancelled], Cancelled, later), ErrConflict},
		{"Finish interrupted", finish(ids[Interrupted], Done, later), ErrConflict},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.op(t.Context())
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}

	// None of the failures changed anything.
	for st, id := range ids {
		sc, err := s.Scan(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if sc.Status != st {
			t.Errorf("scan %s: status %s, want %s", id, sc.Status, st)
		}
		rs, err := s.Results(t.Context(), id, 0)
		if err != nil || len(rs) != 0 {
			t.Errorf("scan %s: results %v, %v; want none", id, rs, err)
		}
	}
}

func TestAddResultsSeqMustFollowStored(t *testing.T) {
	s, _ := mustOpen(t)
	ctx := t.Context()
	sc := mustCreate(t, s, newScan(base))
	if err := s.AddResults(ctx, sc.ID, results(1, 5)); err != nil {
		t.Fatal(err)
	}
	for _, first := range []int{1, 5} {
		// The batch is rejected whole: 6 and 7 are not stored either.
		if err := s.AddResults(ctx, sc.ID, results(first, 3)); !errors.Is(err, ErrInvalid) {
			t.Errorf("AddResults from %d: %v, want ErrInvalid", first, err)
		}
	}
	if err := s.AddResults(ctx, sc.ID, results(8, 2)); err != nil {
		t.Errorf("AddResults with a gap: %v", err)
	}
	rs, err := s.Results(ctx, sc.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	assertResults(t, rs, append(results(1, 5), results(8, 2)...))
}

func TestFinishFromQueued(t *testing.T) {
	s, _ := mustOpen(t)
	ctx := t.Context()
	sc := mustCreate(t, s, newScan(base))
	at := base.Add(time.Second)
	if err := s.Finish(ctx, sc.ID, Cancelled, "You cancelled the scan.", nil, at); err != nil {
		t.Fatal(err)
	}
	got, err := s.Scan(ctx, sc.ID)
	if err != nil {
		t.Fatal(err)
	}
	sc.Status, sc.Reason, sc.FinishedAt = Cancelled, "You cancelled the scan.", at
	assertScan(t, got, sc)
	if err := s.Finish(ctx, sc.ID, Cancelled, "again", nil, at); !errors.Is(err, ErrConflict) {
		t.Errorf("second Finish = %v, want ErrConflict", err)
	}
}

func TestInterrupt(t *testing.T) {
	s, _ := mustOpen(t)
	ctx := t.Context()
	ids := states(t, s, base)
	if err := s.AddResults(ctx, ids[Running], results(1, 3)); err != nil {
		t.Fatal(err)
	}
	at := base.Add(time.Hour)
	const reason = "The server restarted during the scan."
	n, err := s.Interrupt(ctx, reason, at)
	if err != nil || n != 2 {
		t.Fatalf("Interrupt = %d, %v; want 2, nil", n, err)
	}
	for st, id := range ids {
		sc, err := s.Scan(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		switch st {
		case Queued, Running:
			if sc.Status != Interrupted || sc.Reason != reason || !sc.FinishedAt.Equal(at) {
				t.Errorf("%s scan after Interrupt: %s %q %v", st, sc.Status, sc.Reason, sc.FinishedAt)
			}
		default:
			if sc.Status != st || sc.Reason != "because" || sc.FinishedAt.Equal(at) {
				t.Errorf("%s scan changed by Interrupt: %s %q %v", st, sc.Status, sc.Reason, sc.FinishedAt)
			}
		}
	}
	// Results already stored stay; the interrupted scan takes no more.
	if rs, err := s.Results(ctx, ids[Running], 0); err != nil || len(rs) != 3 {
		t.Errorf("Results of interrupted scan = %d, %v; want 3", len(rs), err)
	}
	if err := s.AddResults(ctx, ids[Running], results(4, 1)); !errors.Is(err, ErrConflict) {
		t.Errorf("AddResults after Interrupt = %v, want ErrConflict", err)
	}
	if n, err := s.Interrupt(ctx, reason, at); err != nil || n != 0 {
		t.Errorf("second Interrupt = %d, %v; want 0, nil", n, err)
	}
	if _, err := s.Interrupt(ctx, reason, time.Time{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("Interrupt at zero time = %v, want ErrInvalid", err)
	}
}

// countResults counts a scan's rows directly, bypassing the scans table.
func countResults(t *testing.T, s *SQLite, id string) int {
	t.Helper()
	var n int
	if err := s.reader.QueryRowContext(t.Context(), `SELECT count(*) FROM results WHERE scan_id = ?`, id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestPurge(t *testing.T) {
	s, _ := mustOpen(t)
	ctx := t.Context()
	cut := base
	var old, young []string
	for i := range 5 {
		sc := mustCreate(t, s, newScan(cut.Add(-time.Duration(i+1)*time.Hour)))
		old = append(old, sc.ID)
	}
	for i := range 3 {
		sc := mustCreate(t, s, newScan(cut.Add(time.Duration(i)*time.Nanosecond))) // not before: kept
		young = append(young, sc.ID)
	}
	for _, id := range slices.Concat(old[:2], young) {
		if err := s.AddResults(ctx, id, results(1, 4)); err != nil {
			t.Fatal(err)
		}
	}

	if n, err := s.Purge(ctx, time.Time{}); err != nil || n != 0 {
		t.Errorf("Purge(zero) = %d, %v; want 0, nil", n, err)
	}
	if n, err := s.Purge(ctx, time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil || n != 0 {
		t.Errorf("Purge(year 1000) = %d, %v; want 0, nil", n, err)
	}
	n, err := s.Purge(ctx, cut)
	if err != nil || n != len(old) {
		t.Fatalf("Purge = %d, %v; want %d, nil", n, err, len(old))
	}
	for _, id := range old {
		if _, err := s.Scan(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("purged scan %s: %v, want ErrNotFound", id, err)
		}
		if _, err := s.Results(ctx, id, 0); !errors.Is(err, ErrNotFound) {
			t.Errorf("results of purged scan %s: %v, want ErrNotFound", id, err)
		}
		if c := countResults(t, s, id); c != 0 {
			t.Errorf("purged scan %s still has %d result rows", id, c)
		}
	}
	for _, id := range young {
		if c := countResults(t, s, id); c != 4 {
			t.Errorf("kept scan %s has %d result rows, want 4", id, c)
		}
	}
	if n, err := s.Purge(ctx, cut); err != nil || n != 0 {
		t.Errorf("second Purge = %d, %v; want 0, nil", n, err)
	}
	if n, err := s.Purge(ctx, time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil || n != len(young) {
		t.Errorf("Purge(year 3000) = %d, %v; want %d, nil", n, err, len(young))
	}
}

func TestConcurrentWritersAndReaders(t *testing.T) {
	s, _ := mustOpen(t)
	ctx := t.Context()
	const (
		writers = 8
		batches = 15
		batch   = 40
	)
	ids := make([]string, writers)
	for i := range ids {
		ids[i] = mustCreate(t, s, newScan(base)).ID
	}

	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		errs     []error
		done     = make(chan struct{})
		recordEr = func(err error) {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		}
	)
	for _, id := range ids {
		wg.Go(func() {
			if err := s.Start(ctx, id, base.Add(time.Second)); err != nil {
				recordEr(err)
				return
			}
			for b := range batches {
				if err := s.AddResults(ctx, id, results(1+b*batch, batch)); err != nil {
					recordEr(fmt.Errorf("scan %s batch %d: %w", id, b, err))
					return
				}
			}
			if err := s.Finish(ctx, id, Done, "", []byte(`{}`), base.Add(time.Minute)); err != nil {
				recordEr(err)
			}
		})
	}
	var readers sync.WaitGroup
	for r := range 4 {
		readers.Go(func() {
			after := 0
			id := ids[r%writers]
			for {
				select {
				case <-done:
					return
				case <-time.After(time.Millisecond): // poll like a watcher, not a spin
				}
				rs, err := s.Results(ctx, id, after)
				if err != nil {
					recordEr(fmt.Errorf("reader %d: %w", r, err))
					return
				}
				for _, res := range rs {
					if res.Seq != after+1 {
						recordEr(fmt.Errorf("reader %d: seq %d after %d", r, res.Seq, after))
						return
					}
					after = res.Seq
				}
				if _, err := s.Scan(ctx, id); err != nil {
					recordEr(fmt.Errorf("reader %d: %w", r, err))
					return
				}
				if err := s.Ping(ctx); err != nil {
					recordEr(fmt.Errorf("reader %d: %w", r, err))
					return
				}
			}
		})
	}
	wg.Wait()
	close(done)
	readers.Wait()
	for _, err := range errs {
		t.Error(err)
	}
	for _, id := range ids {
		rs, err := s.Results(ctx, id, 0)
		if err != nil {
			t.Fatal(err)
		}
		assertResults(t, rs, results(1, batches*batch))
		if sc, err := s.Scan(ctx, id); err != nil || sc.Status != Done {
			t.Errorf("scan %s: %v, %v; want done", id, sc.Status, err)
		}
	}
}

// TestTwoStoresOneFile is two processes' worth of writers on one file: the
// per-store writer queue does not help here, busy_timeout must.
func TestTwoStoresOneFile(t *testing.T) {
	s1, path := mustOpen(t)
	s2 := mustOpenAt(t, path)
	ctx := t.Context()
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	ids := make(chan string, 2*50)
	for _, s := range []*SQLite{s1, s2} {
		wg.Go(func() {
			for range 50 {
				sc := newScan(base)
				if err := s.CreateScan(ctx, sc); err != nil {
					errs <- err
					return
				}
				if err := s.AddResults(ctx, sc.ID, results(1, 20)); err != nil {
					errs <- err
					return
				}
				ids <- sc.ID
			}
		})
	}
	wg.Wait()
	close(errs)
	close(ids)
	for err := range errs {
		t.Error(err)
	}
	for id := range ids {
		if c := countResults(t, s1, id); c != 20 {
			t.Errorf("scan %s: %d results, want 20", id, c)
		}
	}
}

func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vantage.db")
	ctx := t.Context()
	s, err := OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	sc := newScan(base)
	if err := s.CreateScan(ctx, sc); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(ctx, sc.ID, base.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := s.AddResults(ctx, sc.ID, results(1, 7)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := s.Ping(ctx); err == nil {
		t.Error("Ping after Close succeeded")
	}

	s = mustOpenAt(t, path)
	got, err := s.Scan(ctx, sc.ID)
	if err != nil {
		t.Fatal(err)
	}
	sc.Status, sc.StartedAt = Running, base.Add(time.Second)
	assertScan(t, got, sc)
	rs, err := s.Results(ctx, sc.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	assertResults(t, rs, results(1, 7))
	// What the web service does at start-up after a crash.
	if n, err := s.Interrupt(ctx, "restarted", base.Add(time.Hour)); err != nil || n != 1 {
		t.Errorf("Interrupt after reopen = %d, %v; want 1", n, err)
	}
}

func TestMigrations(t *testing.T) {
	ms, err := loadMigrations(migrationFiles)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 {
		t.Fatal("no migrations embedded")
	}
	path := filepath.Join(t.TempDir(), "sub", "dir", "vantage.db")
	for i := range 3 {
		s, err := OpenSQLite(t.Context(), path)
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		var v int
		if err := s.reader.QueryRow(`PRAGMA user_version`).Scan(&v); err != nil || v != len(ms) {
			t.Errorf("open %d: user_version = %d, %v; want %d", i, v, err, len(ms))
		}
		if err := s.Ping(t.Context()); err != nil {
			t.Errorf("open %d: Ping: %v", i, err)
		}
		if i == 0 {
			mustCreate(t, s, newScan(base))
		}
		var n int
		if err := s.reader.QueryRow(`SELECT count(*) FROM scans`).Scan(&n); err != nil || n != 1 {
			t.Errorf("open %d: %d scans, %v; want 1", i, n, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	fi, err := os.Stat(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm&^0o750 != 0 {
		t.Errorf("created directory mode %v, want at most 0750", perm)
	}

	t.Run("newer schema refused", func(t *testing.T) {
		s := mustOpenAt(t, path)
		if _, err := s.writer.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, len(ms)+1)); err != nil {
			t.Fatal(err)
		}
		if err := s.Ping(t.Context()); err == nil {
			t.Error("Ping with a changed schema version succeeded")
		}
		if _, err := OpenSQLite(t.Context(), path); err == nil {
			t.Error("OpenSQLite on a newer schema succeeded")
		}
	})
}

func TestLoadMigrationsRejectsBadNumbering(t *testing.T) {
	cases := map[string][]string{
		"gap":       {"migrations/0001_a.sql", "migrations/0003_b.sql"},
		"duplicate": {"migrations/0001_a.sql", "migrations/0001_b.sql"},
		"no number": {"migrations/init.sql"},
		"zero":      {"migrations/0000_a.sql"},
	}
	for name, files := range cases {
		t.Run(name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for _, f := range files {
				fsys[f] = &fstest.MapFile{Data: []byte("SELECT 1;")}
			}
			if _, err := loadMigrations(fsys); err == nil {
				t.Error("loadMigrations succeeded")
			}
		})
	}
}

func TestPragmas(t *testing.T) {
	s, _ := mustOpen(t)
	common := map[string]string{"journal_mode": "wal", "foreign_keys": "1", "synchronous": "1", "busy_timeout": "5000"}
	for _, pool := range []struct {
		name  string
		db    *sql.DB
		extra map[string]string
	}{
		{"writer", s.writer, map[string]string{"query_only": "0"}},
		{"reader", s.reader, map[string]string{"query_only": "1"}},
	} {
		for pragma, want := range common {
			pool.extra[pragma] = want
		}
		for pragma, want := range pool.extra {
			var got string
			if err := pool.db.QueryRow(`PRAGMA ` + pragma).Scan(&got); err != nil || got != want {
				t.Errorf("%s: PRAGMA %s = %q, %v; want %q", pool.name, pragma, got, err, want)
			}
		}
	}
	if _, err := s.reader.Exec(`DELETE FROM scans`); err == nil {
		t.Error("a reader connection could write")
	}
}

func TestOpenSQLiteBadPath(t *testing.T) {
	for _, path := range []string{"", ":memory:", "file:x.db?mode=memory", filepath.Join(t.TempDir(), "a?b.db")} {
		t.Run(path, func(t *testing.T) {
			if s, err := OpenSQLite(t.Context(), path); !errors.Is(err, ErrInvalid) {
				if s != nil {
					s.Close()
				}
				t.Errorf("OpenSQLite(%q) = %v, want ErrInvalid", path, err)
			}
		})
	}
	t.Run("parent is a file", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "f")
		if err := os.WriteFile(file, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := OpenSQLite(t.Context(), filepath.Join(file, "x.db")); err == nil {
			t.Error("OpenSQLite under a regular file succeeded")
		}
	})
}

func TestNewID(t *testing.T) {
	const n = 10_000
	seen := make(map[string]bool, n)
	for range n {
		id := NewID()
		if !ValidID(id) {
			t.Fatalf("NewID() = %q, not ValidID", id)
		}
		if seen[id] {
			t.Fatalf("NewID() repeated %q", id)
		}
		seen[id] = true
	}
}

func TestValidID(t *testing.T) {
	cases := []struct {
		id   string
		want bool
	}{
		{"ABCDEFGHIJKLMNOPQRSTUVWXYZ", true},
		{"22222222222222222222222222", true},
		{"7777777777777777777777777Z", true},
		{"", false},
		{"ABCDEFGHIJKLMNOPQRSTUVWXY", false},   // 25
		{"ABCDEFGHIJKLMNOPQRSTUVWXYZA", false}, // 27
		{"abcdefghijklmnopqrstuvwxyz", false},  // lower case is not NewID's shape
		{"ABCDEFGHIJKLMNOPQRSTUVWXY1", false},  // 1 is not base32
		{"ABCDEFGHIJKLMNOPQRSTUVWXY0", false},
		{"ABCDEFGHIJKLMNOPQRSTUVWXY8", false},
		{"ABCDEFGHIJKLMNOPQRSTUVWX=Z", false},
		{"ABCDEFGHIJKLMNOPQRSTUVWX/Z", false},
		{"ABCDEFGHIJKLMNOPQRSTUVWXÄ", false}, // 26 bytes, not ASCII
		{"../../../../../etc/passwd0", false},
	}
	for _, tc := range cases {
		t.Run(tc.id, func(t *testing.T) {
			if got := ValidID(tc.id); got != tc.want {
				t.Errorf("ValidID(%q) = %t, want %t", tc.id, got, tc.want)
			}
		})
	}
}

func TestRunPurger(t *testing.T) {
	s, _ := mustOpen(t)
	now := time.Now()
	old := mustCreate(t, s, newScan(now.Add(-2*time.Hour)))
	if err := s.AddResults(t.Context(), old.ID, results(1, 3)); err != nil {
		t.Fatal(err)
	}
	fresh := mustCreate(t, s, newScan(now))

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var logs bytes.Buffer // read only after RunPurger returns
	log := slog.New(slog.NewTextHandler(&logs, nil))
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.RunPurger(ctx, 10*time.Millisecond, time.Hour, log)
	}()

	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := s.Scan(t.Context(), old.ID)
		if errors.Is(err, ErrNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("old scan not purged: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(30 * time.Millisecond) // a few more ticks, which must keep the fresh scan
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("RunPurger did not return after cancel")
	}
	if _, err := s.Scan(t.Context(), fresh.ID); err != nil {
		t.Errorf("fresh scan: %v", err)
	}
	if c := countResults(t, s, old.ID); c != 0 {
		t.Errorf("purged scan still has %d results", c)
	}
	if out := logs.String(); !strings.Contains(out, "purged old scans") || strings.Contains(out, "level=ERROR") {
		t.Errorf("log:\n%s", out)
	}
}

func TestRunPurgerBadConfig(t *testing.T) {
	s, _ := mustOpen(t)
	for _, tc := range []struct {
		name        string
		every, keep time.Duration
	}{
		{"zero interval", 0, time.Hour},
		{"negative keep", time.Second, -time.Hour},
		{"zero keep", time.Second, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan struct{})
			go func() {
				defer close(done)
				s.RunPurger(t.Context(), tc.every, tc.keep, slog.New(slog.NewTextHandler(io.Discard, nil)))
			}()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("RunPurger with a bad configuration did not return")
			}
		})
	}
}

func TestPreviousIDRoundTrip(t *testing.T) {
	st, err := OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "v.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now()
	for _, sc := range []Scan{{ID: "FIRST", CreatedAt: now}, {ID: "SECOND", CreatedAt: now, PreviousID: "FIRST"}} {
		if err := st.CreateScan(context.Background(), sc); err != nil {
			t.Fatal(err)
		}
	}
	a, _ := st.Scan(context.Background(), "FIRST")
	b, _ := st.Scan(context.Background(), "SECOND")
	if a.PreviousID != "" || b.PreviousID != "FIRST" {
		t.Errorf("previous ids %q %q", a.PreviousID, b.PreviousID)
	}
}

func TestDeleteNeedsTheToken(t *testing.T) {
	st, err := OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "v.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	now := time.Now()
	_ = st.CreateScan(ctx, Scan{ID: "DEL", CreatedAt: now})
	right, wrong := []byte("0123456789abcdef0123456789abcdef"), []byte("not the hash")
	if err := st.SetDeleteHash(ctx, "DEL", right); err != nil {
		t.Fatal(err)
	}
	if err := st.Delete(ctx, "DEL", right); !errors.Is(err, ErrConflict) {
		t.Errorf("delete while queued: %v", err)
	}
	// The same token stops the scan: checked without deleting anything.
	if err := st.CheckDeleteHash(ctx, "DEL", right); err != nil {
		t.Errorf("check the right hash: %v", err)
	}
	if err := st.CheckDeleteHash(ctx, "DEL", wrong); !errors.Is(err, ErrForbidden) {
		t.Errorf("check a wrong hash: %v", err)
	}
	if err := st.CheckDeleteHash(ctx, "NOPE", right); !errors.Is(err, ErrNotFound) {
		t.Errorf("check an unknown scan: %v", err)
	}
	_ = st.CreateScan(ctx, Scan{ID: "NOHASH", CreatedAt: now})
	if err := st.CheckDeleteHash(ctx, "NOHASH", nil); !errors.Is(err, ErrForbidden) {
		t.Errorf("check a scan without a hash: %v", err)
	}
	_ = st.Finish(ctx, "DEL", Done, "", nil, now)
	if err := st.Delete(ctx, "DEL", wrong); !errors.Is(err, ErrForbidden) {
		t.Errorf("wrong hash: %v", err)
	}
	if err := st.Delete(ctx, "DEL", right); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Scan(ctx, "DEL"); !errors.Is(err, ErrNotFound) {
		t.Errorf("after delete: %v", err)
	}
	if err := st.Delete(ctx, "DEL", right); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
}

// TestCreatePairAllOrNone: a dual-stack pair is stored together, each
// naming the other, or not at all.
func TestCreatePairAllOrNone(t *testing.T) {
	st, err := OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "v.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	now := time.Now()
	a := Scan{ID: "FOUR", CreatedAt: now, SiblingID: "SIX", IP: netip.MustParseAddr("192.0.2.1")}
	b := Scan{ID: "SIX", CreatedAt: now, SiblingID: "FOUR", IP: netip.MustParseAddr("2001:db8::1")}
	if err := st.CreateScan(ctx, a, b); err != nil {
		t.Fatal(err)
	}
	ga, _ := st.Scan(ctx, "FOUR")
	gb, _ := st.Scan(ctx, "SIX")
	if ga.SiblingID != "SIX" || gb.SiblingID != "FOUR" || gb.IP != b.IP {
		t.Errorf("stored pair %+v / %+v", ga, gb)
	}
	// The second insert fails (its ID is taken): the first is rolled back.
	c := Scan{ID: "NEW", CreatedAt: now, SiblingID: "SIX"}
	if err := st.CreateScan(ctx, c, Scan{ID: "SIX", CreatedAt: now}); !errors.Is(err, ErrExists) {
		t.Fatalf("pair with a taken ID: %v", err)
	}
	if _, err := st.Scan(ctx, "NEW"); !errors.Is(err, ErrNotFound) {
		t.Errorf("half a pair was stored: %v", err)
	}
	// An invalid second scan refuses the pair before anything is written.
	if err := st.CreateScan(ctx, Scan{ID: "X", CreatedAt: now}, Scan{ID: "", CreatedAt: now}); !errors.Is(err, ErrInvalid) {
		t.Errorf("pair with an empty ID: %v", err)
	}
	if _, err := st.Scan(ctx, "X"); !errors.Is(err, ErrNotFound) {
		t.Errorf("half an invalid pair was stored: %v", err)
	}
	if err := st.CreateScan(ctx); !errors.Is(err, ErrInvalid) {
		t.Errorf("no scans: %v", err)
	}
}
