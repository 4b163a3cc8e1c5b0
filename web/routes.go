package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/vantagescan/vantage/static"
)

// routes is every route of the service, in one place.
func routes(d Deps) http.Handler {
	r := chi.NewRouter()
	// Compress flushes through (chi's writer is an http.Flusher), so the
	// results page still streams row by row.
	r.Use(measure(d), recoverer(d), clientAddress(d.TrustedProxies), securityHeaders(d),
		middleware.Compress(5, "text/html", "text/css", "text/javascript", "application/javascript", "image/svg+xml"))

	r.Get("/", home(d))
	// Browsers' cross-site form posts are refused: a scan must not be
	// launched from another site through a visitor's browser.
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(crossOrigin(d))
	r.Method(http.MethodPost, "/scans", cop.Handler(submit(d)))
	r.Method(http.MethodPost, "/scans/{id}/rescan", cop.Handler(rescan(d)))
	r.Method(http.MethodPost, "/scans/{id}/delete", cop.Handler(deleteScan(d)))
	r.Method(http.MethodPost, "/scans/{id}/cancel", cop.Handler(cancelScan(d)))
	r.Get("/scans/{id}", results(d))
	r.Get("/ports", catalog(d))

	r.Get("/api", apiDocs(d))
	r.Post("/api/v1/scans", apiSubmit(d))
	r.Get("/api/v1/scans/{id}", apiScan(d))
	r.Get("/api/v1/scans/{id}/events", apiEvents(d))
	r.Delete("/api/v1/scans/{id}", apiDelete(d))
	r.Post("/api/v1/scans/{id}/cancel", apiCancel(d))

	r.Get("/healthz", healthz)
	r.Get("/readyz", readyz(d))
	r.Handle("/static/*", static.Handler())

	r.NotFound(notFound(d))
	r.MethodNotAllowed(methodNotAllowed(d))
	return r
}
