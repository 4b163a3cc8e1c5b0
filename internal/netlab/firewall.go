package netlab

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// The lab's firewall is one nftables table inside the namespace: an input
// chain with one named set of TCP ports per rule. Set names avoid nft
// keywords (a set called "drop" does not parse).
const nftTable = "vlab"

// setNames maps the firewall rules to their sets; Closed and Open have none.
var setNames = map[Rule]string{
	Drop:                  "p_drop",
	RejectHostUnreach:     "p_hostun",
	RejectAdminProhibited: "p_admin",
	RejectNetUnreach:      "p_netun",
	RejectReset:           "p_rst",
}

const nftChain = `	chain input {
		type filter hook input priority filter; policy accept;
		meta nfproto ipv4 tcp dport @p_drop4 drop
		tcp dport @p_drop drop
		tcp dport @p_hostun reject with icmpx type host-unreachable
		tcp dport @p_admin reject with icmpx type admin-prohibited
		meta nfproto ipv4 tcp dport @p_netun reject with icmp type net-unreachable
		meta nfproto ipv6 tcp dport @p_netun reject with icmpv6 type no-route
		tcp dport @p_rst reject with tcp reset
	}
`

// firewallScript is the whole table for the given rules and the ports
// dropped over IPv4 only.
func firewallScript(rules map[uint16]Rule, drop4 []uint16) string {
	var b strings.Builder
	fmt.Fprintf(&b, "table inet %s {\n", nftTable)
	fmt.Fprintf(&b, "\tset p_drop4 {\n\t\ttype inet_service\n")
	if len(drop4) > 0 {
		var ports []string
		for _, p := range slices.Sorted(slices.Values(drop4)) {
			ports = append(ports, fmt.Sprint(p))
		}
		fmt.Fprintf(&b, "\t\telements = { %s }\n", strings.Join(slices.Compact(ports), ", "))
	}
	b.WriteString("\t}\n")
	for _, r := range []Rule{Drop, RejectHostUnreach, RejectAdminProhibited, RejectNetUnreach, RejectReset} {
		var ports []string
		for p, pr := range rules {
			if pr == r {
				ports = append(ports, fmt.Sprint(p))
			}
		}
		slices.Sort(ports)
		fmt.Fprintf(&b, "\tset %s {\n\t\ttype inet_service\n", setNames[r])
		if len(ports) > 0 {
			fmt.Fprintf(&b, "\t\telements = { %s }\n", strings.Join(ports, ", "))
		}
		b.WriteString("\t}\n")
	}
	b.WriteString(nftChain)
	b.WriteString("}\n")
	return b.String()
}

func (l *Lab) nft(ctx context.Context, script string) error {
	return run(ctx, script, "ip", "netns", "exec", l.ns, "nft", "-f", "-")
}

func (l *Lab) applyFirewall(ctx context.Context) error {
	if err := l.nft(ctx, firewallScript(l.rules, l.cfg.IPv4Drop)); err != nil {
		return fmt.Errorf("netlab: load firewall: %w", err)
	}
	return nil
}

// moveElement moves port from old's set to new's set in one nft transaction.
func (l *Lab) moveElement(ctx context.Context, port uint16, old, new Rule) error {
	var b strings.Builder
	if s, ok := setNames[old]; ok {
		fmt.Fprintf(&b, "delete element inet %s %s { %d }\n", nftTable, s, port)
	}
	if s, ok := setNames[new]; ok {
		fmt.Fprintf(&b, "add element inet %s %s { %d }\n", nftTable, s, port)
	}
	if b.Len() == 0 {
		return nil
	}
	if err := l.nft(ctx, b.String()); err != nil {
		return fmt.Errorf("netlab: port %d %v → %v: %w", port, old, new, err)
	}
	return nil
}
