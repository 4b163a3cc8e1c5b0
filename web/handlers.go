package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/vantagescan/vantage/internal/jobs"
	"github.com/vantagescan/vantage/internal/metrics"
	"github.com/vantagescan/vantage/internal/ports"
	"github.com/vantagescan/vantage/internal/store"
	"github.com/vantagescan/vantage/internal/target"
	"github.com/vantagescan/vantage/static"
	"github.com/vantagescan/vantage/templates"
)

// page returns the layout's view model.
func page(title, description string, noindex bool) templates.Page {
	return templates.Page{Title: title, Description: description, NoIndex: noindex,
		CSSPath: static.Path("css/app.css"), IconPath: static.Path("img/favicon.svg"), ScriptPath: static.Path("js/app.js")}
}

// render writes a whole page at once (buffered, so a template error still
// becomes a clean 500).
func render(d Deps, w http.ResponseWriter, r *http.Request, status int, c templ.Component) {
	var buf bytes.Buffer
	if err := c.Render(r.Context(), &buf); err != nil {
		d.Log.Error("render", "path", r.URL.Path, "err", err)
		http.Error(w, "Something went wrong on our side.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func errorPage(d Deps, w http.ResponseWriter, r *http.Request, status int, heading, message string) {
	render(d, w, r, status, templates.ErrorPage(page(heading, message, true), status, heading, message))
}

func notFound(d Deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		errorPage(d, w, r, http.StatusNotFound, "Page not found",
			"There is nothing at this address. Scan results live at the link you were given when the scan started.")
	}
}

func methodNotAllowed(d Deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		errorPage(d, w, r, http.StatusMethodNotAllowed, "Not allowed", "This address does not take that kind of request.")
	}
}

func serverError(d Deps, w http.ResponseWriter, r *http.Request) {
	errorPage(d, w, r, http.StatusInternalServerError, "Something went wrong",
		"Vantage hit a problem on its side. Please try again in a moment.")
}

// clientIP is the visitor's address (see clientAddress), falling back to
// the socket's peer.
func clientIP(r *http.Request) netip.Addr {
	if a := middleware.GetClientIPAddr(r.Context()); a.IsValid() {
		return a.Unmap()
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	a, _ := netip.ParseAddr(host)
	return a.Unmap()
}

// formPresets are the presets the web form offers: those within the cap.
func formPresets(maxPorts int) []templates.PresetOption {
	var out []templates.PresetOption
	for _, p := range ports.Presets() {
		if len(p.Ports) > maxPorts {
			continue
		}
		if p.Name == ports.PresetAll {
			continue // all 65535 ports are for the command line
		}
		out = append(out, templates.PresetOption{Value: p.Name, Label: strings.ToUpper(p.Name[:1]) + p.Name[1:], Count: len(p.Ports)})
	}
	return out
}

func homePage(d Deps, w http.ResponseWriter, r *http.Request, status int, form templates.HomeForm) {
	form.Presets = formPresets(d.MaxPorts)
	form.MaxCustomPorts = d.MaxPorts
	if ip := clientIP(r); ip.IsValid() {
		form.VisitorIP = ip.String()
	}
	if form.Ports == "" {
		form.Ports = ports.PresetCommon
	}
	p := page("Vantage — online port scanner",
		"See which TCP ports of your server the internet can reach, with a security note for every open port.", false)
	render(d, w, r, status, templates.Home(p, form, templates.ReferenceRows(), append(templates.FAQ(), gradeFAQ())))
}

// home shows the form, filled in from the query when a results page's
// "Change the ports and scan again" link led here (nothing is scanned by a GET).
func home(d Deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		form := templates.HomeForm{Host: clip(q.Get("host"), templates.MaxHostLength), Custom: clip(q.Get("custom"), templates.MaxSpecLength),
			IPv6: q.Get("ipv6") == "1"}
		homePage(d, w, r, http.StatusOK, form)
	}
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func catalog(d Deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var rows []templates.CatalogRow
		for _, e := range ports.Catalog() {
			rows = append(rows, templates.CatalogRow{Port: e.Port, Service: e.Service, Name: e.Name,
				Category: string(e.Category), Risk: e.Risk.String(), Note: e.Note})
		}
		render(d, w, r, http.StatusOK, templates.Ports(page("Port catalog — Vantage",
			"Every port Vantage knows: the service, the risk when it is exposed, and what to do.", false), rows))
	}
}

// maxFormBytes bounds a scan request's body.
const maxFormBytes = 16 << 10

func submit(d Deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			homePage(d, w, r, http.StatusRequestEntityTooLarge, templates.HomeForm{
				Errors: map[string]string{"host": "The form was too large or malformed; please type the host again."}})
			return
		}
		form := templates.HomeForm{
			Host:    strings.TrimSpace(r.PostFormValue("host")),
			Ports:   r.PostFormValue("ports"),
			Custom:  strings.TrimSpace(r.PostFormValue("custom")),
			Consent: r.PostFormValue("consent") != "",
			IPv6:    r.PostFormValue("ipv6") != "",
			Errors:  map[string]string{},
		}
		visitor := clientIP(r)
		self := r.PostFormValue("target") == "self" && visitor.IsValid()
		if self {
			// One address has one family: "Scan my IP" ignores the IPv6 box.
			form.Host, form.IPv6 = visitor.String(), false
		}
		if d.Clients != nil {
			// Every scan request counts, even one the cooldown answers.
			if ok, retry := d.Clients.Allow(visitor); !ok {
				rateLimited(d, w, r, retry)
				return
			}
		}
		status, reason, reqs := validate(r.Context(), d, &form, visitor)
		if len(form.Errors) > 0 {
			d.Log.Info("scan refused", "client", visitor.String(), "status", status, "reason", reason, "errors", form.Errors)
			d.Metrics.Refused(reason)
			homePage(d, w, r, status, form)
			return
		}
		for i := range reqs {
			reqs[i].Client = visitor.String()
		}
		addr, canonical := cooldownKey(reqs)
		if d.Cooldown != nil {
			if id, ok := d.Cooldown.Recent(addr, canonical); ok {
				d.Log.Info("scan answered by cooldown", "client", visitor.String(), "id", id)
				http.Redirect(w, r, "/scans/"+id+"?recent=1", http.StatusSeeOther)
				return
			}
		}
		ids, err := startScans(r.Context(), d, visitor, reqs)
		var over *pairRateLimited
		switch {
		case errors.As(err, &over):
			rateLimited(d, w, r, over.retry)
			return
		case errors.Is(err, jobs.ErrQueueTooSmall):
			d.Metrics.Refused(metrics.RefusedQueueFull)
			form.Errors[templates.FieldForm] = pairUnavailable
			homePage(d, w, r, http.StatusUnprocessableEntity, form)
			return
		case errors.Is(err, jobs.ErrQueueFull), errors.Is(err, jobs.ErrShuttingDown):
			d.Metrics.Refused(metrics.RefusedQueueFull)
			w.Header().Set("Retry-After", "60")
			form.Errors["host"] = "Vantage is busy with other scans right now. Please try again in a minute."
			homePage(d, w, r, http.StatusServiceUnavailable, form)
			return
		case err != nil:
			d.Log.Error("submit", "err", err)
			serverError(d, w, r)
			return
		}
		if d.Cooldown != nil {
			d.Cooldown.Remember(addr, canonical, ids[0])
		}
		protect(d, w, r, ids...)
		http.Redirect(w, r, "/scans/"+ids[0], http.StatusSeeOther)
	}
}

// pairUnavailable explains ErrQueueTooSmall: this server queues one scan
// at a time, so a pair can never be queued.
const pairUnavailable = "This Vantage queues only one scan at a time, so it cannot scan IPv4 and IPv6 side by side. Untick “Also scan IPv6” to scan one address."

// pairRateLimited is startScans' error when the request was let through
// but a pair's second scan is over the client's rate.
type pairRateLimited struct{ retry time.Duration }

func (e *pairRateLimited) Error() string { return "the pair's second scan is over the client's rate" }

// startScans queues one scan, or an IPv4/IPv6 pair (IPv4 first), and
// returns their IDs in the same order. A pair costs two scans of the
// client's allowance: the request took one token (so a pair refused as
// invalid costs one, like any request); the second is taken here and
// given back if the scans cannot start after all.
func startScans(ctx context.Context, d Deps, visitor netip.Addr, reqs []jobs.Request) ([]string, error) {
	if len(reqs) == 1 {
		id, err := d.Runner.Submit(ctx, reqs[0])
		if err != nil {
			return nil, err
		}
		return []string{id}, nil
	}
	undo := func() {}
	if d.Clients != nil {
		ok, retry, give := d.Clients.More(visitor, len(reqs)-1)
		if !ok {
			return nil, &pairRateLimited{retry}
		}
		undo = give
	}
	a, b, err := d.Runner.SubmitPair(ctx, reqs[0], reqs[1])
	if err != nil {
		undo() // nothing started: the second token is not owed
		return nil, err
	}
	return []string{a, b}, nil
}

// cooldownKey is what the per-target cooldown remembers a request by: the
// (first) address and the canonical port set, plus the IPv6 address for a
// dual-stack pair, so a pair is answered only by an earlier pair.
func cooldownKey(reqs []jobs.Request) (netip.Addr, string) {
	canonical := ports.Format(slices.Sorted(slices.Values(reqs[0].Ports)))
	if len(reqs) == 2 {
		canonical += " and IPv6 " + reqs[1].Target.IP.String()
	}
	return reqs[0].Target.IP, canonical
}

func crossOrigin(d Deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		d.Log.Info("scan refused", "client", clientIP(r).String(), "reason", "cross-origin")
		d.Metrics.Refused(metrics.RefusedCrossOrigin)
		errorPage(d, w, r, http.StatusForbidden, "Start scans from Vantage's own page",
			"This scan request came from another website. Open Vantage and use its form to start a scan.")
	}
}

// rescan is POST /scans/{id}/rescan: the same target (resolved and
// checked again) and ports as an earlier scan, linked to it so the new
// page shows what changed.
func rescan(d Deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		_ = r.ParseForm()
		id := chi.URLParam(r, "id")
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
			serverError(d, w, r)
			return
		}
		prev := snap.Scan
		visitor := clientIP(r)
		dual := prev.SiblingID != ""
		if d.Clients != nil {
			if ok, retry := d.Clients.Allow(visitor); !ok {
				rateLimited(d, w, r, retry)
				return
			}
		}
		form := templates.HomeForm{Host: prev.Target, Ports: ports.PresetCommon, Custom: prev.PortSpec, Consent: r.PostFormValue("consent") != "",
			IPv6: dual, Errors: map[string]string{}}
		status, reason, reqs := validate(r.Context(), d, &form, visitor)
		if len(form.Errors) > 0 {
			d.Metrics.Refused(reason)
			homePage(d, w, r, status, form)
			return
		}
		// Each new scan repeats the earlier scan of its own family.
		show := 0
		for i := range reqs {
			reqs[i].Client = visitor.String()
			reqs[i].PreviousID = id
		}
		if dual {
			if prev.IP.Is4() {
				reqs[1].PreviousID = prev.SiblingID
			} else {
				reqs[0].PreviousID, show = prev.SiblingID, 1
			}
		}
		ids, err := startScans(r.Context(), d, visitor, reqs)
		var over *pairRateLimited
		switch {
		case errors.As(err, &over):
			rateLimited(d, w, r, over.retry)
			return
		case errors.Is(err, jobs.ErrQueueTooSmall):
			d.Metrics.Refused(metrics.RefusedQueueFull)
			errorPage(d, w, r, http.StatusUnprocessableEntity, "Cannot compare IPv4 and IPv6 here", pairUnavailable)
			return
		case errors.Is(err, jobs.ErrQueueFull), errors.Is(err, jobs.ErrShuttingDown):
			d.Metrics.Refused(metrics.RefusedQueueFull)
			w.Header().Set("Retry-After", "60")
			errorPage(d, w, r, http.StatusServiceUnavailable, "Vantage is busy", "Vantage is busy with other scans right now. Please try again in a minute.")
			return
		case err != nil:
			d.Log.Error("rescan", "err", err)
			serverError(d, w, r)
			return
		}
		protect(d, w, r, ids...)
		http.Redirect(w, r, "/scans/"+ids[show], http.StatusSeeOther)
	}
}

// rateLimited answers 429 with Retry-After and says when to come back.
func rateLimited(d Deps, w http.ResponseWriter, r *http.Request, retry time.Duration) {
	secs := int(math.Ceil(retry.Seconds()))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	when := fmt.Sprintf("in about %d seconds", secs)
	if secs >= 90 {
		when = fmt.Sprintf("in about %d minutes", (secs+59)/60)
	}
	d.Log.Info("scan refused", "client", clientIP(r).String(), "reason", "rate-limited")
	d.Metrics.Refused(metrics.RefusedRateLimited)
	errorPage(d, w, r, http.StatusTooManyRequests, "Too many scans for now",
		"You have started several scans in a short time. To keep Vantage fair for everyone, you can start another "+when+
			". (Scanning IPv4 and IPv6 side by side counts as two scans.)")
}

// validate checks the form and pins its target. It fills form.Errors (field
// → message) and returns the status to answer with when there are any and
// the refusal's reason for the metrics.
func validate(ctx context.Context, d Deps, form *templates.HomeForm, visitor netip.Addr) (int, string, []jobs.Request) {
	status, reason := http.StatusUnprocessableEntity, metrics.RefusedInvalid
	spec := "preset:" + form.Ports
	if _, ok := ports.PresetByName(form.Ports); !ok {
		form.Errors["ports"] = "Choose one of the port sets offered."
	}
	if form.Custom != "" {
		spec = form.Custom
	}
	var list []uint16
	if form.Errors["ports"] == "" {
		var err error
		if list, err = ports.Parse(spec, d.MaxPorts); err != nil {
			field := "ports"
			if form.Custom != "" {
				field = "custom"
			}
			form.Errors[field] = err.Error()
		}
	}
	if form.Host == "" {
		form.Errors["host"] = "Type a host name or an IP address to scan."
		return status, reason, nil
	}
	var pts []target.PinnedTarget
	if form.IPv6 {
		v4, v6, err := d.Pinner.PinBoth(ctx, form.Host)
		if err != nil {
			status, reason = pinRefused(form, err)
			return status, reason, nil
		}
		pts = []target.PinnedTarget{v4, v6}
	} else {
		pt, err := d.Pinner.Pin(ctx, form.Host, target.Auto)
		if err != nil {
			status, reason = pinRefused(form, err)
			return status, reason, nil
		}
		pts = []target.PinnedTarget{pt}
	}
	for _, pt := range pts {
		if d.Route(pt.IP) != nil {
			form.Errors["host"] = noRouteMessage(pt.IP, pt.Host)
			if len(pts) == 2 {
				form.Errors["host"] += " Untick “Also scan IPv6” to scan the other address alone."
			}
			return http.StatusUnprocessableEntity, metrics.RefusedUnresolvable, nil
		}
	}
	if !form.Consent && slices.ContainsFunc(pts, func(pt target.PinnedTarget) bool { return pt.IP != visitor }) {
		form.Errors["consent"] = "Confirm that you own this host or are authorised to scan it. (Scanning your own address needs no confirmation.)"
	}
	if u := pts[0].URLPort; u != 0 && form.Custom == "" && len(list) > 0 && !containsPort(list, u) {
		// The port typed in a URL joins the set, so it is never silently dropped.
		list = append(list, u)
		spec += "," + strconv.Itoa(int(u))
	}
	reqs := make([]jobs.Request, len(pts))
	for i, pt := range pts {
		reqs[i] = jobs.Request{Target: pt, PortSpec: spec, Ports: list}
	}
	return status, reason, reqs
}

// pinRefused puts a pinning error on the host field and returns the status
// and the refusal's reason for the metrics.
func pinRefused(form *templates.HomeForm, err error) (int, string) {
	var te *target.Error
	form.Errors["host"] = "That host cannot be scanned."
	if errors.As(err, &te) {
		form.Errors["host"] = te.Msg
	}
	switch {
	case errors.Is(err, target.ErrForbidden):
		return http.StatusForbidden, metrics.RefusedForbidden
	case errors.Is(err, target.ErrResolver):
		return http.StatusBadGateway, metrics.RefusedUnresolvable
	case errors.Is(err, target.ErrUnresolvable):
		return http.StatusUnprocessableEntity, metrics.RefusedUnresolvable
	}
	return http.StatusUnprocessableEntity, metrics.RefusedInvalid
}

func containsPort(list []uint16, p uint16) bool {
	for _, q := range list {
		if q == p {
			return true
		}
	}
	return false
}

func healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = fmt.Fprintln(w, "ok")
}

func readyz(d Deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !d.Ready() {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = fmt.Fprintln(w, "shutting down")
			return
		}
		if err := d.Store.Ping(r.Context()); err != nil {
			d.Log.Error("readyz", "err", err)
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = fmt.Fprintln(w, "store unreachable")
			return
		}
		_, _ = fmt.Fprintln(w, "ready")
	}
}
