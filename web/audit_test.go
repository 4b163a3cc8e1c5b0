package web

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// TestAudit runs the audits a user's tools would: the Nu HTML Checker must
// report no error and axe-core no violation (at desktop and phone widths,
// light and dark) on the landing page, the catalog, a form with errors, a
// 100-port results page, an IPv4/IPv6 comparison and the 404 page.
// make audit runs it with the pinned tools (web/testdata/audit).
func TestAudit(t *testing.T) {
	if os.Getenv("VANTAGE_AUDIT") != "1" {
		t.Skip("set VANTAGE_AUDIT=1 (make audit) to run the HTML and accessibility audits")
	}
	vnu, axe := os.Getenv("VNU_JAR"), os.Getenv("AXE_JS")
	axeSrc, err := os.ReadFile(axe)
	if err != nil || vnu == "" {
		t.Fatalf("VNU_JAR and AXE_JS must name the pinned tools: %v", err)
	}
	// A finished 100-port scan with one open port, a plain-HTTP server the
	// follow-up checks report on (so findings and the grade are audited).
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "hi") }))
	defer web.Close()
	port := netip.MustParseAddrPort(strings.TrimPrefix(web.URL, "http://")).Port()
	srv := newProbingService(t, map[uint16][]string{port: {"http"}})
	base := srv.URL
	open := strconv.Itoa(int(port))
	resp, _ := post(t, base+"/scans", url.Values{"host": {"127.0.0.1"}, "ports": {"quick"}, "custom": {"61000-61098," + open}, "consent": {"on"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("submit: %d", resp.StatusCode)
	}
	results := resp.Header.Get("Location")
	_, _ = get(t, base+results) // reads until the scan is done

	// A finished IPv4/IPv6 comparison whose families differ on one port.
	listen6(t, 61502)
	dual := newDualService(t, dualRecords, nil).url
	resp, _ = post(t, dual+"/scans", url.Values{"host": {"dual.vantage-test.net"}, "ports": {"quick"}, "custom": {"61000-61010,61502"}, "ipv6": {"on"}, "consent": {"on"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("submit the comparison: %d", resp.StatusCode)
	}
	dualResults := dual + resp.Header.Get("Location")
	_, _ = get(t, dualResults)

	pages := map[string]func() (*http.Response, error){
		"dual-stack": func() (*http.Response, error) { return client.Get(dualResults) },
		"home":       func() (*http.Response, error) { return client.Get(base + "/") },
		"catalog":    func() (*http.Response, error) { return client.Get(base + "/ports") },
		"api":        func() (*http.Response, error) { return client.Get(base + "/api") },
		"results":    func() (*http.Response, error) { return client.Get(base + results) },
		"404":        func() (*http.Response, error) { return client.Get(base + "/no-such-page") },
		"form-errors": func() (*http.Response, error) {
			return client.PostForm(base+"/scans", url.Values{"host": {"10.0.0.1"}, "ports": {"quick"}})
		},
	}
	dir := t.TempDir()
	var files []string
	for name, fetch := range pages {
		resp, err := fetch()
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Logf("%s: %d, %.1f KB", name, resp.StatusCode, float64(len(body))/1024)
		f := filepath.Join(dir, name+".html")
		if err := os.WriteFile(f, body, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}

	t.Run("nu-html-checker", func(t *testing.T) {
		var out bytes.Buffer
		cmd := exec.Command("java", append([]string{"-jar", vnu, "--errors-only", "--format", "text"}, files...)...)
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil || strings.Contains(out.String(), "error:") || !strings.Contains(out.String(), "No errors found") {
			t.Errorf("vnu: %v\n%s", err, out.String())
		}
	})

	t.Run("axe-core", func(t *testing.T) {
		ctx := browser(t)
		urls := map[string]string{"dual-stack": dualResults, "home": base + "/", "catalog": base + "/ports", "api": base + "/api", "results": base + results, "404": base + "/no-such-page"}
		for name, u := range urls {
			for _, view := range []struct {
				width  int64
				scheme string
			}{{1280, "light"}, {390, "light"}, {1280, "dark"}, {390, "dark"}} {
				width := view.width
				media := emulation.SetEmulatedMediaParams{Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: view.scheme}}}
				if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, media); err != nil {
					t.Fatal(err)
				}
				if err := chromedp.Do(ctx, viewport(width), chromedp.Navigate(u), chromedp.WaitReady(chromedp.CSS("body"))); err != nil {
					t.Fatal(err)
				}
				if dark, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`matchMedia('(prefers-color-scheme: dark)').matches`)); err != nil || dark != (view.scheme == "dark") {
					t.Fatalf("the %s colour scheme is not in effect (dark: %v, %v)", view.scheme, dark, err)
				}
				if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](string(axeSrc))); err != nil {
					t.Fatalf("inject axe: %v", err)
				}
				ctxRun, cancel := context.WithTimeout(ctx, 30*time.Second)
				violations, err := chromedp.Run(ctxRun, chromedp.Evaluate[[]string](
					`axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a','wcag2aa','wcag21a','wcag21aa','wcag22aa','best-practice']}})
					   .then(r => r.violations.map(v => v.id + ': ' + v.help + ' (' + v.nodes.length + ')'))`,
					chromedp.EvalAwaitPromise))
				cancel()
				if err != nil {
					t.Fatalf("axe.run on %s: %v", name, err)
				}
				if len(violations) > 0 {
					t.Errorf("axe on %s at %dpx, %s: %s", name, width, view.scheme, strings.Join(violations, "; "))
				}
			}
		}
	})
}
