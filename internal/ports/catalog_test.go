package ports

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

const maxNoteLen = 240

func TestCatalogInvariants(t *testing.T) {
	entries := Catalog()
	if len(entries) < 150 {
		t.Fatalf("catalog has %d entries, want at least 150", len(entries))
	}
	for i, e := range entries {
		if i > 0 && e.Port <= entries[i-1].Port {
			t.Errorf("entry %d (port %d) is not after port %d: the table must be sorted with unique ports", i, e.Port, entries[i-1].Port)
		}
		if e.Port == 0 {
			t.Errorf("entry %d has port 0", i)
		}
		if e.Service == "" || e.Service != strings.ToLower(e.Service) || strings.ContainsAny(e.Service, " \t") {
			t.Errorf("port %d: service %q must be non-empty, lower-case, without spaces", e.Port, e.Service)
		}
		if strings.TrimSpace(e.Name) == "" {
			t.Errorf("port %d: empty name", e.Port)
		}
		if !e.Category.Valid() {
			t.Errorf("port %d: category %q is not a declared constant", e.Port, e.Category)
		}
		if !e.Risk.Valid() {
			t.Errorf("port %d: invalid risk %d", e.Port, e.Risk)
		}
		checkNote(t, e)
	}
}

func checkNote(t *testing.T, e Entry) {
	t.Helper()
	note := e.Note
	switch {
	case strings.TrimSpace(note) != note || note == "":
		t.Errorf("port %d: note is empty or has surrounding space: %q", e.Port, note)
	case len(note) > maxNoteLen:
		t.Errorf("port %d: note is %d bytes, limit %d", e.Port, len(note), maxNoteLen)
	case !utf8.ValidString(note):
		t.Errorf("port %d: note is not valid UTF-8", e.Port)
	case strings.ContainsAny(note, "<>\n"):
		t.Errorf("port %d: note must be plain single-line text: %q", e.Port, note)
	case !strings.HasSuffix(note, ".") && !strings.HasSuffix(note, ".)"):
		t.Errorf("port %d: note should end with a full stop: %q", e.Port, note)
	}
}

// TestCatalogReferencePorts pins the brief's "Technical Reference" table: the
// service names and the advice each note must carry.
func TestCatalogReferencePorts(t *testing.T) {
	tests := []struct {
		port     uint16
		service  string
		keywords []string
		minRisk  Risk
	}{
		{21, "ftp", []string{"plaintext", "SFTP"}, RiskMedium},
		{22, "ssh", []string{"known IPs", "key-based", "root login", "fail2ban"}, RiskMedium},
		{25, "smtp", []string{"mail servers", "relay", "spam"}, RiskMedium},
		{53, "dns", []string{"authoritative", "recursi"}, RiskMedium},
		{80, "http", []string{"redirect", "HTTPS", "plain HTTP"}, RiskLow},
		{443, "https", []string{"certificate", "cipher suites"}, RiskLow},
		{3306, "mysql", []string{"publicly accessible", "VPN", "SSH tunnel", "localhost"}, RiskHigh},
		{3389, "rdp", []string{"brute-forced", "specific IPs", "VPN gateway"}, RiskHigh},
		{5432, "postgresql", []string{"publicly accessible", "localhost", "VPN"}, RiskHigh},
		{8080, "http-alt", []string{"dev server", "prox", "Close it"}, RiskMedium},
		{27017, "mongodb", []string{"by default", "firewalled"}, RiskHigh},
	}
	for _, tt := range tests {
		t.Run(tt.service, func(t *testing.T) {
			e, ok := Lookup(tt.port)
			if !ok {
				t.Fatalf("port %d missing from the catalog", tt.port)
			}
			if e.Service != tt.service {
				t.Errorf("service = %q, want %q", e.Service, tt.service)
			}
			for _, kw := range tt.keywords {
				if !strings.Contains(e.Note, kw) {
					t.Errorf("note lacks %q: %s", kw, e.Note)
				}
			}
			if e.Risk < tt.minRisk {
				t.Errorf("risk = %v, want at least %v", e.Risk, tt.minRisk)
			}
		})
	}
}

func TestCatalogRiskLevels(t *testing.T) {
	tests := []struct {
		name string
		port uint16
		want Risk // the minimum acceptable level
	}{
		{"telnet", 23, RiskCritical},
		{"smb", 445, RiskCritical},
		{"netbios-ssn", 139, RiskCritical},
		{"mssql", 1433, RiskHigh},
		{"oracle", 1521, RiskHigh},
		{"docker", 2375, RiskCritical},
		{"docker tls", 2376, RiskHigh},
		{"etcd", 2379, RiskCritical},
		{"mysql", 3306, RiskHigh},
		{"rdp", 3389, RiskHigh},
		{"postgresql", 5432, RiskHigh},
		{"vnc", 5900, RiskHigh},
		{"winrm", 5985, RiskHigh},
		{"redis", 6379, RiskCritical},
		{"elasticsearch", 9200, RiskCritical},
		{"chrome devtools", 9222, RiskCritical},
		{"node inspector", 9229, RiskCritical},
		{"jdwp", 5005, RiskCritical},
		{"kubelet", 10250, RiskCritical},
		{"memcached", 11211, RiskCritical},
		{"mongodb", 27017, RiskHigh},
		{"ldap", 389, RiskHigh},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, ok := Lookup(tt.port)
			if !ok {
				t.Fatalf("port %d missing from the catalog", tt.port)
			}
			if e.Risk < tt.want {
				t.Errorf("port %d risk = %v, want at least %v", tt.port, e.Risk, tt.want)
			}
		})
	}
	if e, _ := Lookup(2375); e.Risk != RiskCritical {
		t.Errorf("Docker 2375 must be critical, got %v", e.Risk)
	}
}

// TestCatalogCoverage lists ports the catalog promises to know about, so an
// accidental deletion fails loudly.
func TestCatalogCoverage(t *testing.T) {
	want := []uint16{
		23, 110, 111, 135, 137, 138, 139, 143, 389, 445, 465, 502, 515, 587, 631, 636, 873,
		993, 995, 1080, 1099, 1194, 1433, 1521, 1723, 1883, 2049, 2082, 2083, 2086, 2087,
		2181, 2375, 2376, 2379, 2380, 3000, 3128, 3260, 4369, 4646, 4786, 5000, 5001,
		5005, 5060, 5061, 5601, 5672, 5900, 5901, 5902, 5903, 5984, 5985, 5986, 6000, 6379,
		6443, 7077, 7474, 7687, 8000, 8009, 8086, 8088, 8118, 8123, 8200, 8291, 8443,
		8500, 8529, 8728, 8729, 8880, 8883, 8888, 8983, 9000, 9001, 9042, 9090, 9092,
		9100, 9200, 9222, 9229, 9300, 9418, 9443, 9870, 10000, 10250, 10255, 11211,
		15672, 20000, 25565, 27018, 27019, 28015, 50070,
	}
	for _, p := range want {
		if _, ok := Lookup(p); !ok {
			t.Errorf("port %d missing from the catalog", p)
		}
	}
}

func TestCatalogCategoriesDeclared(t *testing.T) {
	used := map[Category]bool{}
	for _, e := range Catalog() {
		used[e.Category] = true
	}
	for c := range used {
		if !slices.Contains(Categories(), c) {
			t.Errorf("category %q is used but not declared", c)
		}
	}
	for _, c := range Categories() {
		if !used[c] {
			t.Errorf("category %q is declared but unused", c)
		}
		if c == "" || strings.TrimSpace(string(c)) != string(c) {
			t.Errorf("category %q is blank or padded", c)
		}
	}
}

func TestLookup(t *testing.T) {
	tests := []struct {
		name    string
		port    uint16
		ok      bool
		service string
	}{
		{"first entry", Catalog()[0].Port, true, Catalog()[0].Service},
		{"last entry", Catalog()[len(Catalog())-1].Port, true, Catalog()[len(Catalog())-1].Service},
		{"ssh", 22, true, "ssh"},
		{"docker", 2375, true, "docker"},
		{"zero", 0, false, ""},
		{"unlisted", 1, false, ""},
		{"max", 65535, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, ok := Lookup(tt.port)
			if ok != tt.ok || e.Service != tt.service {
				t.Errorf("Lookup(%d) = %q, %v; want %q, %v", tt.port, e.Service, ok, tt.service, tt.ok)
			}
			if ok && e.Port != tt.port {
				t.Errorf("Lookup(%d) returned port %d", tt.port, e.Port)
			}
		})
	}
}

func TestCatalogReturnsCopy(t *testing.T) {
	c := Catalog()
	c[0].Note = "changed"
	if Catalog()[0].Note == "changed" {
		t.Fatal("Catalog() exposes the package's table")
	}
}

func TestRiskText(t *testing.T) {
	levels := []Risk{RiskInfo, RiskLow, RiskMedium, RiskHigh, RiskCritical}
	names := []string{"info", "low", "medium", "high", "critical"}
	for i, r := range levels {
		t.Run(names[i], func(t *testing.T) {
			if i > 0 && !(levels[i-1] < r) {
				t.Errorf("%v is not above %v", r, levels[i-1])
			}
			if r.String() != names[i] {
				t.Errorf("String() = %q, want %q", r.String(), names[i])
			}
			text, err := r.MarshalText()
			if err != nil || string(text) != names[i] {
				t.Fatalf("MarshalText() = %q, %v", text, err)
			}
			var back Risk
			if err := back.UnmarshalText([]byte(" " + strings.ToUpper(names[i]) + " ")); err != nil || back != r {
				t.Errorf("UnmarshalText(%q) = %v, %v; want %v", names[i], back, err, r)
			}
		})
	}
	t.Run("invalid", func(t *testing.T) {
		for _, r := range []Risk{0, RiskCritical + 1} {
			if r.Valid() {
				t.Errorf("Risk(%d).Valid() = true", r)
			}
			if _, err := r.MarshalText(); err == nil {
				t.Errorf("Risk(%d).MarshalText() succeeded", r)
			}
			if got := r.String(); !strings.HasPrefix(got, "Risk(") {
				t.Errorf("Risk(%d).String() = %q", r, got)
			}
		}
		var r Risk
		if err := r.UnmarshalText([]byte("severe")); err == nil {
			t.Error(`UnmarshalText("severe") succeeded`)
		}
	})
	t.Run("json", func(t *testing.T) {
		e, _ := Lookup(2375)
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), `"Risk":"critical"`) {
			t.Errorf("JSON lacks the risk name: %s", b)
		}
		var back Entry
		if err := json.Unmarshal(b, &back); err != nil || back != e {
			t.Errorf("JSON round trip = %+v, %v; want %+v", back, err, e)
		}
	})
}
