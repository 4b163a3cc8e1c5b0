package report

import (
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/vantagescan/vantage/internal/ports"
	"github.com/vantagescan/vantage/internal/probe"
)

// Scan is everything an export needs about one scan, independent of where
// it is stored.
type Scan struct {
	ID         string
	Target     string // as typed
	Host       string
	IP         netip.Addr
	PortSpec   string
	Status     string
	Reason     string
	CreatedAt  time.Time
	StartedAt  time.Time
	FinishedAt time.Time
	Ports      []PortRow // any order; exports sort by port
	Findings   []probe.Finding
	Grade      *Grade
	// Timing, as the engine reported it.
	SRTT, RTTVar, Timeout time.Duration
	Version               string // Vantage's version
	// SiblingID names the other family's scan of a dual-stack comparison;
	// Sibling is that scan when it could be loaded (its own Sibling unset).
	SiblingID string
	Sibling   *Scan
}

// PortRow is one decided port.
type PortRow struct {
	Port     uint16
	State    string
	Reason   string
	RTT      time.Duration
	Attempts int
}

func (s Scan) sorted() []PortRow {
	rows := slices.Clone(s.Ports)
	slices.SortFunc(rows, func(a, b PortRow) int { return int(a.Port) - int(b.Port) })
	return rows
}

// Document is the JSON form of a scan (the export and the API share it).
type Document struct {
	ID             string          `json:"id"`
	Target         string          `json:"target"`
	Host           string          `json:"host"`
	IP             string          `json:"ip"`
	Family         string          `json:"family"` // "ipv4" or "ipv6"
	PortSpec       string          `json:"port_spec"`
	Status         string          `json:"status"`
	Reason         string          `json:"reason,omitempty"`
	CreatedAt      time.Time       `json:"created_at"`
	StartedAt      *time.Time      `json:"started_at,omitempty"`
	FinishedAt     *time.Time      `json:"finished_at,omitempty"`
	Counts         Counts          `json:"counts"`
	Ports          []DocumentPort  `json:"ports"`
	Findings       []probe.Finding `json:"findings,omitempty"`
	Grade          *Grade          `json:"grade,omitempty"`
	CatalogVersion string          `json:"catalog_version"`
	Version        string          `json:"vantage_version"`
	// SiblingID is the other family's scan of a dual-stack comparison, and
	// DualStack the comparison (while the sibling exists).
	SiblingID string     `json:"sibling_id,omitempty"`
	DualStack *DualStack `json:"dual_stack,omitempty"`
}

// Counts are the ports per state.
type Counts struct {
	Open     int `json:"open"`
	Closed   int `json:"closed"`
	Filtered int `json:"filtered"`
}

// DocumentPort is one port in the JSON document.
type DocumentPort struct {
	Port     uint16  `json:"port"`
	State    string  `json:"state"`
	Reason   string  `json:"reason"`
	RTTms    float64 `json:"rtt_ms"`
	Attempts int     `json:"attempts"`
	Service  string  `json:"service"`
	Risk     string  `json:"risk,omitempty"`
	Note     string  `json:"note,omitempty"` // the catalog's note, for open ports
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// NewDocument builds the JSON document of a scan.
func NewDocument(s Scan) Document {
	d := Document{
		ID: s.ID, Target: s.Target, Host: s.Host, IP: s.IP.String(), PortSpec: s.PortSpec,
		Status: s.Status, Reason: s.Reason, CreatedAt: s.CreatedAt.UTC(),
		StartedAt: timePtr(s.StartedAt), FinishedAt: timePtr(s.FinishedAt),
		Ports: []DocumentPort{}, Findings: s.Findings, Grade: s.Grade,
		CatalogVersion: ports.CatalogVersion, Version: s.Version, Family: "ipv4", SiblingID: s.SiblingID,
	}
	if s.IP.Is6() && !s.IP.Is4In6() {
		d.Family = "ipv6"
	}
	if s.Sibling != nil {
		ds := NewDualStack(s, *s.Sibling)
		d.DualStack = &ds
	}
	for _, r := range s.sorted() {
		p := DocumentPort{Port: r.Port, State: r.State, Reason: r.Reason, RTTms: float64(r.RTT.Microseconds()) / 1000, Attempts: r.Attempts, Service: "unknown"}
		if e, ok := ports.Lookup(r.Port); ok {
			p.Service, p.Risk = e.Service, e.Risk.String()
			if r.State == "open" {
				p.Note = e.Note
			}
		}
		switch r.State {
		case "open":
			d.Counts.Open++
		case "closed":
			d.Counts.Closed++
		case "filtered":
			d.Counts.Filtered++
		}
		d.Ports = append(d.Ports, p)
	}
	return d
}

// WriteJSON writes the document, indented (exports are for people too).
func WriteJSON(w io.Writer, s Scan) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(NewDocument(s))
}

// WriteCSV writes one row per port, sorted by port.
func WriteCSV(w io.Writer, s Scan) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"port", "protocol", "state", "reason", "rtt_ms", "attempts", "service", "risk"})
	for _, p := range NewDocument(s).Ports {
		_ = cw.Write([]string{
			strconv.Itoa(int(p.Port)), "tcp", p.State, p.Reason,
			strconv.FormatFloat(p.RTTms, 'f', 3, 64), strconv.Itoa(p.Attempts), p.Service, p.Risk,
		})
	}
	cw.Flush()
	return cw.Error()
}

// nmap's XML output format (nmap.dtd, xmloutputversion 1.05), so existing
// tools (ndiff, report generators) read Vantage's results.
type nmapRun struct {
	XMLName          xml.Name     `xml:"nmaprun"`
	Scanner          string       `xml:"scanner,attr"`
	Args             string       `xml:"args,attr"`
	Start            int64        `xml:"start,attr"`
	StartStr         string       `xml:"startstr,attr"`
	Version          string       `xml:"version,attr"`
	XMLOutputVersion string       `xml:"xmloutputversion,attr"`
	ScanInfo         nmapScanInfo `xml:"scaninfo"`
	Verbose          nmapLevel    `xml:"verbose"`
	Debugging        nmapLevel    `xml:"debugging"`
	Host             nmapHost     `xml:"host"`
	RunStats         nmapRunStats `xml:"runstats"`
}

type nmapScanInfo struct {
	Type        string `xml:"type,attr"`
	Protocol    string `xml:"protocol,attr"`
	NumServices int    `xml:"numservices,attr"`
	Services    string `xml:"services,attr"`
}

type nmapLevel struct {
	Level int `xml:"level,attr"`
}

type nmapHost struct {
	StartTime int64         `xml:"starttime,attr"`
	EndTime   int64         `xml:"endtime,attr"`
	Status    nmapStatus    `xml:"status"`
	Address   nmapAddress   `xml:"address"`
	Hostnames nmapHostnames `xml:"hostnames"`
	Ports     nmapPorts     `xml:"ports"`
	Times     nmapTimes     `xml:"times"`
}

type nmapStatus struct {
	State     string `xml:"state,attr"`
	Reason    string `xml:"reason,attr"`
	ReasonTTL string `xml:"reason_ttl,attr"`
}

type nmapAddress struct {
	Addr     string `xml:"addr,attr"`
	AddrType string `xml:"addrtype,attr"`
}

type nmapHostnames struct {
	Hostname []nmapHostname `xml:"hostname"`
}

type nmapHostname struct {
	Name string `xml:"name,attr"`
	Type string `xml:"type,attr"`
}

type nmapPorts struct {
	Port []nmapPort `xml:"port"`
}

type nmapPort struct {
	Protocol string      `xml:"protocol,attr"`
	PortID   uint16      `xml:"portid,attr"`
	State    nmapStatus  `xml:"state"`
	Service  nmapService `xml:"service"`
}

type nmapService struct {
	Name   string `xml:"name,attr"`
	Method string `xml:"method,attr"`
	Conf   int    `xml:"conf,attr"`
}

type nmapTimes struct {
	SRTT   int64 `xml:"srtt,attr"`
	RTTVar int64 `xml:"rttvar,attr"`
	To     int64 `xml:"to,attr"`
}

type nmapRunStats struct {
	Finished nmapFinished `xml:"finished"`
	Hosts    nmapHosts    `xml:"hosts"`
}

type nmapFinished struct {
	Time    int64  `xml:"time,attr"`
	TimeStr string `xml:"timestr,attr"`
	Elapsed string `xml:"elapsed,attr"`
	Summary string `xml:"summary,attr"`
	Exit    string `xml:"exit,attr"`
}

type nmapHosts struct {
	Up    int `xml:"up,attr"`
	Down  int `xml:"down,attr"`
	Total int `xml:"total,attr"`
}

// WriteNmapXML writes the scan in nmap's XML output format. The DTD allows
// only "nmap" as the scanner; the args and a comment say it was Vantage.
func WriteNmapXML(w io.Writer, s Scan) error {
	start, end := s.StartedAt, s.FinishedAt
	if start.IsZero() {
		start = s.CreatedAt
	}
	if end.IsZero() {
		end = start
	}
	addrType := "ipv4"
	if s.IP.Is6() {
		addrType = "ipv6"
	}
	run := nmapRun{
		Scanner: "nmap", Args: "vantage scan --ports " + s.PortSpec + " " + s.Host,
		Start: start.Unix(), StartStr: start.UTC().Format(time.ANSIC),
		Version: "vantage-" + s.Version, XMLOutputVersion: "1.05",
		Verbose: nmapLevel{0}, Debugging: nmapLevel{0},
		Host: nmapHost{
			StartTime: start.Unix(), EndTime: end.Unix(),
			Status:  nmapStatus{State: "up", Reason: "user-set", ReasonTTL: "0"},
			Address: nmapAddress{Addr: s.IP.String(), AddrType: addrType},
			Times:   nmapTimes{SRTT: s.SRTT.Microseconds(), RTTVar: s.RTTVar.Microseconds(), To: s.Timeout.Microseconds()},
		},
	}
	if s.Host != s.IP.String() {
		run.Host.Hostnames.Hostname = []nmapHostname{{Name: s.Host, Type: "user"}}
	}
	rows := s.sorted()
	var list []uint16
	for _, r := range rows {
		list = append(list, r.Port)
		service := "unknown"
		if e, ok := ports.Lookup(r.Port); ok {
			service = e.Service
		}
		run.Host.Ports.Port = append(run.Host.Ports.Port, nmapPort{
			Protocol: "tcp", PortID: r.Port,
			State:   nmapStatus{State: r.State, Reason: r.Reason, ReasonTTL: "0"},
			Service: nmapService{Name: service, Method: "table", Conf: 3},
		})
	}
	run.ScanInfo = nmapScanInfo{Type: "connect", Protocol: "tcp", NumServices: len(list), Services: ports.Format(list)}
	elapsed := end.Sub(start).Seconds()
	run.RunStats = nmapRunStats{
		Finished: nmapFinished{Time: end.Unix(), TimeStr: end.UTC().Format(time.ANSIC), Elapsed: strconv.FormatFloat(elapsed, 'f', 2, 64),
			Summary: fmt.Sprintf("Vantage done at %s; 1 IP address (1 host up) scanned in %.2f seconds", end.UTC().Format(time.ANSIC), elapsed), Exit: "success"},
		Hosts: nmapHosts{Up: 1, Total: 1},
	}
	if _, err := io.WriteString(w, xml.Header+"<!DOCTYPE nmaprun>\n<!-- Vantage "+xmlComment(s.Version)+" scan "+xmlComment(s.ID)+", in nmap's XML format -->\n"); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", " ")
	if err := enc.Encode(run); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// xmlComment keeps text from ending a comment early.
func xmlComment(s string) string {
	out := []rune{}
	for _, r := range s {
		if r == '-' || r == '<' || r == '>' {
			r = '_'
		}
		out = append(out, r)
	}
	return string(out)
}
