// Package scan is Vantage's TCP connect scan engine: it decides, for each
// port of ONE already-chosen IP address, whether the port is open, closed or
// filtered, and why, in nmap's connect-scan vocabulary.
//
// The engine never resolves names and never chooses an address: it dials only
// the address it is given, and only through the injected DialFunc (the target
// policy's guarded dialer plugs in there). It knows nothing about HTTP.
package scan

import (
	"fmt"
	"time"
)

// State is what a connect scan concludes about one port.
type State uint8

// The three states a TCP connect scan can tell apart.
const (
	Open     State = iota + 1 // a service accepted the handshake
	Closed                    // the host answered with a reset
	Filtered                  // nothing answered, or an ICMP error did
)

var stateNames = [...]string{Open: "open", Closed: "closed", Filtered: "filtered"}

// String returns the state as nmap spells it: "open", "closed", "filtered".
func (s State) String() string {
	if int(s) < len(stateNames) && stateNames[s] != "" {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// MarshalText implements encoding.TextMarshaler.
func (s State) MarshalText() ([]byte, error) {
	if int(s) >= len(stateNames) || stateNames[s] == "" {
		return nil, fmt.Errorf("scan: invalid state %d", uint8(s))
	}
	return []byte(stateNames[s]), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *State) UnmarshalText(b []byte) error {
	for i, n := range stateNames {
		if n != "" && n == string(b) {
			*s = State(i)
			return nil
		}
	}
	return fmt.Errorf("scan: unknown state %q", b)
}

// Reason is why a port got its state, in nmap's connect-scan vocabulary.
type Reason uint8

// Reasons a connect scan can observe.
const (
	SynAck          Reason = iota + 1 // connect() succeeded: open
	ConnRefused                       // ECONNREFUSED (a TCP reset): closed
	NoResponse                        // nothing came back before the timeout: filtered
	HostUnreach                       // ICMP host unreachable (EHOSTUNREACH): filtered
	NetUnreach                        // ICMP network unreachable (ENETUNREACH): filtered
	AdminProhibited                   // ICMP administratively prohibited (EACCES/EPERM): filtered
)

var reasonNames = [...]string{
	SynAck:          "syn-ack",
	ConnRefused:     "conn-refused",
	NoResponse:      "no-response",
	HostUnreach:     "host-unreach",
	NetUnreach:      "net-unreach",
	AdminProhibited: "admin-prohibited",
}

// String returns the reason as nmap spells it, e.g. "conn-refused".
func (r Reason) String() string {
	if int(r) < len(reasonNames) && reasonNames[r] != "" {
		return reasonNames[r]
	}
	return fmt.Sprintf("Reason(%d)", uint8(r))
}

// MarshalText implements encoding.TextMarshaler.
func (r Reason) MarshalText() ([]byte, error) {
	if int(r) >= len(reasonNames) || reasonNames[r] == "" {
		return nil, fmt.Errorf("scan: invalid reason %d", uint8(r))
	}
	return []byte(reasonNames[r]), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (r *Reason) UnmarshalText(b []byte) error {
	for i, n := range reasonNames {
		if n != "" && n == string(b) {
			*r = Reason(i)
			return nil
		}
	}
	return fmt.Errorf("scan: unknown reason %q", b)
}

// State returns the port state a reason implies.
func (r Reason) State() State {
	switch r {
	case SynAck:
		return Open
	case ConnRefused:
		return Closed
	default:
		return Filtered
	}
}

// PortResult is the decision about one port.
type PortResult struct {
	Port   uint16
	State  State
	Reason Reason
	// RTT is the time from the connect() call to the answer of the attempt
	// that decided the port; for ports that never answered it is the time
	// the last attempt waited.
	RTT time.Duration
	// Attempts counts the connection attempts made to this port (1 plus
	// retries). Attempts refused for local reasons (EMFILE, …) are not
	// counted: they never left this machine.
	Attempts int
}

// Timing reports the timeout machinery as it stood when the scan ended.
type Timing struct {
	InitialTimeout time.Duration // the timeout used before the first answer
	MinTimeout     time.Duration // floor of the adaptive timeout
	MaxTimeout     time.Duration // ceiling of the adaptive timeout
	Timeout        time.Duration // the adaptive timeout at the end: srtt + 4·rttvar, clamped
	SRTT           time.Duration // smoothed round-trip time (0 without samples)
	RTTVar         time.Duration // round-trip time variation
	Samples        int           // answered attempts that fed the estimator
	Retries        int           // retries per silent port at the end (raised when loss was seen)
	LossDetected   bool          // some port answered only on a retry
	LossRate       float64       // estimated share of first attempts lost among answering ports
}

// Summary describes a finished (or stopped) scan.
type Summary struct {
	Ports    int // ports requested
	Decided  int // ports with a result (less than Ports if the scan stopped early)
	Open     int
	Closed   int
	Filtered int
	Attempts int // connection attempts made in all
	Started  time.Time
	Duration time.Duration
	Timing   Timing
}

// AllFiltered reports whether every requested port was decided filtered,
// which means the host is down or a firewall drops everything.
func (s Summary) AllFiltered() bool {
	return s.Ports > 0 && s.Filtered == s.Ports
}

// Verdict is a one-sentence reading of the counts for people.
func (s Summary) Verdict() string {
	switch {
	case s.Decided < s.Ports:
		return fmt.Sprintf("The scan stopped after %d of %d ports.", s.Decided, s.Ports)
	case s.AllFiltered():
		return "Every port was filtered: the host looks down, or a firewall silently drops everything from the internet."
	case s.Open == 0:
		return "No open ports: nothing on this host is reachable from the internet on the ports scanned."
	case s.Open == 1:
		return "1 port is open to the internet; check that it is meant to be."
	default:
		return fmt.Sprintf("%d ports are open to the internet; check that each is meant to be.", s.Open)
	}
}

// Milliseconds converts d to milliseconds with microsecond precision.
func Milliseconds(d time.Duration) float64 {
	return float64(d.Microseconds()) / 1000
}
