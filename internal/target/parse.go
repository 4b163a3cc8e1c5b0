package target

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// Input is a normalised user input.
type Input struct {
	Raw     string     // as typed (trimmed)
	Host    string     // normalised: lower-case ASCII (IDNA), no trailing dot; for IPs the canonical IP string
	IP      netip.Addr // valid iff the input was an IP literal (possibly after IDNA mapping, e.g. full-width digits)
	URLPort uint16     // port given in a pasted URL or as host:port, 0 if none; the caller decides whether it becomes the port set
}

// maxInput bounds the work Parse does on one input; a host name is at most
// 253 characters, so this leaves ample room for a pasted URL's path.
const maxInput = 2048

// idnaProfile is the IDNA Lookup profile (UTS #46 mapping, STD3 rules,
// joiner and Bidi checks, punycode validation) without CheckHyphens, as in
// browsers: real names such as r3---sn-abc.googlevideo.com have "--" in
// positions 3-4. Hyphens at the ends of labels are refused by checkName.
var idnaProfile = idna.New(
	idna.MapForLookup(),
	idna.BidiRule(),
	idna.Transitional(false),
	idna.CheckHyphens(false),
)

// specialUse lists the names (and parents of names) that never exist on the
// public internet: RFC 6761/6762/7686/8375/9476 special-use names, the
// ICANN-reserved .internal, and suffixes that are common on LANs and will
// never be delegated (.lan, .localdomain, .home, .corp). Single-label names
// are refused separately.
var specialUse = []string{
	"localhost", "local", "internal", "home.arpa", "test", "invalid",
	"example", "onion", "alt", "lan", "localdomain", "home", "corp",
}

// Parse normalises what a person typed: a bare host, an IP literal (IPv6 with
// or without brackets), host:port, or a pasted URL. It applies no address
// policy; errors are *Error with Kind ErrInvalidInput.
func Parse(raw string) (Input, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return Input{}, newError(ErrInvalidInput, "type a host name or an IP address", fmt.Errorf("parse target: empty input"))
	}
	if len(s) > maxInput {
		return Input{}, invalid(s, "is too long; type only the host name or IP address")
	}
	if why := badRunes(s); why != "" {
		return Input{}, invalid(s, why)
	}
	auth, err := authority(s)
	if err != nil {
		return Input{}, err
	}
	host, port, err := splitHostPort(s, auth)
	if err != nil {
		return Input{}, err
	}
	in := Input{Raw: s, URLPort: port}
	if addr, err := netip.ParseAddr(host); err == nil {
		in.IP, in.Host = addr, addr.String()
		return in, nil
	}
	if strings.Contains(host, ":") {
		return Input{}, invalid(s, "is not a valid IPv6 address")
	}
	name, err := normaliseName(s, host)
	if err != nil {
		return Input{}, err
	}
	// IDNA maps full-width digits and dots (１２７．０．０．１), and a
	// trailing dot hides an IP (127.0.0.1.): both are IP literals.
	if addr, err := netip.ParseAddr(name); err == nil {
		in.IP, in.Host = addr, addr.String()
		return in, nil
	}
	if why := checkName(name); why != "" {
		return Input{}, invalid(s, why)
	}
	in.Host = name
	return in, nil
}

// invalid returns an ErrInvalidInput whose message starts with the user's
// own (quoted, capped) input.
func invalid(s, why string) *Error {
	return newError(ErrInvalidInput, quote(s)+" "+why, fmt.Errorf("parse target %s: %s", quote(s), why))
}

// badRunes reports why s cannot be a host or URL at all, or "".
func badRunes(s string) string {
	if !utf8.ValidString(s) {
		return "is not valid text (UTF-8)"
	}
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
			return "contains a space; type only the host name or IP address"
		case unicode.IsControl(r):
			return "contains a control character"
		case unicode.Is(unicode.Cf, r):
			return "contains an invisible formatting character"
		}
	}
	return ""
}

// authority returns the host[:port] part of s: after "scheme://" if there is
// one, and before any path, query or fragment.
func authority(s string) (string, error) {
	rest := s
	scheme, after, isURL := strings.Cut(s, "://")
	if isURL {
		if !validScheme(scheme) {
			return "", invalid(s, "is not a valid URL: the part before :// is not a scheme like https")
		}
		rest = after
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		if bits := rest[i+1:]; !isURL && rest[i] == '/' && len(bits) > 0 && len(bits) <= 3 && strings.Trim(bits, "0123456789") == "" {
			return "", invalid(s, "is a network range (CIDR); Vantage scans one address at a time")
		}
		rest = rest[:i]
	}
	if rest == "" {
		return "", invalid(s, "has no host; type a host name or an IP address")
	}
	if strings.Contains(rest, "@") {
		return "", invalid(s, "has a user name part (@); type only the host")
	}
	if strings.Contains(rest, "%") {
		if strings.Contains(rest, ":") {
			return "", invalid(s, "has an IPv6 zone (the part from %); Vantage scans only global addresses, so type the address without it")
		}
		return "", invalid(s, "contains percent-encoding (%); type the host name as plain text")
	}
	return rest, nil
}

// validScheme reports whether s is an RFC 3986 scheme.
func validScheme(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return true
}

// splitHostPort splits an authority into host and port. A bracketed host
// must be an IPv6 address; an unbracketed one with two or more colons is
// taken whole as IPv6.
func splitHostPort(s, auth string) (host string, port uint16, err error) {
	if strings.HasPrefix(auth, "[") {
		end := strings.IndexByte(auth, ']')
		if end < 0 {
			return "", 0, invalid(s, "has a [ without a matching ]")
		}
		host, rest := auth[1:end], auth[end+1:]
		if a, err := netip.ParseAddr(host); err != nil || !a.Is6() {
			return "", 0, invalid(s, "is not valid: brackets [ ] may only hold an IPv6 address")
		}
		if rest == "" {
			return host, 0, nil
		}
		if rest[0] != ':' {
			return "", 0, invalid(s, "has unexpected characters after ]")
		}
		port, err := parsePort(s, rest[1:])
		return host, port, err
	}
	switch strings.Count(auth, ":") {
	case 0:
		return auth, 0, nil
	case 1:
		host, p, _ := strings.Cut(auth, ":")
		if host == "" {
			return "", 0, invalid(s, "has no host; type a host name or an IP address")
		}
		port, err := parsePort(s, p)
		return host, port, err
	default:
		return auth, 0, nil
	}
}

// parsePort parses a decimal port; an empty one (host:) means none.
func parsePort(s, p string) (uint16, error) {
	if p == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(p, 10, 16)
	if err != nil || n == 0 || len(p) > 5 {
		return 0, invalid(s, "has an invalid port; a port is a number from 1 to 65535")
	}
	return uint16(n), nil
}

// normaliseName maps host through IDNA (if it is not plain ASCII),
// lower-cases it and strips one trailing dot.
func normaliseName(s, host string) (string, error) {
	name := host
	if !isASCII(name) {
		a, err := idnaProfile.ToASCII(name)
		if err != nil {
			why := "is not a valid international domain name"
			return "", newError(ErrInvalidInput, quote(s)+" "+why, fmt.Errorf("parse target %s: idna: %w", quote(s), err))
		}
		name = a
	}
	name = strings.ToLower(name)
	name = strings.TrimSuffix(name, ".")
	return name, nil
}

// checkName reports why the normalised name is not a public DNS host name,
// or "". It refuses every numeric spelling of an address (2130706433, 127.1,
// 0x7f.1, 0177.0.0.1) by requiring an alphabetic top-level label.
func checkName(name string) string {
	const notValid = "is not a valid host name: "
	if name == "" {
		return notValid + "it is empty"
	}
	if len(name) > 253 {
		return notValid + "it is longer than 253 characters"
	}
	labels := strings.Split(name, ".")
	for i, l := range labels {
		if why := checkLabel(l); why != "" {
			return fmt.Sprintf("%slabel %d %s", notValid, i+1, why)
		}
	}
	if numeric(labels) {
		return "is not a valid IP address or host name; write an IPv4 address as four decimal numbers from 0 to 255, without leading zeros"
	}
	if isSpecialUse(name) {
		return "is a special-use name that does not exist on the internet"
	}
	if len(labels) < 2 {
		return "is a single-label name, which does not exist on the internet; type a full name such as example.com"
	}
	if !alphabeticTLD(labels[len(labels)-1]) {
		return notValid + "the last label must be alphabetic, like com"
	}
	for i, l := range labels {
		if strings.HasPrefix(l, "xn--") {
			// ToASCII decodes and re-encodes: only canonical, valid punycode
			// comes back unchanged.
			if a, err := idnaProfile.ToASCII(l); err != nil || a != l {
				return fmt.Sprintf("%slabel %d is not valid punycode (xn--)", notValid, i+1)
			}
		}
	}
	return ""
}

// checkLabel reports why l is not an LDH label of 1-63 characters, or "".
func checkLabel(l string) string {
	if l == "" {
		return "is empty"
	}
	if len(l) > 63 {
		return "is longer than 63 characters"
	}
	for _, r := range l {
		if !isLDH(r) {
			return fmt.Sprintf("contains %q, which is not allowed; use letters, digits and hyphens", r)
		}
	}
	if l[0] == '-' {
		return "starts with a hyphen"
	}
	if l[len(l)-1] == '-' {
		return "ends with a hyphen"
	}
	return ""
}

func isLDH(r rune) bool {
	return 'a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '-'
}

// numeric reports whether every label is a decimal, octal or hex number:
// the spellings inet_aton and getaddrinfo accept as an address.
func numeric(labels []string) bool {
	for _, l := range labels {
		digits := l
		if h, ok := strings.CutPrefix(l, "0x"); ok {
			digits = h
		}
		for _, r := range digits {
			if !('0' <= r && r <= '9' || l != digits && 'a' <= r && r <= 'f') {
				return false
			}
		}
	}
	return true
}

// alphabeticTLD reports whether the top-level label is letters only, or an
// internationalised (xn--) label.
func alphabeticTLD(l string) bool {
	if strings.HasPrefix(l, "xn--") {
		return len(l) > len("xn--")
	}
	for _, r := range l {
		if r < 'a' || r > 'z' {
			return false
		}
	}
	return l != ""
}

func isSpecialUse(name string) bool {
	for _, s := range specialUse {
		if name == s || strings.HasSuffix(name, "."+s) {
			return true
		}
	}
	return false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
