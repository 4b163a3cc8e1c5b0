//go:build linux

package scan

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vantagescan/vantage/internal/netlab/netlabtest"
)

// loopbackRange returns n loopback ports from 61000 up: above Linux's
// ephemeral range (32768-60999), so no test's listener can be there.
func loopbackRange(n int) []uint16 {
	ports := make([]uint16, n)
	for i := range ports {
		ports[i] = uint16(61000 + i)
	}
	return ports
}

// TestNativeControlHook checks that the native connector hands every socket
// to Control as net.Dialer would, and that a refusal stops the scan.
func TestNativeControlHook(t *testing.T) {
	for _, fam := range []struct {
		addr, network, format string
	}{{"127.0.0.1", "tcp4", "127.0.0.1:%d"}, {"::1", "tcp6", "[::1]:%d"}} {
		t.Run(fam.network, func(t *testing.T) {
			var mu sync.Mutex
			seen := map[string]string{}
			refused := errors.New("not the pinned address")
			control := func(_ context.Context, network, address string, c syscall.RawConn) error {
				var fdOK bool
				if err := c.Control(func(fd uintptr) { fdOK = fd > 2 }); err != nil || !fdOK {
					t.Errorf("Control got no usable descriptor")
				}
				mu.Lock()
				seen[address] = network
				mu.Unlock()
				if address == fmt.Sprintf(fam.format, 61007) {
					return refused
				}
				return nil
			}
			s, err := New(Config{Control: control})
			if err != nil {
				t.Fatal(err)
			}
			addr := netip.MustParseAddr(fam.addr)
			if _, err := s.Scan(context.Background(), addr, loopbackRange(5), nil); err != nil {
				if fam.network == "tcp6" && errors.Is(err, syscall.EADDRNOTAVAIL) {
					t.Skip("no IPv6 loopback")
				}
				t.Fatal(err)
			}
			for _, p := range loopbackRange(5) {
				if got := seen[fmt.Sprintf(fam.format, p)]; got != fam.network {
					t.Errorf("port %d: Control saw network %q (calls: %v)", p, got, seen)
				}
			}
			_, err = s.Scan(context.Background(), addr, loopbackRange(10), nil)
			if !errors.Is(err, refused) || !strings.Contains(err.Error(), "port 61007") {
				t.Errorf("refusal: err = %v", err)
			}
		})
	}
}

// TestNativeSocketPool runs two native scans over one tiny shared pool.
func TestNativeSocketPool(t *testing.T) {
	pool := NewSocketPool(3)
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			s, _ := New(Config{Sockets: pool})
			sum, err := s.Scan(context.Background(), netip.MustParseAddr("127.0.0.1"), loopbackRange(600), nil)
			if err != nil || sum.Decided != 600 {
				t.Errorf("%+v %v", sum, err)
			}
		})
	}
	wg.Wait()
	if pool.InUse() != 0 {
		t.Errorf("pool holds %d after the scans", pool.InUse())
	}
}

// TestNativeBacksOffOnEMFILE lowers the descriptor limit under the
// concurrency: the scan must run out of descriptors, back off, and still
// decide every port correctly.
func TestNativeBacksOffOnEMFILE(t *testing.T) {
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Skip(err)
	}
	open := netlabtest.OpenPort(t)
	ports := append(loopbackRange(1500), open)

	// Leave room for what the test process already holds (other tests'
	// descriptors), plus a few dozen: far below the 400 the scan wants.
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip(err)
	}
	low := syscall.Rlimit{Cur: uint64(len(fds) + 40), Max: old.Max}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Skip(err)
	}
	s, _ := New(Config{Concurrency: 400})
	got := map[uint16]PortResult{}
	sum, err := s.Scan(context.Background(), netip.MustParseAddr("127.0.0.1"), ports, func(r PortResult) { got[r.Port] = r })
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	if err != nil {
		t.Fatalf("scan under a %d-descriptor limit: %v", low.Cur, err)
	}
	if sum.Open != 1 || got[open].State != Open || sum.Closed != 1500 || sum.Attempts != len(ports) {
		t.Errorf("summary %+v (attempts must not count local failures)", sum)
	}
}

func TestNativeRateCap(t *testing.T) {
	s, _ := New(Config{Rate: 200, Burst: 1})
	start := time.Now()
	if _, err := s.Scan(context.Background(), netip.MustParseAddr("127.0.0.1"), loopbackRange(11), nil); err != nil {
		t.Fatal(err)
	}
	// A lower bound only: 11 connections at 200/s cannot start in under 50 ms.
	if el := time.Since(start); el < 50*time.Millisecond {
		t.Errorf("11 connections took %v at 200/s", el)
	}
}

// TestNativeRateCapAcrossShards holds the rate over a scan big enough to be
// split across shards, which share one limiter.
func TestNativeRateCapAcrossShards(t *testing.T) {
	s, _ := New(Config{Rate: 20000}) // the default burst: 512
	start := time.Now()
	sum, err := s.Scan(context.Background(), netip.MustParseAddr("127.0.0.1"), loopbackRange(4000), nil)
	if err != nil || sum.Decided != 4000 {
		t.Fatal(sum, err)
	}
	// A lower bound only: after a burst of 512, 3488 connections at
	// 20000/s take at least 174 ms.
	if el := time.Since(start); el < 150*time.Millisecond {
		t.Errorf("4000 connections took %v at 20000/s", el)
	}
}
