package netlab

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// markerDir holds one file per lab namespace naming its creator: "<pid>
// <start time in clock ticks>", so a reused PID is not mistaken for the
// creator.
const markerDir = "/run/vantage-netlab"

// unmarkedGrace is how old a vlab-* namespace without a marker must be
// before Sweep deletes it. Labs write their marker before creating the
// namespace, so an unmarked one is never a live lab of ours; the grace only
// covers other code that is creating a namespace right now.
const unmarkedGrace = time.Minute

// Check reports whether this machine can build a lab: it needs root, `ip`
// and `nft` on PATH and /dev/net/tun. The error lists everything missing.
func Check() error {
	var errs []error
	if os.Geteuid() != 0 {
		errs = append(errs, fmt.Errorf("not root (euid %d)", os.Geteuid()))
	}
	for _, bin := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(bin); err != nil {
			errs = append(errs, fmt.Errorf("%s not found: %w", bin, err))
		}
	}
	if fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0); err != nil {
		errs = append(errs, fmt.Errorf("open /dev/net/tun: %w", err))
	} else {
		unix.Close(fd)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("netlab: this machine cannot build a lab: %w", err)
	}
	return nil
}

// procStart is a process's start time in clock ticks since boot, from
// /proc/<pid>/stat field 22.
func procStart(pid int) (string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return "", fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3
	if len(f) < 20 {
		return "", fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	return f[19], nil
}

func writeMarker(ns string) (string, error) {
	if err := os.MkdirAll(markerDir, 0o755); err != nil {
		return "", fmt.Errorf("netlab: marker dir: %w", err)
	}
	pid := os.Getpid()
	start, err := procStart(pid)
	if err != nil {
		return "", fmt.Errorf("netlab: own start time: %w", err)
	}
	path := filepath.Join(markerDir, ns)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return "", fmt.Errorf("netlab: write marker: %w", err)
	}
	_, werr := fmt.Fprintf(f, "%d %s\n", pid, start)
	if err := errors.Join(werr, f.Close()); err != nil {
		os.Remove(path)
		return "", fmt.Errorf("netlab: write marker: %w", err)
	}
	return path, nil
}

func removeMarker(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove marker: %w", err)
	}
	return nil
}

// creatorAlive reads a marker; ok is false when there is none (or it is
// unreadable).
func creatorAlive(path string) (alive, ok bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return false, false
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return false, false
	}
	pid, err := strconv.Atoi(f[0])
	if err != nil || pid <= 0 {
		return false, false
	}
	start, err := procStart(pid)
	return err == nil && start == f[1], true
}

// Sweep deletes "vlab-*" namespaces left behind by crashed runs: those whose
// marker names a process that no longer exists (same PID, same start time),
// and unmarked ones older than a minute. It also removes stale markers.
// Live labs, of this or any other process, are left alone.
func Sweep() error {
	var errs []error
	entries, err := os.ReadDir(netnsDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("netlab: sweep: %w", err)
	}
	seen := map[string]bool{}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, nsPrefix) {
			continue
		}
		seen[name] = true
		marker := filepath.Join(markerDir, name)
		alive, ok := creatorAlive(marker)
		if alive {
			continue
		}
		if !ok {
			info, err := e.Info()
			if err != nil || time.Since(info.ModTime()) < unmarkedGrace {
				continue
			}
		}
		if err := run(context.Background(), "", "ip", "netns", "del", name); err != nil {
			if _, serr := os.Stat(filepath.Join(netnsDir, name)); serr == nil {
				errs = append(errs, err)
				continue
			} // else a concurrent Sweep got there first
		}
		errs = append(errs, removeMarker(marker))
	}
	markers, err := os.ReadDir(markerDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, err)
	}
	for _, m := range markers {
		if seen[m.Name()] {
			continue
		}
		// No namespace: stale unless its creator is about to make it.
		path := filepath.Join(markerDir, m.Name())
		if alive, _ := creatorAlive(path); !alive {
			errs = append(errs, removeMarker(path))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("netlab: sweep: %w", err)
	}
	return nil
}
