package report

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/vantagescan/vantage/internal/ports"
	"github.com/vantagescan/vantage/internal/probe"
)

// rule is one line of the grading table.
type rule struct {
	name   string // stable: stored reports and the FAQ refer to it
	effect effect
	about  string // one line for the FAQ
	// match is the predicate: the open ports the rule fires on, sorted, or
	// []uint16{0} when it is about the host as a whole; nil when it does
	// not fire.
	match func(h *host) []uint16
	// say is the sentence for people about one port that matched (0: the host).
	say func(h *host, port uint16) string
}

// Thresholds the rules use.
const (
	mediumPortsThreshold = 4                   // this many open medium-risk ports cost a letter
	expiryWarning        = 14 * 24 * time.Hour // a certificate this close to expiry gets a note
)

// rules is the grading table: caps, then lowerings, then notes.
var rules = []rule{
	// Caps.
	{
		name:   "critical-port-open",
		effect: capAtF,
		about:  "A port the catalog rates critical is open: the service hands control or data to whoever connects, has no real authentication, or is mass-exploited (Docker API on 2375, kubelet, etcd, Redis, Memcached, Elasticsearch, MongoDB, Telnet, SMB, debuggers).",
		match:  eachOpen(func(_ *host, e *exposure) bool { return e.entry.Risk == ports.RiskCritical }),
		say:    sayCriticalPort,
	},
	{
		name:   "high-risk-port-open",
		effect: capAtD,
		about:  "A port the catalog rates high is open: a sensitive service that must not be public (MySQL, PostgreSQL and other databases, RDP, VNC, WinRM, directories, admin panels, brokers).",
		match:  eachOpen(func(_ *host, e *exposure) bool { return e.entry.Risk == ports.RiskHigh }),
		say:    sayHighRiskPort,
	},
	{
		name:   "tls-certificate-expired",
		effect: capAtD,
		about:  "A TLS service presents an expired certificate, so clients refuse to connect or train people to click through warnings.",
		match:  eachOpen(func(h *host, e *exposure) bool { return e.tls != nil && h.certificateOf(e.tls).expired }),
		say:    sayCertificateExpired,
	},

	// Lowerings: each costs one letter however many ports it fires on.
	{
		name:   "ssh-password-login",
		effect: lowerOne,
		about:  "An SSH server offers password or keyboard-interactive login, which bots brute-force around the clock.",
		match:  eachOpen(func(_ *host, e *exposure) bool { return e.ssh != nil && e.ssh.PasswordAuth }),
		say:    saySSHPasswordLogin,
	},
	{
		name:   "tls-certificate-untrusted",
		effect: lowerOne,
		about:  "A certificate that has not expired is self-signed or does not verify for the name scanned.",
		match:  eachOpen(func(h *host, e *exposure) bool { return untrusted(h, e) }),
		say:    sayCertificateUntrusted,
	},
	{
		name:   "tls-legacy-versions",
		effect: lowerOne,
		about:  "A TLS service still accepts TLS 1.0 or TLS 1.1, both deprecated since 2021.",
		match:  eachOpen(func(_ *host, e *exposure) bool { return e.tls != nil && (e.tls.Accepts10 || e.tls.Accepts11) }),
		say:    sayLegacyTLS,
	},
	{
		name:   "http-without-https-redirect",
		effect: lowerOne,
		about:  "A port answers in plain HTTP (80, 8080…, or a TLS port such as 443 that speaks plain HTTP) without redirecting to HTTPS, so traffic can be read and altered in transit.",
		match:  eachOpen(func(_ *host, e *exposure) bool { return e.http != nil && !e.http.RedirectsToHTTPS }),
		say:    sayHTTPWithoutRedirect,
	},
	{
		name:   "many-medium-ports",
		effect: lowerOne,
		about:  fmt.Sprintf("%d or more ports the catalog rates medium are open at once (SSH, FTP, SMTP, DNS, plaintext mail, alternate HTTP ports): each needs hardening and is another way in.", mediumPortsThreshold),
		match:  wholeHost(func(h *host) bool { return len(h.openWithRisk(ports.RiskMedium)) >= mediumPortsThreshold }),
		say:    sayManyMediumPorts,
	},

	// Notes: said, but they do not change the grade.
	{
		name:   "all-ports-filtered",
		effect: note,
		about:  "Every port scanned is filtered: the host looks down or fully firewalled, so nothing is exposed on these ports.",
		match:  wholeHost(func(h *host) bool { return h.scanned > 0 && h.filtered == h.scanned }),
		say:    sayAllFiltered,
	},
	{
		name:   "no-open-ports",
		effect: note,
		about:  "No port is open: nothing is reachable on the ports scanned.",
		match:  wholeHost(func(h *host) bool { return len(h.open) == 0 && (h.scanned == 0 || h.filtered < h.scanned) }),
		say:    sayNoOpenPorts,
	},
	{
		name:   "tls-certificate-expiring",
		effect: note,
		about:  fmt.Sprintf("A certificate expires within %d days. Only a note: short-lived certificates renewed automatically are always that close to expiry.", expiryWarning/(24*time.Hour)),
		match:  eachOpen(func(h *host, e *exposure) bool { return expiringSoon(h, e) }),
		say:    sayCertificateExpiring,
	},
	{
		name:   "https-without-hsts",
		effect: note,
		about:  "A web server over TLS (443, 8443, or an HTTP port that speaks TLS) with a trusted certificate sends no Strict-Transport-Security header with a max-age above 0, so a visitor who starts on http:// can be kept on plain HTTP by someone on the path.",
		match: eachOpen(func(_ *host, e *exposure) bool {
			// Browsers ignore HSTS from a certificate they do not trust: that is its own finding.
			return e.tls != nil && e.tls.HTTPS != nil && e.tls.ValidForName && !hstsEnabled(e.tls.HTTPS.HSTS)
		}),
		say: sayHTTPSWithoutHSTS,
	},
	{
		name:   "unknown-port-open",
		effect: note,
		about:  "An open port is not in the catalog and its greeting did not identify a known service; it counts as low risk, but you should know what listens there.",
		match:  eachOpen(func(_ *host, e *exposure) bool { return !e.known() }),
		say:    sayUnknownPort,
	},
	{
		name:   "check-incomplete",
		effect: note,
		about:  "A follow-up check (TLS, HTTP redirect, SSH, greeting) could not complete, so the grade leaves out what it would have found.",
		match:  eachOpen(func(_ *host, e *exposure) bool { return len(e.failed) > 0 }),
		say:    sayCheckIncomplete,
	},
	{
		name:   "sensitive-ports-closed",
		effect: note,
		about:  "Ports the catalog rates high or critical answer closed rather than filtered: nothing listens, but the answer confirms the host is up; dropping the packets reveals less.",
		match:  wholeHost(func(h *host) bool { return len(sensitiveClosed(h)) > 0 }),
		say:    saySensitivePortsClosed,
	},
}

// eachOpen fires on every open port for which pred holds.
func eachOpen(pred func(h *host, e *exposure) bool) func(h *host) []uint16 {
	return func(h *host) []uint16 {
		var hits []uint16
		for _, e := range h.open {
			if pred(h, e) {
				hits = append(hits, e.port)
			}
		}
		return hits
	}
}

// wholeHost fires once, about the host, when pred holds.
func wholeHost(pred func(h *host) bool) func(h *host) []uint16 {
	return func(h *host) []uint16 {
		if pred(h) {
			return []uint16{0}
		}
		return nil
	}
}

// untrusted: an expired certificate is the expiry rule's business, and it
// fails verification too, so it is not counted twice.
func untrusted(h *host, e *exposure) bool {
	return e.tls != nil && !h.certificateOf(e.tls).expired && (e.tls.SelfSigned || !e.tls.ValidForName)
}

func expiringSoon(h *host, e *exposure) bool {
	if e.tls == nil {
		return false
	}
	c := h.certificateOf(e.tls)
	return !c.expired && c.left <= expiryWarning
}

// sensitiveClosed lists closed ports the catalog rates high or critical.
func sensitiveClosed(h *host) []ports.Entry {
	var out []ports.Entry
	for _, p := range h.closed {
		if e, ok := ports.Lookup(p); ok && e.Risk >= ports.RiskHigh {
			out = append(out, e)
		}
	}
	return out
}

// Sentences.

func sayCriticalPort(h *host, port uint16) string {
	return label(h.byPort[port]) + " is reachable from the internet. Services rated critical hand control or data to whoever connects, " +
		"or are mass-exploited as soon as they are found: block the port at the firewall now, and if you need the service remotely, " +
		"reach it through a VPN or SSH tunnel."
}

func sayHighRiskPort(h *host, port uint16) string {
	return label(h.byPort[port]) + " is reachable from the internet. It is a sensitive service that should not be public, and exposed ones " +
		"face constant password guessing and exploit attempts: allow only specific IP addresses, or reach it through a VPN or SSH tunnel."
}

func sayCertificateExpired(h *host, port uint16) string {
	e := h.byPort[port]
	c := h.certificateOf(e.tls)
	when := "has expired"
	if !c.notAfter.IsZero() {
		when = "expired on " + day(c.notAfter)
		if c.daysLeft <= -1 {
			when += fmt.Sprintf(" (%s ago)", plural(-c.daysLeft, "day", "days"))
		}
	}
	return fmt.Sprintf("%s serves a certificate that %s, so browsers and API clients refuse to connect or show a warning. "+
		"Renew it now and automate renewal with ACME (Let's Encrypt, for example).", label(e), when)
}

func saySSHPasswordLogin(h *host, port uint16) string {
	e := h.byPort[port]
	var offered []string
	for _, m := range e.ssh.AuthMethods {
		if m == "password" || m == "keyboard-interactive" {
			offered = append(offered, m)
		}
	}
	if len(offered) == 0 {
		offered = []string{"password"}
	}
	// The check proved it is SSH, whatever the catalog expects on this port.
	return fmt.Sprintf("SSH on port %d accepts %s logins, which bots brute-force around the clock. "+
		"Allow key-based authentication only (PasswordAuthentication no and KbdInteractiveAuthentication no in sshd_config), "+
		"disable root login and, ideally, restrict the port to known IPs.", port, strings.Join(offered, " and "))
}

func sayCertificateUntrusted(h *host, port uint16) string {
	e := h.byPort[port]
	if e.tls.SelfSigned {
		return label(e) + " serves a self-signed certificate, so browsers warn and visitors cannot tell your server from an impostor. " +
			"Replace it with a certificate from a public CA (Let's Encrypt is free and renews automatically)."
	}
	why := ""
	if v := clean(e.tls.VerifyError, 160); v != "" {
		why = " (" + v + ")"
	}
	covers := ""
	if len(e.tls.SANs) > 0 {
		covers = " It lists " + listAnd(cleanAll(e.tls.SANs, 4, 80)) + "."
	}
	return fmt.Sprintf("%s serves a certificate that does not verify for the name scanned%s, so browsers warn and clients refuse to connect.%s "+
		"Install a certificate from a public CA that covers this name, and serve it with its intermediate certificates.", label(e), why, covers)
}

func sayLegacyTLS(h *host, port uint16) string {
	e := h.byPort[port]
	var versions []string
	if e.tls.Accepts10 {
		versions = append(versions, "TLS 1.0")
	}
	if e.tls.Accepts11 {
		versions = append(versions, "TLS 1.1")
	}
	return fmt.Sprintf("%s still accepts %s, deprecated since 2021 (RFC 8996) and open to downgrade attacks. "+
		"Set the minimum version to TLS 1.2 (in nginx, for example: ssl_protocols TLSv1.2 TLSv1.3;).", label(e), listAnd(versions))
}

func sayHTTPWithoutRedirect(h *host, port uint16) string {
	e := h.byPort[port]
	answer := "answers without redirecting to HTTPS"
	switch loc := clean(e.http.Location, 100); {
	case e.http.Status >= 300 && e.http.Status < 400 && loc != "":
		answer = fmt.Sprintf("redirects to %s (status %d) instead of to HTTPS", loc, e.http.Status)
	case e.http.Status > 0:
		answer = fmt.Sprintf("answers with status %d instead of redirecting to HTTPS", e.http.Status)
	}
	fix := "Redirect every request to https:// with a 301 and add HSTS on the HTTPS side."
	if !servesHTTPS(h) {
		fix = "No HTTPS port answered, so set up HTTPS first (Let's Encrypt is free), then redirect every request to it with a 301 and add HSTS."
	}
	subject := label(e)
	if e.known() && slices.Contains(probe.Plan(port), probe.CheckTLS) {
		subject = fmt.Sprintf("Port %d, where %s is expected, speaks plain HTTP and", port, e.entry.Name)
	}
	return fmt.Sprintf("%s %s, so pages and logins can be read and altered in transit. %s", subject, answer, fix)
}

// servesHTTPS reports whether any open port spoke TLS, or 443 is open and
// was not found to speak plain HTTP.
func servesHTTPS(h *host) bool {
	if e := h.byPort[443]; e != nil && e.http == nil {
		return true
	}
	for _, e := range h.open {
		if e.tls != nil {
			return true
		}
	}
	return false
}

func sayManyMediumPorts(h *host, _ uint16) string {
	medium := h.openWithRisk(ports.RiskMedium)
	names := make([]string, len(medium))
	for i, e := range medium {
		names[i] = fmt.Sprintf("%s on %d", serviceName(e), e.port)
	}
	return fmt.Sprintf("%d services that need hardening are open: %s. Each is another way in: close those you do not use "+
		"and restrict the rest to known IPs.", len(medium), listAnd(names))
}

func sayAllFiltered(h *host, _ uint16) string {
	all := fmt.Sprintf("All %d ports scanned are filtered", h.scanned)
	if h.scanned == 1 {
		all = "The 1 port scanned is filtered"
	}
	return all + ": the host looks down, or a firewall silently drops everything from the internet. " +
		"Nothing is exposed on these ports; if the host should be serving, check that it is up and that the firewall lets its public services through."
}

func sayNoOpenPorts(h *host, _ uint16) string {
	if h.scanned == 0 {
		return "Nothing reachable on the ports scanned: no ports were scanned."
	}
	return fmt.Sprintf("Nothing reachable on the %s scanned: every one is closed or filtered. "+
		"Scan again after firewall or deployment changes to keep it that way.", plural(h.scanned, "port", "ports"))
}

func sayCertificateExpiring(h *host, port uint16) string {
	e := h.byPort[port]
	c := h.certificateOf(e.tls)
	in := "in less than a day"
	if c.daysLeft >= 1 {
		in = "in " + plural(c.daysLeft, "day", "days")
	}
	if !c.notAfter.IsZero() {
		in += " (on " + day(c.notAfter) + ")"
	}
	return fmt.Sprintf("%s serves a certificate that expires %s. Check that automatic renewal works, or renew it now; "+
		"short-lived certificates that renew automatically are fine.", label(e), in)
}

// hstsEnabled reports whether a Strict-Transport-Security value turns HSTS
// on: a max-age directive above 0 (RFC 6797 §6.1.1; max-age=0 turns it off).
func hstsEnabled(value string) bool {
	for _, d := range strings.Split(value, ";") {
		name, v, _ := strings.Cut(strings.TrimSpace(d), "=")
		if strings.EqualFold(strings.TrimSpace(name), "max-age") {
			n, err := strconv.ParseUint(strings.Trim(strings.TrimSpace(v), `"`), 10, 64)
			return err == nil && n > 0
		}
	}
	return false
}

func sayHTTPSWithoutHSTS(h *host, port uint16) string {
	e := h.byPort[port]
	what := "sends no Strict-Transport-Security (HSTS) header"
	if v := e.tls.HTTPS.HSTS; v != "" {
		what = fmt.Sprintf("sends Strict-Transport-Security “%s”, which does not turn HSTS on (it needs a max-age above 0)", clean(v, 80))
	}
	return fmt.Sprintf("%s %s, so a visitor who types the name or follows an http:// link "+
		"can be kept on plain HTTP by someone on the path. Once every subdomain serves HTTPS, add it "+
		`(in nginx: add_header Strict-Transport-Security "max-age=63072000" always;).`, label(e), what)
}

func sayUnknownPort(h *host, port uint16) string {
	e := h.byPort[port]
	what := fmt.Sprintf("Port %d is open but not in the catalog", port)
	if e.greeting != "" {
		what = fmt.Sprintf("Port %d is open and greets like %q, a service the catalog does not rate", port, clean(e.greeting, 40))
	}
	return what + ", so it counts as low risk. Find out what listens there (ss -ltnp on Linux, netstat -abno on Windows) " +
		"and close it if you did not mean to publish it."
}

func sayCheckIncomplete(h *host, port uint16) string {
	e := h.byPort[port]
	var b strings.Builder
	for _, f := range e.failed {
		fmt.Fprintf(&b, "The %s on port %d could not complete: %s ", checkName(f.check), port, lowerFirst(sentence(clean(f.err, 200))))
	}
	b.WriteString("The grade leaves out what it would have found; scan again to include it.")
	return b.String()
}

func saySensitivePortsClosed(h *host, _ uint16) string {
	closed := sensitiveClosed(h)
	var names []string
	for _, e := range closed[:min(len(closed), 3)] {
		names = append(names, fmt.Sprintf("%s on %d", e.Name, e.Port))
	}
	var lead string
	switch {
	case len(closed) == 1:
		lead = fmt.Sprintf("%s on port %d, rated %s in the catalog, answers closed rather than filtered", closed[0].Name, closed[0].Port, closed[0].Risk)
	case len(closed) <= 3:
		lead = fmt.Sprintf("%d ports the catalog rates high or critical (%s) answer closed rather than filtered", len(closed), listAnd(names))
	default:
		lead = fmt.Sprintf("%d ports the catalog rates high or critical, such as %s, answer closed rather than filtered", len(closed), listAnd(names))
	}
	return lead + ": the reply confirms to scanners that the host is up. Nothing listens there, so the grade is unaffected; " +
		"a firewall that silently drops unsolicited traffic reveals less."
}

// Helpers for sentences.

// label names an open port's service at the start of a sentence.
func label(e *exposure) string {
	switch {
	case !e.known():
		return fmt.Sprintf("The service on port %d", e.port)
	case e.recognised:
		return fmt.Sprintf("%s (recognised from its greeting) on port %d", e.entry.Name, e.port)
	}
	return fmt.Sprintf("%s on port %d", e.entry.Name, e.port)
}

// serviceName names an open port's service inside a list.
func serviceName(e *exposure) string {
	if !e.known() {
		return "an unknown service"
	}
	return e.entry.Name
}

var checkNames = map[string]string{
	"tls":    "TLS check",
	"http":   "HTTP redirect check",
	"ssh":    "SSH check",
	"banner": "greeting check",
}

func checkName(check string) string {
	if n, ok := checkNames[check]; ok {
		return n
	}
	return clean(check, 20) + " check"
}

// day formats a date for people, in UTC: "2 January 2026".
func day(t time.Time) string { return t.UTC().Format("2 January 2006") }

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// listAnd joins items as "a", "a and b", "a, b and c".
func listAnd(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

// clean makes text that came from the probed host fit in a sentence: one
// line, printable, at most limit runes.
func clean(s string, limit int) string {
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }), " ")
	if r := []rune(s); len(r) > limit {
		s = strings.TrimSpace(string(r[:limit-1])) + "…"
	}
	return s
}

// cleanAll cleans up to n items and says how many more there were.
func cleanAll(items []string, n, limit int) []string {
	var out []string
	for _, s := range items[:min(len(items), n)] {
		out = append(out, clean(s, limit))
	}
	if len(items) > n {
		out = append(out, fmt.Sprintf("%d more", len(items)-n))
	}
	return out
}

// lowerFirst lower-cases a leading capital so s can follow a colon, but
// leaves acronyms ("TLS handshake …") alone.
func lowerFirst(s string) string {
	r := []rune(s)
	if len(r) > 1 && unicode.IsUpper(r[0]) && unicode.IsLower(r[1]) {
		r[0] = unicode.ToLower(r[0])
	}
	return string(r)
}

// sentence ends s with a full stop unless it already ends a sentence.
func sentence(s string) string {
	if s == "" {
		return "no reason given."
	}
	if strings.HasSuffix(s, ".") || strings.HasSuffix(s, "!") || strings.HasSuffix(s, "?") || strings.HasSuffix(s, "…") {
		return s
	}
	return s + "."
}
