package store

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver
)

// SQLite is the embedded Store: one database file in WAL mode.
//
// Writes go through a pool of exactly one connection, so this process never
// has two writers racing for the file lock (no SQLITE_BUSY between our own
// goroutines; they queue in database/sql, honouring their contexts). Reads go
// through a separate pool of read-only connections, which WAL lets run
// alongside the writer. busy_timeout still covers other processes that open
// the same file.
type SQLite struct {
	writer  *sql.DB // MaxOpenConns 1, BEGIN IMMEDIATE
	reader  *sql.DB // query_only connections
	version int     // schema version after migrations
}

var _ Store = (*SQLite)(nil)

// dsnPragmas is applied to every connection, writer and reader alike.
const dsnPragmas = "_pragma=busy_timeout(5000)" +
	"&_pragma=journal_mode(WAL)" +
	"&_pragma=foreign_keys(1)" +
	"&_pragma=synchronous(NORMAL)"

// writerDSN and readerDSN turn a file path into modernc.org/sqlite DSNs. The
// path is a plain file name (not a "file:" URI), so the driver strips the
// query before SQLite sees the name.
func writerDSN(path string) string { return path + "?" + dsnPragmas + "&_txlock=immediate" }
func readerDSN(path string) string { return path + "?" + dsnPragmas + "&_query_only=1" }

// OpenSQLite opens (creating if need be) the database file at path, and its
// parent directory, and brings its schema up to date.
func OpenSQLite(ctx context.Context, path string) (*SQLite, error) {
	if err := checkPath(path); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}

	writer, err := sql.Open("sqlite", writerDSN(path))
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	writer.SetConnMaxIdleTime(0)
	version, err := migrate(ctx, writer)
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}

	// Readers open once the file is in WAL mode and the schema is current.
	reader, err := sql.Open("sqlite", readerDSN(path))
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	reader.SetMaxOpenConns(n)
	reader.SetMaxIdleConns(n)
	if err := reader.PingContext(ctx); err != nil {
		reader.Close()
		writer.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return &SQLite{writer: writer, reader: reader, version: version}, nil
}

// checkPath refuses names the two-pool design cannot serve: an in-memory
// database would be a different one in each pool, and a '?' would be taken
// for the start of the DSN's parameters.
func checkPath(path string) error {
	switch {
	case path == "":
		return fmt.Errorf("open store: empty path: %w", ErrInvalid)
	case path == ":memory:" || strings.HasPrefix(path, "file:"):
		return fmt.Errorf("open store %q: want a file path, not an in-memory database or URI: %w", path, ErrInvalid)
	case strings.ContainsRune(path, '?'):
		return fmt.Errorf("open store %q: path must not contain '?': %w", path, ErrInvalid)
	}
	return nil
}

// scanColumns lists the columns of scans in the order CreateScan writes them.
const scanColumns = `id, target, host, ip, port_spec, port_count, status, reason,
	created_at, started_at, finished_at, summary, previous_id, sibling_id`

// scanSelect is what scanFrom reads: scanColumns and whether summary is
// non-NULL, since the driver reads an empty BLOB back as a nil slice.
const scanSelect = scanColumns + `, summary IS NOT NULL`

// CreateScan inserts new scans, all or none (a dual-stack comparison is a
// pair). Each Status must be Queued (or empty, which means Queued), each ID
// non-empty and unused, each CreatedAt set.
func (s *SQLite) CreateScan(ctx context.Context, scans ...Scan) error {
	if len(scans) == 0 {
		return fmt.Errorf("create scan: no scan: %w", ErrInvalid)
	}
	type row []any
	rows := make([]row, 0, len(scans))
	for _, sc := range scans {
		if sc.Status == "" {
			sc.Status = Queued
		}
		if err := checkNewScan(sc); err != nil {
			return err
		}
		created, err := nanos(sc.CreatedAt, "created_at")
		if err != nil {
			return err
		}
		started, err := nanos(sc.StartedAt, "started_at")
		if err != nil {
			return err
		}
		finished, err := nanos(sc.FinishedAt, "finished_at")
		if err != nil {
			return err
		}
		rows = append(rows, row{sc.ID, sc.Target, sc.Host, ipArg(sc.IP), sc.PortSpec, sc.PortCount, string(sc.Status), sc.Reason,
			created, started, finished, blobArg(sc.Summary), nullString(sc.PreviousID), nullString(sc.SiblingID)})
	}
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("create scan %q: %w", scans[0].ID, err)
	}
	defer func() { _ = tx.Rollback() }()
	for i, args := range rows {
		res, err := tx.ExecContext(ctx, `INSERT INTO scans (`+scanColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO NOTHING`, args...)
		if err != nil {
			return fmt.Errorf("create scan %q: %w", scans[i].ID, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("create scan %q: %w", scans[i].ID, err)
		} else if n == 0 {
			return fmt.Errorf("create scan %q: %w", scans[i].ID, ErrExists)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("create scan %q: %w", scans[0].ID, err)
	}
	return nil
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

func checkNewScan(sc Scan) error {
	switch {
	case sc.ID == "":
		return fmt.Errorf("create scan: empty ID: %w", ErrInvalid)
	case sc.Status != Queued:
		return fmt.Errorf("create scan %q: status %q, a new scan must be queued: %w", sc.ID, sc.Status, ErrInvalid)
	case sc.PortCount < 0:
		return fmt.Errorf("create scan %q: negative port count %d: %w", sc.ID, sc.PortCount, ErrInvalid)
	case sc.CreatedAt.IsZero():
		return fmt.Errorf("create scan %q: zero created_at: %w", sc.ID, ErrInvalid)
	}
	return nil
}

// Scan returns the scan with the given ID, or an error wrapping ErrNotFound.
func (s *SQLite) Scan(ctx context.Context, id string) (Scan, error) {
	row := s.reader.QueryRowContext(ctx, `SELECT `+scanSelect+` FROM scans WHERE id = ?`, id)
	sc, err := scanFrom(row)
	if errors.Is(err, sql.ErrNoRows) {
		return Scan{}, fmt.Errorf("scan %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return Scan{}, fmt.Errorf("scan %q: %w", id, err)
	}
	return sc, nil
}

// scanFrom reads one row of scanSelect.
func scanFrom(row interface{ Scan(...any) error }) (Scan, error) {
	var (
		sc                         Scan
		ip                         sql.NullString
		status                     string
		created, started, finished sql.NullInt64
		summary                    []byte
		hasSummary                 bool
		previous, sibling          sql.NullString
	)
	err := row.Scan(&sc.ID, &sc.Target, &sc.Host, &ip, &sc.PortSpec, &sc.PortCount, &status, &sc.Reason,
		&created, &started, &finished, &summary, &previous, &sibling, &hasSummary)
	if err != nil {
		return Scan{}, err
	}
	if ip.Valid && ip.String != "" {
		if sc.IP, err = netip.ParseAddr(ip.String); err != nil {
			return Scan{}, fmt.Errorf("stored ip: %w", err)
		}
	}
	sc.Status = Status(status)
	sc.CreatedAt = fromNanos(created)
	sc.StartedAt = fromNanos(started)
	sc.FinishedAt = fromNanos(finished)
	sc.Summary = summary
	sc.PreviousID = previous.String
	sc.SiblingID = sibling.String
	if hasSummary && summary == nil {
		sc.Summary = []byte{}
	}
	return sc, nil
}

// Start marks a queued scan running at t. Any other status is ErrConflict.
func (s *SQLite) Start(ctx context.Context, id string, t time.Time) error {
	at, err := nanos(t, "start time")
	if err != nil {
		return err
	}
	if !at.Valid {
		return fmt.Errorf("start scan %q: zero time: %w", id, ErrInvalid)
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		st, err := statusOf(ctx, tx, id)
		if err != nil {
			return err
		}
		if st != Queued {
			return fmt.Errorf("scan is %s, not queued: %w", st, ErrConflict)
		}
		_, err = tx.ExecContext(ctx, `UPDATE scans SET status = ?, started_at = ? WHERE id = ?`,
			string(Running), at, id)
		return err
	}, "start scan %q", id)
}

// AddResults appends rs to a live (queued or running) scan in one
// transaction. Seq must be positive, strictly increasing within rs and
// greater than every Seq already stored for the scan.
func (s *SQLite) AddResults(ctx context.Context, id string, rs []Result) error {
	if err := checkResults(rs); err != nil {
		return fmt.Errorf("add results to scan %q: %w", id, err)
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		st, err := statusOf(ctx, tx, id)
		if err != nil {
			return err
		}
		if st.Final() {
			return fmt.Errorf("scan is %s: %w", st, ErrConflict)
		}
		if len(rs) == 0 {
			return nil
		}
		var last int
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM results WHERE scan_id = ?`, id).
			Scan(&last); err != nil {
			return err
		}
		if rs[0].Seq <= last {
			return fmt.Errorf("seq %d is not after the last stored seq %d: %w", rs[0].Seq, last, ErrInvalid)
		}
		return insertResults(ctx, tx, id, rs)
	}, "add results to scan %q", id)
}

func checkResults(rs []Result) error {
	prev := 0
	for _, r := range rs {
		switch {
		case r.Seq <= prev:
			return fmt.Errorf("seq %d after %d, want positive and increasing: %w", r.Seq, prev, ErrInvalid)
		case r.RTT < 0:
			return fmt.Errorf("seq %d: negative rtt %v: %w", r.Seq, r.RTT, ErrInvalid)
		case r.Attempts < 0:
			return fmt.Errorf("seq %d: negative attempts %d: %w", r.Seq, r.Attempts, ErrInvalid)
		}
		prev = r.Seq
	}
	return nil
}

func insertResults(ctx context.Context, tx *sql.Tx, id string, rs []Result) error {
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO results
		(scan_id, seq, port, state, reason, rtt_us, attempts) VALUES (?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, r := range rs {
		if _, err := stmt.ExecContext(ctx, id, r.Seq, int(r.Port), r.State, r.Reason,
			r.RTT.Microseconds(), r.Attempts); err != nil {
			return fmt.Errorf("seq %d: %w", r.Seq, err)
		}
	}
	return nil
}

// Results returns the scan's results with Seq > after, ordered by Seq, or
// an error wrapping ErrNotFound for an unknown scan. No results is a nil
// slice.
func (s *SQLite) Results(ctx context.Context, id string, after int) ([]Result, error) {
	// The LEFT JOIN answers "does the scan exist" and "which results" from
	// one statement, hence one snapshot: a lone row with NULL seq means a
	// known scan with nothing (yet) after `after`.
	rows, err := s.reader.QueryContext(ctx, `SELECT r.seq, r.port, r.state, r.reason, r.rtt_us, r.attempts
		FROM scans s LEFT JOIN results r ON r.scan_id = s.id AND r.seq > ?
		WHERE s.id = ?
		ORDER BY r.seq`, after, id)
	if err != nil {
		return nil, fmt.Errorf("results of scan %q: %w", id, err)
	}
	defer rows.Close()
	var (
		rs    []Result
		found bool
	)
	for rows.Next() {
		found = true
		var (
			seq, port, rtt, attempts sql.NullInt64
			state, reason            sql.NullString
		)
		if err := rows.Scan(&seq, &port, &state, &reason, &rtt, &attempts); err != nil {
			return nil, fmt.Errorf("results of scan %q: %w", id, err)
		}
		if !seq.Valid {
			continue
		}
		rs = append(rs, Result{
			Seq:      int(seq.Int64),
			Port:     uint16(port.Int64), // CHECK keeps it in 0..65535
			State:    state.String,
			Reason:   reason.String,
			RTT:      time.Duration(rtt.Int64) * time.Microsecond,
			Attempts: int(attempts.Int64),
		})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("results of scan %q: %w", id, err)
	}
	if !found {
		return nil, fmt.Errorf("results of scan %q: %w", id, ErrNotFound)
	}
	return rs, nil
}

// Finish moves a live (queued or running) scan to the final status, with
// reason and summary, at t. Finishing a scan that is already final is
// ErrConflict; a status that is not final is ErrInvalid.
func (s *SQLite) Finish(ctx context.Context, id string, status Status, reason string, summary []byte, t time.Time) error {
	if !status.valid() || !status.Final() {
		return fmt.Errorf("finish scan %q: status %q is not a final status: %w", id, status, ErrInvalid)
	}
	at, err := nanos(t, "finish time")
	if err != nil {
		return err
	}
	if !at.Valid {
		return fmt.Errorf("finish scan %q: zero time: %w", id, ErrInvalid)
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		st, err := statusOf(ctx, tx, id)
		if err != nil {
			return err
		}
		if st.Final() {
			return fmt.Errorf("scan is already %s: %w", st, ErrConflict)
		}
		_, err = tx.ExecContext(ctx, `UPDATE scans SET status = ?, reason = ?, summary = ?, finished_at = ?
			WHERE id = ?`, string(status), reason, blobArg(summary), at, id)
		return err
	}, "finish scan %q", id)
}

// Interrupt marks every queued or running scan Interrupted with reason and
// finished at t, and returns how many it marked.
func (s *SQLite) Interrupt(ctx context.Context, reason string, t time.Time) (int, error) {
	at, err := nanos(t, "interrupt time")
	if err != nil {
		return 0, err
	}
	if !at.Valid {
		return 0, fmt.Errorf("interrupt scans: zero time: %w", ErrInvalid)
	}
	res, err := s.writer.ExecContext(ctx, `UPDATE scans SET status = ?, reason = ?, finished_at = ?
		WHERE status IN (?, ?)`, string(Interrupted), reason, at, string(Queued), string(Running))
	if err != nil {
		return 0, fmt.Errorf("interrupt scans: %w", err)
	}
	return rowsAffected(res, "interrupt scans")
}

// Purge deletes the scans created before t, and (by ON DELETE CASCADE) their
// results, and returns how many scans it deleted. A zero t deletes nothing.
func (s *SQLite) Purge(ctx context.Context, before time.Time) (int, error) {
	if before.IsZero() {
		return 0, nil
	}
	if !before.After(minTime) {
		return 0, nil // nothing stored is older
	}
	cut := int64(math.MaxInt64) // past what nanoseconds hold: everything
	if before.Before(maxTime) {
		cut = before.UnixNano()
	}
	res, err := s.writer.ExecContext(ctx, `DELETE FROM scans WHERE created_at < ?`, cut)
	if err != nil {
		return 0, fmt.Errorf("purge scans: %w", err)
	}
	return rowsAffected(res, "purge scans")
}

// SetDeleteHash records the hash of the scan's delete token.
func (s *SQLite) SetDeleteHash(ctx context.Context, id string, hash []byte) error {
	res, err := s.writer.ExecContext(ctx, `UPDATE scans SET delete_hash = ? WHERE id = ?`, hash, id)
	if err != nil {
		return fmt.Errorf("set delete hash %q: %w", id, err)
	}
	if n, _ := rowsAffected(res, "set delete hash"); n == 0 {
		return fmt.Errorf("set delete hash %q: %w", id, ErrNotFound)
	}
	return nil
}

// CheckDeleteHash reports whether hash matches the scan's delete hash:
// nil, ErrForbidden for a wrong or missing hash, ErrNotFound.
func (s *SQLite) CheckDeleteHash(ctx context.Context, id string, hash []byte) error {
	var stored []byte
	err := s.reader.QueryRowContext(ctx, `SELECT delete_hash FROM scans WHERE id = ?`, id).Scan(&stored)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("check %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("check %q: %w", id, err)
	}
	if len(stored) == 0 || subtle.ConstantTimeCompare(stored, hash) != 1 {
		return fmt.Errorf("check %q: %w", id, ErrForbidden)
	}
	return nil
}

// Delete removes a final scan and its results for good when hash matches
// the one recorded; ErrNotFound for an unknown scan, ErrConflict while it
// runs, ErrForbidden for a wrong or missing hash.
func (s *SQLite) Delete(ctx context.Context, id string, hash []byte) error {
	var stored []byte
	var status string
	err := s.reader.QueryRowContext(ctx, `SELECT delete_hash, status FROM scans WHERE id = ?`, id).Scan(&stored, &status)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("delete %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("delete %q: %w", id, err)
	}
	if !Status(status).Final() {
		return fmt.Errorf("delete %q: still %s: %w", id, status, ErrConflict)
	}
	if len(stored) == 0 || subtle.ConstantTimeCompare(stored, hash) != 1 {
		return fmt.Errorf("delete %q: %w", id, ErrForbidden)
	}
	if _, err := s.writer.ExecContext(ctx, `DELETE FROM scans WHERE id = ?`, id); err != nil {
		return fmt.Errorf("delete %q: %w", id, err)
	}
	return nil
}

// Ping checks that a reading connection works and sees the schema this
// process migrated to.
func (s *SQLite) Ping(ctx context.Context) error {
	var v int
	if err := s.reader.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v); err != nil {
		return fmt.Errorf("ping store: %w", err)
	}
	if v != s.version {
		return fmt.Errorf("ping store: schema version %d, want %d", v, s.version)
	}
	return nil
}

// Close closes both connection pools. Calls after the first return nil.
func (s *SQLite) Close() error {
	// The writer closes last: the last connection to a WAL database
	// checkpoints it and removes the -wal file, which needs write access.
	return errors.Join(s.reader.Close(), s.writer.Close())
}

// write runs fn in an IMMEDIATE transaction on the writer and wraps any
// error with the operation's name.
func (s *SQLite) write(ctx context.Context, fn func(*sql.Tx) error, format string, args ...any) (err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf(format+": %w", append(args, err)...)
		}
	}()
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback() // the error that matters is fn's
		return err
	}
	return tx.Commit()
}

// statusOf returns the status of scan id within tx, or ErrNotFound.
func statusOf(ctx context.Context, tx *sql.Tx, id string) (Status, error) {
	var st string
	err := tx.QueryRowContext(ctx, `SELECT status FROM scans WHERE id = ?`, id).Scan(&st)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	return Status(st), err
}

func rowsAffected(res sql.Result, op string) (int, error) {
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("%s: %w", op, err)
	}
	return int(n), nil
}

// valid reports whether s is one of the declared statuses.
func (s Status) valid() bool {
	switch s {
	case Queued, Running, Done, Failed, Cancelled, Interrupted:
		return true
	}
	return false
}

// The range of instants an int64 of Unix nanoseconds can hold (1677–2262).
var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

// nanos converts t to the stored form: NULL for the zero time, else UTC Unix
// nanoseconds. what names the field in the error.
func nanos(t time.Time, what string) (sql.NullInt64, error) {
	if t.IsZero() {
		return sql.NullInt64{}, nil
	}
	if t.Before(minTime) || t.After(maxTime) {
		return sql.NullInt64{}, fmt.Errorf("%s %v is outside 1677–2262: %w", what, t, ErrInvalid)
	}
	return sql.NullInt64{Int64: t.UnixNano(), Valid: true}, nil
}

// fromNanos is the inverse of nanos, in UTC.
func fromNanos(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}

// ipArg stores the zero Addr as NULL.
func ipArg(a netip.Addr) any {
	if !a.IsValid() {
		return nil
	}
	return a.String()
}

// blobArg stores a nil slice as NULL and any other slice, even an empty
// one, as a BLOB.
func blobArg(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}
