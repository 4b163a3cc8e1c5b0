// Package templates owns Vantage's HTML: templ components (*.templ and their
// committed *_templ.go) and the plain view-model structs they render.
//
// Components see view models only, never engine, store or catalog types: the
// web layer converts. Nothing here writes inline scripts or style attributes,
// and nothing passes data through templ.Raw, so the pages work under a strict
// nonce-based Content-Security-Policy.
package templates

// Page is what the layout needs to know about the page it frames.
type Page struct {
	Title       string // the whole <title>; empty means the product's default title
	Description string // <meta name="description">; omitted when empty
	NoIndex     bool   // adds <meta name="robots" content="noindex"> (results pages)
	CSSPath     string // the stylesheet URL, e.g. static.Path("app.css"); omitted when empty
	IconPath    string // the SVG favicon URL, e.g. static.Path("favicon.svg"); omitted when empty
	ScriptPath  string // the optional enhancement script, loaded async; omitted when empty
	Current     string // the site navigation entry to mark as current: NavScan, NavPorts or ""
}

// Navigation entries the header can mark as the current page.
const (
	NavScan  = "scan"
	NavPorts = "ports"
)

// Form field names of the scan form, also the keys of HomeForm.Errors.
const (
	FieldHost    = "host"
	FieldPorts   = "ports"
	FieldCustom  = "custom"
	FieldConsent = "consent"
	// FieldForm keys a message about the submission as a whole (a rate
	// limit, a full queue): it appears in the error summary only.
	FieldForm = "form"
)

// Input limits the form announces with maxlength; the server enforces its own.
const (
	MaxHostLength = 2048 // internal/target refuses longer input
	MaxSpecLength = 4096 // ports.MaxSpecLen
)

// DefaultPreset is the port set selected when HomeForm.Ports is empty.
const DefaultPreset = "common"

// HomeForm is the state of the scan form: what the visitor typed (kept on a
// re-render), the choices offered and the errors to show.
type HomeForm struct {
	Host    string // the host as typed
	Ports   string // the selected preset's Value; DefaultPreset when empty
	Custom  string // custom port spec as typed, e.g. "22,80,443 or 8000-8100"
	Consent bool   // the authorisation box was ticked
	IPv6    bool   // "also scan IPv6": scan the name's IPv4 and IPv6 addresses side by side

	// Errors maps a field (FieldHost ... FieldForm) to a sentence for the
	// visitor. Any non-empty map renders the error summary.
	Errors map[string]string

	Presets []PresetOption // the port sets offered, in order

	// MaxCustomPorts, when > 0, is announced as the most ports a custom
	// list may select.
	MaxCustomPorts int

	// VisitorIP, when known, is shown on the "Scan my IP" button.
	VisitorIP string
}

// PresetOption is one choice of the port-set <select>.
type PresetOption struct {
	Value string // "quick", "common", "extended": sent as ports=VALUE
	Label string // "Quick", "Common", ...
	Count int    // how many ports it scans; shown when > 0
}

// RefRow is one row of the landing page's reference table.
type RefRow struct {
	Port     uint16
	Protocol string // "TCP", or "TCP/UDP" for DNS
	Service  string
	Note     string
}

// FAQItem is one question of the landing page's FAQ.
type FAQItem struct {
	ID       string // the fragment id, e.g. "faq-legal"
	Question string
	Answer   []string // paragraphs of plain text
}

// CatalogRow is one catalog entry on the /ports page.
type CatalogRow struct {
	Port     uint16
	Service  string // short service name, e.g. "ssh"
	Name     string // human name, e.g. "SSH"
	Category string
	Risk     string // "info", "low", "medium", "high" or "critical"
	Note     string
}
