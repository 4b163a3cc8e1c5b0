package target

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// stage is the step of "From input to a pinned IP" a case exercises.
type stage string

const (
	syntax  stage = "syntax"  // Parse; refusals must come before any DNS lookup
	policy  stage = "policy"  // Pin of an IP literal: the address policy
	dns     stage = "dns"     // Pin of a name with a scripted fake resolver
	control stage = "control" // the connect-time hook, called directly
)

// tableCase is one named input. want nil means accepted.
type tableCase struct {
	name  string
	stage stage
	in    string // what the user typed (syntax, policy, dns)
	fam   Family

	// dns: the fake resolver's script.
	answers [][]netip.Addr // lookup i gets answers[i] (the last one repeats)
	err     error
	rcodes  []dnsmessage.RCode // response codes the fake "saw" on the wire
	hang    bool               // block until the lookup's context ends

	// control: the hook built for pinned, called with (network, address).
	pinned, network, address string

	want  error    // nil, or the Kind (errors.Is)
	msg   string   // a part the user-facing message must contain
	ip    string   // accepted: the pinned IP (or Parse's IP literal)
	host  string   // accepted: the normalised host; dns: the name the resolver must be asked
	port  uint16   // accepted: URLPort
	addrs []string // accepted dns: PinnedTarget.Addrs
}

func a(s ...string) []netip.Addr {
	out := make([]netip.Addr, len(s))
	for i, x := range s {
		out[i] = netip.MustParseAddr(x)
	}
	return out
}

func bad(name, in, msg string) tableCase {
	return tableCase{name: name, stage: syntax, in: in, want: ErrInvalidInput, msg: msg}
}

func good(name, in, host string, port uint16) tableCase {
	return tableCase{name: name, stage: syntax, in: in, host: host, port: port}
}

func forbid(name, in, msg string) tableCase {
	return tableCase{name: name, stage: policy, in: in, want: ErrForbidden, msg: msg}
}

func allow(name, in, ip string) tableCase {
	return tableCase{name: name, stage: policy, in: in, ip: ip}
}

func ctl(name, pinned, network, address string, want error) tableCase {
	return tableCase{name: name, stage: control, pinned: pinned, network: network, address: address, want: want}
}

const numericTrick = "four decimal numbers"

var table = []tableCase{
	// Syntax: refused before any DNS lookup. SECURITY.md "Refuse before DNS" first.
	bad("empty", "", "type a host name or an IP address"),
	bad("only whitespace", " \t\n ", "type a host name or an IP address"),
	bad("short form 127.1", "127.1", numericTrick),
	bad("decimal integer", "2130706433", numericTrick),
	bad("hex integer", "0x7f000001", numericTrick),
	bad("octal dotted", "0177.0.0.1", numericTrick),
	bad("zero-padded dotted", "127.000.000.001", numericTrick),
	bad("hex short form", "0x7f.1", numericTrick),
	bad("hex first octet", "0x7f.0.0.1", numericTrick),
	bad("all hex octets", "0x7f.0x0.0x0.0x1", numericTrick),
	bad("octal integer", "017700000001", numericTrick),
	bad("zero", "0", numericTrick),
	bad("five octets", "1.2.3.4.5", numericTrick),
	bad("localhost with dot", "localhost.", "special-use name"),
	bad("localhost", "localhost", "special-use name"),
	bad("localhost upper case", "LOCALHOST", "special-use name"),
	bad("sub.localhost", "foo.localhost", "special-use name"),
	bad("gcp metadata name", "metadata.google.internal", "special-use name"),
	bad("localhost.localdomain", "localhost.localdomain", "special-use name"),
	bad("mdns .local", "printer.local", "special-use name"),
	bad(".lan", "router.lan", "special-use name"),
	bad(".home.arpa", "nas.home.arpa", "special-use name"),
	bad(".test", "foo.test", "special-use name"),
	bad(".invalid", "foo.invalid", "special-use name"),
	bad(".example", "foo.example", "special-use name"),
	bad(".onion", "duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczad.onion", "special-use name"),
	bad("single label", "redis", "single-label name"),
	bad("single label ip6-localhost", "ip6-localhost", "single-label name"),
	bad("userinfo hides real host", "http://127.0.0.1:80@evil.com/", "has a user name part (@); type only the host"),
	bad("bare userinfo", "a@b", "has a user name part (@)"),
	bad("user and password", "https://user:pass@example.com/", "has a user name part (@)"),
	bad("backslash before @", `http://evil.com\@127.0.0.1/`, "has a user name part (@)"),
	bad("zone", "fe80::1%eth0", "IPv6 zone"),
	bad("zone in URL", "http://[fe80::1%25eth0]/", "IPv6 zone"),
	bad("percent-encoded", "%31%32%37.0.0.1", "percent-encoding"),
	bad("empty label", "a..b", "is not a valid host name: label 2 is empty"),
	bad("leading dot", ".example.com", "label 1 is empty"),
	bad("two trailing dots", "example.com..", "label 3 is empty"),
	bad("markup", "<script>x</script>.com", "which is not allowed"),
	bad("underscore", "under_score.example.com", "'_'"),
	bad("space inside", "exa mple.com", "contains a space"),
	bad("ideographic space", "example.com\u3000x", "contains a space"),
	bad("NUL byte", "example.com\x00", "control character"),
	bad("zero-width space", "exa\u200bmple.com", "invisible formatting character"),
	bad("right-to-left override", "moc.\u202eexample", "invisible formatting character"),
	bad("invalid UTF-8", "exa\xffmple.com", "UTF-8"),
	bad("leading hyphen", "-example.com", "label 1 starts with a hyphen"),
	bad("trailing hyphen", "example-.com", "label 1 ends with a hyphen"),
	bad("label of 64", strings.Repeat("a", 64)+".com", "label 1 is longer than 63 characters"),
	bad("name of 257", strings.Repeat("a.", 127)+"com", "longer than 253 characters"),
	bad("numeric TLD", "example.123", "last label must be alphabetic"),
	bad("bad punycode", "xn--zz.com", "not valid punycode"),
	bad("punycode of nothing", "xn--0.com", "not valid punycode"),
	bad("bidi rule", "\u05d0a.com", "not a valid international domain name"),
	bad("IDNA disallowed rune", "a\u2488.com", "not a valid international domain name"),
	bad("URL without host", "http://", "has no host"),
	bad("port only", ":80", "has no host"),
	bad("port 0", "https://example.com:0/", "invalid port"),
	bad("port too big", "example.com:99999", "invalid port"),
	bad("port not a number", "example.com:80a", "invalid port"),
	bad("IPv4 in brackets", "[127.0.0.1]", "brackets"),
	bad("unclosed bracket", "[::1", "without a matching ]"),
	bad("junk after bracket", "[::1]x", "after ]"),
	bad("two double colons", "1::2::3", "not a valid IPv6 address"),
	bad("bad scheme", "1http://example.com", "scheme"),
	bad("CIDR", "8.8.8.0/24", "network range (CIDR)"),
	bad("IPv6 CIDR", "2606:4700::/32", "network range (CIDR)"),
	bad("long input is capped", strings.Repeat("x", 300)+".com@evil.com", "user name part"),

	// Syntax: accepted and normalised.
	good("upper case and trailing dot", "Example.COM.", "example.com", 0),
	good("pasted URL with port", "https://Example.com:8443/x?y=1#z", "example.com", 8443),
	good("host:port", "example.com:8080", "example.com", 8080),
	good("empty port", "example.com:", "example.com", 0),
	good("surrounding whitespace", "  example.com\t", "example.com", 0),
	good("other scheme", "ftp://files.example.com/pub", "files.example.com", 0),
	good("@ in the path", "example.com/path@x", "example.com", 0),
	good("numeric path in a URL", "https://example.com/24", "example.com", 0),
	good("IDN", "bücher.de", "xn--bcher-kva.de", 0),
	good("IDN upper-case punycode", "xn--Bcher-kva.DE", "xn--bcher-kva.de", 0),
	good("full-width letters", "ｅｘａｍｐｌｅ．ｃｏｍ", "example.com", 0),
	good("circled letters", "ⓔⓧⓐⓜⓟⓛⓔ.com", "example.com", 0),
	good("hyphens in positions 3-4", "r3---sn-abc.googlevideo.com", "r3---sn-abc.googlevideo.com", 0),
	good("wildcard-DNS name is a name", "127.0.0.1.nip.io", "127.0.0.1.nip.io", 0),

	// Policy: IP literals. SECURITY.md "Forbid by policy" first.
	forbid("loopback", "127.0.0.1", "a loopback address"),
	forbid("unspecified v4", "0.0.0.0", "unspecified"),
	forbid("10/8", "10.0.0.1", "an address in a private network"),
	forbid("top of 172.16/12", "172.31.255.255", "an address in a private network"),
	forbid("cloud metadata", "169.254.169.254", "cloud metadata / link-local"),
	forbid("alibaba metadata in CGNAT", "100.100.100.200", "cloud metadata / link-local"),
	forbid("class E", "240.0.0.1", "a reserved address"),
	forbid("v6 loopback", "::1", "a loopback address"),
	forbid("mapped loopback", "::ffff:127.0.0.1", "a loopback address"),
	forbid("NAT64 of loopback", "64:ff9b::7f00:1", "IPv6 transition"),
	forbid("6to4 of TEST-NET", "2002:c000:201::1", "IPv6 transition"),
	forbid("AWS metadata v6", "fd00:ec2::254", "cloud metadata / link-local"),
	forbid("v6 link-local", "fe80::1", "cloud metadata / link-local"),
	forbid("v6 multicast", "ff02::1", "a multicast address"),
	forbid("full-width digits", "１２７.０.０.１", "a loopback address"),
	forbid("circled digits", "①②⑦.0.0.1", "a loopback address"),
	forbid("full-width dots", "127。0。0。1", "a loopback address"),
	forbid("trailing dot", "127.0.0.1.", "a loopback address"),
	forbid("with port", "127.0.0.1:22", "a loopback address"),
	forbid("unspecified v4 with port", "0.0.0.0:80", "unspecified"),
	forbid("bracketed unspecified v6", "[::]", "unspecified"),
	forbid("unspecified v6", "::", "unspecified"),
	forbid("long mapped loopback", "[0:0:0:0:0:ffff:127.0.0.1]", "a loopback address"),
	forbid("mapped metadata in URL", "http://[::ffff:a9fe:a9fe]", "cloud metadata / link-local"),
	forbid("mapped private with port", "[::ffff:10.0.0.1]:443", "private network"),
	forbid("metadata URL", "http://169.254.169.254/latest/meta-data/", "cloud metadata / link-local"),
	forbid("broadcast", "255.255.255.255", "a reserved address"),
	forbid("ULA", "fc00::1", "an address in a private network"),
	forbid("6to4 of loopback", "2002:7f00:1::1", "IPv6 transition"),
	forbid("Teredo", "2001::1", "IPv6 transition"),
	forbid("IETF block 2001::/23", "2001:1ff::1", "a reserved address"),
	forbid("v6 documentation", "2001:db8::1", "documentation/benchmarking"),
	forbid("v6 documentation 3fff::/20", "3fff::1", "documentation/benchmarking"),
	forbid("IPv4-compatible", "::7f00:1", "outside the global unicast space"),
	forbid("IPv4-translated", "::ffff:0:7f00:1", "outside the global unicast space"),
	forbid("discard-only", "100::1", "outside the global unicast space"),
	forbid("local-use NAT64", "64:ff9b:1::a00:1", "IPv6 transition"),
	forbid("site-local", "fec0::1", "private network"),
	forbid("AS112 v6", "2620:4f:8000::1", "a reserved address"),
	forbid("192.168/16", "192.168.1.1", "private network"),
	forbid("CGNAT", "100.64.0.1", "carrier-grade NAT"),
	forbid("benchmarking", "198.18.0.1", "documentation/benchmarking"),
	forbid("TEST-NET-1", "192.0.2.1", "documentation/benchmarking"),
	forbid("TEST-NET-2", "198.51.100.7", "documentation/benchmarking"),
	forbid("TEST-NET-3", "203.0.113.9", "documentation/benchmarking"),
	forbid("v4 multicast", "224.0.0.1", "a multicast address"),
	forbid("6to4 relay anycast", "192.88.99.1", "a reserved address"),
	forbid("IETF protocol assignments", "192.0.0.8", "a reserved address"),
	forbid("AS112 192.31.196/24", "192.31.196.1", "a reserved address"),
	forbid("AMT 192.52.193/24", "192.52.193.1", "a reserved address"),
	forbid("AS112 192.175.48/24", "192.175.48.1", "a reserved address"),
	forbid("this network", "0.1.2.3", "unspecified"),
	allow("just above 172.16/12", "172.32.0.1", "172.32.0.1"),
	allow("just below 172.16/12", "172.15.255.255", "172.15.255.255"),
	allow("just above CGNAT", "100.128.0.1", "100.128.0.1"),
	allow("just below CGNAT", "100.63.255.255", "100.63.255.255"),
	allow("public v4", "8.8.8.8", "8.8.8.8"),
	allow("public v6", "2606:4700:4700::1111", "2606:4700:4700::1111"),
	allow("mapped public is pinned unmapped", "::ffff:8.8.8.8", "8.8.8.8"),
	allow("just above 2001::/23", "2001:200::1", "2001:200::1"),
	allow("just below 198.18/15", "198.17.255.255", "198.17.255.255"),
	{name: "public v6 URL with port", stage: policy, in: "https://[2606:4700:4700::1111]:8443/", ip: "2606:4700:4700::1111", port: 8443},
	{name: "IPv4Only with v4", stage: policy, in: "1.1.1.1", fam: IPv4Only, ip: "1.1.1.1"},
	{name: "IPv6Only with v4 literal", stage: policy, in: "8.8.8.8", fam: IPv6Only, want: ErrInvalidInput, msg: "not an IPv6 address"},
	{name: "IPv4Only with v6 literal", stage: policy, in: "2606:4700:4700::1111", fam: IPv4Only, want: ErrInvalidInput, msg: "not an IPv4 address"},
	{name: "unknown family", stage: policy, in: "8.8.8.8", fam: Family(9), want: ErrInvalidInput},

	// DNS: names, with the fake resolver answering.
	{name: "name answering private", stage: dns, in: "private.example.com", answers: [][]netip.Addr{a("10.0.0.5")},
		want: ErrForbidden, msg: `"private.example.com" resolves to an address in a private network; Vantage scans only public addresses`},
	{name: "wildcard DNS to loopback", stage: dns, in: "127.0.0.1.nip.io", answers: [][]netip.Addr{a("127.0.0.1")},
		want: ErrForbidden, msg: "resolves to a loopback address"},
	{name: "one public one private", stage: dns, in: "mixed.example.com", answers: [][]netip.Addr{a("8.8.8.8", "10.0.0.5")},
		want: ErrForbidden, msg: "private network"},
	{name: "public v6 and ULA", stage: dns, in: "mixed6.example.com", answers: [][]netip.Addr{a("2606:4700:4700::1111", "fd00::1")},
		want: ErrForbidden, msg: "private network"},
	{name: "name answering metadata", stage: dns, in: "meta.example.com", answers: [][]netip.Addr{a("8.8.8.8", "169.254.169.254")},
		want: ErrForbidden, msg: "cloud metadata"},
	{name: "AAAA mapped loopback", stage: dns, in: "mapped.example.com", answers: [][]netip.Addr{a("::ffff:127.0.0.1")},
		want: ErrForbidden, msg: "loopback"},
	{name: "name answering alibaba metadata", stage: dns, in: "ali.example.com", answers: [][]netip.Addr{a("100.100.100.200")},
		want: ErrForbidden, msg: "cloud metadata"},
	{name: "name answering 6to4", stage: dns, in: "sixtofour.example.com", answers: [][]netip.Addr{a("2002:7f00:1::1")},
		want: ErrForbidden, msg: "IPv6 transition"},
	{name: "name answering 0.0.0.0", stage: dns, in: "zero.example.com", answers: [][]netip.Addr{a("0.0.0.0")},
		want: ErrForbidden, msg: "unspecified"},
	{name: "public name", stage: dns, in: "public.example.com", answers: [][]netip.Addr{a("8.8.8.8")},
		ip: "8.8.8.8", addrs: []string{"8.8.8.8"}},
	{name: "dual stack auto is IPv4", stage: dns, in: "dual.example.com", answers: [][]netip.Addr{a("2606:4700:4700::1111", "8.8.8.8")},
		ip: "8.8.8.8", addrs: []string{"8.8.8.8", "2606:4700:4700::1111"}},
	{name: "dual stack -4", stage: dns, in: "dual.example.com", fam: IPv4Only, answers: [][]netip.Addr{a("2606:4700:4700::1111", "8.8.8.8")},
		ip: "8.8.8.8"},
	{name: "dual stack -6", stage: dns, in: "dual.example.com", fam: IPv6Only, answers: [][]netip.Addr{a("8.8.8.8", "2606:4700:4700::1111")},
		ip: "2606:4700:4700::1111"},
	{name: "dual stack prefer IPv6", stage: dns, in: "dual.example.com", fam: PreferIPv6, answers: [][]netip.Addr{a("8.8.8.8", "2606:4700:4700::1111")},
		ip: "2606:4700:4700::1111"},
	{name: "AAAA only", stage: dns, in: "v6only.example.com", answers: [][]netip.Addr{a("2606:4700:4700::1111")},
		ip: "2606:4700:4700::1111"},
	{name: "AAAA only with -4", stage: dns, in: "v6only.example.com", fam: IPv4Only, answers: [][]netip.Addr{a("2606:4700:4700::1111")},
		want: ErrUnresolvable, msg: `"v6only.example.com" has no IPv4 address`},
	{name: "A only with -6", stage: dns, in: "v4only.example.com", fam: IPv6Only, answers: [][]netip.Addr{a("8.8.8.8")},
		want: ErrUnresolvable, msg: "has no IPv6 address"},
	{name: "prefer IPv6 falls back to IPv4", stage: dns, in: "v4only.example.com", fam: PreferIPv6, answers: [][]netip.Addr{a("8.8.8.8")},
		ip: "8.8.8.8"},
	{name: "duplicates and mapped twins", stage: dns, in: "dups.example.com", answers: [][]netip.Addr{a("8.8.8.8", "::ffff:8.8.8.8", "8.8.8.8", "1.1.1.1")},
		ip: "8.8.8.8", addrs: []string{"8.8.8.8", "1.1.1.1"}},
	{name: "NXDOMAIN", stage: dns, in: "nx.example.com", err: notFound("nx.example.com."),
		rcodes: []dnsmessage.RCode{dnsmessage.RCodeNameError, dnsmessage.RCodeNameError},
		want:   ErrUnresolvable, msg: `"nx.example.com" does not exist (NXDOMAIN)`},
	{name: "NODATA", stage: dns, in: "nodata.example.com", err: notFound("nodata.example.com."),
		rcodes: []dnsmessage.RCode{dnsmessage.RCodeSuccess, dnsmessage.RCodeSuccess},
		want:   ErrUnresolvable, msg: `"nodata.example.com" has no IPv4 or IPv6 address`},
	{name: "not found, codes unknown", stage: dns, in: "gone.example.com", err: notFound("gone.example.com."),
		want: ErrUnresolvable, msg: "does not exist, or has no IPv4 or IPv6 address"},
	{name: "empty answer", stage: dns, in: "empty.example.com", answers: [][]netip.Addr{{}},
		want: ErrUnresolvable, msg: "has no IPv4 or IPv6 address"},
	{name: "lookup timeout", stage: dns, in: "slow.example.com", hang: true,
		want: ErrResolver, msg: `the DNS lookup for "slow.example.com" timed out`},
	{name: "resolver reports timeout", stage: dns, in: "slow2.example.com",
		err:  &net.DNSError{Err: "i/o timeout", Name: "slow2.example.com.", IsTimeout: true},
		want: ErrResolver, msg: "timed out"},
	{name: "SERVFAIL", stage: dns, in: "servfail.example.com",
		err:  &net.DNSError{Err: "server misbehaving", Name: "servfail.example.com.", IsTemporary: true},
		want: ErrResolver, msg: "failed; try again later"},
	{name: "resolver unreachable", stage: dns, in: "down.example.com", err: errors.New("connection refused"),
		want: ErrResolver, msg: "failed"},
	{name: "rebinding: pinned to the first answer", stage: dns, in: "rebind.example.com",
		answers: [][]netip.Addr{a("8.8.8.8"), a("127.0.0.1")}, ip: "8.8.8.8"},
	{name: "rebinding: private first", stage: dns, in: "rebind2.example.com",
		answers: [][]netip.Addr{a("127.0.0.1"), a("8.8.8.8")}, want: ErrForbidden, msg: "loopback"},
	{name: "name is asked lower-case and rooted", stage: dns, in: "PUBLIC.Example.COM.", host: "public.example.com",
		answers: [][]netip.Addr{a("8.8.8.8")}, ip: "8.8.8.8"},
	{name: "IDN is asked in punycode", stage: dns, in: "https://bücher.de/", host: "xn--bcher-kva.de",
		answers: [][]netip.Addr{a("8.8.8.8")}, ip: "8.8.8.8"},
	{name: "IDN shown as typed in messages", stage: dns, in: "bücher.de", host: "xn--bcher-kva.de",
		answers: [][]netip.Addr{a("192.168.0.1")}, want: ErrForbidden, msg: `"bücher.de" (xn--bcher-kva.de) resolves to`},

	// Control: the connect-time hook, pinned 8.8.8.8 unless said otherwise.
	ctl("the pinned address", "8.8.8.8", "tcp4", "8.8.8.8:80", nil),
	ctl("the pinned address, network tcp", "8.8.8.8", "tcp", "8.8.8.8:443", nil),
	ctl("mapped form of the pinned address", "8.8.8.8", "tcp6", "[::ffff:8.8.8.8]:80", nil),
	ctl("pinned given mapped", "::ffff:8.8.8.8", "tcp4", "8.8.8.8:80", nil),
	ctl("pinned v6", "2606:4700:4700::1111", "tcp6", "[2606:4700:4700::1111]:443", nil),
	ctl("empty host", "8.8.8.8", "tcp4", ":80", ErrForbidden),
	ctl("unspecified v6 socket", "8.8.8.8", "tcp6", "[::]:80", ErrForbidden),
	ctl("unspecified v4 socket", "8.8.8.8", "tcp4", "0.0.0.0:80", ErrForbidden),
	ctl("udp", "8.8.8.8", "udp", "8.8.8.8:53", ErrForbidden),
	ctl("udp4", "8.8.8.8", "udp4", "8.8.8.8:53", ErrForbidden),
	ctl("unix", "8.8.8.8", "unix", "/run/docker.sock", ErrForbidden),
	ctl("ip4 raw", "8.8.8.8", "ip4", "8.8.8.8", ErrForbidden),
	ctl("another public address", "8.8.8.8", "tcp4", "1.1.1.1:80", ErrForbidden),
	ctl("loopback socket", "8.8.8.8", "tcp4", "127.0.0.1:80", ErrForbidden),
	ctl("empty address", "8.8.8.8", "tcp4", "", ErrForbidden),
	ctl("a name", "8.8.8.8", "tcp4", "localhost:80", ErrForbidden),
	ctl("garbage", "8.8.8.8", "tcp4", "\x00garbage[]:%", ErrForbidden),
	ctl("no port", "8.8.8.8", "tcp4", "8.8.8.8", ErrForbidden),
	ctl("port 0", "8.8.8.8", "tcp4", "8.8.8.8:0", ErrForbidden),
	ctl("port out of range", "8.8.8.8", "tcp4", "8.8.8.8:65536", ErrForbidden),
	ctl("bracketed v4", "8.8.8.8", "tcp4", "[8.8.8.8]:80", ErrForbidden),
	ctl("zone on the pinned v6", "2606:4700:4700::1111", "tcp6", "[2606:4700:4700::1111%eth0]:443", ErrForbidden),
	ctl("no pinned address", "", "tcp4", "8.8.8.8:80", ErrForbidden),
	ctl("pinned loopback", "127.0.0.1", "tcp4", "127.0.0.1:80", ErrForbidden),
	ctl("pinned metadata", "169.254.169.254", "tcp4", "169.254.169.254:80", ErrForbidden),
}

func notFound(name string) error {
	return &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

// fakeResolver answers from a script, counts lookups and never dials.
type fakeResolver struct {
	t       *testing.T
	answers [][]netip.Addr
	err     error
	rcodes  []dnsmessage.RCode
	hang    bool

	mu    sync.Mutex
	calls []string // "network host"
}

func (f *fakeResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	f.mu.Lock()
	f.calls = append(f.calls, network+" "+host)
	n := len(f.calls)
	f.mu.Unlock()
	for _, rc := range f.rcodes {
		noteRCode(ctx, rc)
	}
	switch {
	case f.hang:
		<-ctx.Done()
		return nil, &net.DNSError{Err: ctx.Err().Error(), Name: host, UnwrapErr: ctx.Err()}
	case f.err != nil:
		return nil, f.err
	case len(f.answers) == 0:
		f.t.Errorf("fake resolver: unexpected lookup %s %s", network, host)
		return nil, errors.New("unexpected lookup")
	}
	return slices.Clone(f.answers[min(n, len(f.answers))-1]), nil
}

func (f *fakeResolver) lookups() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// TestTargetTable runs every named input through the stage it belongs to.
func TestTargetTable(t *testing.T) {
	pol, err := NewPolicy(PolicyConfig{})
	if err != nil {
		t.Fatal(err)
	}
	seen := make(map[string]bool)
	for _, c := range table {
		name := string(c.stage) + "/" + c.name
		if seen[name] {
			t.Fatalf("duplicate case name %q", name)
		}
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			switch c.stage {
			case syntax:
				runSyntax(t, pol, c)
			case policy:
				runPolicy(t, pol, c)
			case dns:
				runDNS(t, pol, c)
			case control:
				runControl(t, pol, c)
			default:
				t.Fatalf("unknown stage %q", c.stage)
			}
		})
	}
}

func runSyntax(t *testing.T, pol *Policy, c tableCase) {
	in, err := Parse(c.in)
	if c.want == nil {
		if err != nil {
			t.Fatalf("Parse(%q): %v", c.in, err)
		}
		if in.Host != c.host || in.URLPort != c.port || in.IP.IsValid() {
			t.Fatalf("Parse(%q) = %+v, want host %q port %d, no IP", c.in, in, c.host, c.port)
		}
		return
	}
	checkError(t, err, c.want, c.msg)
	if in != (Input{}) {
		t.Errorf("Parse(%q) returned %+v with an error", c.in, in)
	}
	// The same input through Pin: refused before any DNS lookup.
	res := &fakeResolver{t: t}
	_, err = (&Pinner{Policy: pol, Resolver: res}).Pin(context.Background(), c.in, Auto)
	checkError(t, err, c.want, c.msg)
	if n := len(res.lookups()); n != 0 {
		t.Errorf("%d DNS lookups for an input refused by syntax", n)
	}
}

func runPolicy(t *testing.T, pol *Policy, c tableCase) {
	res := &fakeResolver{t: t}
	pt, err := (&Pinner{Policy: pol, Resolver: res}).Pin(context.Background(), c.in, c.fam)
	if n := len(res.lookups()); n != 0 {
		t.Errorf("%d DNS lookups for an IP literal", n)
	}
	if c.want != nil {
		checkError(t, err, c.want, c.msg)
		if in, perr := Parse(c.in); perr == nil && errors.Is(err, ErrForbidden) {
			assertNoAddress(t, err.Error(), in.IP)
		}
		return
	}
	if err != nil {
		t.Fatalf("Pin(%q): %v", c.in, err)
	}
	want := netip.MustParseAddr(c.ip)
	if pt.IP != want || pt.Host != c.ip || !slices.Equal(pt.Addrs, []netip.Addr{want}) || pt.URLPort != c.port {
		t.Fatalf("Pin(%q) = %+v, want IP %v port %d", c.in, pt, want, c.port)
	}
	if err := pol.Control(pt.IP)(context.Background(), "tcp", netip.AddrPortFrom(pt.IP, 443).String(), nil); err != nil {
		t.Errorf("Control refuses the pinned address: %v", err)
	}
}

func runDNS(t *testing.T, pol *Policy, c tableCase) {
	res := &fakeResolver{t: t, answers: c.answers, err: c.err, rcodes: c.rcodes, hang: c.hang}
	pn := &Pinner{Policy: pol, Resolver: res, Timeout: 50 * time.Millisecond}
	pt, err := pn.Pin(context.Background(), c.in, c.fam)

	host := c.host
	if host == "" {
		host = c.in
	}
	if got := res.lookups(); !slices.Equal(got, []string{"ip " + host + "."}) {
		t.Errorf("lookups = %q, want exactly one: ip %s.", got, host)
	}
	if c.want != nil {
		checkError(t, err, c.want, c.msg)
		// The message may quote the name the user typed (127.0.0.1.nip.io),
		// never an address it resolved to.
		msg := strings.ReplaceAll(err.Error(), host, "")
		for _, ans := range c.answers {
			assertNoAddress(t, msg, ans...)
		}
		return
	}
	if err != nil {
		t.Fatalf("Pin(%q): %v", c.in, err)
	}
	if pt.IP != netip.MustParseAddr(c.ip) || pt.Host != host || pt.Typed != strings.TrimSpace(c.in) {
		t.Errorf("Pin(%q) = %+v, want IP %s host %s", c.in, pt, c.ip, host)
	}
	if c.addrs != nil && !slices.Equal(pt.Addrs, a(c.addrs...)) {
		t.Errorf("Addrs = %v, want %v", pt.Addrs, c.addrs)
	}
	for _, x := range pt.Addrs {
		if pol.Check(x) != nil || x.Is4In6() {
			t.Errorf("Addrs holds %v: forbidden or mapped", x)
		}
	}
	// The scan may dial only the pinned address, however the name answers later.
	hook := pol.Control(pt.IP)
	if err := hook(context.Background(), "tcp", netip.AddrPortFrom(pt.IP, 80).String(), nil); err != nil {
		t.Errorf("Control refuses the pinned address: %v", err)
	}
	for _, ans := range c.answers {
		for _, x := range ans {
			if x.Unmap() != pt.IP && hook(context.Background(), "tcp", netip.AddrPortFrom(x, 80).String(), nil) == nil {
				t.Errorf("Control allows %v, which is not the pinned %v", x, pt.IP)
			}
		}
	}
}

func runControl(t *testing.T, pol *Policy, c tableCase) {
	var pinned netip.Addr
	if c.pinned != "" {
		pinned = netip.MustParseAddr(c.pinned)
	}
	err := pol.Control(pinned)(context.Background(), c.network, c.address, nil)
	if c.want == nil {
		if err != nil {
			t.Fatalf("Control(%v)(%q, %q) = %v, want nil", pinned, c.network, c.address, err)
		}
		return
	}
	checkError(t, err, c.want, "")
	var secrets []netip.Addr
	if ap, perr := netip.ParseAddrPort(c.address); perr == nil {
		secrets = append(secrets, ap.Addr())
	}
	if pinned.IsValid() && pol.Check(pinned) != nil {
		secrets = append(secrets, pinned)
	}
	assertNoAddress(t, err.Error(), secrets...)
}

// checkError asserts err is an *Error of kind want whose message has msg.
func checkError(t *testing.T, err, want error, msg string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("err = %v, want kind %v", err, want)
	}
	var te *Error
	if !errors.As(err, &te) {
		t.Fatalf("err = %T, want *Error", err)
	}
	t.Logf("message: %s", te.Msg)
	if !strings.Contains(te.Msg, msg) {
		t.Errorf("message %q does not contain %q", te.Msg, msg)
	}
	if err.Error() != te.Msg {
		t.Errorf("Error() = %q, want the message %q", err.Error(), te.Msg)
	}
	if n := len([]rune(te.Msg)); n > 2*maxQuoted+120 {
		t.Errorf("message of %d runes: quoted input is not capped", n)
	}
}

// assertNoAddress fails if the user-facing message msg names any of addrs
// in any spelling (mapped or not).
func assertNoAddress(t *testing.T, msg string, addrs ...netip.Addr) {
	t.Helper()
	for _, x := range addrs {
		for _, s := range []string{x.String(), x.Unmap().String(), x.StringExpanded()} {
			if strings.Contains(msg, s) {
				t.Errorf("message %q echoes the address %s", msg, s)
			}
		}
	}
}

// TestTableCoversSecurityExamples keeps the table honest: every example
// input in SECURITY.md is a case with the outcome it prescribes.
func TestTableCoversSecurityExamples(t *testing.T) {
	examples := map[error][]string{
		ErrInvalidInput: {"", "127.1", "2130706433", "0x7f000001", "0177.0.0.1", "localhost.", "foo.localhost",
			"metadata.google.internal", "redis", "http://127.0.0.1:80@evil.com/", "fe80::1%eth0", "a..b", "<script>x</script>.com"},
		ErrForbidden: {"127.0.0.1", "0.0.0.0", "10.0.0.1", "172.31.255.255", "169.254.169.254", "100.100.100.200",
			"240.0.0.1", "::1", "::ffff:127.0.0.1", "64:ff9b::7f00:1", "2002:c000:201::1", "fd00:ec2::254", "fe80::1",
			"ff02::1", "１２７.０.０.１"},
		nil: {"172.32.0.1", "100.128.0.1", "8.8.8.8", "2606:4700:4700::1111"},
	}
	for want, inputs := range examples {
		for _, in := range inputs {
			i := slices.IndexFunc(table, func(c tableCase) bool { return c.in == in && c.stage != dns && c.fam == Auto })
			if i < 0 {
				t.Errorf("SECURITY.md example %q is not in the table", in)
				continue
			}
			if table[i].want != want {
				t.Errorf("case %q expects %v, SECURITY.md says %v", table[i].name, table[i].want, want)
			}
		}
	}
	var dnsPrivate, dnsMixed, dnsRebind bool
	for _, c := range table {
		dnsPrivate = dnsPrivate || c.stage == dns && c.want == ErrForbidden && len(c.answers) == 1 && len(c.answers[0]) == 1
		dnsMixed = dnsMixed || c.stage == dns && c.want == ErrForbidden && len(c.answers) == 1 && len(c.answers[0]) == 2
		dnsRebind = dnsRebind || c.stage == dns && len(c.answers) > 1
	}
	if !dnsPrivate || !dnsMixed || !dnsRebind {
		t.Errorf("DNS stage lacks a SECURITY.md case: private %v, public+private %v, rebinding %v", dnsPrivate, dnsMixed, dnsRebind)
	}
}

// TestPinEdges covers what the table cannot: cancellation by the caller, a
// missing policy, and the error's two unwrap targets.
func TestPinEdges(t *testing.T) {
	pol := mustPolicy(t, PolicyConfig{})

	ctx, cancel := context.WithCancel(context.Background())
	res := &fakeResolver{t: t, hang: true}
	done := make(chan error, 1)
	go func() {
		_, err := (&Pinner{Policy: pol, Resolver: res}).Pin(ctx, "slow.example.com", Auto)
		done <- err
	}()
	for deadline := time.Now().Add(2 * time.Second); len(res.lookups()) == 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	cancel()
	err := <-done
	checkError(t, err, ErrResolver, "was cancelled")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Pin: %v does not unwrap to context.Canceled", err)
	}

	_, err = (&Pinner{Resolver: &fakeResolver{t: t}}).Pin(context.Background(), "8.8.8.8", Auto)
	checkError(t, err, ErrForbidden, "no target policy")

	_, err = (&Pinner{Policy: pol, Resolver: &fakeResolver{t: t, hang: true}, Timeout: time.Millisecond}).
		Pin(context.Background(), "slow.example.com", Auto)
	if !errors.Is(err, ErrResolver) || !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrForbidden) {
		t.Errorf("timeout error %v: want ErrResolver wrapping context.DeadlineExceeded", err)
	}
	if e := (&Error{Kind: ErrForbidden}); e.Error() != ErrForbidden.Error() || len(e.Unwrap()) != 1 {
		t.Errorf("Error without Msg or Err: %q, %v", e.Error(), e.Unwrap())
	}
}

// TestPinBoth: a dual-stack comparison pins one address of each family
// from a single lookup, and refuses what cannot be compared.
func TestPinBoth(t *testing.T) {
	pol := mustPolicy(t, PolicyConfig{})
	a4, b4 := netip.MustParseAddr("93.184.216.34"), netip.MustParseAddr("93.184.216.35")
	a6 := netip.MustParseAddr("2606:2800:220:1:248:1893:25c8:1946")
	cases := []struct {
		name    string
		in      string
		answers []netip.Addr
		want    error
		msg     string
		lookups int
	}{
		{name: "both", in: "example.com", answers: []netip.Addr{a6, a4, b4}, lookups: 1},
		{name: "mapped IPv4 counts as IPv4", in: "example.com", answers: []netip.Addr{a6, netip.AddrFrom16(a4.As16())}, lookups: 1},
		{name: "url", in: "https://example.com:8443/x", answers: []netip.Addr{a4, a6}, lookups: 1},
		{name: "only IPv4", in: "example.com", answers: []netip.Addr{a4}, want: ErrUnresolvable,
			msg: `"example.com" has no IPv6 address to compare with its IPv4 one`, lookups: 1},
		{name: "only IPv6", in: "example.com", answers: []netip.Addr{a6}, want: ErrUnresolvable,
			msg: "has no IPv4 address to compare with its IPv6 one", lookups: 1},
		{name: "one family forbidden", in: "example.com", answers: []netip.Addr{a4, netip.MustParseAddr("fd00::1")},
			want: ErrForbidden, msg: "resolves to", lookups: 1},
		{name: "IPv4 literal", in: "93.184.216.34", want: ErrInvalidInput, msg: "an IP address has only one family"},
		{name: "IPv6 literal", in: "[2606:2800:220:1:248:1893:25c8:1946]", want: ErrInvalidInput, msg: "only one family"},
		{name: "forbidden literal says forbidden", in: "10.0.0.1", want: ErrForbidden, msg: "private"},
		{name: "bad syntax", in: "exa mple.com", want: ErrInvalidInput, msg: ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := &fakeResolver{t: t}
			if c.answers != nil {
				res.answers = [][]netip.Addr{c.answers}
			}
			v4, v6, err := (&Pinner{Policy: pol, Resolver: res}).PinBoth(context.Background(), c.in)
			if n := len(res.lookups()); n != c.lookups {
				t.Errorf("%d lookups, want %d", n, c.lookups)
			}
			if c.want != nil {
				checkError(t, err, c.want, c.msg)
				if v4.IP.IsValid() || v6.IP.IsValid() {
					t.Errorf("pinned %v and %v with an error", v4.IP, v6.IP)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if v4.IP != a4 || v6.IP != a6 || v4.Host != "example.com" || v6.Host != "example.com" {
				t.Errorf("PinBoth = %v, %v", v4, v6)
			}
			if v4.Typed != c.in || v6.Typed != c.in || v4.URLPort != v6.URLPort {
				t.Errorf("typed/port differ: %+v %+v", v4, v6)
			}
		})
	}
	_, _, err := (&Pinner{Resolver: &fakeResolver{t: t}}).PinBoth(context.Background(), "example.com")
	checkError(t, err, ErrForbidden, "no target policy")
}

// TestRoute: loopback is always routable, and the check sends nothing (a
// UDP connect). Its failure is tested end to end inside a lab namespace
// (cmd/vantage TestServeWithoutARouteSaysSo).
func TestRoute(t *testing.T) {
	for _, a := range []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback(), netip.MustParseAddr("::ffff:127.0.0.1")} {
		if err := Route(a); err != nil {
			t.Errorf("Route(%v): %v", a, err)
		}
	}
}
