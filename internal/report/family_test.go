package report

import (
	"encoding/json"
	"net/netip"
	"slices"
	"testing"
)

func TestCompareFamilies(t *testing.T) {
	v4 := Scan{ID: "FOUR", IP: netip.MustParseAddr("192.0.2.10"), Status: "done", Ports: []PortRow{
		{Port: 443, State: "open", Reason: "syn-ack"},
		{Port: 22, State: "filtered", Reason: "no-response"},
		{Port: 3306, State: "closed", Reason: "conn-refused"},
		{Port: 80, State: "filtered", Reason: "no-response"},
		{Port: 8080, State: "open", Reason: "syn-ack"}, // IPv6 has not decided it yet
	}}
	v6 := Scan{ID: "SIX", IP: netip.MustParseAddr("2001:db8::10"), Status: "running", Ports: []PortRow{
		{Port: 22, State: "open", Reason: "syn-ack"},              // differs: the IPv4 firewall drops SSH, IPv6 has none
		{Port: 443, State: "open", Reason: "syn-ack"},             // same
		{Port: 3306, State: "filtered", Reason: "no-response"},    // differs
		{Port: 80, State: "filtered", Reason: "admin-prohibited"}, // same state, other reason: not a difference
	}}
	d := CompareFamilies(v4, v6)
	type row struct {
		port       uint16
		ipv4, ipv6 string
		differs    bool
	}
	var got []row
	for _, r := range d.Rows {
		got = append(got, row{r.Port, r.IPv4, r.IPv6, r.Differs})
	}
	want := []row{
		{22, "filtered", "open", true},
		{80, "filtered", "filtered", false},
		{443, "open", "open", false},
		{3306, "closed", "filtered", true},
		{8080, "open", "", false},
	}
	if !slices.Equal(got, want) {
		t.Errorf("rows\n got %v\nwant %v", got, want)
	}
	if d.Differ != 2 || d.IPv4 != (Counts{Open: 2, Closed: 1, Filtered: 2}) || d.IPv6 != (Counts{Open: 2, Filtered: 2}) {
		t.Errorf("differ %d, counts %+v %+v", d.Differ, d.IPv4, d.IPv6)
	}
	if d.Rows[0].Service != "ssh" || d.Rows[3].Service != "mysql" {
		t.Errorf("services: %q %q", d.Rows[0].Service, d.Rows[3].Service)
	}

	// The document of either scan carries the same comparison, IPv4 first,
	// and is incomplete while one scan runs.
	a, b := v4, v6
	a.SiblingID, a.Sibling = "SIX", &v6
	b.SiblingID, b.Sibling = "FOUR", &v4
	da, db := NewDocument(a), NewDocument(b)
	if da.Family != "ipv4" || db.Family != "ipv6" || da.SiblingID != "SIX" || db.SiblingID != "FOUR" {
		t.Errorf("families %q %q, siblings %q %q", da.Family, db.Family, da.SiblingID, db.SiblingID)
	}
	ja, _ := json.Marshal(da.DualStack)
	jb, _ := json.Marshal(db.DualStack)
	if string(ja) != string(jb) {
		t.Errorf("the two documents disagree:\n%s\n%s", ja, jb)
	}
	ds := da.DualStack
	if ds.IPv4Scan != "FOUR" || ds.IPv6Scan != "SIX" || ds.IPv4 != "192.0.2.10" || ds.IPv6 != "2001:db8::10" || ds.Complete {
		t.Errorf("dual stack %s", ja)
	}
	if len(ds.Differences) != 2 || ds.Differences[0] != (FamilyMismatch{Port: 22, Service: "ssh", IPv4: "filtered", IPv4Reason: "no-response", IPv6: "open", IPv6Reason: "syn-ack"}) {
		t.Errorf("differences %+v", ds.Differences)
	}
	b.Status = "done"
	a.Sibling = &b
	if !NewDocument(a).DualStack.Complete {
		t.Error("both done, comparison not complete")
	}
	// A single scan has neither a sibling nor a comparison; its differences
	// list is never null when there is one.
	if d := NewDocument(v4); d.SiblingID != "" || d.DualStack != nil {
		t.Errorf("single scan: %+v", d)
	}
	same := NewDualStack(v4, v4)
	if same.Differences == nil {
		t.Error("no differences should be [], not null")
	}
}
