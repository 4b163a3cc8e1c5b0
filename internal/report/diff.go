package report

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// Change is one port whose state (or reason) differs between two scans.
type Change struct {
	Port          uint16
	Before, After string // "state/reason", or "not scanned"
}

// Diff is what changed between a scan and the one it repeats: the
// firewall-verification view.
type Diff struct {
	Since        time.Time // when the earlier scan was made
	Changes      []Change  // by port
	NewProblems  []string  // findings that need attention now and did not before
	GoneProblems []string  // findings that needed attention before and no longer do
	GradeBefore  string
	GradeAfter   string
}

// Empty reports whether nothing changed.
func (d Diff) Empty() bool {
	return len(d.Changes) == 0 && len(d.NewProblems) == 0 && len(d.GoneProblems) == 0 && d.GradeBefore == d.GradeAfter
}

// Compare tells what changed from prev to cur.
func Compare(prev, cur Scan) Diff {
	d := Diff{Since: prev.CreatedAt}
	if prev.Grade != nil {
		d.GradeBefore = prev.Grade.Letter
	}
	if cur.Grade != nil {
		d.GradeAfter = cur.Grade.Letter
	}
	before := map[uint16]string{}
	for _, r := range prev.Ports {
		before[r.Port] = r.State + "/" + r.Reason
	}
	after := map[uint16]string{}
	for _, r := range cur.Ports {
		after[r.Port] = r.State + "/" + r.Reason
	}
	for port, a := range after {
		b, ok := before[port]
		if !ok {
			b = "not scanned"
		}
		if a != b {
			d.Changes = append(d.Changes, Change{Port: port, Before: b, After: a})
		}
	}
	for port, b := range before {
		if _, ok := after[port]; !ok {
			d.Changes = append(d.Changes, Change{Port: port, Before: b, After: "not scanned"})
		}
	}
	slices.SortFunc(d.Changes, func(x, y Change) int { return int(x.Port) - int(y.Port) })
	problems := func(s Scan) map[string]bool {
		m := map[string]bool{}
		for _, f := range s.Findings {
			title, lines, problem := Describe(f)
			if !problem {
				continue
			}
			m[strconv.Itoa(int(f.Port))+"/tcp "+title+": "+strings.Join(lines, " ")] = true
		}
		return m
	}
	was, is := problems(prev), problems(cur)
	for p := range is {
		if !was[p] {
			d.NewProblems = append(d.NewProblems, p)
		}
	}
	for p := range was {
		if !is[p] {
			d.GoneProblems = append(d.GoneProblems, p)
		}
	}
	slices.Sort(d.NewProblems)
	slices.Sort(d.GoneProblems)
	return d
}
