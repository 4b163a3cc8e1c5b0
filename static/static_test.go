package static

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
)

func TestPathIsStableAndContentDerived(t *testing.T) {
	for _, tc := range []struct {
		name, dir, ext string
	}{
		{"app.css", "css", ".css"},
		{"favicon.svg", "img", ".svg"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Path(tc.name)
			if again := Path(tc.name); again != got {
				t.Fatalf("Path(%q) changed between calls: %q then %q", tc.name, got, again)
			}
			if full := Path(tc.dir + "/" + tc.name); full != got {
				t.Errorf("Path(%q) = %q, but Path(%q) = %q", tc.dir+"/"+tc.name, full, tc.name, got)
			}
			body, err := fs.ReadFile(files, tc.dir+"/"+tc.name)
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(body)
			stem := strings.TrimSuffix(tc.name, tc.ext)
			want := "/static/" + stem + "." + hex.EncodeToString(sum[:])[:hashLen] + tc.ext
			if got != want {
				t.Errorf("Path(%q) = %q, want %q", tc.name, got, want)
			}
			if !regexp.MustCompile(`^/static/[a-z0-9-]+\.[0-9a-f]{10}\.[a-z0-9]+$`).MatchString(got) {
				t.Errorf("Path(%q) = %q does not look like /static/name.hash.ext", tc.name, got)
			}
		})
	}
}

func TestLoadHashFollowsContent(t *testing.T) {
	url := func(body string) string {
		c, err := load(fstest.MapFS{"css/app.css": {Data: []byte(body)}})
		if err != nil {
			t.Fatal(err)
		}
		return c.byName["app.css"].url
	}
	if a, b := url("a{}"), url("b{}"); a == b {
		t.Errorf("different content, same URL %q", a)
	}
	if a, b := url("a{}"), url("a{}"); a != b {
		t.Errorf("same content, different URLs %q and %q", a, b)
	}
}

func TestLoadRefusesDuplicateBaseNames(t *testing.T) {
	_, err := load(fstest.MapFS{
		"css/x.svg": {Data: []byte("1")},
		"img/x.svg": {Data: []byte("2")},
	})
	if err == nil {
		t.Fatal("load accepted two files that would share a URL")
	}
}

func TestPathPanicsOnUnknownName(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Path of an unknown name did not panic")
		}
	}()
	Path("nope.css")
}

func TestHandlerServesHashedPaths(t *testing.T) {
	h := Handler()
	for _, tc := range []struct {
		name, file, contentType string
	}{
		{"app.css", "css/app.css", "text/css; charset=utf-8"},
		{"favicon.svg", "img/favicon.svg", "image/svg+xml"},
	} {
		body, err := fs.ReadFile(files, tc.file)
		if err != nil {
			t.Fatal(err)
		}
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			t.Run(method+" "+tc.name, func(t *testing.T) {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(method, Path(tc.name), nil))
				res := rec.Result()
				if res.StatusCode != http.StatusOK {
					t.Fatalf("status %d, want 200", res.StatusCode)
				}
				for header, want := range map[string]string{
					"Content-Type":           tc.contentType,
					"Cache-Control":          "public, max-age=31536000, immutable",
					"X-Content-Type-Options": "nosniff",
				} {
					if got := res.Header.Get(header); got != want {
						t.Errorf("%s = %q, want %q", header, got, want)
					}
				}
				if res.Header.Get("ETag") == "" {
					t.Error("no ETag")
				}
				wantBody := string(body)
				if method == http.MethodHead {
					wantBody = ""
				}
				if got := rec.Body.String(); got != wantBody {
					t.Errorf("body has %d bytes, want %d", len(got), len(wantBody))
				}
				if got, want := res.Header.Get("Content-Length"), strconv.Itoa(len(body)); got != want {
					t.Errorf("Content-Length = %q, want %q", got, want)
				}
			})
		}
	}
}

func TestHandlerAcceptsStrippedPrefix(t *testing.T) {
	h := http.StripPrefix("/static", Handler())
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, Path("app.css"), nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d, want 200", rec.Code)
	}
}

func TestHandlerConditionalGet(t *testing.T) {
	h := Handler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, Path("app.css"), nil))
	etag := rec.Header().Get("ETag")

	req := httptest.NewRequest(http.MethodGet, Path("app.css"), nil)
	req.Header.Set("If-None-Match", etag)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified {
		t.Errorf("If-None-Match with the current ETag: status %d, want 304", rec.Code)
	}
}

func TestHandlerNotFound(t *testing.T) {
	h := Handler()
	hashed := Path("app.css")
	for _, p := range []string{
		"/static/app.css",                         // un-hashed
		"/static/css/app.css",                     // the embedded path
		"/static/app.0000000000.css",              // stale or made-up hash
		strings.Replace(hashed, ".css", ".js", 1), // right hash, wrong name
		hashed + "/",
		"/static/",
		"/static/static.go",
		"/static/../static.go",
	} {
		t.Run(p, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, p, nil))
			if rec.Code != http.StatusNotFound {
				t.Errorf("status %d, want 404", rec.Code)
			}
			if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("nosniff missing on 404: %q", got)
			}
			if cc := rec.Header().Get("Cache-Control"); strings.Contains(cc, "immutable") {
				t.Errorf("404 is cached forever: %q", cc)
			}
		})
	}
}

func TestHandlerRefusesOtherMethods(t *testing.T) {
	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		rec := httptest.NewRecorder()
		Handler().ServeHTTP(rec, httptest.NewRequest(method, Path("app.css"), nil))
		if rec.Code != http.StatusMethodNotAllowed {
			t.Errorf("%s: status %d, want 405", method, rec.Code)
		}
		if got := rec.Header().Get("Allow"); got != "GET, HEAD" {
			t.Errorf("%s: Allow = %q", method, got)
		}
	}
}
