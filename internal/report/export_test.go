package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vantagescan/vantage/internal/probe"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func sampleScan(id string, mysql string) Scan {
	start := time.Date(2026, 11, 29, 6, 0, 0, 0, time.UTC)
	return Scan{
		ID: id, Target: "https://Example.com/", Host: "example.com", IP: netip.MustParseAddr("93.184.216.34"),
		PortSpec: "22,80,443,3306", Status: "done", CreatedAt: start, StartedAt: start.Add(time.Second), FinishedAt: start.Add(3 * time.Second),
		Ports: []PortRow{
			{Port: 443, State: "open", Reason: "syn-ack", RTT: 31200 * time.Microsecond, Attempts: 1},
			{Port: 22, State: "open", Reason: "syn-ack", RTT: 30100 * time.Microsecond, Attempts: 1},
			{Port: 3306, State: mysql, Reason: map[string]string{"open": "syn-ack", "filtered": "no-response"}[mysql], RTT: 250 * time.Millisecond, Attempts: 2},
			{Port: 80, State: "closed", Reason: "conn-refused", RTT: 30 * time.Millisecond, Attempts: 1},
		},
		Findings: []probe.Finding{{Port: 22, Check: "ssh", SSH: &probe.SSHInfo{Banner: "SSH-2.0-OpenSSH_9.6", AuthMethods: []string{"publickey"}}}},
		Grade:    &Grade{Letter: "A"},
		SRTT:     30 * time.Millisecond, RTTVar: 2 * time.Millisecond, Timeout: 250 * time.Millisecond,
		Version: "test",
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update once)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n%s", name, got)
	}
}

func TestCSVGolden(t *testing.T) {
	var b bytes.Buffer
	if err := WriteCSV(&b, sampleScan("SCAN1", "filtered")); err != nil {
		t.Fatal(err)
	}
	golden(t, "scan.csv", b.Bytes())
}

func TestNmapXMLGolden(t *testing.T) {
	var b bytes.Buffer
	if err := WriteNmapXML(&b, sampleScan("SCAN1", "filtered")); err != nil {
		t.Fatal(err)
	}
	golden(t, "scan.xml", b.Bytes())
}

func TestJSONDocument(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSON(&b, sampleScan("SCAN1", "filtered")); err != nil {
		t.Fatal(err)
	}
	var d Document
	if err := json.Unmarshal(b.Bytes(), &d); err != nil {
		t.Fatal(err)
	}
	if d.Counts != (Counts{Open: 2, Closed: 1, Filtered: 1}) || len(d.Ports) != 4 || d.Ports[0].Port != 22 || d.Ports[0].Note == "" || d.Ports[1].Note != "" {
		t.Errorf("document %+v", d)
	}
	if d.Grade == nil || d.Grade.Letter != "A" || len(d.Findings) != 1 || d.StartedAt == nil {
		t.Errorf("document %+v", d)
	}
}

// requireTool finds an external tool, which CI installs (VANTAGE_XMLTOOLS=1
// makes its absence a failure).
func requireTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("VANTAGE_XMLTOOLS") == "1" {
			t.Fatalf("VANTAGE_XMLTOOLS=1 but %s is missing", name)
		}
		t.Skipf("no %s", name)
	}
	return path
}

// TestNmapXMLValidates checks the export against nmap's own DTD and has
// Debian's ndiff compare two exports, as an auditor's tools would.
func TestNmapXMLValidates(t *testing.T) {
	xmllint := requireTool(t, "xmllint")
	const dtd = "/usr/share/nmap/nmap.dtd"
	if _, err := os.Stat(dtd); err != nil {
		if os.Getenv("VANTAGE_XMLTOOLS") == "1" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	dir := t.TempDir()
	write := func(name string, s Scan) string {
		var b bytes.Buffer
		if err := WriteNmapXML(&b, s); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	before := write("before.xml", sampleScan("SCAN1", "filtered"))
	after := write("after.xml", sampleScan("SCAN2", "open"))
	v6 := sampleScan("SCAN3", "open")
	v6.IP = netip.MustParseAddr("2606:2800:220:1::1")
	for _, f := range []string{before, after, write("v6.xml", v6)} {
		out, err := exec.Command(xmllint, "--noout", "--dtdvalid", dtd, f).CombinedOutput()
		if err != nil {
			t.Errorf("xmllint --dtdvalid %s: %v\n%s", filepath.Base(f), err, out)
		}
	}
	ndiff := requireTool(t, "ndiff")
	out, _ := exec.Command(ndiff, before, after).CombinedOutput() // exit 1 means "different"
	text := string(out)
	t.Logf("ndiff before.xml after.xml:\n%s", text)
	if !strings.Contains(text, "3306") || !strings.Contains(text, "open") {
		t.Errorf("ndiff did not see 3306 change from filtered to open:\n%s", text)
	}
}
