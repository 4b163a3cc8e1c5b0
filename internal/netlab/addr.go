package netlab

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
)

// Labs get /30 blocks of 198.18.0.0/15 (the benchmarking range) and /64s of
// the ULA fd76:6c61:6200::/48 ("vlab"); block i of one goes with /64 i of the
// other. The root side is .1 / ::1, the namespace side .2 / ::2.
var (
	bench4 = netip.MustParsePrefix("198.18.0.0/15")
	ula6   = netip.MustParsePrefix("fd76:6c61:6200::/48")
)

const numBlocks = 1 << 15 // /30s in a /15

// allocation is one lab's addresses and root-side interface name.
type allocation struct {
	idx          int
	net4, net6   netip.Prefix
	root4, lab4  netip.Addr
	root6, lab6  netip.Addr
	rootIf       string
	releaseOnce  sync.Once
	releaseBlock func()
}

func (a *allocation) release() { a.releaseOnce.Do(a.releaseBlock) }

var (
	allocMu   sync.Mutex
	allocUsed = map[int]bool{}
	allocNext int // counter; start offset comes from the PID
)

func blockAddrs(idx int) *allocation {
	b4 := bench4.Addr().As4()
	off := uint32(idx) * 4
	base := uint32(b4[0])<<24 | uint32(b4[1])<<16 | uint32(b4[2])<<8 | uint32(b4[3])
	v4 := func(host uint32) netip.Addr {
		x := base + off + host
		return netip.AddrFrom4([4]byte{byte(x >> 24), byte(x >> 16), byte(x >> 8), byte(x)})
	}
	b6 := ula6.Addr().As16()
	b6[6], b6[7] = byte(idx>>8), byte(idx)
	v6 := func(host byte) netip.Addr {
		a := b6
		a[15] = host
		return netip.AddrFrom16(a)
	}
	return &allocation{
		idx:    idx,
		net4:   netip.PrefixFrom(v4(0), 30),
		net6:   netip.PrefixFrom(v6(0), 64),
		root4:  v4(1),
		lab4:   v4(2),
		root6:  v6(1),
		lab6:   v6(2),
		rootIf: fmt.Sprintf("vlab%04x", idx),
	}
}

// allocate picks a block no lab of this process holds, whose prefixes no
// route or address of the root namespace overlaps and whose interface name
// is free. skip lists blocks that failed link creation in this attempt.
func allocate(ctx context.Context, skip map[int]bool) (*allocation, error) {
	taken, err := rootPrefixes(ctx)
	if err != nil {
		return nil, err
	}
	allocMu.Lock()
	defer allocMu.Unlock()
	start := (os.Getpid() * 977) % numBlocks
	for range 4096 { // bounded; a conflict-free block is nearly always the first
		idx := (start + allocNext) % numBlocks
		allocNext++
		if allocUsed[idx] || skip[idx] {
			continue
		}
		a := blockAddrs(idx)
		if overlapsAny(a.net4, taken) || overlapsAny(a.net6, taken) {
			continue
		}
		if _, err := net.InterfaceByName(a.rootIf); err == nil {
			continue
		}
		allocUsed[idx] = true
		a.releaseBlock = func() {
			allocMu.Lock()
			delete(allocUsed, idx)
			allocMu.Unlock()
		}
		return a, nil
	}
	return nil, fmt.Errorf("netlab: no free address block in %v", bench4)
}

func overlapsAny(p netip.Prefix, taken []netip.Prefix) bool {
	for _, t := range taken {
		if t.Bits() > 0 && t.Overlaps(p) {
			return true
		}
	}
	return false
}

// rootPrefixes lists the destinations of all routes (all tables, which
// includes every local address) in the root namespace.
func rootPrefixes(ctx context.Context) ([]netip.Prefix, error) {
	var ps []netip.Prefix
	for _, fam := range []string{"-4", "-6"} {
		out, err := output(ctx, "ip", "-j", fam, "route", "show", "table", "all")
		if err != nil {
			return nil, fmt.Errorf("netlab: list routes: %w", err)
		}
		var routes []struct {
			Dst string `json:"dst"`
		}
		if err := json.Unmarshal(out, &routes); err != nil {
			return nil, fmt.Errorf("netlab: parse ip %s route output: %w", fam, err)
		}
		for _, r := range routes {
			if p, err := netip.ParsePrefix(r.Dst); err == nil {
				ps = append(ps, p.Masked())
			} else if a, err := netip.ParseAddr(r.Dst); err == nil {
				ps = append(ps, netip.PrefixFrom(a, a.BitLen()))
			}
		}
	}
	return ps, nil
}
