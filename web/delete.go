package web

import (
	"errors"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/vantagescan/vantage/internal/jobs"
	"github.com/vantagescan/vantage/internal/store"
)

// deleteCookie holds a scan's delete token in its creator's browser,
// scoped to that scan's pages only.
const deleteCookie = "vantage_delete"

// protect gives new scans (one, or an IPv4/IPv6 pair) their delete token
// and hands it to the browser, in one cookie per scan scoped to its pages.
func protect(d Deps, w http.ResponseWriter, r *http.Request, ids ...string) {
	token, err := d.Runner.Protect(r.Context(), ids...)
	if err != nil {
		d.Log.Error("delete token", "ids", ids, "err", err)
		return // the scans run; they just cannot be stopped or deleted by their creator
	}
	for _, id := range ids {
		http.SetCookie(w, &http.Cookie{
			Name: deleteCookie, Value: token, Path: "/scans/" + id,
			MaxAge: int((30 * 24 * time.Hour).Seconds()), HttpOnly: true, SameSite: http.SameSiteStrictMode,
			Secure: isHTTPS(r, d.TrustedProxies),
		})
	}
}

func deleteToken(r *http.Request) string {
	if c, err := r.Cookie(deleteCookie); err == nil {
		return c.Value
	}
	return ""
}

// deleteScan is POST /scans/{id}/delete, the "Delete this result" button.
func deleteScan(d Deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := chi.URLParam(r, "id")
		if !store.ValidID(id) {
			notFound(d)(w, r)
			return
		}
		err := d.Runner.Delete(r.Context(), id, deleteToken(r))
		switch {
		case err == nil:
			http.SetCookie(w, &http.Cookie{Name: deleteCookie, Path: "/scans/" + id, MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
			d.Log.Info("scan deleted", "id", id)
			errorPage(d, w, r, http.StatusOK, "Result deleted", "The scan and its results are gone for good; its link no longer works.")
		case errors.Is(err, store.ErrNotFound):
			notFound(d)(w, r)
		case errors.Is(err, store.ErrConflict):
			errorPage(d, w, r, http.StatusConflict, "Still running", "A scan can be deleted once it has finished.")
		case errors.Is(err, store.ErrForbidden):
			errorPage(d, w, r, http.StatusForbidden, "Not yours to delete", "Only the browser that started a scan can delete its result.")
		default:
			d.Log.Error("delete", "id", id, "err", err)
			serverError(d, w, r)
		}
	}
}

// apiDelete is DELETE /api/v1/scans/{id} with "Authorization: Bearer TOKEN".
func apiDelete(d Deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := chi.URLParam(r, "id")
		token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !store.ValidID(id) {
			apiFail(w, http.StatusNotFound, "not_found", "There is no scan with that ID.")
			return
		}
		err := d.Runner.Delete(r.Context(), id, token)
		switch {
		case err == nil:
			w.WriteHeader(http.StatusNoContent)
		case errors.Is(err, store.ErrNotFound):
			apiFail(w, http.StatusNotFound, "not_found", "There is no scan with that ID.")
		case errors.Is(err, store.ErrConflict):
			apiFail(w, http.StatusConflict, "running", "A scan can be deleted once it has finished.")
		case errors.Is(err, store.ErrForbidden):
			apiFail(w, http.StatusForbidden, "forbidden", "Send the scan's delete_token as Authorization: Bearer TOKEN.")
		default:
			d.Log.Error("api delete", "id", id, "err", err)
			apiFail(w, http.StatusInternalServerError, "internal", "Something went wrong on our side.")
		}
	}
}

// stopWait bounds how long "Stop this scan" waits for the scan to end
// before showing its page (which then finishes streaming the end).
const stopWait = 3 * time.Second

// cancelScan is POST /scans/{id}/cancel, the "Stop this scan" button: the
// browser that started a scan (it holds the delete token) may stop it.
func cancelScan(d Deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := chi.URLParam(r, "id")
		if !store.ValidID(id) {
			notFound(d)(w, r)
			return
		}
		token := deleteToken(r)
		err := d.Runner.Cancel(r.Context(), id, token)
		switch {
		case err == nil, errors.Is(err, jobs.ErrFinished):
			// Half of an IPv4/IPv6 pair: the other half shares the token
			// and stops too (a comparison of one family is no comparison).
			sibling := ""
			if snap, err := d.Runner.Watch(r.Context(), id, math.MaxInt); err == nil && snap.Scan.SiblingID != "" {
				sibling = snap.Scan.SiblingID
				_ = d.Runner.Cancel(r.Context(), sibling, token) // ended already, or deleted: nothing to stop
			}
			// A running scan stops within moments: wait for it (briefly), so
			// the page it returns to reads final, without the button.
			deadline := time.After(stopWait)
			for _, sid := range []string{id, sibling} {
				if sid == "" {
					continue
				}
				select {
				case <-d.Runner.Done(sid):
				case <-deadline:
				case <-r.Context().Done():
				}
			}
			// Stopped, or it ended on its own meanwhile: its page says which.
			http.Redirect(w, r, "/scans/"+id, http.StatusSeeOther)
		case errors.Is(err, store.ErrNotFound):
			notFound(d)(w, r)
		case errors.Is(err, store.ErrForbidden):
			errorPage(d, w, r, http.StatusForbidden, "Not yours to stop", "Only the browser that started a scan can stop it.")
		default:
			d.Log.Error("cancel", "id", id, "err", err)
			serverError(d, w, r)
		}
	}
}

// apiCancel is POST /api/v1/scans/{id}/cancel with "Authorization: Bearer
// TOKEN" (the delete token): 202 while the scan stops (its events end with
// done, status cancelled), 409 when it had already ended.
func apiCancel(d Deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := chi.URLParam(r, "id")
		token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !store.ValidID(id) {
			apiFail(w, http.StatusNotFound, "not_found", "There is no scan with that ID.")
			return
		}
		err := d.Runner.Cancel(r.Context(), id, token)
		switch {
		case err == nil:
			writeJSON(w, http.StatusAccepted, apiScanAccepted{ID: id, URL: "/api/v1/scans/" + id, Status: "stopping"})
		case errors.Is(err, jobs.ErrFinished):
			apiFail(w, http.StatusConflict, "finished", "The scan has already ended.")
		case errors.Is(err, store.ErrNotFound):
			apiFail(w, http.StatusNotFound, "not_found", "There is no scan with that ID.")
		case errors.Is(err, store.ErrForbidden):
			apiFail(w, http.StatusForbidden, "forbidden", "Send the scan's delete_token as Authorization: Bearer TOKEN.")
		default:
			d.Log.Error("api cancel", "id", id, "err", err)
			apiFail(w, http.StatusInternalServerError, "internal", "Something went wrong on our side.")
		}
	}
}
