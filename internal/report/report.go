// Package report turns a finished scan into the risk grade people read
// first: a letter from A to F and the reasons behind it, each naming the
// port it is about so the page can link to that port's catalog note.
//
// The grade comes from one table of rules (rules.go). Every rule has a
// stable name, a predicate, an effect and a sentence for people:
//
//   - "caps the grade at F" or "caps the grade at D": the grade can be no
//     better than that letter;
//   - "lowers the grade by one letter": the rule costs one letter, once,
//     however many ports it fires on (each port still gets its own reason);
//   - "note": worth saying, but it does not change the grade.
//
// Computing the grade: start at A, go down one letter per lowering rule that
// fired, but never below D on lowerings alone (an F always means something
// attackers take over is exposed), then apply the strictest cap.
//
// The package only reads what the scan and the probes found. It never
// touches the network, and it never trusts a probe finding about a port the
// scan did not report open.
package report

import (
	"cmp"
	"slices"
	"time"

	"github.com/vantagescan/vantage/internal/probe"
)

// Port is one row of a scan result.
type Port struct {
	Port  uint16
	State string // "open", "closed" or "filtered", as the scan engine spells them
}

// Port states, as internal/scan spells them.
const (
	stateOpen     = "open"
	stateClosed   = "closed"
	stateFiltered = "filtered"
)

// Reason is one rule that fired, about one port or about the whole host.
type Reason struct {
	Rule   string `json:"rule"`           // the rule's stable name, e.g. "critical-port-open"
	Port   uint16 `json:"port,omitempty"` // the port the reason is about; 0 when it is about the host
	Effect string `json:"effect"`         // "caps the grade at F", "lowers the grade by one letter", "note", …
	Text   string `json:"text"`           // one or two plain-text sentences for people: what, why, what to do
}

// Grade is the letter and every reason that shaped it, strongest first.
type Grade struct {
	Letter  string   `json:"letter"` // "A", "B", "C", "D" or "F"
	Reasons []Reason `json:"reasons"`
}

// RuleInfo describes one rule for the "how is the grade computed" page.
type RuleInfo struct {
	Name        string
	Effect      string
	Description string
}

// Method is how the rules combine, in one paragraph for the FAQ next to
// Rules.
const Method = "Every host starts at A. Each rule that lowers the grade costs one letter, once, however many ports it finds; " +
	"lowerings alone stop at D, because an F is kept for services attackers take over outright. " +
	"Then the strictest cap applies: an open port rated critical caps the grade at F, a high-risk port or an expired certificate at D. " +
	"Notes explain the result but never change it."

// letters are the grades, best first; there is no E.
var letters = [...]string{"A", "B", "C", "D", "F"}

// Indexes into letters.
const (
	gradeA = 0
	gradeD = 3
	gradeF = 4
)

// effect is what a rule does to the grade when it fires.
type effect uint8

// Effects, strongest first: the order reasons are listed in.
const (
	capAtF effect = iota + 1
	capAtD
	lowerOne
	note
)

// String is the effect as Reason.Effect and RuleInfo.Effect spell it.
func (e effect) String() string {
	switch e {
	case capAtF:
		return "caps the grade at F"
	case capAtD:
		return "caps the grade at D"
	case lowerOne:
		return "lowers the grade by one letter"
	case note:
		return "note"
	}
	return "unknown effect"
}

// Compute grades a host from its scan rows, the probe findings about its open
// ports and the time to judge certificate expiry against.
//
// Rows for the same port are merged (open wins); findings about ports that
// are not open in ports are ignored. Reasons are ordered caps at F, caps at
// D, lowerings, then notes; within an effect by rule table order, then by
// port. The result does not depend on the order of ports or findings, except
// that when the probes report the same check on the same port twice, the
// first success (or, failing that, the first failure) counts.
func Compute(ports []Port, findings []probe.Finding, now time.Time) Grade {
	h := survey(ports, findings, now)

	var reasons []Reason
	lowerings, floor := 0, gradeA
	// Visiting rules strongest effect first, and hits sorted by port, gives
	// the reasons their order.
	byImpact := slices.SortedStableFunc(slices.Values(rules), func(a, b rule) int { return cmp.Compare(a.effect, b.effect) })
	for _, r := range byImpact {
		hits := r.match(h)
		if len(hits) == 0 {
			continue
		}
		switch r.effect {
		case capAtF:
			floor = max(floor, gradeF)
		case capAtD:
			floor = max(floor, gradeD)
		case lowerOne:
			lowerings++
		}
		for _, port := range hits {
			reasons = append(reasons, Reason{
				Rule:   r.name,
				Port:   port,
				Effect: r.effect.String(),
				Text:   r.say(h, port),
			})
		}
	}

	grade := max(min(gradeA+lowerings, gradeD), floor)
	return Grade{Letter: letters[grade], Reasons: reasons}
}

// Rules lists every rule in table order, for the FAQ.
func Rules() []RuleInfo {
	infos := make([]RuleInfo, len(rules))
	for i, r := range rules {
		infos[i] = RuleInfo{Name: r.name, Effect: r.effect.String(), Description: r.about}
	}
	return infos
}
