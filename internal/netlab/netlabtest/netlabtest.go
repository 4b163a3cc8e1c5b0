// Package netlabtest gives other packages' tests a network lab: Require
// decides between skip and failure when the machine cannot build one, and
// New builds a lab that is torn down with the test.
package netlabtest

import (
	"context"
	"net"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/vantagescan/vantage/internal/netlab"
)

// EnvRequire is the environment variable CI sets to 1: there a lab that
// cannot be built fails the test instead of skipping it.
const EnvRequire = "VANTAGE_NETLAB"

var sweepOnce sync.Once

// Require skips t when this machine cannot build a lab, or fails it when
// VANTAGE_NETLAB=1. The first call in a process also sweeps namespaces left
// by crashed runs.
func Require(t testing.TB) {
	t.Helper()
	if err := netlab.Check(); err != nil {
		if os.Getenv(EnvRequire) == "1" {
			t.Fatalf("%s=1 but: %v", EnvRequire, err)
		}
		t.Skipf("no network lab (set %s=1 to make this a failure): %v", EnvRequire, err)
	}
	sweepOnce.Do(func() {
		if err := netlab.Sweep(); err != nil {
			t.Logf("netlab sweep: %v", err)
		}
	})
}

// New calls Require, builds a lab and closes it when t ends (also when t
// fails).
func New(t testing.TB, cfg netlab.Config) *netlab.Lab {
	t.Helper()
	Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	lab, err := netlab.New(ctx, cfg)
	if err != nil {
		t.Fatalf("netlab: %v", err)
	}
	t.Cleanup(func() {
		if err := lab.Close(); err != nil {
			t.Errorf("netlab: %v", err)
		}
	})
	return lab
}

// OpenPort listens on a random 127.0.0.1 port that accepts every
// connection and closes it at once — an "open" port for loopback tests —
// until t ends. It returns the port.
func OpenPort(t testing.TB) uint16 {
	t.Helper()
	return Listen(t, "tcp4", "127.0.0.1:0")
}

// Listen is OpenPort on a given network and address, e.g. "tcp6" and
// "[::1]:61501" for a port open over IPv6 only. It returns the port.
func Listen(t testing.TB, network, address string) uint16 {
	t.Helper()
	l, err := net.Listen(network, address)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return netip.MustParseAddrPort(l.Addr().String()).Port()
}
