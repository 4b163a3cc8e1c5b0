package web

import (
	"encoding/json"
	"errors"
	"math"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/vantagescan/vantage/internal/jobs"
	"github.com/vantagescan/vantage/internal/metrics"
	"github.com/vantagescan/vantage/internal/ports"
	"github.com/vantagescan/vantage/internal/report"
	"github.com/vantagescan/vantage/internal/store"
	"github.com/vantagescan/vantage/internal/target"
	"github.com/vantagescan/vantage/templates"
)

// apiDocs is GET /api, the API described for people.
func apiDocs(d Deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		render(d, w, r, http.StatusOK, templates.APIDocs(page("The Vantage API", "Start, follow, export and delete scans with JSON.", false)))
	}
}

// apiError is the JSON error body: {"error":{"code","message"}}.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func apiFail(w http.ResponseWriter, status int, code, message string) {
	var e apiError
	e.Error.Code, e.Error.Message = code, message
	writeJSON(w, status, e)
}

// apiScanRequest is the body of POST /api/v1/scans.
type apiScanRequest struct {
	Target  string `json:"target"`
	Ports   string `json:"ports"`   // "22,80,443", "8000-8100", "preset:common" (default)
	Family  string `json:"family"`  // "4", "6" or "both"; empty: IPv4 when the name has it
	Consent bool   `json:"consent"` // I own this host or am authorised to scan it (not needed for your own address)
}

// apiScanAccepted is the answer to a scan request.
type apiScanAccepted struct {
	ID     string `json:"id"`
	URL    string `json:"url"`
	Status string `json:"status"`
	Recent bool   `json:"recent,omitempty"` // the cooldown answered with a scan of the same target and ports
	// DeleteToken deletes the result: DELETE /api/v1/scans/{id} with
	// Authorization: Bearer DELETE_TOKEN. Only this answer carries it.
	DeleteToken string `json:"delete_token,omitempty"`
	// Family is "ipv4" or "ipv6"; with family "both" the answer is the
	// IPv4 scan and Sibling the IPv6 one.
	Family  string           `json:"family,omitempty"`
	Sibling *apiScanAccepted `json:"sibling,omitempty"`
}

func familyName(pt target.PinnedTarget) string {
	if pt.IP.Is4() || pt.IP.Is4In6() {
		return "ipv4"
	}
	return "ipv6"
}

// apiSubmit is POST /api/v1/scans. It requires Content-Type
// application/json, which a cross-site form cannot send without a
// preflight: no simple-request CSRF.
func apiSubmit(d Deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
			apiFail(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "Send the scan request as JSON with Content-Type: application/json.")
			return
		}
		visitor := clientIP(r)
		var req apiScanRequest
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxFormBytes))
		dec.DisallowUnknownFields()
		bodyErr := dec.Decode(&req)
		// Every request counts; a valid pair takes a second token below.
		if d.Clients != nil {
			if ok, retry := d.Clients.Allow(visitor); !ok {
				d.Metrics.Refused(metrics.RefusedRateLimited)
				w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(retry.Seconds()))))
				apiFail(w, http.StatusTooManyRequests, "rate_limited", "Too many scans from your address; retry after the number of seconds in Retry-After.")
				return
			}
		}
		if bodyErr != nil {
			d.Metrics.Refused(metrics.RefusedInvalid)
			apiFail(w, http.StatusBadRequest, "bad_request", "The body must be one JSON object with target, ports, family and consent.")
			return
		}
		spec := strings.TrimSpace(req.Ports)
		if spec == "" {
			spec = "preset:" + ports.PresetCommon
		}
		list, err := ports.Parse(spec, d.MaxPorts)
		if err != nil {
			d.Metrics.Refused(metrics.RefusedInvalid)
			apiFail(w, http.StatusUnprocessableEntity, "invalid_ports", err.Error())
			return
		}
		fam, dual := target.Auto, false
		switch req.Family {
		case "", "auto":
		case "4":
			fam = target.IPv4Only
		case "6":
			fam = target.IPv6Only
		case "both":
			dual = true
		default:
			d.Metrics.Refused(metrics.RefusedInvalid)
			apiFail(w, http.StatusUnprocessableEntity, "invalid_family", `family must be "4", "6" or "both" (or left out: IPv4 when the name has it).`)
			return
		}
		if strings.TrimSpace(req.Target) == "" {
			d.Metrics.Refused(metrics.RefusedInvalid)
			apiFail(w, http.StatusUnprocessableEntity, "invalid_target", "Give the host name or IP address to scan as target.")
			return
		}
		var pts []target.PinnedTarget
		if dual {
			v4, v6, perr := d.Pinner.PinBoth(r.Context(), req.Target)
			pts, err = []target.PinnedTarget{v4, v6}, perr
		} else {
			pt, perr := d.Pinner.Pin(r.Context(), req.Target, fam)
			pts, err = []target.PinnedTarget{pt}, perr
		}
		if err != nil {
			status, code, reason := apiTargetError(err)
			d.Metrics.Refused(reason)
			msg := "That host cannot be scanned."
			var te *target.Error
			if errors.As(err, &te) {
				msg = te.Msg
			}
			apiFail(w, status, code, msg)
			return
		}
		for _, pt := range pts {
			if d.Route(pt.IP) != nil {
				d.Metrics.Refused(metrics.RefusedUnresolvable)
				apiFail(w, http.StatusUnprocessableEntity, "no_route", noRouteMessage(pt.IP, pt.Host))
				return
			}
		}
		if !req.Consent && slices.ContainsFunc(pts, func(pt target.PinnedTarget) bool { return pt.IP != visitor }) {
			d.Metrics.Refused(metrics.RefusedInvalid)
			apiFail(w, http.StatusUnprocessableEntity, "consent_required", `Set "consent": true to confirm you own this host or are authorised to scan it.`)
			return
		}
		reqs := make([]jobs.Request, len(pts))
		for i, pt := range pts {
			reqs[i] = jobs.Request{Target: pt, PortSpec: spec, Ports: list, Client: visitor.String()}
		}
		addr, canonical := cooldownKey(reqs)
		if d.Cooldown != nil {
			if id, ok := d.Cooldown.Recent(addr, canonical); ok {
				ans := apiScanAccepted{ID: id, URL: "/api/v1/scans/" + id, Status: "recent", Recent: true, Family: familyName(pts[0])}
				if dual {
					if snap, err := d.Runner.Watch(r.Context(), id, math.MaxInt); err == nil && snap.Scan.SiblingID != "" {
						sib := snap.Scan.SiblingID
						ans.Sibling = &apiScanAccepted{ID: sib, URL: "/api/v1/scans/" + sib, Status: "recent", Recent: true, Family: familyName(pts[1])}
					}
				}
				writeJSON(w, http.StatusOK, ans)
				return
			}
		}
		ids, err := startScans(r.Context(), d, visitor, reqs)
		var over *pairRateLimited
		switch {
		case errors.As(err, &over):
			d.Metrics.Refused(metrics.RefusedRateLimited)
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(over.retry.Seconds()))))
			apiFail(w, http.StatusTooManyRequests, "rate_limited", `Too many scans from your address ("both" counts as two); retry after the number of seconds in Retry-After.`)
			return
		case errors.Is(err, jobs.ErrQueueTooSmall):
			d.Metrics.Refused(metrics.RefusedQueueFull)
			apiFail(w, http.StatusUnprocessableEntity, "pair_unavailable", `This Vantage queues only one scan at a time, so "family": "both" is not available; ask for "4" or "6".`)
			return
		case errors.Is(err, jobs.ErrQueueFull), errors.Is(err, jobs.ErrShuttingDown):
			d.Metrics.Refused(metrics.RefusedQueueFull)
			w.Header().Set("Retry-After", "60")
			apiFail(w, http.StatusServiceUnavailable, "busy", "Vantage is busy with other scans; retry after the number of seconds in Retry-After.")
			return
		case err != nil:
			d.Log.Error("api submit", "err", err)
			apiFail(w, http.StatusInternalServerError, "internal", "Something went wrong on our side.")
			return
		}
		if d.Cooldown != nil {
			d.Cooldown.Remember(addr, canonical, ids[0])
		}
		token, err := d.Runner.Protect(r.Context(), ids...) // a pair shares one
		if err != nil {
			d.Log.Error("delete token", "ids", ids, "err", err)
		}
		answers := make([]apiScanAccepted, len(ids))
		for i, id := range ids {
			answers[i] = apiScanAccepted{ID: id, URL: "/api/v1/scans/" + id, Status: string(store.Queued), DeleteToken: token, Family: familyName(pts[i])}
		}
		if len(answers) == 2 {
			answers[0].Sibling = &answers[1]
		}
		w.Header().Set("Location", "/api/v1/scans/"+ids[0])
		writeJSON(w, http.StatusAccepted, answers[0])
	}
}

func apiTargetError(err error) (status int, code, reason string) {
	switch {
	case errors.Is(err, target.ErrForbidden):
		return http.StatusForbidden, "forbidden_target", metrics.RefusedForbidden
	case errors.Is(err, target.ErrUnresolvable):
		return http.StatusUnprocessableEntity, "unresolvable", metrics.RefusedUnresolvable
	case errors.Is(err, target.ErrResolver):
		return http.StatusBadGateway, "resolver_failed", metrics.RefusedUnresolvable
	default:
		return http.StatusUnprocessableEntity, "invalid_target", metrics.RefusedInvalid
	}
}

// apiScan is GET /api/v1/scans/{id}: the full document, as far as the scan
// has got (its status says whether it is final).
func apiScan(d Deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := chi.URLParam(r, "id")
		if !store.ValidID(id) {
			apiFail(w, http.StatusNotFound, "not_found", "There is no scan with that ID.")
			return
		}
		s, err := loadExport(r.Context(), d, id)
		if errors.Is(err, store.ErrNotFound) {
			apiFail(w, http.StatusNotFound, "not_found", "There is no scan with that ID.")
			return
		}
		if err != nil {
			d.Log.Error("api scan", "id", id, "err", err)
			apiFail(w, http.StatusInternalServerError, "internal", "Something went wrong on our side.")
			return
		}
		writeJSON(w, http.StatusOK, report.NewDocument(s))
	}
}
