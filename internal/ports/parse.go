package ports

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxSpecLen caps the length of a port-set spec in bytes. Longer input is
// refused before any parsing, so a hostile form post costs nothing.
const MaxSpecLen = 4096

// maxTokenInError caps how much of a bad token an error message repeats.
const maxTokenInError = 40

// ParseError explains why a port-set spec was refused.
type ParseError struct {
	Spec   string // the spec as given
	Token  string // the offending comma-separated entry, trimmed; empty when the problem is the spec as a whole
	Reason string // why, as a sentence the user can act on
}

// Error reads `invalid port set: "abc": not a port number; ...`, or
// `invalid port set: <reason>` when no single entry is to blame. Long tokens
// are shortened so the message stays readable.
func (e *ParseError) Error() string {
	if e.Token == "" {
		return "invalid port set: " + e.Reason
	}
	return fmt.Sprintf("invalid port set: %q: %s", shorten(e.Token, maxTokenInError), e.Reason)
}

// Parse reads a port-set spec: comma-separated entries, each a port ("443"),
// an inclusive range ("8000-8100") or a preset ("preset:common"), with
// optional whitespace around entries, e.g. "preset:quick, 8080, 9000-9010".
// Duplicates and overlaps are folded; the result is sorted ascending and
// unique. maxPorts caps how many ports the spec may select; maxPorts <= 0
// means no cap (65535). Every error is a *ParseError.
func Parse(spec string, maxPorts int) ([]uint16, error) {
	fail := func(token, reason string) error {
		return &ParseError{Spec: spec, Token: token, Reason: reason}
	}
	if len(spec) > MaxSpecLen {
		return nil, fail("", fmt.Sprintf("the port set is %d bytes long; the limit is %d", len(spec), MaxSpecLen))
	}
	if strings.TrimSpace(spec) == "" {
		return nil, fail("", "the port set is empty; enter ports such as 22,80,443, a range such as 8000-8100, or preset:common")
	}
	limit := maxPorts
	if limit <= 0 || limit > 65535 {
		limit = 65535
	}

	var set portSet
	applied := map[string]bool{} // each preset is merged once, however often it is named
	for i, raw := range strings.Split(spec, ",") {
		token := strings.TrimSpace(raw)
		if token == "" {
			return nil, fail("", fmt.Sprintf("entry %d is empty; remove the extra comma", i+1))
		}
		if reason := set.addToken(token, applied); reason != "" {
			return nil, fail(token, reason)
		}
	}
	n := set.count()
	if n > limit {
		return nil, fail("", fmt.Sprintf("the port set selects %d ports; the limit is %d", n, limit))
	}
	return set.sorted(n), nil
}

// addToken merges one trimmed, non-empty entry into s. It returns "" on
// success, otherwise the reason the entry is invalid.
func (s *portSet) addToken(token string, applied map[string]bool) string {
	const prefix = "preset:"
	if len(token) >= len(prefix) && strings.EqualFold(token[:len(prefix)], prefix) {
		name := strings.ToLower(strings.TrimSpace(token[len(prefix):]))
		if name == "" {
			return "missing preset name; known presets are " + presetNames()
		}
		p, ok := presetByName(name)
		if !ok {
			return fmt.Sprintf("unknown preset %q; known presets are %s", shorten(name, maxTokenInError), presetNames())
		}
		if !applied[p.Name] {
			applied[p.Name] = true
			for _, port := range p.Ports {
				s.add(port)
			}
		}
		return ""
	}

	dash := strings.IndexByte(token, '-')
	if dash < 0 {
		port, reason := parsePort(token)
		if reason != "" {
			return reason
		}
		s.add(port)
		return ""
	}
	if dash == 0 {
		return signReason
	}
	loText, hiText := strings.TrimSpace(token[:dash]), strings.TrimSpace(token[dash+1:])
	if hiText == "" {
		return "the range has no end; write both ends, e.g. 8000-8100"
	}
	if hiText[0] == '+' || hiText[0] == '-' {
		return signReason
	}
	if strings.Contains(hiText, "-") {
		return "a range is two ports joined by one dash, e.g. 8000-8100"
	}
	lo, reason := parsePort(loText)
	if reason != "" {
		return fmt.Sprintf("range start %q: %s", shorten(loText, maxTokenInError), reason)
	}
	hi, reason := parsePort(hiText)
	if reason != "" {
		return fmt.Sprintf("range end %q: %s", shorten(hiText, maxTokenInError), reason)
	}
	if lo > hi {
		return fmt.Sprintf("the range starts at %d but ends at %d; write it low to high, as %d-%d", lo, hi, hi, lo)
	}
	s.addRange(lo, hi)
	return ""
}

const signReason = "ports are plain numbers without a sign; write a range as start-end, e.g. 1-100"

// parsePort reads one decimal port number in 1..65535. Leading zeros are
// tolerated ("080" is 80); signs, spaces and anything else are not.
func parsePort(text string) (uint16, string) {
	if text == "" {
		return 0, "missing port number"
	}
	if text[0] == '+' || text[0] == '-' {
		return 0, signReason
	}
	for i := 0; i < len(text); i++ {
		if text[i] < '0' || text[i] > '9' {
			return 0, notANumberReason(text)
		}
	}
	digits := strings.TrimLeft(text, "0")
	if digits == "" {
		return 0, "port 0 is reserved; ports run from 1 to 65535"
	}
	if len(digits) > 5 {
		return 0, "out of range; ports run from 1 to 65535"
	}
	n, err := strconv.Atoi(digits)
	if err != nil || n > 65535 {
		return 0, "out of range; ports run from 1 to 65535"
	}
	return uint16(n), ""
}

// notANumberReason tailors the hint to the likeliest mistake.
func notANumberReason(text string) string {
	if strings.IndexFunc(text, unicode.IsSpace) >= 0 {
		return "not a port number; separate ports with commas, e.g. 22,80,443"
	}
	if p, ok := presetByName(text); ok {
		return fmt.Sprintf("not a port number; did you mean preset:%s?", p.Name)
	}
	return "not a port number; use ports such as 443, ranges such as 8000-8100, or preset:common"
}

// Format writes ports in the syntax Parse accepts, folding runs of three or
// more consecutive ports into ranges: "22,80,443,8000-8100". The input need
// not be sorted or unique; port 0 is skipped. For any result r of Parse,
// Parse(Format(r), 0) returns r again, as long as the text fits MaxSpecLen.
func Format(ports []uint16) string {
	var set portSet
	for _, p := range ports {
		if p != 0 {
			set.add(p)
		}
	}
	sorted := set.sorted(set.count())

	var b strings.Builder
	for i := 0; i < len(sorted); {
		j := i
		for j+1 < len(sorted) && sorted[j+1] == sorted[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		if j-i+1 >= 3 {
			fmt.Fprintf(&b, "%d-%d", sorted[i], sorted[j])
			i = j + 1
			continue
		}
		b.WriteString(strconv.Itoa(int(sorted[i])))
		i++
	}
	return b.String()
}

// portSet is a bitmap of all 65536 port numbers (8 KiB), which makes folding
// duplicates and overlapping ranges free and keeps the output sorted.
type portSet [65536 / 64]uint64

func (s *portSet) add(p uint16) { s[p>>6] |= 1 << (p & 63) }

// addRange sets lo..hi inclusive, a whole word at a time where it can.
func (s *portSet) addRange(lo, hi uint16) {
	for p := int(lo); p <= int(hi); {
		if p&63 == 0 && p+63 <= int(hi) {
			s[p>>6] = ^uint64(0)
			p += 64
			continue
		}
		s[p>>6] |= 1 << (p & 63)
		p++
	}
}

func (s *portSet) count() int {
	n := 0
	for _, w := range s {
		n += bits.OnesCount64(w)
	}
	return n
}

// sorted lists the set's ports in ascending order; n is a capacity hint.
func (s *portSet) sorted(n int) []uint16 {
	out := make([]uint16, 0, n)
	for i, w := range s {
		for w != 0 {
			out = append(out, uint16(i<<6|bits.TrailingZeros64(w)))
			w &= w - 1
		}
	}
	return out
}

// shorten cuts s to at most n bytes on a rune boundary, marking the cut.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
