package web

import (
	"net/http"
	"net/netip"
	"runtime/debug"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
)

// clientAddress records who is asking: the socket's peer, or — only when
// that peer is a trusted proxy — the first untrusted address in
// X-Forwarded-For. Anyone else's X-Forwarded-For is ignored.
func clientAddress(trusted []netip.Prefix) func(http.Handler) http.Handler {
	if len(trusted) == 0 {
		return middleware.ClientIPFromRemoteAddr
	}
	prefixes := make([]string, len(trusted))
	for i, p := range trusted {
		prefixes[i] = p.String()
	}
	return middleware.ClientIPFromXFF(prefixes...)
}

// securityHeaders sets the headers every response carries. The page needs
// no script; the policy allows only this origin's styles and images.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		next.ServeHTTP(w, r)
	})
}

// recoverer turns a panic into the friendly 500 page; the log gets the
// stack, the visitor never does.
func recoverer(d Deps) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				if v := recover(); v != nil {
					if v == http.ErrAbortHandler {
						panic(v)
					}
					d.Log.Error("panic", "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
					serverError(d, w, r)
				}
			}()
			next.ServeHTTP(w, r)
		})
	}
}

// measure counts every request by its route pattern (never its path, which
// carries scan IDs) and status. Its writer passes Flush through, so
// streamed pages keep streaming.
func measure(d Deps) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
			defer func() {
				route := ""
				if rc := chi.RouteContext(r.Context()); rc != nil {
					route = rc.RoutePattern()
				}
				code := ww.Status()
				if code == 0 {
					code = http.StatusOK
				}
				d.Metrics.Request(route, code, time.Since(start))
			}()
			next.ServeHTTP(ww, r)
		})
	}
}
