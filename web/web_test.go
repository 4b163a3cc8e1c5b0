package web

import (
	"bufio"
	"context"
	"encoding/json"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vantagescan/vantage/internal/jobs"
	"github.com/vantagescan/vantage/internal/limit"
	"github.com/vantagescan/vantage/internal/metrics"
	"github.com/vantagescan/vantage/internal/netlab/netlabtest"
	"github.com/vantagescan/vantage/internal/probe"
	"github.com/vantagescan/vantage/internal/scan"
	"github.com/vantagescan/vantage/internal/store"
	"github.com/vantagescan/vantage/internal/target"
)

// testService is the real service over a temporary database, allowed to
// scan loopback only.
type testService struct {
	srv    *httptest.Server
	store  *store.SQLite
	runner *jobs.Runner
	ready  atomic.Bool
}

func newService(t *testing.T, scanCfg scan.Config, maxQueued int) *testService {
	t.Helper()
	return newServiceWith(t, scanCfg, maxQueued, nil)
}

// newServiceWith lets a test set the abuse limits and proxies.
func newServiceWith(t *testing.T, scanCfg scan.Config, maxQueued int, mod func(*Deps)) *testService {
	t.Helper()
	st, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "v.db"))
	if err != nil {
		t.Fatal(err)
	}
	policy, err := target.NewPolicy(target.PolicyConfig{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	if err != nil {
		t.Fatal(err)
	}
	runner, err := jobs.New(jobs.Config{Store: st, Policy: policy, Scan: scanCfg, MaxRunning: 1, MaxQueued: maxQueued, Grace: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := runner.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	ts := &testService{store: st, runner: runner}
	ts.ready.Store(true)
	deps := Deps{
		Runner: runner, Pinner: &target.Pinner{Policy: policy}, Store: st, MaxPorts: 300,
		Ready: ts.ready.Load,
	}
	if mod != nil {
		mod(&deps)
	}
	ts.srv = httptest.NewServer(NewServer(deps))
	t.Cleanup(func() {
		runner.Shutdown(context.Background())
		ts.srv.Close()
		st.Close()
	})
	return ts
}

// client does not follow redirects, so tests see the 303.
var client = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Timeout:       30 * time.Second,
}

func get(t *testing.T, u string) (*http.Response, string) {
	t.Helper()
	resp, err := client.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func post(t *testing.T, u string, form url.Values) (*http.Response, string) {
	t.Helper()
	resp, err := client.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestPages(t *testing.T) {
	ts := newService(t, scan.Config{}, 5)
	tests := []struct {
		path   string
		status int
		want   []string
	}{
		{"/", 200, []string{`action="/scans"`, `name="host"`, `name="consent"`, "Quick", "Common", "Is port scanning legal?", `href="/ports#p-3306"`}},
		{"/ports", 200, []string{`id="p-22"`, `id="p-27017"`, "mongodb"}},
		{"/api", 200, []string{"POST /api/v1/scans", "Last-Event-ID", "delete_token", "rate_limited"}},
		{"/healthz", 200, []string{"ok"}},
		{"/readyz", 200, []string{"ready"}},
		{"/nope", 404, []string{"Page not found"}},
		{"/scans/not-an-id", 404, []string{"Page not found"}},
		{"/scans/" + store.NewID(), 404, []string{"Page not found"}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, body := get(t, ts.srv.URL+tt.path)
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("body lacks %q", w)
				}
			}
			if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
				t.Errorf("CSP %q", csp)
			}
			if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Error("no nosniff")
			}
		})
	}
	if _, body := get(t, ts.srv.URL+"/"); strings.Contains(body, "Extended") {
		t.Error("the form offers a preset above the port cap")
	}
	if _, body := get(t, ts.srv.URL+"/?host=example.com&custom=22%2C443"); !strings.Contains(body, `value="example.com"`) || !strings.Contains(body, `value="22,443"`) {
		t.Error("the form is not filled in from the query")
	}
	if resp, _ := get(t, ts.srv.URL+"/scans"); resp.StatusCode != 405 {
		t.Errorf("GET /scans: %d, want 405", resp.StatusCode)
	}
	ts.ready.Store(false)
	if resp, _ := get(t, ts.srv.URL+"/readyz"); resp.StatusCode != 503 {
		t.Errorf("readyz while shutting down: %d", resp.StatusCode)
	}
}

func TestSubmitValidation(t *testing.T) {
	ts := newService(t, scan.Config{}, 5)
	tests := []struct {
		name   string
		form   url.Values
		status int
		field  string // the input that must carry aria-invalid
		want   string
	}{
		{"empty host", url.Values{"host": {""}, "ports": {"quick"}, "consent": {"on"}}, 422, "host", "Type a host name"},
		{"special-use name", url.Values{"host": {"localhost"}, "ports": {"quick"}, "consent": {"on"}}, 422, "host", "localhost"},
		{"private address", url.Values{"host": {"10.0.0.1"}, "ports": {"quick"}, "consent": {"on"}}, 403, "host", "private"},
		{"metadata", url.Values{"host": {"169.254.169.254"}, "ports": {"quick"}, "consent": {"on"}}, 403, "host", "Vantage scans only public addresses"},
		{"no consent for another host", url.Values{"host": {"127.0.0.2"}, "ports": {"quick"}}, 422, "consent", "authorised"},
		{"bad custom ports", url.Values{"host": {"127.0.0.1"}, "ports": {"quick"}, "custom": {"22,http"}, "consent": {"on"}}, 422, "custom", "http"},
		{"too many ports", url.Values{"host": {"127.0.0.1"}, "ports": {"quick"}, "custom": {"1-5000"}, "consent": {"on"}}, 422, "custom", "300"},
		{"unknown preset", url.Values{"host": {"127.0.0.1"}, "ports": {"everything"}, "consent": {"on"}}, 422, "ports", "Choose one"},
		{"xss", url.Values{"host": {`"><script>alert(1)</script>`}, "ports": {"quick"}, "consent": {"on"}}, 422, "host", "&lt;script&gt;"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := post(t, ts.srv.URL+"/scans", tt.form)
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if !strings.Contains(body, tt.want) {
				t.Errorf("body lacks %q", tt.want)
			}
			if strings.Contains(body, "<script>") {
				t.Error("the typed script came back unescaped")
			}
			if !strings.Contains(body, `aria-invalid="true"`) || !strings.Contains(body, `role="alert"`) {
				t.Error("no accessible error marking")
			}
			if h := tt.form.Get("host"); h != "" && !strings.Contains(body, `value="`+html.EscapeString(h)+`"`) {
				t.Errorf("the typed host was not kept in the form")
			}
		})
	}
	big := url.Values{"host": {strings.Repeat("a", 20<<10)}}
	if resp, _ := post(t, ts.srv.URL+"/scans", big); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized form: %d", resp.StatusCode)
	}
}

// TestOwnAddressNeedsNoConsent: "Scan my IP" fills in the visitor's
// address, which needs no consent box.
func TestOwnAddressNeedsNoConsent(t *testing.T) {
	ts := newService(t, scan.Config{}, 5)
	resp, _ := post(t, ts.srv.URL+"/scans", url.Values{"target": {"self"}, "ports": {"quick"}})
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/scans/") {
		t.Fatalf("status %d location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestResultsStreamBeforeTheScanEnds reads a results page as it arrives: a
// row must come while the scan is still running, then every row and the
// summary.
func TestResultsStreamBeforeTheScanEnds(t *testing.T) {
	// 8 ports at 4 a second: about 2 s, and too few rows to fill any
	// buffer on the way, so only a real flush brings a row early.
	ts := newService(t, scan.Config{Rate: 4, Burst: 1}, 5)
	open := netlabtest.OpenPort(t)
	resp, _ := post(t, ts.srv.URL+"/scans", url.Values{"host": {"127.0.0.1"}, "ports": {"quick"},
		"custom": {"61000-61006," + strconv.Itoa(int(open))}, "consent": {"on"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("submit: %d", resp.StatusCode)
	}
	loc := resp.Header.Get("Location")
	id := strings.TrimPrefix(loc, "/scans/")

	page, err := client.Get(ts.srv.URL + loc)
	if err != nil {
		t.Fatal(err)
	}
	defer page.Body.Close()
	if page.Header.Get("X-Robots-Tag") != "noindex" || page.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("results headers: %v", page.Header)
	}
	r := bufio.NewReader(page.Body)
	var seen strings.Builder
	for !strings.Contains(seen.String(), `<tr id="port-`) {
		chunk := make([]byte, 512)
		n, err := r.Read(chunk)
		seen.Write(chunk[:n])
		if err != nil {
			t.Fatalf("stream ended before any row: %v\n%s", err, seen.String())
		}
	}
	sc, err := ts.store.Scan(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if sc.Status.Final() {
		t.Errorf("the first row arrived only after the scan ended (%s): the page is not streaming", sc.Status)
	}
	rest, _ := io.ReadAll(r)
	body := seen.String() + string(rest)
	if n := strings.Count(body, `<tr id="port-`); n != 8 {
		t.Errorf("%d rows, want 8", n)
	}
	for _, want := range []string{`id="summary"`, "1 open", "7 closed", "Finished", `<meta name="robots" content="noindex">`, "No check ran"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}

	// The share link, reloaded after the end, renders from the store,
	// sorted by port.
	_, again := get(t, ts.srv.URL+loc)
	for _, want := range []string{`class="port-grid"`, "Scan again and show what changed", "Change the ports and scan again", `href="/?custom=61000-61006%2C`} {
		if !strings.Contains(again, want) {
			t.Errorf("finished page lacks %q", want)
		}
	}
	if strings.Count(again, `<tr id="port-`) != 8 || strings.Index(again, `id="port-61000"`) > strings.Index(again, `id="port-61001"`) {
		t.Errorf("finished page: rows missing or not sorted")
	}
}

func TestQueueFullAnswers503(t *testing.T) {
	ts := newService(t, scan.Config{Rate: 5, Burst: 1}, 1) // slow scans, one slot, one place in the queue
	form := url.Values{"host": {"127.0.0.1"}, "ports": {"quick"}, "custom": {"61000-61009"}, "consent": {"on"}}
	codes := []int{}
	for range 4 {
		resp, _ := post(t, ts.srv.URL+"/scans", form)
		codes = append(codes, resp.StatusCode)
		if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" {
			t.Error("503 without Retry-After")
		}
	}
	if codes[len(codes)-1] != http.StatusServiceUnavailable {
		t.Errorf("codes %v: the queue never filled", codes)
	}
}

// TestPanicGivesTheFriendly500 checks the recoverer: the visitor gets the
// error page, never the panic or a stack.
func TestPanicGivesTheFriendly500(t *testing.T) {
	h := recoverer(Deps{Log: discardLog()})(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("database password is hunter2")
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	body := rec.Body.String()
	if rec.Code != 500 || !strings.Contains(body, "Something went wrong") || strings.Contains(body, "hunter2") || strings.Contains(body, "goroutine") {
		t.Errorf("%d:\n%s", rec.Code, body)
	}
}

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

func postFrom(t *testing.T, u string, form url.Values, header map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

var scanForm = url.Values{"host": {"127.0.0.1"}, "ports": {"quick"}, "custom": {"61000-61004"}, "consent": {"on"}}

func TestRateLimitPerClient(t *testing.T) {
	clients, _ := limit.NewClients(60, 2, 0, nil)
	ts := newServiceWith(t, scan.Config{}, 5, func(d *Deps) { d.Clients = clients })
	for i := range 2 {
		if resp := postFrom(t, ts.srv.URL+"/scans", scanForm, nil); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("request %d: %d", i+1, resp.StatusCode)
		}
	}
	resp, body := post(t, ts.srv.URL+"/scans", scanForm)
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("third request: %d, want 429", resp.StatusCode)
	}
	if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || secs < 1 || secs > 60 {
		t.Errorf("Retry-After %q", resp.Header.Get("Retry-After"))
	}
	if !strings.Contains(body, "Too many scans") || !strings.Contains(body, "seconds") {
		t.Errorf("429 page does not say when to come back")
	}
	if resp.Header.Get("Content-Security-Policy") == "" {
		t.Error("429 page without security headers")
	}
}

// TestForwardedForOnlyFromTrustedProxies: a client that sends its own
// X-Forwarded-For is still keyed by its socket address; behind a trusted
// proxy, the forwarded address is the client.
func TestForwardedForOnlyFromTrustedProxies(t *testing.T) {
	direct, _ := limit.NewClients(60, 1, 0, nil)
	ts := newServiceWith(t, scan.Config{}, 5, func(d *Deps) { d.Clients = direct })
	codes := []int{}
	for _, spoof := range []string{"198.51.100.1", "198.51.100.2", "2001:db8::1"} {
		codes = append(codes, postFrom(t, ts.srv.URL+"/scans", scanForm, map[string]string{"X-Forwarded-For": spoof}).StatusCode)
	}
	if codes[0] != 303 || codes[1] != 429 || codes[2] != 429 {
		t.Errorf("untrusted X-Forwarded-For changed the key: %v", codes)
	}

	proxied, _ := limit.NewClients(60, 1, 0, nil)
	ts = newServiceWith(t, scan.Config{}, 5, func(d *Deps) {
		d.Clients = proxied
		d.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	})
	codes = codes[:0]
	for _, client := range []string{"198.51.100.1", "198.51.100.2", "198.51.100.1"} {
		codes = append(codes, postFrom(t, ts.srv.URL+"/scans", scanForm, map[string]string{"X-Forwarded-For": client}).StatusCode)
	}
	if codes[0] != 303 || codes[1] != 303 || codes[2] != 429 {
		t.Errorf("behind a trusted proxy: %v, want 303 303 429", codes)
	}
}

func TestCooldownReturnsTheRecentScan(t *testing.T) {
	ts := newServiceWith(t, scan.Config{}, 5, func(d *Deps) { d.Cooldown = limit.NewCooldown(time.Minute, 0, nil) })
	first := postFrom(t, ts.srv.URL+"/scans", scanForm, nil)
	// The same ports written differently are the same port set.
	same := url.Values{"host": {"127.0.0.1"}, "ports": {"quick"}, "custom": {"61004,61000-61003"}, "consent": {"on"}}
	second := postFrom(t, ts.srv.URL+"/scans", same, nil)
	loc1, loc2 := first.Header.Get("Location"), second.Header.Get("Location")
	if second.StatusCode != http.StatusSeeOther || loc2 != loc1+"?recent=1" {
		t.Fatalf("second scan: %d %q, want a redirect to %q?recent=1", second.StatusCode, loc2, loc1)
	}
	if _, body := get(t, ts.srv.URL+loc2); !strings.Contains(body, "scanned moments ago") {
		t.Error("the recent scan's page does not say why it is shown")
	}
	other := postFrom(t, ts.srv.URL+"/scans", url.Values{"host": {"127.0.0.1"}, "ports": {"quick"}, "custom": {"61000"}, "consent": {"on"}}, nil)
	if other.Header.Get("Location") == loc1 {
		t.Error("a different port set was answered by the cooldown")
	}
}

func TestCrossOriginPostRefused(t *testing.T) {
	ts := newService(t, scan.Config{}, 5)
	for _, h := range []map[string]string{
		{"Sec-Fetch-Site": "cross-site"},
		{"Origin": "https://attacker.invalid"},
	} {
		if resp := postFrom(t, ts.srv.URL+"/scans", scanForm, h); resp.StatusCode != http.StatusForbidden || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Errorf("%v: %d %s, want the 403 page", h, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}
	if resp := postFrom(t, ts.srv.URL+"/scans", scanForm, map[string]string{"Sec-Fetch-Site": "same-origin"}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("same-origin post: %d", resp.StatusCode)
	}
}

// TestMetricsRecordRoutesNotPaths: requests are counted under their route
// pattern (never a scan ID), refusals under their reason.
func TestMetricsRecordRoutesNotPaths(t *testing.T) {
	m := metrics.New(func() float64 { return 0 }, func() float64 { return 0 })
	ts := newServiceWith(t, scan.Config{}, 5, func(d *Deps) { d.Metrics = m })
	resp := postFrom(t, ts.srv.URL+"/scans", scanForm, nil)
	loc := resp.Header.Get("Location")
	get(t, ts.srv.URL+loc)
	post(t, ts.srv.URL+"/scans", url.Values{"host": {"10.0.0.1"}, "ports": {"quick"}, "consent": {"on"}})
	get(t, ts.srv.URL+"/no-such-page")

	mr := httptest.NewRecorder()
	m.Handler().ServeHTTP(mr, httptest.NewRequest("GET", "/metrics", nil))
	out := mr.Body.String()
	for _, want := range []string{
		`vantage_http_requests_total{code="303",route="/scans"} 1`,
		`vantage_http_requests_total{code="200",route="/scans/{id}"} 1`,
		`vantage_http_requests_total{code="403",route="/scans"} 1`,
		`vantage_scan_refusals_total{reason="forbidden"} 1`,
		`vantage_http_requests_total{code="404",route="unmatched"} 1`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if id := strings.TrimPrefix(loc, "/scans/"); strings.Contains(out, id) {
		t.Error("a scan ID leaked into the metrics")
	}
}

// TestSecurityHeadersOnEveryPage holds every kind of HTML response to the
// header policy, including the per-request script nonce.
func TestSecurityHeadersOnEveryPage(t *testing.T) {
	ts := newServiceWith(t, scan.Config{}, 5, func(d *Deps) {
		d.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	})
	loc := postFrom(t, ts.srv.URL+"/scans", scanForm, nil).Header.Get("Location")
	nonceRE := regexp.MustCompile(`script-src 'nonce-([A-Za-z0-9_-]{20,})'`)
	seen := map[string]bool{}
	for _, path := range []string{"/", "/ports", loc, "/nope"} {
		resp, body := get(t, ts.srv.URL+path)
		h := resp.Header
		m := nonceRE.FindStringSubmatch(h.Get("Content-Security-Policy"))
		if m == nil {
			t.Errorf("%s: CSP %q has no nonce", path, h.Get("Content-Security-Policy"))
			continue
		}
		if seen[m[1]] {
			t.Errorf("%s: nonce reused", path)
		}
		seen[m[1]] = true
		if !strings.Contains(body, `nonce="`+m[1]+`"`) {
			t.Errorf("%s: the script tag does not carry the CSP's nonce", path)
		}
		for _, want := range []string{"object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "form-action 'self'"} {
			if !strings.Contains(h.Get("Content-Security-Policy"), want) {
				t.Errorf("%s: CSP lacks %s", path, want)
			}
		}
		for k, v := range map[string]string{"X-Content-Type-Options": "nosniff", "Cross-Origin-Opener-Policy": "same-origin"} {
			if h.Get(k) != v {
				t.Errorf("%s: %s = %q", path, k, h.Get(k))
			}
		}
		if h.Get("Referrer-Policy") == "" || h.Get("Permissions-Policy") == "" {
			t.Errorf("%s: no Referrer-Policy or Permissions-Policy", path)
		}
		if h.Get("Strict-Transport-Security") != "" {
			t.Errorf("%s: HSTS over plain HTTP", path)
		}
	}
	req, _ := http.NewRequest("GET", ts.srv.URL+"/", nil)
	req.Header.Set("X-Forwarded-Proto", "https")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS behind a trusted proxy that says https")
	}
	// The same header from an untrusted peer means nothing.
	plain := newService(t, scan.Config{}, 5)
	req, _ = http.NewRequest("GET", plain.srv.URL+"/", nil)
	req.Header.Set("X-Forwarded-Proto", "https")
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Strict-Transport-Security") != "" {
		t.Error("HSTS from an untrusted X-Forwarded-Proto")
	}
}

// TestXSSPayloadsAreRefusedAndInert types classic payloads as the host.
func TestXSSPayloadsAreRefusedAndInert(t *testing.T) {
	ts := newService(t, scan.Config{}, 5)
	for _, payload := range []string{
		`<script>alert(1)</script>`,
		`"><img src=x onerror=alert(1)>`,
		`'><svg/onload=alert(1)>`,
		`javascript:alert(document.cookie)`,
		`</textarea><script>alert(1)</script>`,
		`" autofocus onfocus=alert(1) x="`,
		`example.com/<script>alert(1)</script>`,
	} {
		resp, body := post(t, ts.srv.URL+"/scans", url.Values{"host": {payload}, "ports": {"quick"}, "consent": {"on"}})
		if resp.StatusCode != http.StatusUnprocessableEntity && resp.StatusCode != http.StatusForbidden {
			t.Errorf("%q: status %d", payload, resp.StatusCode)
		}
		for _, raw := range []string{"<script>alert", "<img src=x", "<svg/onload", `" autofocus onfocus`} {
			if strings.Contains(body, raw) {
				t.Errorf("%q came back live (%q in the page)", payload, raw)
			}
		}
	}
}

// newProbingService is the service with the follow-up checks on, the
// checks of each port given by the test (its servers sit on random ports).
func newProbingService(t *testing.T, checks map[uint16][]string) *httptest.Server {
	t.Helper()
	return newServiceFor(t, []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, &probe.Config{Checks: checks, Total: 5 * time.Second})
}

// newServiceFor is the real service allowed into the given prefixes, with
// the follow-up checks when probeCfg is set.
func newServiceFor(t *testing.T, allow []netip.Prefix, probeCfg *probe.Config) *httptest.Server {
	t.Helper()
	st, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "v.db"))
	if err != nil {
		t.Fatal(err)
	}
	policy, _ := target.NewPolicy(target.PolicyConfig{Allow: allow})
	runner, err := jobs.New(jobs.Config{Store: st, Policy: policy, MaxRunning: 1, MaxQueued: 2, Probe: probeCfg})
	if err != nil {
		t.Fatal(err)
	}
	if err := runner.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(NewServer(Deps{Runner: runner, Pinner: &target.Pinner{Policy: policy}, Store: st, MaxPorts: 300}))
	t.Cleanup(func() {
		runner.Shutdown(context.Background())
		srv.Close()
		st.Close()
	})
	return srv
}

// TestChecksAndGradeOnTheResultsPage: an open plain-HTTP port is checked
// after the scan; the finding and the grade reach the page and the store.
func TestChecksAndGradeOnTheResultsPage(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "test-httpd")
		_, _ = io.WriteString(w, "hello")
	}))
	defer srv.Close()
	port := netip.MustParseAddrPort(strings.TrimPrefix(srv.URL, "http://")).Port()
	srv2 := newProbingService(t, map[uint16][]string{port: {probe.CheckHTTP}})
	resp := postFrom(t, srv2.URL+"/scans", url.Values{"host": {"127.0.0.1"}, "ports": {"quick"}, "custom": {"61000," + strconv.Itoa(int(port))}, "consent": {"on"}}, nil)
	_, body := get(t, srv2.URL+resp.Header.Get("Location"))
	for _, want := range []string{"Checks of the open ports", `id="check-` + strconv.Itoa(int(port)) + `-http"`, "without redirecting to HTTPS", "test-httpd", "Exposure grade", `href="/#faq-grade"`} {
		if !strings.Contains(body, want) {
			t.Errorf("results page lacks %q", want)
		}
	}
	// Reloaded from the store: the same.
	_, again := get(t, srv2.URL+resp.Header.Get("Location"))
	if !strings.Contains(again, "without redirecting to HTTPS") || !strings.Contains(again, "Exposure grade") {
		t.Error("the stored page lost the finding or the grade")
	}
	if _, home := get(t, srv2.URL+"/"); !strings.Contains(home, `id="faq-grade"`) {
		t.Error("the FAQ does not explain the grade")
	}
}

func TestExports(t *testing.T) {
	ts := newService(t, scan.Config{}, 5)
	open := netlabtest.OpenPort(t)
	resp := postFrom(t, ts.srv.URL+"/scans", url.Values{"host": {"127.0.0.1"}, "ports": {"quick"}, "custom": {"61000-61002," + strconv.Itoa(int(open))}, "consent": {"on"}}, nil)
	loc := resp.Header.Get("Location")
	_, page := get(t, ts.srv.URL+loc) // streams to the end
	for _, ext := range []string{".json", ".csv", ".xml"} {
		if !strings.Contains(page, `href="`+loc+ext+`"`) {
			t.Errorf("results page has no %s download link", ext)
		}
	}
	r, body := get(t, ts.srv.URL+loc+".json")
	var doc struct {
		Status string `json:"status"`
		Counts struct{ Open, Closed int }
		Ports  []struct {
			Port  uint16 `json:"port"`
			State string `json:"state"`
		} `json:"ports"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil || r.Header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Fatalf("json export: %v %q", err, r.Header.Get("Content-Type"))
	}
	if doc.Status != "done" || doc.Counts.Open != 1 || doc.Counts.Closed != 3 || len(doc.Ports) != 4 {
		t.Errorf("json export %+v", doc)
	}
	r, body = get(t, ts.srv.URL+loc+".csv")
	if lines := strings.Split(strings.TrimSpace(body), "\n"); len(lines) != 5 || lines[0] != "port,protocol,state,reason,rtt_ms,attempts,service,risk" || !strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment") {
		t.Errorf("csv export:\n%s", body)
	}
	r, body = get(t, ts.srv.URL+loc+".xml")
	if !strings.Contains(body, `<nmaprun scanner="nmap"`) || !strings.Contains(body, `portid="`+strconv.Itoa(int(open))+`"`) {
		t.Errorf("xml export:\n%s", body)
	}
	if r, _ := get(t, ts.srv.URL+"/scans/"+store.NewID()+".csv"); r.StatusCode != 404 {
		t.Errorf("export of an unknown scan: %d", r.StatusCode)
	}
	if r, _ := get(t, ts.srv.URL+loc+".pdf"); r.StatusCode != 404 {
		t.Errorf("unknown format: %d", r.StatusCode)
	}
}

func apiPost(t *testing.T, base, body, contentType string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/api/v1/scans", strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&v)
	return resp, v
}

func TestAPI(t *testing.T) {
	clients, _ := limit.NewClients(3600, 20, 0, nil)
	ts := newServiceWith(t, scan.Config{}, 5, func(d *Deps) { d.Clients = clients })
	errCode := func(v map[string]any) string {
		e, _ := v["error"].(map[string]any)
		c, _ := e["code"].(string)
		if m, _ := e["message"].(string); c != "" && m == "" {
			t.Errorf("error %s without a message", c)
		}
		return c
	}
	tests := []struct {
		name, body, ctype string
		status            int
		code              string
	}{
		{"form content type", `{"target":"127.0.0.1"}`, "application/x-www-form-urlencoded", 415, "unsupported_media_type"},
		{"not json", `target=127.0.0.1`, "application/json", 400, "bad_request"},
		{"unknown field", `{"target":"127.0.0.1","evil":1}`, "application/json", 400, "bad_request"},
		{"no target", `{"ports":"22"}`, "application/json", 422, "invalid_target"},
		{"bad ports", `{"target":"127.0.0.1","ports":"22,http","consent":true}`, "application/json", 422, "invalid_ports"},
		{"bad family", `{"target":"127.0.0.1","family":"5","consent":true}`, "application/json", 422, "invalid_family"},
		{"both for a literal", `{"target":"127.0.0.1","family":"both","consent":true}`, "application/json", 422, "invalid_target"},
		{"forbidden", `{"target":"169.254.169.254","consent":true}`, "application/json", 403, "forbidden_target"},
		{"special name", `{"target":"localhost","consent":true}`, "application/json", 422, "invalid_target"},
		{"no consent", `{"target":"127.0.0.2","ports":"61000"}`, "application/json", 422, "consent_required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, v := apiPost(t, ts.srv.URL, tt.body, tt.ctype)
			if resp.StatusCode != tt.status || errCode(v) != tt.code {
				t.Errorf("%d %v; want %d %s", resp.StatusCode, v, tt.status, tt.code)
			}
			if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
				t.Errorf("content type %q", resp.Header.Get("Content-Type"))
			}
		})
	}

	open := netlabtest.OpenPort(t)
	resp, v := apiPost(t, ts.srv.URL, `{"target":"127.0.0.1","ports":"61000-61002,`+strconv.Itoa(int(open))+`","consent":true}`, "application/json")
	if resp.StatusCode != http.StatusAccepted || v["status"] != "queued" || v["url"] != "/api/v1/scans/"+v["id"].(string) {
		t.Fatalf("accepted: %d %v", resp.StatusCode, v)
	}
	url := ts.srv.URL + v["url"].(string)
	var doc map[string]any
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		r, body := get(t, url)
		if r.StatusCode != 200 {
			t.Fatalf("GET %s: %d", url, r.StatusCode)
		}
		doc = nil
		_ = json.Unmarshal([]byte(body), &doc)
		if doc["status"] == "done" {
			break
		}
	}
	if doc["status"] != "done" || len(doc["ports"].([]any)) != 4 || doc["grade"] == nil {
		t.Errorf("document: %v", doc)
	}
	if r, _ := get(t, ts.srv.URL+"/api/v1/scans/"+store.NewID()); r.StatusCode != 404 {
		t.Errorf("unknown scan: %d", r.StatusCode)
	}
}

func TestAPIRateLimitAndBusy(t *testing.T) {
	clients, _ := limit.NewClients(60, 1, 0, nil)
	ts := newServiceWith(t, scan.Config{Rate: 5, Burst: 1}, 1, func(d *Deps) { d.Clients = clients })
	body := `{"target":"127.0.0.1","ports":"61000-61009","consent":true}`
	if resp, _ := apiPost(t, ts.srv.URL, body, "application/json"); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("first: %d", resp.StatusCode)
	}
	resp, v := apiPost(t, ts.srv.URL, body, "application/json")
	if e, _ := v["error"].(map[string]any); resp.StatusCode != 429 || e["code"] != "rate_limited" || resp.Header.Get("Retry-After") == "" {
		t.Errorf("second: %d %v", resp.StatusCode, v)
	}
	// Other clients (through a trusted proxy they would differ; here a
	// fresh limiter) fill the queue: 503 + Retry-After as JSON.
	ts2 := newServiceWith(t, scan.Config{Rate: 5, Burst: 1}, 1, nil)
	codes := []int{}
	for i := range 4 {
		resp, v := apiPost(t, ts2.srv.URL, `{"target":"127.0.0.1","ports":"`+strconv.Itoa(61000+i)+`-61020","consent":true}`, "application/json")
		codes = append(codes, resp.StatusCode)
		if resp.StatusCode == 503 {
			if e, _ := v["error"].(map[string]any); e["code"] != "busy" || resp.Header.Get("Retry-After") == "" {
				t.Errorf("503 body %v", v)
			}
		}
	}
	if codes[len(codes)-1] != 503 {
		t.Errorf("codes %v: the queue never filled", codes)
	}
}

// sseEvent is one server-sent event.
type sseEvent struct{ name, id, data string }

// readEvents reads events until stop says so or the stream ends.
func readEvents(t *testing.T, body io.Reader, stop func(sseEvent) bool) []sseEvent {
	t.Helper()
	var out []sseEvent
	var cur sseEvent
	sc := bufio.NewScanner(body)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			cur.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "id: "):
			cur.id = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "data: "):
			cur.data = strings.TrimPrefix(line, "data: ")
		case line == "":
			out = append(out, cur)
			if stop(cur) {
				return out
			}
			cur = sseEvent{}
		}
	}
	return out
}

// TestEventsResumeWithoutLossOrDuplicates disconnects mid-scan and
// reconnects with Last-Event-ID.
func TestEventsResumeWithoutLossOrDuplicates(t *testing.T) {
	ts := newService(t, scan.Config{Rate: 10, Burst: 1}, 5) // 20 ports: about 2 s
	resp, v := apiPost(t, ts.srv.URL, `{"target":"127.0.0.1","ports":"61000-61019","consent":true}`, "application/json")
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("submit: %d %v", resp.StatusCode, v)
	}
	events := ts.srv.URL + v["url"].(string) + "/events"

	seen := map[string]int{}
	ports := 0
	first, err := http.Get(events)
	if err != nil {
		t.Fatal(err)
	}
	if ct := first.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	part := readEvents(t, first.Body, func(e sseEvent) bool {
		if e.name == "port" {
			ports++
		}
		return ports == 5
	})
	first.Body.Close()
	last := part[len(part)-1]
	for _, e := range part {
		if e.name == "port" {
			seen[e.data]++
		}
	}

	req, _ := http.NewRequest("GET", events, nil)
	req.Header.Set("Last-Event-ID", last.id)
	second, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Body.Close()
	rest := readEvents(t, second.Body, func(e sseEvent) bool { return e.name == "done" })
	for _, e := range rest {
		if e.name == "port" {
			seen[e.data]++
		}
	}
	if len(seen) != 20 {
		t.Errorf("%d distinct port events across the reconnect, want 20", len(seen))
	}
	for data, n := range seen {
		if n != 1 {
			t.Errorf("port event %s seen %d times", data, n)
		}
	}
	if end := rest[len(rest)-1]; end.name != "done" || !strings.Contains(end.data, `"status":"done"`) {
		t.Errorf("stream ended with %+v", end)
	}
	if r, _ := get(t, ts.srv.URL+"/api/v1/scans/"+store.NewID()+"/events"); r.StatusCode != 404 {
		t.Errorf("events of an unknown scan: %d", r.StatusCode)
	}
}

// TestRescanShowsWhatChanged: a port's state changes between a scan and
// its rescan; the new page says so and links to the earlier scan.
func TestRescanShowsWhatChanged(t *testing.T) {
	ts := newService(t, scan.Config{}, 5)
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	port := strconv.Itoa(int(netip.MustParseAddrPort(l.Addr().String()).Port()))
	first := postFrom(t, ts.srv.URL+"/scans", url.Values{"host": {"127.0.0.1"}, "ports": {"quick"}, "custom": {"61000," + port}, "consent": {"on"}}, nil)
	loc := first.Header.Get("Location")
	_, page := get(t, ts.srv.URL+loc)
	if !strings.Contains(page, `action="`+loc+`/rescan"`) {
		t.Fatalf("no rescan form on a finished page")
	}
	l.Close() // the service goes away: open → closed

	again := postFrom(t, ts.srv.URL+loc+"/rescan", url.Values{"consent": {"on"}}, nil)
	if again.StatusCode != http.StatusSeeOther || again.Header.Get("Location") == loc {
		t.Fatalf("rescan: %d %q", again.StatusCode, again.Header.Get("Location"))
	}
	_, body := get(t, ts.srv.URL+again.Header.Get("Location"))
	for _, want := range []string{"Changes since", `href="` + loc + `"`, port + "/tcp</a>: open/syn-ack → <strong>closed/conn-refused</strong>"} {
		if !strings.Contains(body, want) {
			t.Errorf("rescan page lacks %q", want)
		}
	}
	if strings.Contains(body, "61000/tcp</a>: ") {
		t.Error("an unchanged port is listed as changed")
	}
	if r := postFrom(t, ts.srv.URL+"/scans/"+store.NewID()+"/rescan", url.Values{"consent": {"on"}}, nil); r.StatusCode != 404 {
		t.Errorf("rescan of an unknown scan: %d", r.StatusCode)
	}
}

func TestDeleteNeedsTheCreatorsToken(t *testing.T) {
	ts := newService(t, scan.Config{}, 5)
	jar, _ := cookiejar.New(nil)
	creator := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	resp, err := creator.PostForm(ts.srv.URL+"/scans", url.Values{"host": {"127.0.0.1"}, "ports": {"quick"}, "custom": {"61000-61002"}, "consent": {"on"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body) // followed the redirect: the finished page
	resp.Body.Close()
	loc := resp.Request.URL.Path
	if !strings.Contains(string(b), `action="`+loc+`/delete"`) {
		t.Fatal("the creator's page has no delete button")
	}
	if _, other := get(t, ts.srv.URL+loc); strings.Contains(other, "/delete") {
		t.Error("someone else's browser is offered the delete button")
	}
	if r := postFrom(t, ts.srv.URL+loc+"/delete", url.Values{}, nil); r.StatusCode != http.StatusForbidden {
		t.Errorf("delete without the token: %d", r.StatusCode)
	}
	resp, err = creator.PostForm(ts.srv.URL+loc+"/delete", url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("creator's delete: %d", resp.StatusCode)
	}
	if r, _ := get(t, ts.srv.URL+loc); r.StatusCode != http.StatusNotFound {
		t.Errorf("after delete: %d", r.StatusCode)
	}

	// The API: the token comes back once, in the 202.
	_, v := apiPost(t, ts.srv.URL, `{"target":"127.0.0.1","ports":"61005","consent":true}`, "application/json")
	token, _ := v["delete_token"].(string)
	api := ts.srv.URL + v["url"].(string)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, body := get(t, api); strings.Contains(body, `"status":"done"`) {
			break
		}
	}
	del := func(auth string) int {
		req, _ := http.NewRequest("DELETE", api, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		r, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		return r.StatusCode
	}
	if token == "" {
		t.Fatal("no delete_token in the API answer")
	}
	if c := del(""); c != 403 {
		t.Errorf("API delete without token: %d", c)
	}
	if c := del("Bearer " + token); c != 204 {
		t.Errorf("API delete: %d", c)
	}
	if c := del("Bearer " + token); c != 404 {
		t.Errorf("API delete twice: %d", c)
	}
}

// TestQueuePlaceStreams: the page of a waiting scan says when it moves up
// the queue and when it starts, without any script.
func TestQueuePlaceStreams(t *testing.T) {
	poll := queuePoll
	queuePoll = 50 * time.Millisecond // each place is held for about a second: never missed
	t.Cleanup(func() { queuePoll = poll })
	ts := newService(t, scan.Config{Rate: 5, Burst: 1}, 5) // one slot; 6 ports take about a second each scan
	submit := func(port int) string {
		form := url.Values{"host": {"127.0.0.1"}, "ports": {"quick"}, "custom": {strconv.Itoa(port) + "-" + strconv.Itoa(port+5)}, "consent": {"on"}}
		resp, _ := post(t, ts.srv.URL+"/scans", form)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("submit: %d", resp.StatusCode)
		}
		return resp.Header.Get("Location")
	}
	submit(61000)
	submit(61010)
	third := submit(61020)
	resp, err := client.Get(ts.srv.URL + third)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var page strings.Builder
	buf := make([]byte, 4096)
	for !strings.Contains(page.String(), "Scanning.</p>") {
		n, err := resp.Body.Read(buf)
		page.Write(buf[:n])
		if err != nil {
			t.Fatalf("the page ended before the scan started: %v\n%s", err, page.String())
		}
	}
	text := page.String()
	i, j, k := strings.Index(text, "number 2 in the queue"), strings.Index(text, "<p>Now number 1 in the queue.</p>"), strings.Index(text, "<p>Scanning.</p>")
	if i < 0 || j < i || k < j || !strings.Contains(text, `<div class="queue-live" role="status">`) {
		t.Errorf("queue lines out of order or missing (%d %d %d):\n%s", i, j, k, text)
	}
	if strings.Contains(text[:k], `id="port-`) {
		t.Error("a row arrived before the scan started")
	}
}

// TestStopAScan: the browser that started a scan sees "Stop this scan" and
// stops it (rows so far kept); another browser cannot; the API does the
// same with the delete token.
func TestStopAScan(t *testing.T) {
	ts := newService(t, scan.Config{Rate: 5, Burst: 1}, 5) // 20 ports: about 4 s
	jar, _ := cookiejar.New(nil)
	creator := &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := creator.PostForm(ts.srv.URL+"/scans", url.Values{"host": {"127.0.0.1"}, "ports": {"quick"}, "custom": {"61000-61019"}, "consent": {"on"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	// The creator's page offers the button while the scan runs (read the
	// head only: the page streams until the scan ends).
	head := func(c *http.Client) string {
		page, err := c.Get(ts.srv.URL + loc)
		if err != nil {
			t.Fatal(err)
		}
		defer page.Body.Close()
		var b strings.Builder
		buf := make([]byte, 4096)
		for !strings.Contains(b.String(), "</article>") {
			n, err := page.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return b.String()
	}
	if h := head(creator); !strings.Contains(h, `<form class="cancel" method="post" action="`+loc+`/cancel">`) {
		t.Fatalf("no stop button on the creator's live page:\n%s", h)
	}
	if strings.Contains(head(client), `class="cancel"`) {
		t.Error("a visitor without the token sees the stop button")
	}
	if r := postFrom(t, ts.srv.URL+loc+"/cancel", nil, nil); r.StatusCode != http.StatusForbidden {
		t.Errorf("stop without the token: %d", r.StatusCode)
	}
	time.Sleep(500 * time.Millisecond) // a few rows decided
	resp, err = creator.PostForm(ts.srv.URL+loc+"/cancel", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != loc {
		t.Fatalf("stop: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, body := get(t, ts.srv.URL+loc) // ends as soon as the scan has stopped
	rows := strings.Count(body, `<tr id="port-`)
	if !strings.Contains(body, "Stopped by the person who started it") || !strings.Contains(body, "<strong>Cancelled</strong>") || rows == 0 || rows == 20 {
		t.Errorf("page after stopping: %d rows, stopped %v, cancelled %v", rows, strings.Contains(body, "Stopped by the person who started it"), strings.Contains(body, "<strong>Cancelled</strong>"))
	}

	// The API: a scan stopped with its delete token; 409 once it has ended.
	r, v := apiPost(t, ts.srv.URL, `{"target":"127.0.0.1","ports":"61000-61019","consent":true}`, "application/json")
	if r.StatusCode != http.StatusAccepted {
		t.Fatalf("api submit: %d %v", r.StatusCode, v)
	}
	cancel := func(token string) (*http.Response, map[string]any) {
		req, _ := http.NewRequest("POST", ts.srv.URL+"/api/v1/scans/"+v["id"].(string)+"/cancel", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp, out
	}
	if resp, out := cancel("wrong"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("api stop with a wrong token: %d %v", resp.StatusCode, out)
	}
	if resp, out := cancel(v["delete_token"].(string)); resp.StatusCode != http.StatusAccepted || out["status"] != "stopping" {
		t.Errorf("api stop: %d %v", resp.StatusCode, out)
	}
	waitFor := func() string {
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			_, body := get(t, ts.srv.URL+"/api/v1/scans/"+v["id"].(string))
			var doc struct{ Status string }
			_ = json.Unmarshal([]byte(body), &doc)
			if doc.Status != "queued" && doc.Status != "running" {
				return doc.Status
			}
		}
		return "still live"
	}
	if s := waitFor(); s != "cancelled" {
		t.Errorf("api-stopped scan: %s", s)
	}
	if resp, out := cancel(v["delete_token"].(string)); resp.StatusCode != http.StatusConflict {
		t.Errorf("api stop after the end: %d %v", resp.StatusCode, out)
	}
}
