package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/vantagescan/vantage/internal/jobs"
	"github.com/vantagescan/vantage/internal/store"
)

// eventID is a resumable position: rows and findings seen so far,
// written "rows.findings".
type eventID struct{ rows, findings int }

func (e eventID) String() string { return strconv.Itoa(e.rows) + "." + strconv.Itoa(e.findings) }

func parseEventID(s string) eventID {
	r, f, _ := strings.Cut(s, ".")
	rows, err1 := strconv.Atoi(r)
	findings, err2 := strconv.Atoi(f)
	if err1 != nil || err2 != nil || rows < 0 || findings < 0 {
		return eventID{}
	}
	return eventID{rows, findings}
}

// apiEvents is GET /api/v1/scans/{id}/events: a server-sent event stream
// of `port`, `probe`, `progress` and a final `done` event. Every event
// carries an id; reconnecting with Last-Event-ID resumes after it, so a
// client loses nothing and sees nothing twice.
func apiEvents(d Deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := chi.URLParam(r, "id")
		if !store.ValidID(id) {
			apiFail(w, http.StatusNotFound, "not_found", "There is no scan with that ID.")
			return
		}
		pos := parseEventID(r.Header.Get("Last-Event-ID"))
		snap, err := d.Runner.Watch(r.Context(), id, pos.rows)
		if errors.Is(err, store.ErrNotFound) {
			apiFail(w, http.StatusNotFound, "not_found", "There is no scan with that ID.")
			return
		}
		if err != nil {
			d.Log.Error("events", "id", id, "err", err)
			apiFail(w, http.StatusInternalServerError, "internal", "Something went wrong on our side.")
			return
		}
		h := w.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-store")
		h.Set("X-Accel-Buffering", "no")
		w.WriteHeader(http.StatusOK)
		send := func(event string, id eventID, v any) {
			b, _ := json.Marshal(v)
			fmt.Fprintf(w, "event: %s\nid: %s\ndata: %s\n\n", event, id, b)
		}
		for {
			for _, row := range snap.Rows {
				if row.Seq <= pos.rows {
					continue
				}
				pos.rows = row.Seq
				send("port", pos, map[string]any{"port": row.Port, "state": row.State, "reason": row.Reason,
					"rtt_ms": float64(row.RTT.Microseconds()) / 1000, "attempts": row.Attempts})
			}
			for ; pos.findings < len(snap.Findings); pos.findings++ {
				next := pos
				next.findings++
				send("probe", next, snap.Findings[pos.findings])
			}
			send("progress", pos, map[string]any{"decided": pos.rows, "total": snap.Scan.PortCount, "status": snap.Scan.Status, "checking": snap.Probing && !snap.Scan.Status.Final()})
			if snap.Changed == nil {
				done := map[string]any{"status": snap.Scan.Status, "reason": snap.Scan.Reason}
				if out, ok := jobs.ReadOutcome(snap.Scan.Summary); ok && out.Grade != nil {
					done["grade"] = out.Grade.Letter
				}
				if snap.Scan.SiblingID != "" {
					done["sibling_id"] = snap.Scan.SiblingID // the other family: its document holds the comparison
				}
				send("done", pos, done)
				flush(w)
				return
			}
			flush(w)
			select {
			case <-snap.Changed:
			case <-r.Context().Done():
				return
			}
			if snap, err = d.Runner.Watch(r.Context(), id, pos.rows); err != nil {
				return
			}
		}
	}
}
