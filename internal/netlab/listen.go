package netlab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"
)

// portListener is one Open port: a listening socket per address family,
// created inside the namespace, each with an accept loop.
type portListener struct {
	lns []net.Listener
}

// startListener opens port on the lab's addresses. Caller holds l.mu (or
// owns l during New).
func (l *Lab) startListener(port uint16) error {
	if _, ok := l.listeners[port]; ok {
		return nil
	}
	addrs := []netip.Addr{l.alloc.lab4}
	if l.cfg.IPv6 {
		addrs = append(addrs, l.alloc.lab6)
	}
	var pl portListener
	err := l.inNS(func() error {
		var lc net.ListenConfig
		for _, a := range addrs {
			network := "tcp4"
			if a.Is6() {
				network = "tcp6"
			}
			ln, err := lc.Listen(context.Background(), network, netip.AddrPortFrom(a, port).String())
			if err != nil {
				return err
			}
			pl.lns = append(pl.lns, ln)
		}
		return nil
	})
	if err != nil {
		for _, ln := range pl.lns {
			ln.Close()
		}
		return fmt.Errorf("netlab: listen on port %d: %w", port, err)
	}
	l.listeners[port] = &pl
	for _, ln := range pl.lns {
		l.acceptWG.Add(1)
		go func() {
			defer l.acceptWG.Done()
			acceptLoop(ln)
		}()
	}
	return nil
}

// stopListener closes port's sockets; their accept loops end on their own.
func (l *Lab) stopListener(port uint16) {
	pl, ok := l.listeners[port]
	if !ok {
		return
	}
	for _, ln := range pl.lns {
		ln.Close()
	}
	delete(l.listeners, port)
}

// acceptLoop really accepts, so the backlog never fills, and closes each
// connection at once. It ends when ln is closed.
func acceptLoop(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(5 * time.Millisecond) // e.g. EMFILE: back off, then retry
			continue
		}
		c.Close()
	}
}
