package web

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/vantagescan/vantage/internal/jobs"
	"github.com/vantagescan/vantage/internal/report"
	"github.com/vantagescan/vantage/internal/store"
)

// exportFormats are the downloads of a scan: the JSON document, one CSV
// row per port, and nmap's XML format for existing tools (ndiff, …).
var exportFormats = map[string]struct {
	contentType string
	write       func(w http.ResponseWriter, s report.Scan) error
}{
	"json": {"application/json; charset=utf-8", func(w http.ResponseWriter, s report.Scan) error { return report.WriteJSON(w, s) }},
	"csv":  {"text/csv; charset=utf-8", func(w http.ResponseWriter, s report.Scan) error { return report.WriteCSV(w, s) }},
	"xml":  {"application/xml; charset=utf-8", func(w http.ResponseWriter, s report.Scan) error { return report.WriteNmapXML(w, s) }},
}

// splitExport splits "ID.csv" into the ID and the format.
func splitExport(param string) (id, format string, ok bool) {
	id, format, found := strings.Cut(param, ".")
	if !found {
		return param, "", false
	}
	_, known := exportFormats[format]
	return id, format, known
}

// exportScan answers /scans/{id}.{json,csv,xml} with what the scan has so
// far (its status says whether it is final).
func exportScan(d Deps, w http.ResponseWriter, r *http.Request, id, format string) {
	s, err := loadExport(r.Context(), d, id)
	if err != nil {
		if err == store.ErrNotFound {
			notFound(d)(w, r)
			return
		}
		d.Log.Error("export", "id", id, "err", err)
		serverError(d, w, r)
		return
	}
	f := exportFormats[format]
	h := w.Header()
	h.Set("Content-Type", f.contentType)
	h.Set("Content-Disposition", `attachment; filename="vantage-`+id+`.`+format+`"`)
	h.Set("X-Robots-Tag", "noindex")
	h.Set("Referrer-Policy", "no-referrer")
	if !store.Status(s.Status).Final() {
		h.Set("Cache-Control", "no-store")
	}
	if err := f.write(w, s); err != nil {
		d.Log.Error("export write", "id", id, "err", err)
	}
}

// loadExport reads a scan for the exports and the API, with its sibling
// when it is half of a dual-stack comparison (and the sibling still exists).
func loadExport(ctx context.Context, d Deps, id string) (report.Scan, error) {
	s, err := loadScan(ctx, d, id)
	if err != nil || s.SiblingID == "" {
		return s, err
	}
	sib, err := loadScan(ctx, d, s.SiblingID)
	switch {
	case err == nil:
		s.Sibling = &sib
	case !errors.Is(err, store.ErrNotFound):
		return report.Scan{}, err
	}
	return s, nil
}

// loadScan reads one scan as the exports see it.
func loadScan(ctx context.Context, d Deps, id string) (report.Scan, error) {
	snap, err := d.Runner.Watch(ctx, id, 0)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return report.Scan{}, store.ErrNotFound
		}
		return report.Scan{}, err
	}
	sc := snap.Scan
	s := report.Scan{
		ID: sc.ID, Target: sc.Target, Host: sc.Host, IP: sc.IP, PortSpec: sc.PortSpec,
		Status: string(sc.Status), Reason: sc.Reason, CreatedAt: sc.CreatedAt, StartedAt: sc.StartedAt, FinishedAt: sc.FinishedAt,
		Findings: snap.Findings, Version: d.Version, SiblingID: sc.SiblingID,
	}
	for _, row := range snap.Rows {
		s.Ports = append(s.Ports, report.PortRow{Port: row.Port, State: row.State, Reason: row.Reason, RTT: row.RTT, Attempts: row.Attempts})
	}
	if out, ok := jobs.ReadOutcome(sc.Summary); ok {
		s.Grade = out.Grade
		s.SRTT, s.RTTVar, s.Timeout = out.Scan.Timing.SRTT, out.Scan.Timing.RTTVar, out.Scan.Timing.Timeout
	}
	return s, nil
}
