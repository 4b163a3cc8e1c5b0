package templates

// ResultsHead is the top of a results page.
type ResultsHead struct {
	ID, Target, Host, IP string
	PortSpec             string
	PortCount            int
	Created              string // already formatted
	Status, StatusText   string
	Live                 bool // the scan was queued or running when the page loaded
	ShareURL             string
	Notice               string // e.g. why an earlier scan is shown
	Family               string // "IPv4" or "IPv6"
	// SiblingURL is the other family's scan of a dual-stack comparison
	// (SiblingFamily names it); "" for a single scan.
	SiblingURL, SiblingFamily string
	SiblingGone               bool // the other half was deleted
	// CancelAction, when set (a live scan, and this browser started it),
	// is where the "Stop this scan" button posts.
	CancelAction string
}

// RowView is one decided port on a results page.
type RowView struct {
	Port       uint16
	Service    string
	Name       string
	State      string // open, closed, filtered
	Reason     string // nmap's word: syn-ack, conn-refused, …
	ReasonText string // the reason in plain words
	RTT        string // formatted
	Risk       string // catalog risk if exposed; "" when the port is not in the catalog
	Note       string // the catalog's security note, for open ports
	Open       bool
}

// SummaryView is the end of a results page.
type SummaryView struct {
	Status, StatusText, Reason string
	Total, Open, Closed        int
	Filtered                   int
	Duration                   string
	Verdict                    string
	AllFiltered                bool
	OpenPorts                  []RowView    // sorted by port
	Grid                       []GridCell   // every port, sorted
	Final                      bool         // nothing more will come
	AgainURL                   string       // the form, filled in with this scan's host and ports
	Grade                      *GradeView   // nil when the scan did not finish
	ExportBase                 string       // "/scans/ID": + ".json", ".csv", ".xml"
	RescanAction               string       // POST here to scan the same target and ports again
	Pair                       bool         // half of an IPv4/IPv6 comparison: a rescan repeats both
	DeleteAction               string       // POST here to delete the result; "" when this browser did not start the scan
	Changes                    *ChangesView // for a rescan: what changed since the scan it repeats
}

// ChangesView is what changed since the scan a rescan repeats.
type ChangesView struct {
	Since        string // formatted date of the earlier scan
	SinceURL     string
	Rows         []ChangeRow
	NewProblems  []string
	GoneProblems []string
	GradeBefore  string
	GradeAfter   string
	Nothing      bool
}

// ChangeRow is one port whose state changed.
type ChangeRow struct {
	Port          uint16
	Before, After string
}

// GridCell is one port in the at-a-glance grid.
type GridCell struct {
	Port  uint16
	State string
}

// FindingView is one follow-up check, in sentences.
type FindingView struct {
	Port    uint16
	Check   string // tls, http, ssh, banner (for the id)
	Title   string // e.g. "TLS", "HTTP", "SSH", "greeting"
	Lines   []string
	Problem bool   // something here lowers the grade
	Err     string // the check could not complete
}

// GradeView is the exposure grade and its reasons.
type GradeView struct {
	Letter  string
	Reasons []GradeReason
}

// GradeReason is one reason for the grade.
type GradeReason struct {
	Port   uint16
	Text   string
	Effect string
}

// DualStackView sets a name's IPv4 scan beside its IPv6 scan.
type DualStackView struct {
	IPv4, IPv6       string // the addresses
	IPv4URL, IPv6URL string // each scan's page
	Differ           int    // ports whose state differs
	Compared         int    // ports both scans decided
	Rows             []DualRow
	// Notable are the rows that differ or are open on either family; the
	// others are told in a sentence (Alike, Undecided).
	Notable        []DualRow
	Alike          string // e.g. "The other 205 ports answer alike: 200 closed and 5 filtered on both."
	Undecided      int    // ports one of the scans never decided
	Open4, Open6   int
	Grade4, Grade6 string // "" when that scan has no grade
	Incomplete     string // why the comparison is partial (a scan failed, was cancelled or interrupted)
}

// DualRow is one port in both families.
type DualRow struct {
	Port                   uint16
	Service                string
	IPv4, IPv6             string // states; "" when undecided
	IPv4Reason, IPv6Reason string // in words
	Differs                bool
}
