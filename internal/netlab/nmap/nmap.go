// Package nmap runs Debian's nmap as the reference TCP connect scanner
// (`nmap -sT -Pn -n --reason`) and reads its XML output, so tests and the
// benchmark can hold Vantage's verdicts against nmap's. It is for the
// network lab only: callers pass lab addresses, never anything else.
package nmap

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// Port is nmap's verdict on one port.
type Port struct {
	Port   uint16
	State  string // open, closed, filtered
	Reason string // syn-ack, conn-refused, no-response, host-unreach, …
}

// Result is one nmap run.
type Result struct {
	Ports   map[uint16]Port
	Elapsed time.Duration // wall time of the nmap process
}

// Available reports whether an nmap binary is on PATH.
func Available() error {
	_, err := exec.LookPath("nmap")
	return err
}

// Scan runs `nmap -sT -Pn -n --reason -T4 -p ports addr` with -oX to stdout.
// With listAll, -d3 is added so nmap lists every port in the XML instead of
// folding the common states into <extraports> (lower debug levels still
// fold); its debug chatter costs time, so timing runs should pass false.
func Scan(ctx context.Context, addr netip.Addr, ports string, listAll bool, extra ...string) (Result, error) {
	dir, err := os.MkdirTemp("", "vantage-nmap-")
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(dir)
	xmlPath := filepath.Join(dir, "scan.xml")
	args := []string{"-sT", "-Pn", "-n", "--reason", "-T4", "-p", ports, "-oX", xmlPath}
	if listAll {
		args = append(args, "-d3")
	}
	if addr.Is6() {
		args = append(args, "-6")
	}
	args = append(args, extra...)
	args = append(args, addr.String())
	cmd := exec.CommandContext(ctx, "nmap", args...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	start := time.Now()
	err = cmd.Run()
	elapsed := time.Since(start)
	if err != nil {
		return Result{}, fmt.Errorf("nmap %v: %w: %s", args, err, bytes.TrimSpace(stderr.Bytes()))
	}
	f, err := os.Open(xmlPath)
	if err != nil {
		return Result{}, err
	}
	defer f.Close()
	res, err := Parse(f)
	res.Elapsed = elapsed
	return res, err
}

type xmlRun struct {
	Hosts []struct {
		Ports struct {
			Port []struct {
				Protocol string `xml:"protocol,attr"`
				PortID   uint16 `xml:"portid,attr"`
				State    struct {
					State  string `xml:"state,attr"`
					Reason string `xml:"reason,attr"`
				} `xml:"state"`
			} `xml:"port"`
			Extra []struct {
				State string `xml:"state,attr"`
				Count int    `xml:"count,attr"`
			} `xml:"extraports"`
		} `xml:"ports"`
	} `xml:"host"`
}

// ErrFolded means nmap folded ports into <extraports>, so not every port has
// a verdict; rerun with listAll.
var ErrFolded = errors.New("nmap folded some ports into extraports")

// Parse reads nmap's XML output. It returns ErrFolded (with the listed
// ports) when the output has <extraports> groups.
func Parse(r io.Reader) (Result, error) {
	var run xmlRun
	if err := xml.NewDecoder(r).Decode(&run); err != nil {
		return Result{}, fmt.Errorf("nmap XML: %w", err)
	}
	res := Result{Ports: map[uint16]Port{}}
	folded := 0
	for _, h := range run.Hosts {
		for _, p := range h.Ports.Port {
			if p.Protocol != "tcp" {
				continue
			}
			res.Ports[p.PortID] = Port{Port: p.PortID, State: p.State.State, Reason: p.State.Reason}
		}
		for _, e := range h.Ports.Extra {
			folded += e.Count
		}
	}
	if folded > 0 {
		return res, fmt.Errorf("%w (%s ports)", ErrFolded, strconv.Itoa(folded))
	}
	return res, nil
}
