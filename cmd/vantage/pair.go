package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/vantagescan/vantage/internal/report"
)

// pairReport is `vantage scan --both`: a name's IPv4 and IPv6 addresses
// scanned with the same ports, and the ports that answer differently.
type pairReport struct {
	IPv4, IPv6 scanReport
}

// compared sets the two scans side by side (report.CompareFamilies, as the
// web service does).
func (p pairReport) compared() report.DualStack {
	return report.NewDualStack(p.IPv4.reportScan("ipv4"), p.IPv6.reportScan("ipv6"))
}

// reportScan is the scan as internal/report reads it.
func (r scanReport) reportScan(id string) report.Scan {
	s := report.Scan{ID: id, Host: r.Target, IP: r.Addr, Status: "done", Grade: r.Grade, Findings: r.Findings}
	for _, p := range r.Results {
		s.Ports = append(s.Ports, report.PortRow{Port: p.Port, State: p.State.String(), Reason: p.Reason.String(), RTT: p.RTT, Attempts: p.Attempts})
	}
	return s
}

type jsonPair struct {
	Target      string                  `json:"target"`
	IPv4        jsonReport              `json:"ipv4"`
	IPv6        jsonReport              `json:"ipv6"`
	Differences []report.FamilyMismatch `json:"differences"`
}

func (p pairReport) writeJSON(w io.Writer) error {
	return writeLine(w, jsonPair{Target: p.IPv4.Target, IPv4: p.IPv4.document(), IPv6: p.IPv6.document(), Differences: p.compared().Differences})
}

func (p pairReport) writeTable(w io.Writer, all bool) error {
	for _, r := range []scanReport{p.IPv4, p.IPv6} {
		if err := r.writeTable(w, all); err != nil {
			return err
		}
		fmt.Fprintln(w)
	}
	ds := p.compared()
	fmt.Fprintf(w, "IPv4 (%s) and IPv6 (%s) side by side: ", ds.IPv4, ds.IPv6)
	switch n := len(ds.Differences); n {
	case 0:
		fmt.Fprintln(w, "every port answers the same.")
		return nil
	default:
		fmt.Fprintf(w, "%s differently.\n\n", plural(n, "port answers", "ports answer"))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PORT\tIPv4\tIPv6\tSERVICE")
	for _, d := range ds.Differences {
		fmt.Fprintf(tw, "%d/tcp\t%s (%s)\t%s (%s)\t%s\n", d.Port, d.IPv4, d.IPv4Reason, d.IPv6, d.IPv6Reason, d.Service)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nA firewall often covers one family only (iptables without ip6tables, a security group without its IPv6 rules): check the rules for both.")
	return nil
}
