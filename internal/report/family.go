package report

import (
	"slices"

	"github.com/vantagescan/vantage/internal/ports"
)

// FamilyRow is one port of a dual-stack comparison. A state is "" when
// that family's scan has not decided the port (yet).
type FamilyRow struct {
	Port                   uint16
	Service                string
	IPv4, IPv6             string // states
	IPv4Reason, IPv6Reason string
	Differs                bool // both decided, in different states
}

// FamilyDiff sets a name's IPv4 scan beside its IPv6 scan: the same ports,
// and which answer differently, the dual-stack host's classic surprise (a
// firewall written for IPv4 only).
type FamilyDiff struct {
	Rows       []FamilyRow // every port either scan decided, by port
	Differ     int         // rows that differ
	IPv4, IPv6 Counts
}

// CompareFamilies sets v4 beside v6.
func CompareFamilies(v4, v6 Scan) FamilyDiff {
	var d FamilyDiff
	rows := map[uint16]*FamilyRow{}
	row := func(p uint16) *FamilyRow {
		r := rows[p]
		if r == nil {
			r = &FamilyRow{Port: p, Service: "unknown"}
			if e, ok := ports.Lookup(p); ok {
				r.Service = e.Service
			}
			rows[p] = r
		}
		return r
	}
	for _, p := range v4.Ports {
		r := row(p.Port)
		r.IPv4, r.IPv4Reason = p.State, p.Reason
		d.IPv4.add(p.State)
	}
	for _, p := range v6.Ports {
		r := row(p.Port)
		r.IPv6, r.IPv6Reason = p.State, p.Reason
		d.IPv6.add(p.State)
	}
	for _, r := range rows {
		r.Differs = r.IPv4 != "" && r.IPv6 != "" && r.IPv4 != r.IPv6
		if r.Differs {
			d.Differ++
		}
		d.Rows = append(d.Rows, *r)
	}
	slices.SortFunc(d.Rows, func(a, b FamilyRow) int { return int(a.Port) - int(b.Port) })
	return d
}

func (c *Counts) add(state string) {
	switch state {
	case "open":
		c.Open++
	case "closed":
		c.Closed++
	case "filtered":
		c.Filtered++
	}
}

// DualStack is the JSON form of a comparison, in both scans' documents.
type DualStack struct {
	IPv4Scan    string           `json:"ipv4_scan"`
	IPv6Scan    string           `json:"ipv6_scan"`
	IPv4        string           `json:"ipv4"`
	IPv6        string           `json:"ipv6"`
	Complete    bool             `json:"complete"` // both scans are final
	IPv4Counts  Counts           `json:"ipv4_counts"`
	IPv6Counts  Counts           `json:"ipv6_counts"`
	Differences []FamilyMismatch `json:"differences"` // ports whose state differs, by port
}

// FamilyMismatch is one port that answers differently over the two families.
type FamilyMismatch struct {
	Port       uint16 `json:"port"`
	Service    string `json:"service"`
	IPv4       string `json:"ipv4"`
	IPv4Reason string `json:"ipv4_reason"`
	IPv6       string `json:"ipv6"`
	IPv6Reason string `json:"ipv6_reason"`
}

// NewDualStack builds the JSON comparison of a pair (in either order).
func NewDualStack(a, b Scan) DualStack {
	v4, v6 := a, b
	if a.IP.Is6() && !a.IP.Is4In6() {
		v4, v6 = b, a
	}
	diff := CompareFamilies(v4, v6)
	ds := DualStack{
		IPv4Scan: v4.ID, IPv6Scan: v6.ID, IPv4: v4.IP.String(), IPv6: v6.IP.String(),
		Complete:   final(v4.Status) && final(v6.Status),
		IPv4Counts: diff.IPv4, IPv6Counts: diff.IPv6, Differences: []FamilyMismatch{},
	}
	for _, r := range diff.Rows {
		if r.Differs {
			ds.Differences = append(ds.Differences, FamilyMismatch{Port: r.Port, Service: r.Service,
				IPv4: r.IPv4, IPv4Reason: r.IPv4Reason, IPv6: r.IPv6, IPv6Reason: r.IPv6Reason})
		}
	}
	return ds
}

// final mirrors store.Status.Final for the status string exports carry.
func final(status string) bool { return status != "queued" && status != "running" }
