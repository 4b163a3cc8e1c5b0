// Package web will hold Vantage's HTTP service: NewServer(deps) http.Handler,
// every route in one routes.go, handlers and middleware. It turns requests
// into calls on internal/* and renders templates; it never opens a socket to
// a scan target itself (see ARCHITECTURE.md: cmd → web → templates, static,
// internal/*).
package web
