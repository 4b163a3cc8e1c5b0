package web

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/netip"
	"runtime/debug"
	"time"

	"github.com/a-h/templ"
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

// csp is the Content-Security-Policy, with the request's script nonce.
func csp(nonce string) string {
	return "default-src 'self'; script-src 'nonce-" + nonce + "'; object-src 'none'; base-uri 'none'; " +
		"frame-ancestors 'none'; form-action 'self'"
}

// securityHeaders sets the headers every response carries, and gives the
// request a fresh script nonce (templ.WithNonce) that the CSP names.
func securityHeaders(d Deps) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			nonce := newNonce()
			h := w.Header()
			h.Set("Content-Security-Policy", csp(nonce))
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
			h.Set("Cross-Origin-Opener-Policy", "same-origin")
			h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()")
			if isHTTPS(r, d.TrustedProxies) {
				h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
			}
			next.ServeHTTP(w, r.WithContext(templ.WithNonce(r.Context(), nonce)))
		})
	}
}

func newNonce() string {
	var b [18]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// isHTTPS reports whether the visitor reached us over TLS: directly, or
// through a trusted proxy that says so.
func isHTTPS(r *http.Request, trusted []netip.Prefix) bool {
	if r.TLS != nil {
		return true
	}
	if r.Header.Get("X-Forwarded-Proto") != "https" {
		return false
	}
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	for _, p := range trusted {
		if p.Contains(peer.Addr().Unmap()) {
			return true
		}
	}
	return false
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
