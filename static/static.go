// Package static owns Vantage's hand-written CSS and images: it embeds them
// and serves each under a content-hashed URL with immutable caching.
//
// It never serves a file under its plain name: a URL that does not carry the
// current content hash is a 404, so a cached copy can never be stale.
package static

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"
)

// Prefix is the URL path under which Handler expects to be mounted.
const Prefix = "/static/"

// hashLen is how many hex digits of the SHA-256 go into a URL.
const hashLen = 10

// cacheForever is sent with every asset: its URL changes when its content does.
const cacheForever = "public, max-age=31536000, immutable"

//go:embed css img js
var files embed.FS

// asset is one embedded file, ready to serve.
type asset struct {
	url         string // "app.3f9a1c2b7d.css": the name under Prefix
	body        []byte
	contentType string
	etag        string
}

// catalog indexes the embedded files by name (embedded path and base name,
// for Path) and by hashed name (for Handler).
type catalog struct {
	byName map[string]*asset
	byURL  map[string]*asset
}

// assets is computed once: the embedded files never change at run time.
var assets = sync.OnceValue(func() catalog {
	c, err := load(files)
	if err != nil {
		panic(err) // the embedded tree is fixed at build time; the tests load it
	}
	return c
})

// load hashes every regular file in fsys. Base names must be unique, because
// URLs are flat: "css/app.css" is served as "/static/app.<hash>.css".
func load(fsys fs.FS) (catalog, error) {
	c := catalog{byName: map[string]*asset{}, byURL: map[string]*asset{}}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		base := path.Base(p)
		if _, dup := c.byName[base]; dup {
			return fmt.Errorf("static: two files named %q", base)
		}
		sum := sha256.Sum256(body)
		hash := hex.EncodeToString(sum[:])[:hashLen]
		ext := path.Ext(base)
		a := &asset{
			url:         strings.TrimSuffix(base, ext) + "." + hash + ext,
			body:        body,
			contentType: contentType(ext),
			etag:        `"` + hash + `"`,
		}
		c.byName[base] = a
		c.byName[p] = a
		c.byURL[a.url] = a
		return nil
	})
	return c, err
}

// contentType names the types Vantage ships explicitly, so the answer does not
// depend on the host's MIME tables.
func contentType(ext string) string {
	switch strings.ToLower(ext) {
	case ".css":
		return "text/css; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	case ".ico":
		return "image/x-icon"
	case ".woff2":
		return "font/woff2"
	case ".txt":
		return "text/plain; charset=utf-8"
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return t
	}
	return "application/octet-stream"
}

// Path returns the content-hashed URL path of an embedded file, named by its
// path under static/ or by its base name: Path("css/app.css") and
// Path("app.css") both return "/static/app.3f9a1c2b7d.css". The hash is the
// first 10 hex digits of the file's SHA-256. Path panics on a name that is not
// embedded: names are constants in the code, so that is a programming error
// that any test rendering a page catches.
func Path(name string) string {
	a, ok := assets().byName[name]
	if !ok {
		panic(fmt.Sprintf("static: no embedded file named %q", name))
	}
	return Prefix + a.url
}

// Handler serves the embedded files under the paths Path returns, with
// immutable caching, an explicit Content-Type and nosniff. It answers GET and
// HEAD (and conditional and range requests); anything else is 405, and a name
// without the current hash is 404. Mount it at Prefix without stripping it
// (mux.Handle("/static/", static.Handler())); a path already stripped of
// Prefix is accepted too.
func Handler() http.Handler {
	c := assets()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
			return
		}
		name := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, Prefix), "/")
		a, ok := c.byURL[name]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h.Set("Content-Type", a.contentType)
		h.Set("Cache-Control", cacheForever)
		h.Set("ETag", a.etag)
		http.ServeContent(w, r, a.url, time.Time{}, bytes.NewReader(a.body))
	})
}
