// Package ports owns the port catalog (service, category, exposure risk and a
// security note per TCP port), the named presets and the port-set syntax.
//
// It never touches the network. Its data is fixed at build time; every
// function that returns a slice returns a fresh copy, so callers may keep or
// modify what they get.
package ports

import (
	"fmt"
	"slices"
	"strings"
)

// CatalogVersion identifies the contents of the catalog. Bump it whenever the
// table in catalog.go changes, so stored scan reports can say which notes and
// risk levels they were rendered with.
const CatalogVersion = "2026.11.1"

// Risk is how dangerous it is for a port to be reachable from the internet.
// Levels are ordered, so they can be compared: RiskInfo < ... < RiskCritical.
// The zero value is deliberately not a valid level, so an entry that forgot
// its risk cannot silently pass as "info".
type Risk uint8

// Risk levels, lowest first. The rationale for each level is documented above
// the catalog table in catalog.go.
const (
	RiskInfo Risk = iota + 1
	RiskLow
	RiskMedium
	RiskHigh
	RiskCritical
)

var riskNames = [...]string{
	RiskInfo:     "info",
	RiskLow:      "low",
	RiskMedium:   "medium",
	RiskHigh:     "high",
	RiskCritical: "critical",
}

// Valid reports whether r is one of the declared levels.
func (r Risk) Valid() bool { return r >= RiskInfo && r <= RiskCritical }

// String returns the level's lower-case name ("info" ... "critical"), or
// "Risk(N)" for an invalid value.
func (r Risk) String() string {
	if !r.Valid() {
		return fmt.Sprintf("Risk(%d)", uint8(r))
	}
	return riskNames[r]
}

// MarshalText encodes the level as its name; invalid levels are an error so
// that garbage never reaches a report or an API response.
func (r Risk) MarshalText() ([]byte, error) {
	if !r.Valid() {
		return nil, fmt.Errorf("ports: cannot marshal invalid risk %d", uint8(r))
	}
	return []byte(riskNames[r]), nil
}

// UnmarshalText decodes a level name, ignoring case and surrounding spaces.
func (r *Risk) UnmarshalText(text []byte) error {
	name := strings.ToLower(strings.TrimSpace(string(text)))
	for level := RiskInfo; level <= RiskCritical; level++ {
		if riskNames[level] == name {
			*r = level
			return nil
		}
	}
	return fmt.Errorf("ports: unknown risk %q (want info, low, medium, high or critical)", text)
}

// Category groups services by what they do. Values are human-readable and
// lower-case except for acronyms ("VPN", "industrial/IoT"), so the UI can show
// them as they are.
type Category string

// Categories used by the catalog.
const (
	CategoryRemoteAccess   Category = "remote access"           // shells, desktops, out-of-band management
	CategoryDatabase       Category = "database"                // SQL and NoSQL data stores
	CategoryWeb            Category = "web"                     // HTTP(S) servers and application servers
	CategoryMail           Category = "mail"                    // SMTP, submission, IMAP, POP3, webmail
	CategoryFileSharing    Category = "file sharing"            // FTP, SMB, NFS, rsync, object and block storage
	CategoryDirectory      Category = "directory"               // LDAP, Kerberos, Active Directory, AAA
	CategoryMessaging      Category = "messaging"               // brokers, chat, news, IoT messaging
	CategoryCache          Category = "cache"                   // in-memory key-value stores
	CategoryContainer      Category = "container/orchestration" // Docker, Kubernetes, etcd, Nomad
	CategoryMonitoring     Category = "monitoring"              // metrics, logs, alerting, dashboards
	CategoryVPN            Category = "VPN"                     // VPN endpoints
	CategoryNameService    Category = "name service"            // DNS
	CategoryInfrastructure Category = "infrastructure"          // routing, RPC, device management plumbing
	CategoryPrinting       Category = "printing"                // LPD, IPP, raw printing
	CategoryIndustrial     Category = "industrial/IoT"          // PLCs, SCADA, building automation, cameras
	CategoryDevelopment    Category = "development"             // dev servers, debuggers, CI, notebooks
	CategoryAdminPanel     Category = "admin panel"             // hosting, NAS and device control panels
	CategoryProxy          Category = "proxy"                   // forward proxies
	CategoryVoiceVideo     Category = "voice/video"             // VoIP, conferencing, WebRTC relays
	CategoryBigData        Category = "big data"                // Hadoop, Spark
	CategorySearch         Category = "search"                  // search engines
	CategoryConfig         Category = "configuration/secrets"   // config management, service discovery, secrets
	CategoryMedia          Category = "media"                   // media servers
	CategoryGaming         Category = "gaming"                  // game servers
	CategoryCryptocurrency Category = "cryptocurrency"          // blockchain nodes
	CategoryLegacy         Category = "legacy"                  // obsolete inetd-era services
)

var categories = []Category{
	CategoryRemoteAccess, CategoryDatabase, CategoryWeb, CategoryMail,
	CategoryFileSharing, CategoryDirectory, CategoryMessaging, CategoryCache,
	CategoryContainer, CategoryMonitoring, CategoryVPN, CategoryNameService,
	CategoryInfrastructure, CategoryPrinting, CategoryIndustrial,
	CategoryDevelopment, CategoryAdminPanel, CategoryProxy, CategoryVoiceVideo,
	CategoryBigData, CategorySearch, CategoryConfig, CategoryMedia,
	CategoryGaming, CategoryCryptocurrency, CategoryLegacy,
}

// Categories returns every declared category, in declaration order.
func Categories() []Category { return slices.Clone(categories) }

// Valid reports whether c is one of the declared categories.
func (c Category) Valid() bool { return slices.Contains(categories, c) }

// Entry describes one TCP port: what usually listens there and what its
// exposure to the internet means.
type Entry struct {
	Port     uint16
	Service  string   // short lower-case service name: IANA's, or the common one where IANA's is obscure ("rdp", "smb")
	Name     string   // human name: "SSH", "Docker Engine API (plain HTTP)"
	Category Category // what kind of service it is
	Risk     Risk     // risk when the port is reachable from the internet
	Note     string   // 1-3 plain-text sentences: what it is, why exposure matters, what to do
}

// Lookup returns the catalog entry for port, if the catalog has one.
func Lookup(port uint16) (Entry, bool) {
	i, ok := slices.BinarySearchFunc(catalog, port, func(e Entry, p uint16) int {
		return int(e.Port) - int(p)
	})
	if !ok {
		return Entry{}, false
	}
	return catalog[i], true
}

// Catalog returns a copy of every entry, sorted by port.
func Catalog() []Entry { return slices.Clone(catalog) }
