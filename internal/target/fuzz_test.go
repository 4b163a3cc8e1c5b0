package target

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// FuzzParse: Parse never panics, refuses only with ErrInvalidInput, and
// whatever it accepts is a canonical IP literal or a public-looking LDH host
// name, checked here independently of parse.go, that parses back to itself.
func FuzzParse(f *testing.F) {
	for _, c := range table {
		if c.stage != control {
			f.Add(c.in)
		}
	}
	f.Fuzz(func(t *testing.T, raw string) {
		in, err := Parse(raw)
		if err != nil {
			var te *Error
			if !errors.As(err, &te) || !errors.Is(err, ErrInvalidInput) || te.Msg == "" {
				t.Fatalf("Parse(%q) error %#v is not an ErrInvalidInput *Error", raw, err)
			}
			if in != (Input{}) {
				t.Fatalf("Parse(%q) = %+v along with an error", raw, in)
			}
			return
		}
		if in.Raw != strings.TrimSpace(raw) {
			t.Fatalf("Raw = %q, want the trimmed input", in.Raw)
		}
		if in.IP.IsValid() {
			if in.IP.Zone() != "" || in.Host != in.IP.String() {
				t.Fatalf("Parse(%q) = %+v: IP with zone, or Host is not IP.String()", raw, in)
			}
		} else if why := fuzzHostProblem(in.Host); why != "" {
			t.Fatalf("Parse(%q) accepted host %q: %s", raw, in.Host, why)
		}
		again, err := Parse(in.Host)
		if err != nil || again.Host != in.Host || again.IP != in.IP || again.URLPort != 0 {
			t.Fatalf("Parse(%q) = %+v, but Parse(%q) = %+v, %v", raw, in, in.Host, again, err)
		}
	})
}

// fuzzHostProblem is an independent statement of what an accepted host
// name must be: lower-case LDH labels, 2 or more, an alphabetic (or IDN)
// top-level label, at most 253 characters, not special-use, not an IP.
func fuzzHostProblem(h string) string {
	if len(h) == 0 || len(h) > 253 {
		return "length"
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return "an IP literal classified as a name"
	}
	labels := strings.Split(h, ".")
	if len(labels) < 2 {
		return "fewer than 2 labels"
	}
	for _, l := range labels {
		if len(l) < 1 || len(l) > 63 {
			return "label length"
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return "label starts or ends with a hyphen"
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return "non-LDH character"
			}
		}
	}
	tld := labels[len(labels)-1]
	if !strings.HasPrefix(tld, "xn--") {
		for i := 0; i < len(tld); i++ {
			if tld[i] < 'a' || tld[i] > 'z' {
				return "TLD is not alphabetic"
			}
		}
	}
	for _, s := range []string{"localhost", "local", "internal", "arpa", "test", "invalid", "example", "onion", "lan"} {
		if s == "arpa" {
			if strings.HasSuffix(h, ".home.arpa") || h == "home.arpa" {
				return "special-use name"
			}
			continue
		}
		if h == s || strings.HasSuffix(h, "."+s) {
			return "special-use name"
		}
	}
	return ""
}
