package target

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
)

// Control returns a net.Dialer.ControlContext hook (also scan.Config.Control)
// that lets a socket connect only to pinned: the network must be TCP, the
// address must parse as IP:port (anything else fails closed), equal pinned
// after unmapping, and pass the policy again. Refusals are *Error of Kind
// ErrForbidden; an invalid, zoned or forbidden pinned address refuses every
// socket.
func (p *Policy) Control(pinned netip.Addr) func(ctx context.Context, network, address string, c syscall.RawConn) error {
	want := pinned.Unmap()
	return func(_ context.Context, network, address string, _ syscall.RawConn) error {
		switch {
		case !want.IsValid() || want.Zone() != "":
			return refuseConnect(fmt.Errorf("control: pinned address %v is not a bare IP (%s %q)", pinned, network, address))
		case network != "tcp" && network != "tcp4" && network != "tcp6":
			return refuseConnect(fmt.Errorf("control: network %q is not TCP (%q)", network, address))
		}
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return refuseConnect(fmt.Errorf("control: unparseable address %q: %w", address, err))
		}
		if got := ap.Addr().Unmap(); got != want || ap.Port() == 0 {
			return refuseConnect(fmt.Errorf("control: %s %v is not the pinned %v", network, ap, want))
		}
		return p.Check(want)
	}
}

// Dialer returns a net.Dialer whose ControlContext is p.Control(pinned). Its
// Timeout is unset: callers bound each dial with their context.
func (p *Policy) Dialer(pinned netip.Addr) *net.Dialer {
	return &net.Dialer{ControlContext: p.Control(pinned)}
}

func refuseConnect(cause error) *Error {
	return newError(ErrForbidden, "Vantage refused to connect to an address other than the pinned target", cause)
}

// Route reports an error when this machine has no route to addr, without
// sending anything: connecting a UDP socket only looks the route up. A
// server with no IPv6 connectivity says so before it queues a scan that
// cannot run. Only a missing route (or family) is an error: anything else
// (out of descriptors, say) is left for the scan to meet.
func Route(addr netip.Addr) error {
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(addr.Unmap(), 9)))
	if err == nil {
		return c.Close()
	}
	if errors.Is(err, syscall.ENETUNREACH) || errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.EAFNOSUPPORT) {
		return fmt.Errorf("no route to %v: %w", addr, err)
	}
	return nil
}
