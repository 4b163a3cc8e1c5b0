package scan

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// behaviour is what the fake network does with one attempt.
type behaviour func(ctx context.Context, attempt int) (net.Conn, error)

// fakeNet is an injected dialer whose every port behaves as told, and which
// keeps count of what the engine did with it.
type fakeNet struct {
	mu       sync.Mutex
	ports    map[uint16]behaviour
	attempts map[uint16]int
	dialed   []netip.AddrPort

	inflight, maxInflight atomic.Int64
	openConns             atomic.Int64
	lingered              atomic.Int64
	shared                *atomic.Int64 // optional: in-flight count shared by several fakes
	sharedMax             *atomic.Int64
}

func newFakeNet(ports map[uint16]behaviour) *fakeNet {
	return &fakeNet{ports: ports, attempts: map[uint16]int{}}
}

func (f *fakeNet) dial(ctx context.Context, addr netip.AddrPort) (net.Conn, error) {
	f.mu.Lock()
	f.attempts[addr.Port()]++
	n := f.attempts[addr.Port()]
	f.dialed = append(f.dialed, addr)
	b, ok := f.ports[addr.Port()]
	f.mu.Unlock()
	if !ok {
		b = refuse
	}
	storeMax(&f.maxInflight, f.inflight.Add(1))
	defer f.inflight.Add(-1)
	if f.shared != nil {
		storeMax(f.sharedMax, f.shared.Add(1))
		defer f.shared.Add(-1)
	}
	if _, err := b(ctx, n); err != nil {
		return nil, err
	}
	f.openConns.Add(1)
	return &fakeConn{f: f}, nil
}

func (f *fakeNet) attemptsTo(port uint16) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.attempts[port]
}

func storeMax(m *atomic.Int64, v int64) {
	for {
		old := m.Load()
		if v <= old || m.CompareAndSwap(old, v) {
			return
		}
	}
}

type fakeConn struct {
	net.Conn // nil: only Close and SetLinger are used
	f        *fakeNet
	closed   atomic.Bool
}

func (c *fakeConn) Close() error {
	if c.closed.CompareAndSwap(false, true) {
		c.f.openConns.Add(-1)
	}
	return nil
}

func (c *fakeConn) SetLinger(sec int) error {
	if sec == 0 {
		c.f.lingered.Add(1)
	}
	return nil
}

// connectErr wraps an errno the way net.Dialer does.
func connectErr(errno syscall.Errno) error {
	return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", errno)}
}

func errnoBehaviour(errno syscall.Errno) behaviour {
	return func(context.Context, int) (net.Conn, error) { return nil, connectErr(errno) }
}

var (
	accept behaviour = func(context.Context, int) (net.Conn, error) { return nil, nil }
	refuse           = errnoBehaviour(syscall.ECONNREFUSED)
	// silent never answers: the attempt ends only when the engine gives up.
	silent behaviour = func(ctx context.Context, _ int) (net.Conn, error) {
		<-ctx.Done()
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("operation was canceled")}
	}
)

// after answers with b from the given attempt on and is silent before it:
// a port whose first packets were lost.
func after(first int, b behaviour) behaviour {
	return func(ctx context.Context, n int) (net.Conn, error) {
		if n < first {
			return silent(ctx, n)
		}
		return b(ctx, n)
	}
}

// delayed answers with b after d.
func delayed(d time.Duration, b behaviour) behaviour {
	return func(ctx context.Context, n int) (net.Conn, error) {
		select {
		case <-time.After(d):
			return b(ctx, n)
		case <-ctx.Done():
			return silent(ctx, n)
		}
	}
}
