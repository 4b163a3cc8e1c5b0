package netlab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// tunQueueLen is the TUN devices' txqueuelen: the default 500 overflows under
// a SYN burst while the forwarder catches up.
const tunQueueLen = "32768"

// linkMTU is set on both TUN devices; the forwarder's buffers are a little
// larger, so a packet is never truncated.
const linkMTU = 1500

// errNameTaken means another lab (maybe of another process) took the
// block's interface name between the check and the creation.
var errNameTaken = errors.New("interface name taken")

// createLink allocates an address block and builds the link for it: a veth
// pair for an unshaped Link, two TUN devices and a forwarder otherwise.
// Blocks whose interface name turns out to be taken are skipped (bounded).
func (l *Lab) createLink(ctx context.Context) error {
	skip := map[int]bool{}
	for range 8 {
		a, err := allocate(ctx, skip)
		if err != nil {
			return err
		}
		if l.cfg.Link.shaped() {
			err = l.createTUNs(a)
		} else {
			err = l.createVeth(ctx, a)
		}
		if errors.Is(err, errNameTaken) {
			a.release()
			skip[a.idx] = true
			continue
		}
		l.alloc = a
		if err != nil {
			return err
		}
		return l.addressLink(ctx)
	}
	return errors.New("netlab: create link: interface names kept colliding")
}

func (l *Lab) createVeth(ctx context.Context, a *allocation) error {
	err := run(ctx, "", "ip", "link", "add", a.rootIf, "type", "veth", "peer", "name", labIf, "netns", l.ns)
	if err != nil {
		if strings.Contains(err.Error(), "File exists") {
			return errNameTaken
		}
		return fmt.Errorf("netlab: create veth: %w", err)
	}
	l.rootIf, l.veth = a.rootIf, true
	return nil
}

// createTUNs opens the root-side TUN here and the lab-side TUN from a thread
// inside the namespace (so it is born there), then starts the forwarder.
func (l *Lab) createTUNs(a *allocation) error {
	root, err := openTUN(a.rootIf)
	if err != nil {
		if errors.Is(err, unix.EBUSY) {
			return errNameTaken
		}
		return fmt.Errorf("netlab: create root TUN: %w", err)
	}
	var lab *os.File
	err = l.inNS(func() error {
		var err error
		lab, err = openTUN(labIf)
		return err
	})
	if err != nil {
		root.Close()
		return fmt.Errorf("netlab: create lab TUN: %w", err)
	}
	l.rootIf = a.rootIf
	l.fwd = startForwarder(root, lab, l.cfg.Link)
	return nil
}

// openTUN creates a TUN device (layer 3, no packet info) in the calling
// thread's namespace. The fd is nonblocking so Go's poller serves reads and
// Close unblocks them; closing it deletes the device.
func openTUN(name string) (*os.File, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("open /dev/net/tun: %w", err)
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("tun %s: %w", name, err)
	}
	// IFF_TUN_EXCL: never attach to someone else's device of that name.
	ifr.SetUint16(unix.IFF_TUN | unix.IFF_NO_PI | unix.IFF_TUN_EXCL)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("TUNSETIFF %s: %w", name, err)
	}
	return os.NewFile(uintptr(fd), "tun:"+name), nil
}

// addressLink brings both ends up, waits for the carrier, then addresses
// them point-to-point (peer routes, so only the lab's own addresses route
// into the link) and waits until no IPv6 address is tentative. The order
// matters: an IPv6 address added while its link is down stays tentative (and
// drops traffic) for up to rtr_solicit_delay (1 s) after the link comes up.
func (l *Lab) addressLink(ctx context.Context) error {
	a := l.alloc
	up := func(dev string) string {
		if l.fwd != nil {
			return fmt.Sprintf("link set dev %s mtu %d txqueuelen %s up\n", dev, linkMTU, tunQueueLen)
		}
		return fmt.Sprintf("link set dev %s up\n", dev)
	}
	addr := func(dev string, local4, peer4, local6, peer6 netip.Addr) string {
		s := fmt.Sprintf("addr add %s/32 peer %s/32 dev %s\n", local4, peer4, dev)
		if l.cfg.IPv6 {
			s += fmt.Sprintf("addr add %s/128 peer %s/128 dev %s nodad\n", local6, peer6, dev)
		}
		return s
	}
	lab := []string{"-n", l.ns}
	if err := run(ctx, up(labIf), "ip", "-n", l.ns, "-batch", "-"); err != nil {
		return fmt.Errorf("netlab: lab side up: %w", err)
	}
	if err := run(ctx, up(a.rootIf), "ip", "-batch", "-"); err != nil {
		return fmt.Errorf("netlab: root side up: %w", err)
	}
	if err := waitLink(ctx, nil, a.rootIf, false); err != nil {
		return err
	}
	if err := waitLink(ctx, lab, labIf, false); err != nil {
		return err
	}
	if err := run(ctx, addr(labIf, a.lab4, a.root4, a.lab6, a.root6), "ip", "-n", l.ns, "-batch", "-"); err != nil {
		return fmt.Errorf("netlab: address lab side: %w", err)
	}
	if err := run(ctx, addr(a.rootIf, a.root4, a.lab4, a.root6, a.lab6), "ip", "-batch", "-"); err != nil {
		return fmt.Errorf("netlab: address root side: %w", err)
	}
	if !l.cfg.IPv6 {
		return nil
	}
	if err := waitLink(ctx, nil, a.rootIf, true); err != nil {
		return err
	}
	return waitLink(ctx, lab, labIf, true)
}

// linkReadyTimeout bounds waitLink.
const linkReadyTimeout = 5 * time.Second

// waitLink polls until dev has its carrier and a real qdisc or, with
// addrs, until none of its global IPv6 addresses is tentative.
func waitLink(ctx context.Context, ipArgs []string, dev string, addrs bool) error {
	ctx, cancel := context.WithTimeout(ctx, linkReadyTimeout)
	defer cancel()
	args := append(slices.Clone(ipArgs), "-j", "addr", "show", "dev", dev)
	var last string
	for {
		out, err := output(ctx, "ip", args...)
		if err != nil {
			return fmt.Errorf("netlab: wait for %s: %w", dev, err)
		}
		var links []struct {
			Flags    []string `json:"flags"`
			Qdisc    string   `json:"qdisc"`
			AddrInfo []struct {
				Family    string `json:"family"`
				Scope     string `json:"scope"`
				Tentative bool   `json:"tentative"`
			} `json:"addr_info"`
		}
		if err := json.Unmarshal(out, &links); err != nil || len(links) != 1 {
			return fmt.Errorf("netlab: wait for %s: cannot parse %q", dev, out)
		}
		k := links[0]
		ready := slices.Contains(k.Flags, "LOWER_UP") && k.Qdisc != "noop"
		if addrs {
			for _, ai := range k.AddrInfo {
				if ai.Family == "inet6" && ai.Scope == "global" && ai.Tentative {
					ready = false
				}
			}
		}
		if ready {
			return nil
		}
		last = string(out)
		select {
		case <-ctx.Done():
			return fmt.Errorf("netlab: %s not ready after %v: %s", dev, linkReadyTimeout, last)
		case <-time.After(5 * time.Millisecond):
		}
	}
}
