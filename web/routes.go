package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/vantagescan/vantage/static"
)

// routes is every route of the service, in one place.
func routes(d Deps) http.Handler {
	r := chi.NewRouter()
	r.Use(recoverer(d), securityHeaders)

	r.Get("/", home(d))
	r.Post("/scans", submit(d))
	r.Get("/scans/{id}", results(d))
	r.Get("/ports", catalog(d))

	r.Get("/healthz", healthz)
	r.Get("/readyz", readyz(d))
	r.Handle("/static/*", static.Handler())

	r.NotFound(notFound(d))
	r.MethodNotAllowed(methodNotAllowed(d))
	return r
}
