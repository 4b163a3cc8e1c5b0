// Package store keeps scans and their per-port results: a small Store
// interface the rest of Vantage depends on, and its SQLite implementation
// (the embedded default). It knows nothing of HTTP or sockets and never
// interprets a result beyond storing it faithfully.
package store

import (
	"context"
	"errors"
	"net/netip"
	"time"
)

// Status is where a scan is in its life.
type Status string

// The statuses. Queued and Running are live; the others are final.
const (
	Queued      Status = "queued"
	Running     Status = "running"
	Done        Status = "done"
	Failed      Status = "failed"
	Cancelled   Status = "cancelled"
	Interrupted Status = "interrupted" // the process stopped while the scan was queued or running
)

// Final reports whether no more results can arrive for a scan in status s.
func (s Status) Final() bool { return s != Queued && s != Running }

// Scan is one scan request and its outcome.
type Scan struct {
	ID         string     // random, ≥128 bits, URL-safe
	Target     string     // as the person typed it
	Host       string     // normalised host name, or the IP's string
	IP         netip.Addr // the pinned address
	PortSpec   string     // the port set as given, e.g. "preset:common"
	PortCount  int        // ports in the set
	Status     Status
	Reason     string // user-facing sentence for failed/cancelled/interrupted; "" otherwise
	CreatedAt  time.Time
	StartedAt  time.Time // zero until running
	FinishedAt time.Time // zero until final
	Summary    []byte    // opaque JSON written by the job runner when the scan ends; nil before
	PreviousID string    // the scan this one repeats ("Scan again"); "" for a first scan
	SiblingID  string    // the other family's scan of a dual-stack comparison; "" for a single scan
}

// Result is one decided port. Seq numbers a scan's results 1, 2, 3, … in
// the order they were decided; watchers resume after the last Seq they saw.
type Result struct {
	Seq      int
	Port     uint16
	State    string // open, closed, filtered
	Reason   string // syn-ack, conn-refused, no-response, …
	RTT      time.Duration
	Attempts int
}

// ErrNotFound is returned for an unknown scan ID.
var ErrNotFound = errors.New("store: no such scan")

// Store is what the job runner and the web layer need of persistence.
type Store interface {
	// CreateScan inserts new scans (Status Queued), all or none.
	CreateScan(ctx context.Context, scans ...Scan) error
	// Scan returns one scan, or ErrNotFound.
	Scan(ctx context.Context, id string) (Scan, error)
	// Start marks a queued scan running at t.
	Start(ctx context.Context, id string, t time.Time) error
	// AddResults appends results (their Seq already set, increasing).
	AddResults(ctx context.Context, id string, rs []Result) error
	// Results returns the scan's results with Seq > after, by Seq.
	Results(ctx context.Context, id string, after int) ([]Result, error)
	// Finish sets a final status, its reason and the summary at t.
	Finish(ctx context.Context, id string, status Status, reason string, summary []byte, t time.Time) error
	// Interrupt marks every queued or running scan Interrupted with reason
	// at start-up after a crash, and returns how many it marked.
	Interrupt(ctx context.Context, reason string, t time.Time) (int, error)
	// Purge deletes scans created before t with their results, and returns
	// how many it deleted.
	Purge(ctx context.Context, before time.Time) (int, error)
	// SetDeleteHash records the SHA-256 of the scan's delete token.
	SetDeleteHash(ctx context.Context, id string, hash []byte) error
	// CheckDeleteHash reports whether hash is the scan's delete-token hash
	// (nil), or ErrForbidden, or ErrNotFound: the same token stops a scan.
	CheckDeleteHash(ctx context.Context, id string, hash []byte) error
	// Delete removes a final scan and its results when hash matches
	// (ErrForbidden otherwise, ErrConflict while it runs).
	Delete(ctx context.Context, id string, hash []byte) error
	// Ping checks the store is reachable (for /readyz).
	Ping(ctx context.Context) error
	// Close releases the store.
	Close() error
}
