package ports

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParse(t *testing.T) {
	quick, _ := PresetByName(PresetQuick)
	common, _ := PresetByName(PresetCommon)
	extended, _ := PresetByName(PresetExtended)
	all, _ := PresetByName(PresetAll)
	quickPlus := slices.Sorted(slices.Values(append(slices.Clone(quick.Ports), 8081, 9000, 9001, 9002)))
	quickPlus = slices.Compact(quickPlus)

	tests := []struct {
		name string
		spec string
		max  int
		want []uint16
	}{
		{"single port", "22", 0, []uint16{22}},
		{"list", "22,80,443", 0, []uint16{22, 80, 443}},
		{"unsorted list is sorted", "443,22,80", 0, []uint16{22, 80, 443}},
		{"duplicates folded", "80,80,22,80", 0, []uint16{22, 80}},
		{"range", "8000-8003", 0, []uint16{8000, 8001, 8002, 8003}},
		{"one-port range", "80-80", 0, []uint16{80}},
		{"overlapping ranges folded", "10-13,12-15,14", 0, []uint16{10, 11, 12, 13, 14, 15}},
		{"port inside range folded", "5-7,6", 0, []uint16{5, 6, 7}},
		{"whitespace around tokens", "  22 , 80\t,\n443  ", 0, []uint16{22, 80, 443}},
		{"whitespace around dash", "8000 - 8002", 0, []uint16{8000, 8001, 8002}},
		{"leading zeros", "080,0443", 0, []uint16{80, 443}},
		{"lowest and highest", "1,65535", 0, []uint16{1, 65535}},
		{"full range", "1-65535", 0, all.Ports},
		{"preset quick", "preset:quick", 0, quick.Ports},
		{"preset common", "preset:common", 0, common.Ports},
		{"preset extended", "preset:extended", 0, extended.Ports},
		{"preset all", "preset:all", 0, all.Ports},
		{"preset case-insensitive", "PRESET:Quick", 0, quick.Ports},
		{"preset space after colon", "preset: quick", 0, quick.Ports},
		{"preset mixed", "preset:quick,8081,9000-9002", 0, quickPlus},
		{"preset repeated", "preset:quick,preset:quick,22", 0, quick.Ports},
		{"cap exactly reached", "1-1024", 1024, portRange(1, 1024)},
		{"cap counts unique ports", "1-10,5-10,1", 10, portRange(1, 10)},
		{"cap above 65535 is no cap", "preset:all", 100000, all.Ports},
		{"negative cap is no cap", "preset:all", -1, all.Ports},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.spec, tt.max)
			if err != nil {
				t.Fatalf("Parse(%q, %d) error: %v", tt.spec, tt.max, err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Parse(%q, %d) = %v, want %v", tt.spec, tt.max, abbrev(got), abbrev(tt.want))
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name      string
		spec      string
		max       int
		wantToken string   // ParseError.Token
		wantMsg   []string // substrings of Error()
	}{
		{"empty spec", "", 0, "", []string{"empty"}},
		{"blank spec", " \t\n ", 0, "", []string{"empty"}},
		{"lone comma", ",", 0, "", []string{"entry 1 is empty", "comma"}},
		{"double comma", "22,,80", 0, "", []string{"entry 2 is empty", "comma"}},
		{"trailing comma", "22,80,", 0, "", []string{"entry 3 is empty"}},
		{"leading comma", ",22", 0, "", []string{"entry 1 is empty"}},
		{"letters", "abc", 0, "abc", []string{`"abc"`, "not a port number"}},
		{"letters among ports", "22,ssh,80", 0, "ssh", []string{`"ssh"`, "not a port number"}},
		{"hex", "0x50", 0, "0x50", []string{`"0x50"`, "not a port number"}},
		{"decimal point", "80.5", 0, "80.5", []string{`"80.5"`, "not a port number"}},
		{"space instead of comma", "22 80", 0, "22 80", []string{`"22 80"`, "separate ports with commas"}},
		{"unicode digits", "８０", 0, "８０", []string{"not a port number"}},
		{"bare preset name", "common", 0, "common", []string{`"common"`, "did you mean preset:common"}},
		{"zero", "0", 0, "0", []string{`"0"`, "port 0"}},
		{"zeros", "000", 0, "000", []string{`"000"`, "port 0"}},
		{"too large", "65536", 0, "65536", []string{`"65536"`, "out of range"}},
		{"far too large", "99999999999999999999", 0, "99999999999999999999", []string{"out of range"}},
		{"range end too large", "1-70000", 0, "1-70000", []string{`"1-70000"`, "range end", "out of range"}},
		{"range from zero", "0-10", 0, "0-10", []string{`"0-10"`, "range start", "port 0"}},
		{"reversed range", "100-1", 0, "100-1", []string{`"100-1"`, "1-100"}},
		{"open-ended range", "1000-", 0, "1000-", []string{`"1000-"`, "no end"}},
		{"range without start", "-100", 0, "-100", []string{`"-100"`, "sign"}},
		{"negative", "-5", 0, "-5", []string{`"-5"`, "sign"}},
		{"plus sign", "+22", 0, "+22", []string{`"+22"`, "sign"}},
		{"signed range end", "1-+5", 0, "1-+5", []string{`"1-+5"`, "sign"}},
		{"negative range end", "1--5", 0, "1--5", []string{`"1--5"`, "sign"}},
		{"two dashes", "1-2-3", 0, "1-2-3", []string{`"1-2-3"`, "one dash"}},
		{"range with letters", "a-b", 0, "a-b", []string{`"a-b"`, "range start", "not a port number"}},
		{"unknown preset", "preset:top100", 0, "preset:top100", []string{`"preset:top100"`, "unknown preset", "quick, common, extended, all"}},
		{"empty preset name", "preset:", 0, "preset:", []string{`"preset:"`, "missing preset name", "quick"}},
		{"too many ports", "1-2000", 1024, "", []string{"selects 2000 ports", "limit is 1024"}},
		{"preset over cap", "preset:all", 1024, "", []string{"selects 65535 ports", "limit is 1024"}},
		{"cap one", "22,80", 1, "", []string{"selects 2 ports", "limit is 1"}},
		{"too long", strings.Repeat("1,", MaxSpecLen/2) + "1", 0, "", []string{"bytes long", "4096"}},
		{"first error wins", "22,abc,,0", 0, "abc", []string{`"abc"`}},
		{"long token shortened", strings.Repeat("x", 100), 0, strings.Repeat("x", 100), []string{"…", "not a port number"}},
		{"long unicode token shortened", strings.Repeat("é", 50), 0, strings.Repeat("é", 50), []string{"éé…", "not a port number"}},
		{"invalid UTF-8", "\xff\xfe", 0, "\xff\xfe", []string{`"\xff\xfe"`, "not a port number"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.spec, tt.max)
			if err == nil {
				t.Fatalf("Parse(%q) = %v, want an error", tt.spec, abbrev(got))
			}
			if got != nil {
				t.Errorf("Parse returned ports alongside an error: %v", abbrev(got))
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not a *ParseError: %v", err, err)
			}
			if pe.Token != tt.wantToken {
				t.Errorf("Token = %q, want %q", pe.Token, tt.wantToken)
			}
			if pe.Spec != tt.spec {
				t.Errorf("Spec = %q, want the input", shorten(pe.Spec, 40))
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "invalid port set: ") {
				t.Errorf("message %q lacks the prefix", msg)
			}
			for _, want := range tt.wantMsg {
				if !strings.Contains(msg, want) {
					t.Errorf("message %q lacks %q", msg, want)
				}
			}
			if !utf8.ValidString(msg) {
				t.Errorf("message is not valid UTF-8: %q", msg)
			}
			if len(msg) > 200 {
				t.Errorf("message is %d bytes; keep it short: %q", len(msg), msg)
			}
		})
	}
}

func TestParseErrorFormat(t *testing.T) {
	tests := []struct {
		name string
		err  ParseError
		want string
	}{
		{"token", ParseError{Spec: "22,abc", Token: "abc", Reason: "not a port number"}, `invalid port set: "abc": not a port number`},
		{"whole spec", ParseError{Spec: "", Reason: "the port set is empty"}, `invalid port set: the port set is empty`},
		{"quoted control bytes", ParseError{Token: "a\x00b", Reason: "r"}, `invalid port set: "a\x00b": r`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseSpecLengthBoundary(t *testing.T) {
	exact := strings.Repeat(" ", MaxSpecLen-2) + "22"
	if _, err := Parse(exact, 0); err != nil {
		t.Errorf("a %d-byte spec was refused: %v", MaxSpecLen, err)
	}
	if _, err := Parse(exact+" ", 0); err == nil {
		t.Errorf("a %d-byte spec was accepted", MaxSpecLen+1)
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		name  string
		ports []uint16
		want  string
	}{
		{"nil", nil, ""},
		{"single", []uint16{22}, "22"},
		{"list", []uint16{22, 80, 443}, "22,80,443"},
		{"pair stays a list", []uint16{80, 81}, "80,81"},
		{"run of three becomes a range", []uint16{80, 81, 82}, "80-82"},
		{"mixed", []uint16{22, 80, 8000, 8001, 8002, 8100}, "22,80,8000-8002,8100"},
		{"unsorted with duplicates", []uint16{443, 22, 443, 80, 22}, "22,80,443"},
		{"zero skipped", []uint16{0, 1, 2}, "1,2"},
		{"edges", []uint16{1, 2, 3, 65533, 65534, 65535}, "1-3,65533-65535"},
		{"all", portRange(1, 65535), "1-65535"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Format(tt.ports); got != tt.want {
				t.Errorf("Format(%v) = %q, want %q", abbrev(tt.ports), got, tt.want)
			}
		})
	}
}

func TestFormatRoundTripsPresets(t *testing.T) {
	for _, p := range Presets() {
		t.Run(p.Name, func(t *testing.T) {
			text := Format(p.Ports)
			got, err := Parse(text, 0)
			if err != nil {
				t.Fatalf("Parse(Format(%s)) error: %v", p.Name, err)
			}
			if !slices.Equal(got, p.Ports) {
				t.Errorf("round trip changed the %s preset", p.Name)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"22", "22,80,443", "8000-8100", "preset:common", "preset:quick,8080,9000-9010",
		" 22 , 80 ", "100-1", ",,", "0", "65536", "-5", "+5", "1--5", "1-2-3",
		"preset:", "preset:nope", "abc", "1-65535", "080", "８０", "1-", "\x00", "22 80",
	} {
		f.Add(seed, 0)
		f.Add(seed, 1024)
	}
	f.Fuzz(func(t *testing.T, spec string, maxPorts int) {
		got, err := Parse(spec, maxPorts)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not a *ParseError: %v", err, err)
			}
			if got != nil {
				t.Fatalf("ports returned with an error")
			}
			if msg := err.Error(); pe.Reason == "" || !strings.HasPrefix(msg, "invalid port set: ") || !utf8.ValidString(msg) {
				t.Fatalf("malformed error %q", err)
			}
			return
		}
		if len(got) == 0 {
			t.Fatalf("Parse(%q) succeeded with no ports", spec)
		}
		if got[0] == 0 {
			t.Fatalf("Parse(%q) returned port 0", spec)
		}
		if !isSortedUnique(got) {
			t.Fatalf("Parse(%q) is not sorted and unique", spec)
		}
		if limit := maxPorts; limit > 0 && len(got) > limit {
			t.Fatalf("Parse(%q, %d) returned %d ports", spec, maxPorts, len(got))
		}
		text := Format(got)
		if len(text) > MaxSpecLen {
			return // presets can expand past the length cap; nothing to re-parse
		}
		again, err := Parse(text, maxPorts)
		if err != nil {
			t.Fatalf("Parse(Format(%q)) = %q: %v", spec, text, err)
		}
		if !slices.Equal(again, got) {
			t.Fatalf("round trip of %q via %q changed the set", spec, text)
		}
	})
}

func portRange(lo, hi int) []uint16 {
	out := make([]uint16, 0, hi-lo+1)
	for p := lo; p <= hi; p++ {
		out = append(out, uint16(p))
	}
	return out
}

// abbrev keeps failure messages readable when a set has thousands of ports.
func abbrev(ports []uint16) string {
	return shorten(fmt.Sprint(ports), 120)
}
