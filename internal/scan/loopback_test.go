package scan

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// unusedPort is above Linux's ephemeral range (32768-60999), so no test's
// listener can be there.
const unusedPort = 61998

// TestLoopbackOpenAndClosed scans real sockets: a listener (open) and a
// port nothing listens on (closed), and checks that the open port's
// connection was torn down with a reset, leaving no TIME_WAIT behind.
func TestLoopbackOpenAndClosed(t *testing.T) {
	for _, fam := range []struct{ network, host string }{{"tcp4", "127.0.0.1"}, {"tcp6", "::1"}} {
		t.Run(fam.network, func(t *testing.T) {
			l, err := net.Listen(fam.network, net.JoinHostPort(fam.host, "0"))
			if err != nil {
				if fam.network == "tcp6" {
					t.Skipf("no IPv6 loopback here: %v", err)
				}
				t.Fatal(err)
			}
			defer l.Close()
			accepted := make(chan error, 1)
			go func() {
				c, err := l.Accept()
				if err != nil {
					accepted <- err
					return
				}
				defer c.Close()
				_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
				_, err = c.Read(make([]byte, 1))
				accepted <- err
			}()
			open := netip.MustParseAddrPort(l.Addr().String()).Port()
			closed := uint16(unusedPort)

			s, err := New(Config{InitialTimeout: time.Second, MinTimeout: time.Second, MaxTimeout: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			got := map[uint16]PortResult{}
			addr := netip.MustParseAddr(fam.host)
			sum, err := s.Scan(context.Background(), addr, []uint16{open, closed}, func(r PortResult) { got[r.Port] = r })
			if err != nil {
				t.Fatal(err)
			}
			if r := got[open]; r.State != Open || r.Reason != SynAck || r.Attempts != 1 || r.RTT <= 0 {
				t.Errorf("listener port: %+v", r)
			}
			if r := got[closed]; r.State != Closed || r.Reason != ConnRefused || r.Attempts != 1 {
				t.Errorf("unused port: %+v", r)
			}
			if sum.Open != 1 || sum.Closed != 1 {
				t.Errorf("summary %+v", sum)
			}
			// The server must see a reset, not an orderly FIN: SO_LINGER 0.
			select {
			case err := <-accepted:
				if !errors.Is(err, syscall.ECONNRESET) {
					t.Errorf("server read after scan: %v, want ECONNRESET (the scanner must close with RST)", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("listener never saw the connection")
			}
			if n := timeWaitSockets(t, fam.network, open); n != 0 {
				t.Errorf("%d TIME_WAIT sockets for port %d after the scan", n, open)
			}
		})
	}
}

// timeWaitSockets counts TIME_WAIT sockets with the given local or remote
// port, from /proc/net/tcp{,6}.
func timeWaitSockets(t *testing.T, network string, port uint16) int {
	t.Helper()
	file := "/proc/net/tcp"
	if network == "tcp6" {
		file = "/proc/net/tcp6"
	}
	f, err := os.Open(file)
	if err != nil {
		t.Skipf("cannot read %s: %v", file, err)
	}
	defer f.Close()
	return countTimeWait(t, f, port)
}

func countTimeWait(t *testing.T, r io.Reader, port uint16) int {
	t.Helper()
	hexPort := fmt.Sprintf(":%04X", port)
	n := 0
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || f[3] != "06" { // 06 is TCP_TIME_WAIT
			continue
		}
		if strings.HasSuffix(f[1], hexPort) || strings.HasSuffix(f[2], hexPort) {
			n++
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}
