package web

import (
	"context"
	"encoding/json"
	"errors"
	"html"
	"io"
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
	"testing"
	"time"

	"github.com/vantagescan/vantage/internal/jobs"
	"github.com/vantagescan/vantage/internal/limit"
	"github.com/vantagescan/vantage/internal/netlab/netlabtest"
	"github.com/vantagescan/vantage/internal/report"
	"github.com/vantagescan/vantage/internal/scan"
	"github.com/vantagescan/vantage/internal/store"
	"github.com/vantagescan/vantage/internal/target"
	"github.com/vantagescan/vantage/internal/target/dnstest"
	"github.com/vantagescan/vantage/templates"
)

// dualService is a running service and its store.
type dualService struct {
	url   string
	store *store.SQLite
}

// newDualService is the real service allowed onto IPv4 and IPv6 loopback,
// resolving names with a test DNS server.
func newDualService(t *testing.T, records map[string][]netip.Addr, mod func(*Deps)) *dualService {
	t.Helper()
	return newNamedService(t, []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}, records, scan.Config{}, mod)
}

// newNamedService is the real service allowed into allow, resolving names
// with a test DNS server answering from records.
func newNamedService(t *testing.T, allow []netip.Prefix, records map[string][]netip.Addr, scanCfg scan.Config, mod func(*Deps)) *dualService {
	t.Helper()
	st, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "v.db"))
	if err != nil {
		t.Fatal(err)
	}
	policy, err := target.NewPolicy(target.PolicyConfig{Allow: allow})
	if err != nil {
		t.Fatal(err)
	}
	res, err := target.NewResolver(dnstest.Start(t, records))
	if err != nil {
		t.Fatal(err)
	}
	runner, err := jobs.New(jobs.Config{Store: st, Policy: policy, Scan: scanCfg, MaxRunning: 2, MaxQueued: 6, Grace: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := runner.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	deps := Deps{Runner: runner, Pinner: &target.Pinner{Policy: policy, Resolver: res}, Store: st, MaxPorts: 300}
	if mod != nil {
		mod(&deps)
	}
	srv := httptest.NewServer(NewServer(deps))
	t.Cleanup(func() {
		runner.Shutdown(context.Background())
		srv.Close()
		st.Close()
	})
	return &dualService{url: srv.URL, store: st}
}

// listen6 opens port on ::1 only (accepting and closing each connection).
func listen6(t *testing.T, port int) {
	t.Helper()
	netlabtest.Listen(t, "tcp6", net.JoinHostPort("::1", strconv.Itoa(port)))
}

var dualRecords = map[string][]netip.Addr{
	"dual.vantage-test.net": {netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback()},
	"four.vantage-test.net": {netip.MustParseAddr("127.0.0.1")},
}

// TestDualStackSideBySide ticks "also scan IPv6" for a name with an A and
// an AAAA record: two linked scans, each page setting the families side by
// side with the ports that differ marked; the API, rescan and delete follow
// the pair.
func TestDualStackSideBySide(t *testing.T) {
	only4 := netlabtest.OpenPort(t) // on 127.0.0.1 only
	listen6(t, 61501)               // on ::1 only (above the ephemeral range)
	cooldown := limit.NewCooldown(time.Minute, 0, nil)
	svc := newDualService(t, dualRecords, func(d *Deps) { d.Cooldown = cooldown })
	spec := "61000,61501," + strconv.Itoa(int(only4))

	jar, _ := cookiejar.New(nil)
	creator := &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := creator.PostForm(svc.url+"/scans", url.Values{"host": {"dual.vantage-test.net"}, "ports": {"quick"},
		"custom": {spec}, "ipv6": {"on"}, "consent": {"on"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc4 := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc4, "/scans/") {
		t.Fatalf("submit: %d %q", resp.StatusCode, loc4)
	}
	id4 := strings.TrimPrefix(loc4, "/scans/")
	sc4, err := svc.store.Scan(context.Background(), id4)
	if err != nil || sc4.SiblingID == "" || sc4.IP != netip.MustParseAddr("127.0.0.1") {
		t.Fatalf("the IPv4 scan: %+v %v", sc4, err)
	}
	id6 := sc4.SiblingID
	if cookies := resp.Cookies(); len(cookies) != 2 || cookies[0].Path != "/scans/"+id4 || cookies[1].Path != "/scans/"+id6 {
		t.Errorf("delete cookies: %v", cookies)
	}

	// Each page streams until both scans are done, then sets them side by side.
	_, page4 := get(t, svc.url+loc4)
	_, page6 := get(t, svc.url+"/scans/"+id6)
	for name, page := range map[string]string{"IPv4": page4, "IPv6": page6} {
		for _, want := range []string{
			"This is the " + name + " half of a side-by-side scan",
			`<h2 id="dual-stack">IPv4 and IPv6 side by side</h2>`,
			"<strong>2 ports answer differently over IPv4 and IPv6.</strong>",
			`href="/scans/` + id4 + `">127.0.0.1</a>: 1 open`,
			`href="/scans/` + id6 + `">::1</a>: 1 open`,
			"The other port answers alike: 1 closed and 0 filtered on both.",
			"Scan IPv4 and IPv6 again and show what changed",
		} {
			if !strings.Contains(page, want) {
				t.Errorf("%s page lacks %q", name, want)
			}
		}
		rows := dualRows(page)
		want := map[string]string{
			"61501":                  "differs closed open",
			strconv.Itoa(int(only4)): "differs open closed",
		}
		if len(rows) != 2 || rows["61501"] != want["61501"] || rows[strconv.Itoa(int(only4))] != want[strconv.Itoa(int(only4))] {
			t.Errorf("%s page: side-by-side rows %v, want %v", name, rows, want)
		}
		// A waiting note, if the page had to wait, sits right before the
		// comparison, where CSS (.dual-waiting:has(+ section)) hides it.
		if i := strings.Index(page, `class="muted dual-waiting"`); i >= 0 &&
			!regexp.MustCompile(`dual-waiting"[^<]*>[^<]*</p><section class="prose dual-stack"`).MatchString(page[i:]) {
			t.Errorf("%s page: the waiting note is not followed by the comparison", name)
		}
	}
	if !strings.Contains(page4, `/?custom=`+url.QueryEscape(spec)+`&amp;host=dual.vantage-test.net&amp;ipv6=1`) {
		t.Error("the IPv4 page's \"change the ports\" link does not keep the IPv6 box")
	}

	// The API document carries the family, the sibling and the comparison.
	_, body := get(t, svc.url+"/api/v1/scans/"+id6)
	var doc struct {
		Family    string `json:"family"`
		SiblingID string `json:"sibling_id"`
		DualStack struct {
			IPv4Scan    string `json:"ipv4_scan"`
			IPv6Scan    string `json:"ipv6_scan"`
			Complete    bool   `json:"complete"`
			Differences []struct {
				Port       uint16 `json:"port"`
				IPv4, IPv6 string
			} `json:"differences"`
		} `json:"dual_stack"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	ds := doc.DualStack
	if doc.Family != "ipv6" || doc.SiblingID != id4 || ds.IPv4Scan != id4 || ds.IPv6Scan != id6 || !ds.Complete ||
		len(ds.Differences) != 2 || ds.Differences[1].Port != 61501 || ds.Differences[1].IPv6 != "open" {
		t.Errorf("document: %s", body)
	}

	// The cooldown answers the same pair with the pair, not a single scan.
	again := postFrom(t, svc.url+"/scans", url.Values{"host": {"dual.vantage-test.net"}, "ports": {"quick"},
		"custom": {spec}, "ipv6": {"on"}, "consent": {"on"}}, nil)
	if again.Header.Get("Location") != loc4+"?recent=1" {
		t.Errorf("same pair again: %d %q", again.StatusCode, again.Header.Get("Location"))
	}
	single := postFrom(t, svc.url+"/scans", url.Values{"host": {"dual.vantage-test.net"}, "ports": {"quick"},
		"custom": {spec}, "consent": {"on"}}, nil)
	if l := single.Header.Get("Location"); single.StatusCode != http.StatusSeeOther || strings.Contains(l, "recent") {
		t.Errorf("a single scan was answered by the pair: %q", l)
	}

	// "Scan again" from the IPv6 page repeats the pair, each scan linked to
	// the earlier scan of its own family, and lands on the new IPv6 page.
	rescan, err := creator.PostForm(svc.url+"/scans/"+id6+"/rescan", url.Values{"consent": {"on"}})
	if err != nil {
		t.Fatal(err)
	}
	rescan.Body.Close()
	new6 := strings.TrimPrefix(rescan.Header.Get("Location"), "/scans/")
	n6, err := svc.store.Scan(context.Background(), new6)
	if err != nil || !n6.IP.Is6() || n6.PreviousID != id6 || n6.SiblingID == "" {
		t.Fatalf("rescan landed on %+v (%v)", n6, err)
	}
	if n4, _ := svc.store.Scan(context.Background(), n6.SiblingID); n4.PreviousID != id4 || !n4.IP.Is4() {
		t.Errorf("the new IPv4 half repeats %q, want %q", n4.PreviousID, id4)
	}
	_, page := get(t, svc.url+"/scans/"+new6)
	if !strings.Contains(page, "Changes since") || !strings.Contains(page, `id="dual-stack"`) {
		t.Error("the rescanned IPv6 page lacks its changes or the comparison")
	}

	// Deleting one half leaves the other saying so.
	del, err := creator.PostForm(svc.url+"/scans/"+id6+"/delete", nil)
	if err != nil {
		t.Fatal(err)
	}
	del.Body.Close()
	if del.StatusCode != http.StatusOK {
		t.Fatalf("delete: %d", del.StatusCode)
	}
	_, page4 = get(t, svc.url+loc4)
	if !strings.Contains(page4, "The IPv6 result of this comparison was deleted") ||
		!strings.Contains(page4, "This was the IPv4 half of a side-by-side scan; the IPv6 result has been deleted.") ||
		strings.Contains(page4, `href="/scans/`+id6+`"`) {
		t.Error("the IPv4 page does not say its IPv6 half is gone, or still links to it")
	}
	if r, body := get(t, svc.url+"/api/v1/scans/"+id4); r.StatusCode != 200 || strings.Contains(body, `"dual_stack"`) || !strings.Contains(body, `"sibling_id"`) {
		t.Errorf("document after the sibling's deletion: %d %s", r.StatusCode, body)
	}
}

// dualRows reads the first side-by-side table: port → "differs|same STATE4 STATE6".
func dualRows(page string) map[string]string {
	i := strings.Index(page, `dual-table">`)
	if i < 0 {
		return nil
	}
	table := page[i:]
	table = table[:strings.Index(table, "</table>")]
	out := map[string]string{}
	row := regexp.MustCompile(`(?s)<tr(?: class="(differs)")?><th scope="row">(\d+)/tcp</th>.*?</tr>`)
	state := regexp.MustCompile(`state-(open|closed|filtered)`)
	for _, m := range row.FindAllStringSubmatch(table, -1) {
		mark := "same"
		if m[1] != "" {
			mark = "differs"
		}
		s := state.FindAllStringSubmatch(m[0], -1)
		if len(s) != 2 {
			continue
		}
		out[m[2]] = mark + " " + s[0][1] + " " + s[1][1]
	}
	return out
}

// TestDualStackRefusals: what cannot be compared is refused with a clear
// message on the form and in the API.
func TestDualStackRefusals(t *testing.T) {
	svc := newDualService(t, dualRecords, nil)

	resp, body := post(t, svc.url+"/scans", url.Values{"host": {"four.vantage-test.net"}, "ports": {"quick"},
		"custom": {"61000"}, "ipv6": {"on"}, "consent": {"on"}})
	if resp.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(body, "&#34;four.vantage-test.net&#34; has no IPv6 address to compare with its IPv4 one") ||
		!strings.Contains(body, `id="ipv6" name="ipv6" value="on" checked`) {
		t.Errorf("IPv4-only name: %d", resp.StatusCode)
	}
	resp, body = post(t, svc.url+"/scans", url.Values{"host": {"127.0.0.1"}, "ports": {"quick"},
		"custom": {"61000"}, "ipv6": {"on"}, "consent": {"on"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "an IP address has only one family") {
		t.Errorf("IP literal: %d", resp.StatusCode)
	}

	for _, c := range []struct{ name, body, code string }{
		{"IPv4-only name", `{"target":"four.vantage-test.net","family":"both","ports":"61000","consent":true}`, "unresolvable"},
		{"literal", `{"target":"::1","family":"both","ports":"61000","consent":true}`, "invalid_target"},
		{"unknown family", `{"target":"dual.vantage-test.net","family":"46","ports":"61000","consent":true}`, "invalid_family"},
	} {
		resp, v := apiPost(t, svc.url, c.body, "application/json")
		if e, _ := v["error"].(map[string]any); resp.StatusCode != 422 || e["code"] != c.code {
			t.Errorf("%s: %d %v", c.name, resp.StatusCode, v)
		}
	}
}

// TestDualStackAPI: family "both" answers 202 with both scans, each with
// its delete token; a pair takes two tokens of the client's allowance.
func TestDualStackAPI(t *testing.T) {
	clients, _ := limit.NewClients(60, 4, 0, nil)
	svc := newDualService(t, dualRecords, func(d *Deps) { d.Clients = clients })
	resp, v := apiPost(t, svc.url, `{"target":"dual.vantage-test.net","family":"both","ports":"61000-61001","consent":true}`, "application/json")
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("both: %d %v", resp.StatusCode, v)
	}
	id4 := v["id"].(string)
	sib, _ := v["sibling"].(map[string]any)
	if v["family"] != "ipv4" || sib == nil || sib["family"] != "ipv6" || sib["id"] == v["id"] ||
		v["delete_token"] == "" || sib["delete_token"] != v["delete_token"] || // one request, one token for both halves
		sib["url"] != "/api/v1/scans/"+sib["id"].(string) {
		t.Fatalf("answer: %v", v)
	}
	// The pair took two of four tokens; a single scan takes a third.
	resp, v = apiPost(t, svc.url, `{"target":"dual.vantage-test.net","family":"6","ports":"61002","consent":true}`, "application/json")
	if resp.StatusCode != http.StatusAccepted || v["family"] != "ipv6" || v["sibling"] != nil {
		t.Errorf("single IPv6 scan: %d %v", resp.StatusCode, v)
	}
	// One token is left: a pair is refused (its request spends that token).
	resp, refused := apiPost(t, svc.url, `{"target":"dual.vantage-test.net","family":"both","ports":"61003","consent":true}`, "application/json")
	if e, _ := refused["error"].(map[string]any); resp.StatusCode != 429 || e["code"] != "rate_limited" ||
		!strings.Contains(e["message"].(string), `"both" counts as two`) || resp.Header.Get("Retry-After") == "" {
		t.Errorf("second pair: %d %v", resp.StatusCode, refused)
	}
	// An invalid pair costs one token, like any request: with none left it
	// is refused for the rate, not the input.
	resp, _ = apiPost(t, svc.url, `{"target":"four.vantage-test.net","family":"both","ports":"61003","consent":true}`, "application/json")
	if resp.StatusCode != 429 {
		t.Errorf("a request with no token left: %d", resp.StatusCode)
	}
	// The IPv6 half's token deletes it once it is done, not the IPv4 half.
	id6, token6 := sib["id"].(string), sib["delete_token"].(string)
	waitDone(t, svc.url, id6)
	// Its event stream ends naming the other half.
	er, err := client.Get(svc.url + "/api/v1/scans/" + id6 + "/events")
	if err != nil {
		t.Fatal(err)
	}
	events := readEvents(t, er.Body, func(e sseEvent) bool { return e.name == "done" })
	er.Body.Close()
	if last := events[len(events)-1]; last.name != "done" || !strings.Contains(last.data, `"sibling_id":"`+id4+`"`) {
		t.Errorf("done event %+v does not name the IPv4 half", last)
	}
	waitDone(t, svc.url, v["id"].(string))
	req, _ := http.NewRequest("DELETE", svc.url+"/api/v1/scans/"+id6, nil)
	req.Header.Set("Authorization", "Bearer "+token6)
	dr, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, dr.Body)
	dr.Body.Close()
	if dr.StatusCode != http.StatusNoContent {
		t.Errorf("delete the IPv6 half: %d", dr.StatusCode)
	}
}

func waitDone(t *testing.T, base, id string) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		_, body := get(t, base+"/api/v1/scans/"+id)
		if strings.Contains(body, `"status":"done"`) {
			return
		}
	}
	t.Fatalf("scan %s did not finish", id)
}

// TestDualStackViewPartial: when one half did not finish, the comparison
// says so and never calls an undecided port different.
func TestDualStackViewPartial(t *testing.T) {
	v4 := report.Scan{ID: "FOUR", IP: netip.MustParseAddr("192.0.2.1"), Status: "done", Ports: []report.PortRow{
		{Port: 22, State: "open", Reason: "syn-ack"}, {Port: 80, State: "closed", Reason: "conn-refused"}, {Port: 443, State: "filtered", Reason: "no-response"}}}
	v6 := report.Scan{ID: "SIX", IP: netip.MustParseAddr("2001:db8::1"), Status: "interrupted", Ports: []report.PortRow{
		{Port: 22, State: "open", Reason: "syn-ack"}}}
	for _, v := range []templates.DualStackView{dualStackView(v4, v6), dualStackView(v6, v4)} {
		if v.IPv4URL != "/scans/FOUR" || v.IPv6URL != "/scans/SIX" || v.Differ != 0 || v.Undecided != 2 || len(v.Notable) != 1 {
			t.Errorf("view %+v", v)
		}
		if v.Incomplete != "This comparison is partial: the IPv6 scan ended interrupted, so ports it did not decide are not compared." {
			t.Errorf("incomplete: %q", v.Incomplete)
		}
		if v.Alike != "" || v.Compared != 1 {
			t.Errorf("alike: %q, compared %d", v.Alike, v.Compared)
		}
	}
	// An IPv6 half that decided nothing (no route on the server): nothing
	// is said to "answer the same".
	none := v6
	none.Status, none.Ports = "failed", nil
	var b strings.Builder
	if err := templates.DualStack(dualStackView(v4, none)).Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	if html := b.String(); !strings.Contains(html, "Nothing to compare: no port was decided by both scans.") || strings.Contains(html, "answers the same") {
		t.Errorf("comparison with an empty half:\n%s", html)
	}
	b.Reset()
	if err := templates.DualStack(dualStackView(v4, v6)).Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "The one port both scans decided answers the same over IPv4 and IPv6.") {
		t.Errorf("partial comparison:\n%s", b.String())
	}
	v6.Status, v6.Ports = "done", append(v6.Ports, report.PortRow{Port: 80, State: "closed"}, report.PortRow{Port: 443, State: "filtered"})
	if v := dualStackView(v4, v6); v.Incomplete != "" || v.Alike != "The other 2 ports answer alike: 1 closed and 1 filtered on both." {
		t.Errorf("complete view: %q %q", v.Incomplete, v.Alike)
	}
}

// TestDualStackCooldownAndSmallQueue: the API's cooldown answers a pair
// with the pair, and a server that queues one scan at a time refuses pairs
// as such instead of "busy, try again".
func TestDualStackCooldownAndSmallQueue(t *testing.T) {
	cooldown := limit.NewCooldown(time.Minute, 0, nil)
	svc := newDualService(t, dualRecords, func(d *Deps) { d.Cooldown = cooldown })
	body := `{"target":"dual.vantage-test.net","family":"both","ports":"61000","consent":true}`
	resp, first := apiPost(t, svc.url, body, "application/json")
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("first pair: %d %v", resp.StatusCode, first)
	}
	resp, again := apiPost(t, svc.url, body, "application/json")
	sib, _ := again["sibling"].(map[string]any)
	firstSib, _ := first["sibling"].(map[string]any)
	if resp.StatusCode != http.StatusOK || again["id"] != first["id"] || again["recent"] != true || sib == nil ||
		sib["id"] != firstSib["id"] || sib["family"] != "ipv6" || sib["delete_token"] != nil {
		t.Errorf("the cooldown's answer to the same pair: %d %v", resp.StatusCode, again)
	}

	// A queue of one place.
	st, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "v.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	policy, _ := target.NewPolicy(target.PolicyConfig{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}})
	runner, err := jobs.New(jobs.Config{Store: st, Policy: policy, MaxRunning: 1, MaxQueued: 1, Grace: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := runner.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer runner.Shutdown(context.Background())
	res, _ := target.NewResolver(dnstest.Start(t, dualRecords))
	clients, _ := limit.NewClients(60, 2, 0, nil)
	small := httptest.NewServer(NewServer(Deps{Runner: runner, Pinner: &target.Pinner{Policy: policy, Resolver: res}, Store: st, MaxPorts: 300, Clients: clients}))
	defer small.Close()
	resp, page := post(t, small.URL+"/scans", url.Values{"host": {"dual.vantage-test.net"}, "ports": {"quick"}, "custom": {"61000"}, "ipv6": {"on"}, "consent": {"on"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "queues only one scan at a time") || resp.Header.Get("Retry-After") != "" {
		t.Errorf("form pair on a queue of one: %d", resp.StatusCode)
	}
	// The form's refused pair cost one token of two (its second was given
	// back when it could not start); so does the API's — a single scan
	// then still fits... once the limiter has a token: a fresh client.
	resp, v := apiPost(t, small.URL, body, "application/json")
	if e, _ := v["error"].(map[string]any); resp.StatusCode != http.StatusTooManyRequests && (resp.StatusCode != http.StatusUnprocessableEntity || e["code"] != "pair_unavailable") {
		t.Errorf("API pair on a queue of one: %d %v", resp.StatusCode, v)
	}
	fresh, _ := limit.NewClients(60, 2, 0, nil)
	small2 := httptest.NewServer(NewServer(Deps{Runner: runner, Pinner: &target.Pinner{Policy: policy, Resolver: res}, Store: st, MaxPorts: 300, Clients: fresh}))
	defer small2.Close()
	resp, v = apiPost(t, small2.URL, body, "application/json")
	if e, _ := v["error"].(map[string]any); resp.StatusCode != http.StatusUnprocessableEntity || e["code"] != "pair_unavailable" {
		t.Errorf("API pair on a queue of one: %d %v", resp.StatusCode, v)
	}
	if resp, _ := apiPost(t, small2.URL, `{"target":"dual.vantage-test.net","family":"6","ports":"61000","consent":true}`, "application/json"); resp.StatusCode != http.StatusAccepted {
		t.Errorf("a single scan after a pair that could not start (burst 2): %d — the pair kept its second token", resp.StatusCode)
	}
}

// TestNoRouteIsSaidUpFront: a server without IPv6 routes refuses an IPv6
// target (or the IPv6 half of a pair) at once, saying why, on the form
// and in the API; IPv4 scans go ahead.
func TestNoRouteIsSaidUpFront(t *testing.T) {
	noIPv6 := func(a netip.Addr) error {
		if a.Is6() {
			return errors.New("network is unreachable")
		}
		return nil
	}
	svc := newDualService(t, dualRecords, func(d *Deps) { d.Route = noIPv6 })
	resp, body := post(t, svc.url+"/scans", url.Values{"host": {"dual.vantage-test.net"}, "ports": {"quick"},
		"custom": {"61000"}, "ipv6": {"on"}, "consent": {"on"}})
	want := "This Vantage server has no route to IPv6 addresses (its network has no IPv6 connectivity), so it cannot scan the IPv6 address of dual.vantage-test.net. Untick “Also scan IPv6” to scan the other address alone."
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(html.UnescapeString(body), want) {
		t.Errorf("pair without IPv6: %d", resp.StatusCode)
	}
	r, v := apiPost(t, svc.url, `{"target":"dual.vantage-test.net","family":"6","ports":"61000","consent":true}`, "application/json")
	if e, _ := v["error"].(map[string]any); r.StatusCode != http.StatusUnprocessableEntity || e["code"] != "no_route" {
		t.Errorf("API IPv6 scan without IPv6: %d %v", r.StatusCode, v)
	}
	if r, v := apiPost(t, svc.url, `{"target":"dual.vantage-test.net","family":"4","ports":"61000","consent":true}`, "application/json"); r.StatusCode != http.StatusAccepted {
		t.Errorf("API IPv4 scan: %d %v", r.StatusCode, v)
	}
}

// TestInvalidPairCostsOneScan: a pair refused for its input costs one
// token like any request, so a typo does not eat the allowance of two.
func TestInvalidPairCostsOneScan(t *testing.T) {
	clients, _ := limit.NewClients(60, 3, 0, nil)
	svc := newDualService(t, dualRecords, func(d *Deps) { d.Clients = clients })
	bad := url.Values{"host": {"four.vantage-test.net"}, "ports": {"quick"}, "custom": {"61000"}, "ipv6": {"on"}, "consent": {"on"}}
	if resp, _ := post(t, svc.url+"/scans", bad); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("invalid pair: %d", resp.StatusCode)
	}
	good := url.Values{"host": {"dual.vantage-test.net"}, "ports": {"quick"}, "custom": {"61000"}, "ipv6": {"on"}, "consent": {"on"}}
	if resp, _ := post(t, svc.url+"/scans", good); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("a valid pair after one typo, with a burst of 3: %d", resp.StatusCode)
	}
	resp, body := post(t, svc.url+"/scans", good)
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "counts as two scans") {
		t.Errorf("a third request with no token left: %d", resp.StatusCode)
	}
}

// TestStopAPairFromEitherPage: "Stop both scans" on one half's page stops
// the other half too (they share the creator's token).
func TestStopAPairFromEitherPage(t *testing.T) {
	svc := newNamedService(t, []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")},
		dualRecords, scan.Config{Rate: 5, Burst: 1}, nil) // 20 ports: about 4 s per half
	jar, _ := cookiejar.New(nil)
	creator := &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := creator.PostForm(svc.url+"/scans", url.Values{"host": {"dual.vantage-test.net"}, "ports": {"quick"},
		"custom": {"61000-61019"}, "ipv6": {"on"}, "consent": {"on"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	id4 := strings.TrimPrefix(resp.Header.Get("Location"), "/scans/")
	sc4, _ := svc.store.Scan(context.Background(), id4)
	time.Sleep(300 * time.Millisecond)
	// From the IPv6 half's page.
	resp, err = creator.PostForm(svc.url+"/scans/"+sc4.SiblingID+"/cancel", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("stop: %d", resp.StatusCode)
	}
	for _, id := range []string{id4, sc4.SiblingID} {
		sc, _ := svc.store.Scan(context.Background(), id)
		if sc.Status != store.Cancelled {
			t.Errorf("half %s after stopping the pair: %s %q", sc.IP, sc.Status, sc.Reason)
		}
	}
}
