package web

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/go-chi/chi/v5"

	"github.com/vantagescan/vantage/internal/jobs"
	"github.com/vantagescan/vantage/internal/ports"
	"github.com/vantagescan/vantage/internal/report"
	"github.com/vantagescan/vantage/internal/store"
	"github.com/vantagescan/vantage/templates"
)

// reasonWords says in words what each reason means.
var reasonWords = map[string]string{
	"syn-ack":          "a service accepted the connection",
	"conn-refused":     "the host answered that nothing listens here",
	"no-response":      "no response: a firewall is silently dropping it",
	"host-unreach":     "host unreachable: a router or firewall rejected it",
	"net-unreach":      "network unreachable: a router rejected it",
	"admin-prohibited": "administratively prohibited: a firewall rejected it",
}

func rowView(r store.Result) templates.RowView {
	v := templates.RowView{
		Port: r.Port, State: r.State, Reason: r.Reason, ReasonText: reasonWords[r.Reason],
		RTT: fmt.Sprintf("%.1f ms", float64(r.RTT.Microseconds())/1000), Service: "unknown",
		Open: r.State == "open",
	}
	if e, ok := ports.Lookup(r.Port); ok {
		v.Service, v.Name, v.Risk = e.Service, e.Name, e.Risk.String()
		if v.Open {
			v.Note = e.Note
		}
	}
	return v
}

func statusText(s store.Status, position int) string {
	switch s {
	case store.Queued:
		if position > 0 {
			return fmt.Sprintf("Waiting to start (number %d in the queue)", position)
		}
		return "Waiting to start"
	case store.Running:
		return "Scanning"
	case store.Done:
		return "Finished"
	case store.Failed:
		return "Failed"
	case store.Cancelled:
		return "Cancelled"
	case store.Interrupted:
		return "Interrupted"
	}
	return string(s)
}

// results streams a scan's page: the head at once, then every row as it
// is decided (flushed), then the summary. It needs no script.
func results(d Deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := chi.URLParam(r, "id")
		if eid, format, ok := splitExport(id); ok && store.ValidID(eid) {
			exportScan(d, w, r, eid, format)
			return
		}
		if !store.ValidID(id) {
			notFound(d)(w, r)
			return
		}
		snap, err := d.Runner.Watch(r.Context(), id, 0)
		if errors.Is(err, store.ErrNotFound) {
			notFound(d)(w, r)
			return
		}
		if err != nil {
			d.Log.Error("results", "id", id, "err", err)
			serverError(d, w, r)
			return
		}
		sc := snap.Scan
		head := templates.ResultsHead{
			ID: id, Target: sc.Target, Host: sc.Host, IP: sc.IP.String(), PortSpec: sc.PortSpec, PortCount: sc.PortCount,
			Created: sc.CreatedAt.UTC().Format("2006-01-02 15:04:05 UTC"), Status: string(sc.Status),
			StatusText: statusText(sc.Status, snap.Position), Live: !sc.Status.Final(),
			ShareURL: shareURL(r, id, d.TrustedProxies),
		}
		head.Family, head.SiblingFamily = familyLabel(sc.IP)
		if head.Live && deleteToken(r) != "" {
			head.CancelAction = "/scans/" + id + "/cancel"
		}
		if sc.SiblingID != "" {
			head.SiblingURL = "/scans/" + sc.SiblingID
			if _, err := d.Runner.Watch(r.Context(), sc.SiblingID, math.MaxInt); errors.Is(err, store.ErrNotFound) {
				head.SiblingGone = true
			}
		}
		if r.URL.Query().Get("recent") == "1" {
			head.Notice = "This host and port set were scanned moments ago, so here are those results instead of a new scan."
		}
		if snap.Changed == nil { // finished: rows by port
			slices.SortFunc(snap.Rows, func(a, b store.Result) int { return cmp.Compare(a.Port, b.Port) })
		}
		// While the scan waits, its place in the queue is streamed as it moves.
		queue := templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
			if sc.Status != store.Queued {
				return nil
			}
			return followQueue(ctx, d, w, id, snap)
		})
		var all []store.Result
		final := sc
		last := snap
		rows := templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
			s, cursor := snap, 0
			for {
				for _, row := range s.Rows {
					if err := templates.ResultRow(rowView(row)).Render(ctx, w); err != nil {
						return err
					}
					cursor = max(cursor, row.Seq)
				}
				all = append(all, s.Rows...)
				final = s.Scan
				last = s
				if s.Changed == nil || s.Probing {
					return nil
				}
				flush(w)
				select {
				case <-s.Changed:
				case <-ctx.Done():
					return ctx.Err()
				}
				var err error
				if s, err = d.Runner.Watch(ctx, id, cursor); err != nil {
					return err
				}
			}
		})
		// The follow-up checks stream after the rows, one item per check.
		checks := templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
			s, shown := last, 0
			for {
				for _, f := range s.Findings[min(shown, len(s.Findings)):] {
					if err := templates.FindingItem(findingView(f)).Render(ctx, w); err != nil {
						return err
					}
				}
				shown = max(shown, len(s.Findings))
				final = s.Scan
				if s.Changed == nil {
					if shown == 0 {
						return templates.NoChecks().Render(ctx, w)
					}
					return nil
				}
				flush(w)
				select {
				case <-s.Changed:
				case <-ctx.Done():
					return ctx.Err()
				}
				var err error
				if s, err = d.Runner.Watch(ctx, id, lastSeq(all)); err != nil {
					return err
				}
				all = append(all, s.Rows...) // none expected once probing
			}
		})
		summary := templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
			v := summaryView(final, all)
			if deleteToken(r) != "" {
				v.DeleteAction = "/scans/" + id + "/delete"
			}
			if final.Status.Final() && final.PreviousID != "" {
				v.Changes = changesView(ctx, d, final.PreviousID, id)
			}
			if err := templates.Summary(v).Render(ctx, w); err != nil {
				return err
			}
			if final.SiblingID == "" || !final.Status.Final() {
				return nil
			}
			return dualStack(ctx, d, w, final)
		})
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Cache-Control", "no-store")
		h.Set("X-Robots-Tag", "noindex")
		h.Set("Referrer-Policy", "no-referrer")
		p := page("Scan of "+sc.Host+" — Vantage", "Port scan results", true)
		if err := templates.Results(p, head, queue, rows, checks, summary).Render(r.Context(), w); err != nil && r.Context().Err() == nil {
			d.Log.Error("results stream", "id", id, "err", err)
		}
	}
}

// humanDuration reads well at every scale: "4 ms", "0.62 s", "1 min 5 s".
func humanDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%d ms", max(d.Milliseconds(), 1))
	case d < time.Minute:
		return fmt.Sprintf("%.2f s", d.Seconds())
	default:
		return fmt.Sprintf("%d min %d s", int(d.Minutes()), int(d.Seconds())%60)
	}
}

// flush pushes what templ buffered to the visitor now.
func flush(w io.Writer) {
	if f, ok := w.(interface{ Flush() error }); ok {
		_ = f.Flush()
	} else if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}

func shareURL(r *http.Request, id string, trusted []netip.Prefix) string {
	scheme := "http"
	if isHTTPS(r, trusted) {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/scans/" + id
}

// summaryView reads the final record: counts, verdict, open ports first.
func summaryView(sc store.Scan, rows []store.Result) templates.SummaryView {
	v := templates.SummaryView{Status: string(sc.Status), StatusText: statusText(sc.Status, 0), Reason: sc.Reason, Total: sc.PortCount,
		Final: sc.Status.Final(), ExportBase: "/scans/" + sc.ID, RescanAction: "/scans/" + sc.ID + "/rescan", AgainURL: againURL(sc), Pair: sc.SiblingID != ""}
	for _, r := range rows {
		v.Grid = append(v.Grid, templates.GridCell{Port: r.Port, State: r.State})
		switch r.State {
		case "open":
			v.Open++
			v.OpenPorts = append(v.OpenPorts, rowView(r))
		case "closed":
			v.Closed++
		case "filtered":
			v.Filtered++
		}
	}
	slices.SortFunc(v.OpenPorts, func(a, b templates.RowView) int { return cmp.Compare(a.Port, b.Port) })
	slices.SortFunc(v.Grid, func(a, b templates.GridCell) int { return cmp.Compare(a.Port, b.Port) })
	if out, ok := jobs.ReadOutcome(sc.Summary); ok {
		sum := out.Scan
		v.Duration = humanDuration(sum.Duration)
		v.Verdict = sum.Verdict()
		v.AllFiltered = sum.AllFiltered()
		if out.Grade != nil {
			g := templates.GradeView{Letter: out.Grade.Letter}
			for _, r := range out.Grade.Reasons {
				g.Reasons = append(g.Reasons, templates.GradeReason{Port: r.Port, Text: r.Text, Effect: r.Effect})
			}
			v.Grade = &g
		}
	}
	return v
}

// changesView compares a rescan with the scan it repeats, when that one
// finished; nil otherwise.
func changesView(ctx context.Context, d Deps, prevID, id string) *templates.ChangesView {
	prev, err := loadExport(ctx, d, prevID)
	if err != nil || !store.Status(prev.Status).Final() {
		return nil
	}
	cur, err := loadExport(ctx, d, id)
	if err != nil {
		return nil
	}
	diff := report.Compare(prev, cur)
	v := &templates.ChangesView{
		Since: prev.CreatedAt.UTC().Format("2006-01-02 15:04 UTC"), SinceURL: "/scans/" + prevID,
		NewProblems: diff.NewProblems, GoneProblems: diff.GoneProblems,
		GradeBefore: diff.GradeBefore, GradeAfter: diff.GradeAfter, Nothing: diff.Empty(),
	}
	for _, c := range diff.Changes {
		v.Rows = append(v.Rows, templates.ChangeRow{Port: c.Port, Before: c.Before, After: c.After})
	}
	return v
}

func lastSeq(rows []store.Result) int {
	n := 0
	for _, r := range rows {
		n = max(n, r.Seq)
	}
	return n
}

// againURL is the form filled in with a scan's host and ports (and the
// IPv6 box for half of a dual-stack comparison).
func againURL(sc store.Scan) string {
	q := url.Values{"host": {sc.Target}, "custom": {sc.PortSpec}}
	if sc.SiblingID != "" {
		q.Set("ipv6", "1")
	}
	return "/?" + q.Encode()
}

// familyLabel names an address's family and the other one.
func familyLabel(ip netip.Addr) (family, other string) {
	if ip.Is4() || ip.Is4In6() {
		return "IPv4", "IPv6"
	}
	return "IPv6", "IPv4"
}

// dualStack ends the page of one half of a dual-stack comparison: it waits
// (streaming a note) until the other family's scan is final too, then sets
// the two side by side.
func dualStack(ctx context.Context, d Deps, w io.Writer, sc store.Scan) error {
	_, other := familyLabel(sc.IP)
	snap, err := d.Runner.Watch(ctx, sc.SiblingID, math.MaxInt) // no rows: only whether it exists and is live
	if errors.Is(err, store.ErrNotFound) {
		return templates.DualStackGone(other).Render(ctx, w)
	}
	if err != nil {
		return err
	}
	if snap.Changed != nil {
		if err := templates.DualStackWaiting(other).Render(ctx, w); err != nil {
			return err
		}
		flush(w)
		select {
		case <-d.Runner.Done(sc.SiblingID):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s, err := loadExport(ctx, d, sc.ID)
	if err != nil {
		return err
	}
	if s.Sibling == nil { // deleted in the meantime
		return templates.DualStackGone(other).Render(ctx, w)
	}
	return templates.DualStack(dualStackView(s, *s.Sibling)).Render(ctx, w)
}

// dualStackView builds the side-by-side view of a pair (in either order).
func dualStackView(a, b report.Scan) templates.DualStackView {
	v4, v6 := a, b
	if fam, _ := familyLabel(a.IP); fam == "IPv6" {
		v4, v6 = b, a
	}
	diff := report.CompareFamilies(v4, v6)
	v := templates.DualStackView{
		IPv4: v4.IP.String(), IPv6: v6.IP.String(), IPv4URL: "/scans/" + v4.ID, IPv6URL: "/scans/" + v6.ID,
		Differ: diff.Differ, Open4: diff.IPv4.Open, Open6: diff.IPv6.Open,
	}
	if v4.Grade != nil {
		v.Grade4 = v4.Grade.Letter
	}
	if v6.Grade != nil {
		v.Grade6 = v6.Grade.Letter
	}
	var unfinished []string
	for _, s := range []report.Scan{v4, v6} {
		if s.Status != string(store.Done) {
			fam, _ := familyLabel(s.IP)
			unfinished = append(unfinished, fmt.Sprintf("the %s scan ended %s", fam, s.Status))
		}
	}
	if len(unfinished) > 0 {
		v.Incomplete = "This comparison is partial: " + strings.Join(unfinished, " and ") + ", so ports it did not decide are not compared."
	}
	sameClosed, sameFiltered := 0, 0
	for _, r := range diff.Rows {
		row := templates.DualRow{Port: r.Port, Service: r.Service, IPv4: r.IPv4, IPv6: r.IPv6,
			IPv4Reason: reasonWords[r.IPv4Reason], IPv6Reason: reasonWords[r.IPv6Reason], Differs: r.Differs}
		v.Rows = append(v.Rows, row)
		if r.IPv4 != "" && r.IPv6 != "" {
			v.Compared++
		}
		switch {
		case r.Differs || r.IPv4 == "open" || r.IPv6 == "open":
			v.Notable = append(v.Notable, row)
		case r.IPv4 == "" || r.IPv6 == "":
			v.Undecided++
		case r.IPv4 == "closed":
			sameClosed++
		default:
			sameFiltered++
		}
	}
	if n := sameClosed + sameFiltered; n > 0 {
		lead := "All " + strconv.Itoa(n) + " ports answer alike"
		switch {
		case len(v.Notable) > 0 && n == 1:
			lead = "The other port answers alike"
		case len(v.Notable) > 0:
			lead = "The other " + strconv.Itoa(n) + " ports answer alike"
		case n == 1:
			lead = "The one port answers alike"
		}
		v.Alike = fmt.Sprintf("%s: %d closed and %d filtered on both.", lead, sameClosed, sameFiltered)
	}
	return v
}

// queuePoll is how often a waiting scan's page looks at its place in the
// queue (an in-memory read). A variable for tests.
var queuePoll = time.Second

// followQueue streams a queued scan's place in the queue as it moves, in a
// live region whose last line is the one shown, until the scan starts or
// ends.
func followQueue(ctx context.Context, d Deps, w io.Writer, id string, snap jobs.Snapshot) error {
	if _, err := io.WriteString(w, `<div class="queue-live" role="status">`); err != nil {
		return err
	}
	pos, changed := snap.Position, snap.Changed
	tick := time.NewTicker(queuePoll)
	defer tick.Stop()
	for changed != nil {
		select {
		case <-changed:
			s, err := d.Runner.Watch(ctx, id, math.MaxInt)
			if err != nil {
				return err
			}
			if s.Scan.Status != store.Queued {
				if err := templates.QueueMove(statusText(s.Scan.Status, 0)+".").Render(ctx, w); err != nil {
					return err
				}
				changed = nil
				continue
			}
			changed = s.Changed
		case <-tick.C:
			if p := d.Runner.Position(id); p > 0 && p != pos {
				pos = p
				if err := templates.QueueMove(fmt.Sprintf("Now number %d in the queue.", p)).Render(ctx, w); err != nil {
					return err
				}
				flush(w)
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	_, err := io.WriteString(w, "</div>")
	return err
}
