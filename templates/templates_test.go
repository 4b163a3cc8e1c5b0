package templates

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/a-h/templ"
	"golang.org/x/net/html"

	"github.com/vantagescan/vantage/internal/ports"
)

// render renders c to a string, failing the test on error.
func render(t *testing.T, c templ.Component) string {
	t.Helper()
	var buf bytes.Buffer
	if err := c.Render(context.Background(), &buf); err != nil {
		t.Fatalf("render: %v", err)
	}
	return buf.String()
}

// renderLayout renders the layout around body, as `@Layout(p) { ... }` does.
func renderLayout(t *testing.T, p Page, body templ.Component) string {
	t.Helper()
	var buf bytes.Buffer
	if err := Layout(p).Render(templ.WithChildren(context.Background(), body), &buf); err != nil {
		t.Fatalf("render: %v", err)
	}
	return buf.String()
}

// parse parses a whole document.
func parse(t *testing.T, doc string) *html.Node {
	t.Helper()
	n, err := html.Parse(strings.NewReader(doc))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return n
}

// elements returns every element node under n, in document order.
func elements(n *html.Node) []*html.Node {
	var out []*html.Node
	for d := range n.Descendants() {
		if d.Type == html.ElementNode {
			out = append(out, d)
		}
	}
	return out
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func byID(root *html.Node, id string) *html.Node {
	for _, e := range elements(root) {
		if v, ok := attr(e, "id"); ok && v == id {
			return e
		}
	}
	return nil
}

func text(n *html.Node) string {
	var b strings.Builder
	for d := range n.Descendants() {
		if d.Type == html.TextNode {
			b.WriteString(d.Data)
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

func testPage() Page {
	return Page{
		Title:       "Vantage: online TCP port scanner",
		Description: "Check which TCP ports of your server the internet can reach.",
		CSSPath:     "/static/app.0123456789.css",
		IconPath:    "/static/favicon.0123456789.svg",
		Current:     NavScan,
	}
}

func testPresets() []PresetOption {
	return []PresetOption{
		{Value: "quick", Label: "Quick", Count: 20},
		{Value: "common", Label: "Common", Count: 207},
		{Value: "extended", Label: "Extended", Count: 1207},
	}
}

func renderHome(t *testing.T, form HomeForm) string {
	t.Helper()
	if form.Presets == nil {
		form.Presets = testPresets()
	}
	return render(t, Home(testPage(), form, ReferenceRows(), FAQ()))
}

// checkDocument asserts what every page must satisfy: one h1, headings that
// never skip a level, unique ids, fragment links and ARIA references that
// resolve, a label for every control, and no inline script, style or event
// handler.
func checkDocument(t *testing.T, doc string) {
	t.Helper()
	if !strings.HasPrefix(doc, "<!doctype html>") && !strings.HasPrefix(doc, "<!DOCTYPE html>") {
		t.Errorf("document does not start with a doctype: %.40q", doc)
	}
	root := parse(t, doc)
	all := elements(root)

	ids := map[string]int{}
	for _, e := range all {
		if id, ok := attr(e, "id"); ok {
			ids[id]++
		}
	}
	for id, n := range ids {
		if n > 1 {
			t.Errorf("id %q is used %d times", id, n)
		}
		if id == "" {
			t.Error("empty id attribute")
		}
	}

	h1s, last := 0, 0
	for _, e := range all {
		if len(e.Data) == 2 && e.Data[0] == 'h' && e.Data[1] >= '1' && e.Data[1] <= '6' {
			level := int(e.Data[1] - '0')
			if level == 1 {
				h1s++
			}
			if level > last+1 {
				t.Errorf("heading %q (h%d) follows h%d", text(e), level, last)
			}
			last = level
		}
	}
	if h1s != 1 {
		t.Errorf("%d h1 elements, want 1", h1s)
	}

	labelled := map[string]bool{}
	for _, e := range all {
		if e.Data == "label" {
			if f, ok := attr(e, "for"); ok {
				labelled[f] = true
			}
		}
	}
	for _, e := range all {
		for _, a := range e.Attr {
			if a.Key == "style" || strings.HasPrefix(a.Key, "on") {
				t.Errorf("<%s> has an inline %s attribute", e.Data, a.Key)
			}
			if a.Key == "aria-describedby" || a.Key == "aria-labelledby" {
				for _, ref := range strings.Fields(a.Val) {
					if ids[ref] == 0 {
						t.Errorf("<%s %s=%q>: no element has id %q", e.Data, a.Key, a.Val, ref)
					}
				}
			}
		}
		switch e.Data {
		case "script", "style":
			t.Errorf("page contains a <%s> element", e.Data)
		case "a":
			if href, _ := attr(e, "href"); strings.HasPrefix(href, "#") && ids[href[1:]] == 0 {
				t.Errorf("link %q points at a missing id", href)
			}
		case "input", "select", "textarea":
			typ, _ := attr(e, "type")
			if typ == "hidden" || typ == "submit" {
				continue
			}
			id, _ := attr(e, "id")
			if id == "" || !labelled[id] {
				t.Errorf("<%s name=%q> has no <label for>", e.Data, id)
			}
		}
	}
}

func TestHomeFormComesFirst(t *testing.T) {
	doc := renderHome(t, HomeForm{VisitorIP: "198.51.100.7"})
	checkDocument(t, doc)

	form, h2 := strings.Index(doc, "<form"), strings.Index(doc, "<h2")
	if form < 0 || h2 < 0 || form > h2 {
		t.Fatalf("<form at %d, first <h2 at %d: the form must come first", form, h2)
	}
	for _, want := range []string{
		`<form method="post" action="/scans"`,
		`name="host"`, `inputmode="url"`, `autocomplete="off"`, `spellcheck="false"`,
		`placeholder="example.com or 203.0.113.10"`, `maxlength="2048"`,
		`<select id="ports" name="ports"`,
		`name="custom"`, `placeholder="22,80,443 or 8000-8100"`,
		`name="consent"`, "I own this host or am authorised to scan it",
		`name="target" value="self"`, "Scan my IP (198.51.100.7)",
		`<option value="common" selected>Common: 207 ports</option>`,
		`<option value="extended">Extended: 1,207 ports</option>`,
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("home page lacks %q", want)
		}
	}
	root := parse(t, doc)
	host := byID(root, "host")
	if _, ok := attr(host, "autofocus"); !ok {
		t.Error("the host field is not autofocused on a fresh form")
	}
	if _, ok := attr(host, "required"); !ok {
		t.Error("the host field is not required")
	}
	// Enter in a field submits with the first button: it must scan the typed host.
	var buttons []*html.Node
	for _, e := range elements(root) {
		if e.Data == "button" {
			buttons = append(buttons, e)
		}
	}
	if len(buttons) != 2 {
		t.Fatalf("%d buttons, want 2", len(buttons))
	}
	if v, _ := attr(buttons[0], "value"); v == "self" {
		t.Error(`the first submit button is "Scan my IP"; Enter would scan the visitor instead of the host`)
	}
	if _, ok := attr(buttons[1], "formnovalidate"); !ok {
		t.Error(`"Scan my IP" must skip validation: the host field may be empty`)
	}
	if strings.Contains(doc, "has-error") || strings.Contains(doc, `role="alert"`) || strings.Contains(doc, "aria-invalid") {
		t.Error("a form without errors renders error markup")
	}
}

func TestHomeScanMyIPWithoutAddress(t *testing.T) {
	doc := renderHome(t, HomeForm{})
	if !strings.Contains(doc, ">Scan my IP</button>") {
		t.Error(`without a visitor IP the button should read "Scan my IP"`)
	}
}

func TestHomeHasReferenceTableAndFAQ(t *testing.T) {
	doc := renderHome(t, HomeForm{})
	root := parse(t, doc)

	table := byID(root, "reference-caption")
	if table == nil || table.Parent.Data != "table" {
		t.Fatal("the reference table has no caption")
	}
	var rowPorts []string
	for _, e := range elements(table.Parent) {
		if e.Data == "th" {
			scope, _ := attr(e, "scope")
			if scope == "row" {
				rowPorts = append(rowPorts, text(e))
			}
			if scope == "" {
				t.Errorf("<th> %q has no scope", text(e))
			}
		}
	}
	want := []string{"21", "22", "25", "53", "80", "443", "3306", "3389", "5432", "8080", "27017"}
	if !slices.Equal(rowPorts, want) {
		t.Errorf("reference rows %v, want %v", rowPorts, want)
	}
	for _, p := range want {
		if !strings.Contains(doc, `<a href="/ports#p-`+p+`">`+p+`</a>`) {
			t.Errorf("port %s does not link to /ports#p-%s", p, p)
		}
	}
	if !strings.Contains(doc, "<td class=\"c-proto\">TCP/UDP</td>") {
		t.Error("DNS is not marked TCP/UDP")
	}

	var summaries []string
	for _, e := range elements(root) {
		if e.Data == "details" {
			if id, _ := attr(e, "id"); id == "" {
				t.Error("a FAQ item has no id")
			}
		}
		if e.Data == "summary" {
			summaries = append(summaries, text(e))
		}
	}
	questions := []string{
		"Is port scanning legal?",
		"Why does my server show port 22 open even with a firewall?",
		`What does "filtered" mean in port scanning?`,
		"Can I scan all 65535 ports?",
		"Why is port scanning useful for system administrators?",
		"Does Vantage scan IPv6?",
	}
	if !slices.Equal(summaries, questions) {
		t.Errorf("FAQ questions %q, want %q", summaries, questions)
	}

	for _, id := range []string{"what-is-a-port-scanner", "how-it-works", "reading-results", "tcp-vs-udp", "firewall-audit", "use-cases", "reference", "faq"} {
		if e := byID(root, id); e == nil || e.Data != "h2" {
			t.Errorf("no <h2 id=%q>", id)
		}
	}
	for _, want := range []string{"Vantage scans TCP ports only", "3306", "5432", "27017", "3389", "SYN-ACK", "RST"} {
		if !strings.Contains(doc, want) {
			t.Errorf("home page does not mention %q", want)
		}
	}
}

// The reference table must agree with the catalog it links to.
func TestReferenceRowsMatchCatalog(t *testing.T) {
	rows := ReferenceRows()
	if len(rows) != 11 {
		t.Fatalf("%d reference rows, want the brief's 11", len(rows))
	}
	for _, r := range rows {
		e, ok := ports.Lookup(r.Port)
		if !ok {
			t.Errorf("port %d is in the reference table but not in the catalog", r.Port)
			continue
		}
		if !strings.Contains(strings.ToLower(e.Name), strings.ToLower(r.Service)) {
			t.Errorf("port %d: reference says %q, catalog says %q", r.Port, r.Service, e.Name)
		}
		if r.Note == "" || r.Protocol == "" {
			t.Errorf("port %d: empty note or protocol", r.Port)
		}
	}
	rows[0].Note = "changed"
	if ReferenceRows()[0].Note == "changed" {
		t.Error("ReferenceRows returns shared storage")
	}
}

// The FAQ must stay true of Vantage: the presets it names exist, and the
// limits it mentions are the ones the form announces.
func TestFAQIsTrueOfVantage(t *testing.T) {
	items := FAQ()
	if len(items) != 6 {
		t.Fatalf("%d FAQ items, want 6 (the brief's five and IPv6)", len(items))
	}
	var all strings.Builder
	for _, it := range items {
		if !strings.HasPrefix(it.ID, "faq-") || it.Question == "" || len(it.Answer) == 0 {
			t.Errorf("incomplete FAQ item %+v", it)
		}
		for _, p := range it.Answer {
			all.WriteString(p + "\n")
		}
	}
	text := all.String()
	for _, name := range []string{ports.PresetQuick, ports.PresetCommon, ports.PresetExtended} {
		if _, ok := ports.PresetByName(name); !ok || !strings.Contains(text, name) {
			t.Errorf("FAQ and presets disagree about %q", name)
		}
	}
	quick, _ := ports.PresetByName(ports.PresetQuick)
	if !strings.Contains(text, fmt.Sprintf("quick (the %d ports", len(quick.Ports))) {
		t.Errorf("the FAQ's size of the quick preset is stale (it has %d ports)", len(quick.Ports))
	}
	if n := len(ports.Catalog()); n < 150 || n > 250 {
		t.Errorf(`the FAQ says the catalog has "about two hundred" ports; it has %d`, n)
	}
	for _, want := range []string{"preset:all", "65,535", "I own this host or am authorised to scan it", "cloud-metadata", "TCP", "Also scan IPv6"} {
		if !strings.Contains(text, want) {
			t.Errorf("FAQ does not mention %q", want)
		}
	}
	if MaxSpecLength != ports.MaxSpecLen {
		t.Errorf("the custom field allows %d bytes, the parser %d", MaxSpecLength, ports.MaxSpecLen)
	}
	items[0].Answer[0] = "changed"
	if FAQ()[0].Answer[0] == "changed" {
		t.Error("FAQ returns shared storage")
	}
}

func TestHomeRendersErrors(t *testing.T) {
	form := HomeForm{
		Host:    "bad host",
		Ports:   "quick",
		Custom:  "22,abc",
		Consent: true,
		Errors: map[string]string{
			FieldForm:   "Too many scans from your address; try again in 10 minutes.",
			FieldHost:   "That is not a valid host name.",
			FieldCustom: `invalid port set: "abc": not a port number`,
		},
	}
	doc := renderHome(t, form)
	checkDocument(t, doc)
	root := parse(t, doc)

	// The summary comes first inside the form, is announced, and links to the fields.
	var summary *html.Node
	for _, e := range elements(root) {
		if r, _ := attr(e, "role"); r == "alert" {
			summary = e
			break
		}
	}
	if summary == nil {
		t.Fatal(`no role="alert" error summary`)
	}
	if summary.Parent.Data != "form" || summary.Parent.FirstChild != summary {
		t.Error("the error summary is not the first thing in the form")
	}
	summaryText := text(summary)
	for _, msg := range form.Errors {
		if !strings.Contains(summaryText, msg) {
			t.Errorf("summary lacks %q", msg)
		}
	}
	var links []string
	for _, e := range elements(summary) {
		if e.Data == "a" {
			href, _ := attr(e, "href")
			links = append(links, href)
		}
	}
	if !slices.Equal(links, []string{"#host", "#custom"}) {
		t.Errorf("summary links %v, want [#host #custom]", links)
	}
	if i, j := strings.Index(summaryText, form.Errors[FieldForm]), strings.Index(summaryText, form.Errors[FieldHost]); i > j {
		t.Error("the form-wide message should come before field messages")
	}
	if _, ok := attr(summary, "autofocus"); !ok {
		t.Error("the summary is not focused when the page loads")
	}
	if _, ok := attr(byID(root, "host"), "autofocus"); ok {
		t.Error("two elements are autofocused")
	}

	for _, tc := range []struct {
		field  string
		hasErr bool
	}{
		{FieldHost, true}, {FieldCustom, true}, {FieldPorts, false}, {FieldConsent, false},
	} {
		t.Run(tc.field, func(t *testing.T) {
			input := byID(root, tc.field)
			if input == nil {
				t.Fatalf("no element with id %q", tc.field)
			}
			invalid, _ := attr(input, "aria-invalid")
			described, _ := attr(input, "aria-describedby")
			errID := tc.field + "-error"
			if !tc.hasErr {
				if invalid != "" || strings.Contains(described, errID) || byID(root, errID) != nil {
					t.Errorf("valid field %s is marked invalid", tc.field)
				}
				return
			}
			if invalid != "true" {
				t.Errorf(`aria-invalid = %q, want "true"`, invalid)
			}
			if !slices.Contains(strings.Fields(described), errID) {
				t.Errorf("aria-describedby %q does not name %q", described, errID)
			}
			msg := byID(root, errID)
			if msg == nil || !strings.Contains(text(msg), form.Errors[tc.field]) {
				t.Errorf("no message element %q with the error text", errID)
			}
		})
	}

	// Values survive the round trip.
	if v, _ := attr(byID(root, "host"), "value"); v != form.Host {
		t.Errorf("host value %q, want %q", v, form.Host)
	}
	if v, _ := attr(byID(root, "custom"), "value"); v != form.Custom {
		t.Errorf("custom value %q, want %q", v, form.Custom)
	}
	if _, ok := attr(byID(root, "consent"), "checked"); !ok {
		t.Error("consent is no longer checked")
	}
	if !strings.Contains(doc, `<option value="quick" selected>`) || strings.Contains(doc, `<option value="common" selected>`) {
		t.Error(`the chosen preset "quick" is not the selected one`)
	}
}

func TestHomeConsentError(t *testing.T) {
	doc := renderHome(t, HomeForm{Host: "example.com", Errors: map[string]string{FieldConsent: "Tick the box to confirm you may scan this host."}})
	checkDocument(t, doc)
	root := parse(t, doc)
	box := byID(root, "consent")
	if v, _ := attr(box, "aria-invalid"); v != "true" {
		t.Error("the consent box is not marked invalid")
	}
	if _, ok := attr(box, "checked"); ok {
		t.Error("an unticked box came back ticked")
	}
	if !strings.Contains(doc, `<a href="#consent">`) {
		t.Error("the summary does not link to the consent box")
	}
}

func TestHomeEscapesInput(t *testing.T) {
	const evil = `"><script>alert(1)</script>`
	form := HomeForm{
		Host:      evil,
		Custom:    evil,
		VisitorIP: evil,
		Errors:    map[string]string{FieldHost: evil, "other": evil},
		Presets:   []PresetOption{{Value: evil, Label: evil, Count: 1}},
	}
	doc := renderHome(t, form)
	if strings.Contains(doc, "<script") {
		t.Fatal("user input reached the page as markup")
	}
	if !strings.Contains(doc, "&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("the escaped host is missing")
	}
	root := parse(t, doc)
	if v, _ := attr(byID(root, "host"), "value"); v != evil {
		t.Errorf("host value %q, want it intact after escaping", v)
	}
	checkDocument(t, doc)
}

func TestLayout(t *testing.T) {
	body := templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		_, err := io.WriteString(w, "<h1>Hello</h1>")
		return err
	})
	for _, noIndex := range []bool{false, true} {
		t.Run("noindex="+strconv.FormatBool(noIndex), func(t *testing.T) {
			p := testPage()
			p.NoIndex = noIndex
			doc := renderLayout(t, p, body)
			checkDocument(t, doc)
			robots := strings.Contains(doc, `<meta name="robots" content="noindex">`)
			if robots != noIndex {
				t.Errorf("robots noindex present = %v, want %v", robots, noIndex)
			}
			for _, want := range []string{
				`<html lang="en">`, `<meta charset="utf-8">`,
				`<meta name="viewport" content="width=device-width, initial-scale=1">`,
				`<meta name="description" content="Check which TCP ports of your server the internet can reach.">`,
				`<meta name="color-scheme" content="light dark">`,
				`<link rel="stylesheet" href="/static/app.0123456789.css">`,
				`<link rel="icon" type="image/svg+xml" href="/static/favicon.0123456789.svg">`,
				`<a class="skip-link" href="#main">`, `<main id="main"`, `<header`, `<footer`,
				`<a class="brand" href="/">`, "<h1>Hello</h1>",
				"Scan only hosts you own or are authorised to scan.", "open-source",
				`aria-current="page"`,
			} {
				if !strings.Contains(doc, want) {
					t.Errorf("layout lacks %q", want)
				}
			}
		})
	}
}

func TestLayoutDefaults(t *testing.T) {
	doc := renderLayout(t, Page{}, templ.NopComponent)
	for _, absent := range []string{`name="description"`, `rel="stylesheet"`, `rel="icon"`, "aria-current", `name="robots"`} {
		if strings.Contains(doc, absent) {
			t.Errorf("an empty Page renders %q", absent)
		}
	}
	if !strings.Contains(doc, "<title>"+defaultTitle+"</title>") {
		t.Error("an empty title does not fall back to the default")
	}
}

func TestPortsPage(t *testing.T) {
	var rows []CatalogRow
	for _, e := range ports.Catalog() {
		rows = append(rows, CatalogRow{Port: e.Port, Service: e.Service, Name: e.Name,
			Category: string(e.Category), Risk: e.Risk.String(), Note: e.Note})
	}
	p := testPage()
	p.Current = NavPorts
	doc := render(t, Ports(p, rows))
	checkDocument(t, doc)
	root := parse(t, doc)
	for _, r := range ReferenceRows() {
		tr := byID(root, "p-"+strconv.Itoa(int(r.Port)))
		if tr == nil || tr.Data != "tr" {
			t.Errorf("no row with id p-%d for the reference table to link to", r.Port)
		}
	}
	ssh := byID(root, "p-22")
	if got := text(ssh); !strings.Contains(got, "SSH") || !strings.Contains(got, "remote access") || !strings.Contains(got, "medium") {
		t.Errorf("row 22 reads %q", got)
	}
	if !strings.Contains(doc, `<span class="badge risk-critical">critical</span>`) {
		t.Error("risk is not shown as text in a badge")
	}
	if !strings.Contains(doc, "The "+strconv.Itoa(len(rows))+" TCP ports") {
		t.Error("the page does not say how many ports the catalog has")
	}
	if n := strings.Count(doc, "<tr id="); n != len(rows) {
		t.Errorf("%d catalog rows rendered, want %d", n, len(rows))
	}
}

func TestErrorPage(t *testing.T) {
	for _, tc := range []struct {
		status           int
		heading, message string
		wantH1, wantText string
	}{
		{404, "Page not found", "There is nothing at this address.", "Page not found", "There is nothing at this address."},
		{429, "Too many scans", "Please wait 5 minutes before scanning again.", "Too many scans", "wait 5 minutes"},
		{500, "", "", "Something went wrong", "try again"},
		{503, "", "", "Vantage is busy", "try again in a minute"},
	} {
		t.Run(strconv.Itoa(tc.status), func(t *testing.T) {
			p := testPage()
			p.NoIndex = true
			doc := render(t, ErrorPage(p, tc.status, tc.heading, tc.message))
			checkDocument(t, doc)
			root := parse(t, doc)
			for _, e := range elements(root) {
				if e.Data == "h1" && text(e) != tc.wantH1 {
					t.Errorf("h1 %q, want %q", text(e), tc.wantH1)
				}
			}
			for _, want := range []string{tc.wantText, "Error " + strconv.Itoa(tc.status), `href="/"`} {
				if !strings.Contains(doc, want) {
					t.Errorf("error page lacks %q", want)
				}
			}
			stackLike := regexp.MustCompile(`goroutine \d|panic|\.go:\d+|runtime\.|0x[0-9a-f]{6,}`)
			if m := stackLike.FindString(doc); m != "" {
				t.Errorf("error page shows internals: %q", m)
			}
		})
	}
}

func TestBadgesOnlyUseKnownClasses(t *testing.T) {
	for _, tc := range []struct {
		c    templ.Component
		want string
	}{
		{StateBadge("open"), `<span class="badge state-open">open</span>`},
		{StateBadge("filtered"), `<span class="badge state-filtered">filtered</span>`},
		{StateBadge(`x" onclick="y`), `<span class="badge">x&#34; onclick=&#34;y</span>`},
		{RiskBadge("high"), `<span class="badge risk-high">high</span>`},
		{RiskBadge("bogus"), `<span class="badge">bogus</span>`},
	} {
		if got := render(t, tc.c); got != tc.want {
			t.Errorf("got %s, want %s", got, tc.want)
		}
	}
}

func TestFormatCount(t *testing.T) {
	for n, want := range map[int]string{0: "0", 7: "7", 999: "999", 1000: "1,000", 1207: "1,207", 65535: "65,535", 1234567: "1,234,567", -1200: "-1,200"} {
		if got := formatCount(n); got != want {
			t.Errorf("formatCount(%d) = %q, want %q", n, got, want)
		}
	}
}
