package report

import (
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vantagescan/vantage/internal/ports"
	"github.com/vantagescan/vantage/internal/probe"
)

// host is everything the rules look at, gathered once per Compute.
type host struct {
	now      time.Time
	scanned  int         // distinct ports in the scan
	filtered int         // of which filtered
	open     []*exposure // sorted by port
	byPort   map[uint16]*exposure
	closed   []uint16 // sorted
}

// exposure is one open port and what the probes learnt about it.
type exposure struct {
	port  uint16
	entry ports.Entry // what the catalog says listens here; Name "" when unknown
	// recognised is set when entry comes from the service's greeting rather
	// than from the port number (Redis answering on 16379, say).
	recognised bool
	greeting   string // the banner's protocol guess when the catalog has no such service

	tls    *probe.TLSInfo
	http   *probe.HTTPInfo
	ssh    *probe.SSHInfo
	banner *probe.BannerInfo
	failed []failedCheck // sorted by check
}

type failedCheck struct{ check, err string }

// known reports whether the catalog, by port or by greeting, knows the service.
func (e *exposure) known() bool { return e.entry.Name != "" }

// survey merges the scan rows and attaches the findings to the open ports.
func survey(rows []Port, findings []probe.Finding, now time.Time) *host {
	state := make(map[uint16]string, len(rows))
	for _, r := range rows {
		if state[r.Port] != stateOpen { // open wins over a contradictory row
			state[r.Port] = r.State
		}
	}

	h := &host{now: now, scanned: len(state), byPort: make(map[uint16]*exposure)}
	for _, port := range slices.Sorted(maps.Keys(state)) {
		switch state[port] {
		case stateOpen:
			e := &exposure{port: port}
			h.open = append(h.open, e)
			h.byPort[port] = e
		case stateClosed:
			h.closed = append(h.closed, port)
		case stateFiltered:
			h.filtered++
		}
	}

	for _, f := range findings {
		if e := h.byPort[f.Port]; e != nil {
			e.attach(f)
		}
	}
	for _, e := range h.open {
		e.identify()
		// A check that also succeeded (a retry, say) did not fail.
		e.failed = slices.DeleteFunc(e.failed, func(c failedCheck) bool { return e.learnt(c.check) })
		slices.SortFunc(e.failed, func(a, b failedCheck) int { return strings.Compare(a.check, b.check) })
	}
	return h
}

// attach records one finding; the first successful finding of a kind wins.
func (e *exposure) attach(f probe.Finding) {
	if f.Err != "" {
		if !slices.ContainsFunc(e.failed, func(c failedCheck) bool { return c.check == f.Check }) {
			e.failed = append(e.failed, failedCheck{f.Check, f.Err})
		}
		return
	}
	if e.tls == nil {
		e.tls = f.TLS
	}
	if e.http == nil {
		e.http = f.HTTP
	}
	if e.ssh == nil {
		e.ssh = f.SSH
	}
	if e.banner == nil {
		e.banner = f.Banner
	}
}

// learnt reports whether a successful finding of check is attached.
func (e *exposure) learnt(check string) bool {
	switch check {
	case "tls":
		return e.tls != nil
	case "http":
		return e.http != nil
	case "ssh":
		return e.ssh != nil
	case "banner":
		return e.banner != nil
	}
	return false
}

// identify picks the catalog entry that describes the port. The port number
// decides, except that a service recognised from its greeting (or the SSH
// check) wins when the catalog does not know the port, or when that service
// is rated high or critical and riskier than the port's own entry (MySQL or
// Redis on an odd port). Greetings never lower a port's risk, and low or
// medium protocols do not override the port: SMTP on 587 is mail
// submission, not a misplaced port 25.
func (e *exposure) identify() {
	entry, inCatalog := ports.Lookup(e.port)
	if inCatalog {
		e.entry = entry
	} else {
		e.entry = ports.Entry{Port: e.port, Risk: ports.RiskLow}
	}

	protocol := ""
	switch {
	case e.ssh != nil:
		protocol = "ssh"
	case e.banner != nil:
		protocol = strings.ToLower(strings.TrimSpace(e.banner.Protocol))
	}
	if protocol == "" {
		return
	}
	byGreeting, ok := serviceEntry(protocol)
	switch {
	case !ok:
		if !inCatalog {
			e.greeting = protocol
		}
	case !inCatalog, byGreeting.Risk >= ports.RiskHigh && byGreeting.Risk > entry.Risk:
		e.entry = byGreeting
		e.entry.Port = e.port
		e.recognised = true
	}
}

// protocolAliases maps greeting guesses to catalog service names where the
// two spellings differ.
var protocolAliases = map[string]string{
	"postgres":  "postgresql",
	"mongo":     "mongodb",
	"memcached": "memcache",
	"rfb":       "vnc",
	"mssql":     "ms-sql-s",
}

// services indexes the catalog by service name; the lowest port wins.
var services = sync.OnceValue(func() map[string]ports.Entry {
	index := make(map[string]ports.Entry)
	for _, e := range ports.Catalog() {
		if _, dup := index[e.Service]; !dup {
			index[e.Service] = e
		}
	}
	return index
})

// serviceEntry finds the catalog entry for a protocol the probes recognised.
func serviceEntry(protocol string) (ports.Entry, bool) {
	if alias, ok := protocolAliases[protocol]; ok {
		protocol = alias
	}
	e, ok := services()[protocol]
	return e, ok
}

// openWithRisk lists the open ports whose service has exactly risk r.
func (h *host) openWithRisk(r ports.Risk) []*exposure {
	var out []*exposure
	for _, e := range h.open {
		if e.entry.Risk == r {
			out = append(out, e)
		}
	}
	return out
}

// certificate is a TLS certificate's expiry, judged at the grading time.
type certificate struct {
	expired  bool
	daysLeft int // whole days until expiry, negative whole days since
	left     time.Duration
	notAfter time.Time // zero when the probe did not report it
}

// certificateOf judges expiry against h.now when the probe reported
// NotAfter, falling back to the probe's own verdict otherwise.
func (h *host) certificateOf(t *probe.TLSInfo) certificate {
	if t.NotAfter.IsZero() || h.now.IsZero() {
		return certificate{expired: t.Expired, daysLeft: t.DaysLeft, left: time.Duration(t.DaysLeft) * 24 * time.Hour}
	}
	left := t.NotAfter.Sub(h.now)
	return certificate{
		expired:  t.Expired || left <= 0,
		daysLeft: int(left / (24 * time.Hour)),
		left:     left,
		notAfter: t.NotAfter,
	}
}
