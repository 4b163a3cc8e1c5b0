//go:build linux

package scan

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// nativeConnector says the engine has its own epoll connector here.
const nativeConnector = true

// flight is one connection attempt in progress.
type flight struct {
	fd    int
	idx   int32
	start time.Time
	done  bool
}

// poller drives non-blocking connect()s from one epoll instance: no
// goroutine, timer or channel per attempt, which is what lets one scan
// outrun nmap on two cores.
type poller struct {
	epfd, wakefd int
	byFD         []*flight // indexed by descriptor
	fifo         []*flight // in start order: the oldest attempt times out first
	head         int
	events       []unix.EpollEvent
	pool         []*flight
}

func newPoller() (*poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	wakefd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wakefd)}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wakefd, &ev); err != nil {
		unix.Close(wakefd)
		unix.Close(epfd)
		return nil, fmt.Errorf("epoll_ctl: %w", err)
	}
	return &poller{epfd: epfd, wakefd: wakefd, events: make([]unix.EpollEvent, 256)}, nil
}

// wake interrupts epoll_wait; safe from any goroutine.
func (p *poller) wake() {
	var one = [8]byte{1}
	_, _ = unix.Write(p.wakefd, one[:])
}

// close abandons every attempt in flight and releases the poller.
func (p *poller) close(release func()) {
	for _, f := range p.fifo[p.head:] {
		if !f.done {
			p.finish(f)
			release()
		}
	}
	unix.Close(p.wakefd)
	unix.Close(p.epfd)
}

// start opens a socket and begins connecting. It returns the flight when
// the attempt is under way, or the outcome when it ended at once.
func (p *poller) start(ctx context.Context, idx int32, addr netip.AddrPort, control func(context.Context, string, string, syscall.RawConn) error) (*flight, outcome) {
	family, network, sa := unix.AF_INET, "tcp4", unix.Sockaddr(nil)
	if addr.Addr().Is4() {
		sa = &unix.SockaddrInet4{Port: int(addr.Port()), Addr: addr.Addr().As4()}
	} else {
		family, network = unix.AF_INET6, "tcp6"
		sa = &unix.SockaddrInet6{Port: int(addr.Port()), Addr: addr.Addr().As16()}
	}
	start := time.Now()
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if errors.Is(err, unix.EAFNOSUPPORT) {
		return nil, outcome{idx: idx, kind: kindFatal, err: fmt.Errorf("%w %s: this machine does not support %s (socket: %v)", ErrNoRoute, addr.Addr(), network, err)}
	}
	if err != nil {
		return nil, p.ended(idx, start, fmt.Errorf("socket: %w", err))
	}
	if control != nil {
		address := addr.Addr().String() + ":" + strconv.Itoa(int(addr.Port()))
		if addr.Addr().Is6() {
			address = "[" + addr.Addr().String() + "]:" + strconv.Itoa(int(addr.Port()))
		}
		if err := control(ctx, network, address, rawFD(fd)); err != nil {
			unix.Close(fd)
			return nil, outcome{idx: idx, kind: kindFatal, err: err}
		}
	}
	switch err := unix.Connect(fd, sa); {
	case err == nil: // connected at once (possible on loopback)
		self := selfConnected(fd)
		closeWithReset(fd)
		if self {
			return nil, outcome{idx: idx, kind: kindLocal, err: errSelfConnect}
		}
		return nil, outcome{idx: idx, kind: kindAnswered, reason: SynAck, rtt: time.Since(start)}
	case errors.Is(err, unix.ENETUNREACH), errors.Is(err, unix.EHOSTUNREACH):
		// At once, not from an ICMP error (those arrive later, through
		// SO_ERROR): this machine's routing table has no way there.
		unix.Close(fd)
		return nil, outcome{idx: idx, kind: kindFatal, err: fmt.Errorf("%w %s (connect: %v)", ErrNoRoute, addr.Addr(), err)}
	case !errors.Is(err, unix.EINPROGRESS):
		unix.Close(fd)
		return nil, p.ended(idx, start, fmt.Errorf("connect: %w", err))
	}
	// Edge-triggered: a spurious wake-up (see wait) must not repeat until
	// the socket's state really changes.
	ev := unix.EpollEvent{Events: unix.EPOLLOUT | unix.EPOLLET, Fd: int32(fd)}
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		unix.Close(fd)
		return nil, p.ended(idx, start, fmt.Errorf("epoll_ctl: %w", err))
	}
	f := p.newFlight(fd, idx, start)
	for fd >= len(p.byFD) {
		p.byFD = append(p.byFD, make([]*flight, len(p.byFD)+64)...)
	}
	p.byFD[fd] = f
	p.fifo = append(p.fifo, f)
	return f, outcome{}
}

func (p *poller) newFlight(fd int, idx int32, start time.Time) *flight {
	if n := len(p.pool); n > 0 {
		f := p.pool[n-1]
		p.pool = p.pool[:n-1]
		*f = flight{fd: fd, idx: idx, start: start}
		return f
	}
	return &flight{fd: fd, idx: idx, start: start}
}

func (p *poller) ended(idx int32, start time.Time, err error) outcome {
	reason, k := classify(err, false)
	return outcome{idx: idx, kind: k, reason: reason, rtt: time.Since(start), err: err}
}

// finish closes an attempt's socket; closing also removes it from epoll.
func (p *poller) finish(f *flight) {
	f.done = true
	p.byFD[f.fd] = nil
	unix.Close(f.fd)
}

// wait blocks for up to d and returns the outcomes of attempts that got an
// answer. It reports whether the wake descriptor fired.
func (p *poller) wait(d time.Duration, out []outcome) ([]outcome, bool, error) {
	ms := int(d / time.Millisecond)
	if d > 0 && ms == 0 {
		ms = 1
	}
	n, err := unix.EpollWait(p.epfd, p.events, ms)
	if err != nil {
		if errors.Is(err, unix.EINTR) {
			return out, false, nil
		}
		return out, false, fmt.Errorf("epoll_wait: %w", err)
	}
	now := time.Now()
	woken := false
	for _, ev := range p.events[:n] {
		fd := int(ev.Fd)
		if fd == p.wakefd {
			var buf [8]byte
			_, _ = unix.Read(p.wakefd, buf[:])
			woken = true
			continue
		}
		f := p.byFD[fd]
		if f == nil {
			continue
		}
		errno, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
		if err == nil && errno == 0 {
			if _, perr := unix.Getpeername(fd); perr != nil {
				// Woken without an answer (seen when an ICMP error races
				// the handshake): not connected, no error yet. Keep
				// waiting, as Go's own connect does; the timeout or the
				// next edge decides.
				continue
			}
			f.done = true
			p.byFD[fd] = nil
			self := selfConnected(fd)
			closeWithReset(fd)
			if self {
				// The kernel chose the target port as our source port on a
				// local address: the socket met itself. Try again.
				out = append(out, outcome{idx: f.idx, kind: kindLocal, err: errSelfConnect})
				continue
			}
			out = append(out, outcome{idx: f.idx, kind: kindAnswered, reason: SynAck, rtt: now.Sub(f.start)})
			continue
		}
		if err == nil {
			err = syscall.Errno(errno)
		}
		p.finish(f)
		reason, k := classify(err, false)
		out = append(out, outcome{idx: f.idx, kind: k, reason: reason, rtt: now.Sub(f.start), err: err})
	}
	if n == len(p.events) && len(p.events) < 4096 {
		p.events = make([]unix.EpollEvent, 2*len(p.events))
	}
	return out, woken, nil
}

// expire ends the attempts that have waited timeout or longer and returns
// how long until the oldest remaining one would expire (0 if none).
func (p *poller) expire(now time.Time, timeout time.Duration, out []outcome) ([]outcome, time.Duration) {
	for p.head < len(p.fifo) {
		f := p.fifo[p.head]
		if f.done {
			p.fifo[p.head] = nil
			p.head++
			p.pool = append(p.pool, f)
			continue
		}
		waited := now.Sub(f.start)
		if waited < timeout {
			return out, timeout - waited
		}
		p.finish(f)
		out = append(out, outcome{idx: f.idx, kind: kindSilent, reason: NoResponse, rtt: waited})
	}
	p.fifo, p.head = p.fifo[:0], 0
	return out, 0
}

var errSelfConnect = errors.New("connection to itself")

// selfConnected reports whether a connected socket's two ends are the same
// address, which TCP simultaneous open allows when scanning this machine.
func selfConnected(fd int) bool {
	local, err1 := unix.Getsockname(fd)
	peer, err2 := unix.Getpeername(fd)
	if err1 != nil || err2 != nil {
		return false
	}
	switch l := local.(type) {
	case *unix.SockaddrInet4:
		p, ok := peer.(*unix.SockaddrInet4)
		return ok && *l == *p
	case *unix.SockaddrInet6:
		p, ok := peer.(*unix.SockaddrInet6)
		return ok && l.Port == p.Port && l.Addr == p.Addr
	}
	return false
}

// closeWithReset closes a connected socket with an RST (SO_LINGER 0): the
// port's question is answered, and a scan leaves no TIME_WAIT behind.
func closeWithReset(fd int) {
	_ = unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
	unix.Close(fd)
}

// rawFD lets a Control hook see the socket as net.Dialer would show it.
type rawFD int

func (c rawFD) Control(f func(fd uintptr)) error { f(uintptr(c)); return nil }
func (c rawFD) Read(func(fd uintptr) bool) error {
	return errors.New("scan: reading is not supported during Control")
}
func (c rawFD) Write(func(fd uintptr) bool) error {
	return errors.New("scan: writing is not supported during Control")
}

// loopNative is loop's counterpart for the engine's own connector: it runs
// until nothing is queued or in flight.
func (r *run) loopNative(ctx context.Context) error {
	p, err := newPoller()
	if err != nil {
		return err
	}
	release := func() {
		if r.cfg.Sockets != nil {
			r.cfg.Sockets.release()
		}
	}
	defer p.close(release)
	stop := context.AfterFunc(ctx, p.wake)
	defer stop()

	var outs []outcome
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		wait, outs := r.launchNative(ctx, p, outs[:0])
		if err := r.digest(outs, release); err != nil {
			return err
		}
		if len(outs) > 0 {
			continue // digesting may have queued retries or freed room
		}
		if r.inflight == 0 && r.head == len(r.queue) && wait == 0 {
			return nil
		}
		outs, expireIn := p.expire(time.Now(), r.sh.est.current(), outs[:0])
		if len(outs) > 0 {
			if err := r.digest(outs, release); err != nil {
				return err
			}
			continue
		}
		switch {
		case wait == 0:
			wait = expireIn
		case expireIn > 0:
			wait = min(wait, expireIn)
		}
		if wait <= 0 {
			wait = 100 * time.Millisecond // only the wake descriptor can end this wait early
		}
		// The timeout may shrink while attempts wait; look again soon.
		wait = r.sh.est.nextCheck(wait)
		outs, _, err = p.wait(wait, outs[:0])
		if err != nil {
			return err
		}
		if err := r.digest(outs, release); err != nil {
			return err
		}
	}
}

// launchNative starts attempts while the caps allow. It returns how long
// to wait before launching can go on (0: nothing holds it back) and the
// outcomes of attempts that ended at once.
func (r *run) launchNative(ctx context.Context, p *poller, outs []outcome) (time.Duration, []outcome) {
	now := time.Now()
	if r.pauseUntil.After(now) {
		return r.pauseUntil.Sub(now), outs
	}
	for r.inflight < r.conc && r.head < len(r.queue) {
		if r.sh.lim != nil {
			// A fresh clock for each token: the limiter is shared by the
			// shards, and a stale time makes it credit tokens twice.
			now = time.Now()
			res := r.sh.lim.ReserveN(now, 1)
			if d := res.DelayFrom(now); d > 0 {
				res.CancelAt(now)
				return d, outs
			}
		}
		if r.cfg.Sockets != nil && !r.cfg.Sockets.tryAcquire() {
			return 2 * time.Millisecond, outs // another scan holds the shared sockets
		}
		idx := r.queue[r.head]
		r.head++
		f, o := p.start(ctx, idx, netip.AddrPortFrom(r.addr, r.ports[idx]), r.cfg.Control)
		if f == nil {
			if r.cfg.Sockets != nil {
				r.cfg.Sockets.release()
			}
			o.immediate = true
			outs = append(outs, o)
			if o.kind == kindLocal {
				break
			}
			continue
		}
		r.inflight++
	}
	if r.head == len(r.queue) {
		r.queue, r.head = r.queue[:0], 0
	}
	return 0, outs
}

// digest hands outcomes to handle, keeping the in-flight count and the
// socket pool in step for attempts that were under way (not immediate).
func (r *run) digest(outs []outcome, release func()) error {
	for _, o := range outs {
		if !o.immediate {
			r.inflight--
			release()
		}
		if o.kind == kindLocal {
			r.pauseUntil = time.Now().Add(localBackoff(r.state[o.idx].localErrs + 1))
		}
		if err := r.handle(o); err != nil {
			return err
		}
	}
	return nil
}
