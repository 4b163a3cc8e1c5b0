package netlab

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// cmdTimeout caps every helper process (ip, nft, sysctl).
const cmdTimeout = 15 * time.Second

// netnsDir is where iproute2 keeps named namespaces.
const netnsDir = "/run/netns"

// nsPrefix starts every lab namespace's name.
const nsPrefix = "vlab-"

// labIf is the lab-side interface name inside the namespace.
const labIf = "lab0"

// run runs one helper process with a lifetime cap; the error names the
// command and carries its stderr.
func run(ctx context.Context, stdin, name string, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			return fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
		}
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, msg)
	}
	return nil
}

// output is run that returns stdout.
func output(ctx context.Context, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// nsHandle is an open fd of the lab namespace; ok says whether it is open.
type nsHandle struct {
	fd int
	ok bool
}

func (h *nsHandle) close() error {
	if !h.ok {
		return nil
	}
	h.ok = false
	if err := unix.Close(h.fd); err != nil {
		return fmt.Errorf("close namespace fd: %w", err)
	}
	return nil
}

func randomSuffix() string {
	var b [3]byte
	_, _ = rand.Read(b[:]) // never fails on Linux
	return hex.EncodeToString(b[:])
}

// createNamespace writes the creator marker (before the namespace exists,
// so Sweep never sees a live lab without one), creates the namespace and
// opens it.
func (l *Lab) createNamespace(ctx context.Context) error {
	name := l.cfg.Name
	if name == "" {
		name = "lab"
	}
	for range 4 { // the marker is created exclusively: a taken name is retried
		l.ns = nsPrefix + name + "-" + randomSuffix()
		marker, err := writeMarker(l.ns)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return err
		}
		l.marker = marker
		break
	}
	if l.marker == "" {
		return errors.New("netlab: no free namespace name")
	}
	if err := run(ctx, "", "ip", "netns", "add", l.ns); err != nil {
		return fmt.Errorf("netlab: create namespace: %w", err)
	}
	l.nsMade = true
	fd, err := unix.Open(netnsDir+"/"+l.ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("netlab: open namespace %s: %w", l.ns, err)
	}
	l.nsFile = nsHandle{fd: fd, ok: true}
	return nil
}

// nsSysctls are set inside the lab namespace only (these are all per
// namespace on this kernel). ICMP rate limits off, or unreachables go missing
// under a fast scan; large backlogs so a SYN burst to an open port is not
// dropped.
var nsSysctls = []string{
	"net.ipv4.icmp_ratelimit=0",
	"net.ipv6.icmp.ratelimit=0",
	"net.ipv4.icmp_msgs_per_sec=100000",
	"net.ipv4.icmp_msgs_burst=100000",
	"net.core.somaxconn=65535",
	"net.ipv4.tcp_max_syn_backlog=65535",
	"net.ipv4.tcp_syncookies=1",
}

func (l *Lab) configureNamespace(ctx context.Context) error {
	if err := run(ctx, "", "ip", "-n", l.ns, "link", "set", "lo", "up"); err != nil {
		return fmt.Errorf("netlab: namespace loopback: %w", err)
	}
	args := append([]string{"netns", "exec", l.ns, "sysctl", "-q", "-w"}, nsSysctls...)
	if err := run(ctx, "", "ip", args...); err != nil {
		return fmt.Errorf("netlab: namespace sysctls: %w", err)
	}
	return nil
}

// inNS runs fn on an OS thread that has joined the lab namespace. Sockets and
// devices fn creates belong to the lab namespace for good. The thread goes
// back to its namespace afterwards; if that fails it stays locked and exits
// with the goroutine, so no other goroutine ever runs in the lab namespace.
func (l *Lab) inNS(fn func() error) error {
	if !l.nsFile.ok {
		return errors.New("netlab: namespace is not open")
	}
	nsfd := l.nsFile.fd
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := unix.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("netlab: open own namespace: %w", err)
			return
		}
		defer unix.Close(orig)
		if err := unix.Setns(nsfd, unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("netlab: join namespace %s: %w", l.ns, err)
			return
		}
		ferr := fn()
		if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
			errc <- errors.Join(ferr, fmt.Errorf("netlab: leave namespace %s: %w", l.ns, err))
			return // still locked: the tainted thread exits with us
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}
