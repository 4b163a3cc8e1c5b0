package scan

import (
	"math"
	"sync"
	"time"
)

// rttEstimator keeps the smoothed round-trip time of a scan (RFC 6298, as
// nmap does) and turns it into the timeout a silent port is given. Probe
// timers read it concurrently while the dispatcher feeds it samples.
type rttEstimator struct {
	initial, min, max time.Duration

	mu      sync.Mutex
	srtt    time.Duration
	rttvar  time.Duration
	samples int
	timeout time.Duration // cached: recomputed on every sample
}

func newRTTEstimator(initial, min, max time.Duration) *rttEstimator {
	return &rttEstimator{initial: initial, min: min, max: max, timeout: clamp(initial, min, max)}
}

// observe feeds one round-trip sample from an answered attempt.
func (e *rttEstimator) observe(rtt time.Duration) {
	if rtt <= 0 {
		rtt = time.Microsecond
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.samples == 0 {
		e.srtt = rtt
		e.rttvar = rtt / 2
	} else {
		delta := e.srtt - rtt
		if delta < 0 {
			delta = -delta
		}
		e.rttvar = (3*e.rttvar + delta) / 4
		e.srtt = (7*e.srtt + rtt) / 8
	}
	e.samples++
	e.timeout = clamp(e.srtt+4*e.rttvar, e.min, e.max)
}

// current returns how long a silent attempt is waited for right now.
func (e *rttEstimator) current() time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.timeout
}

// nextCheck says when an attempt that may wait left more should look at the
// timeout again. The timeout can shrink while an attempt waits (the first
// answers arrive, rttvar settles), so above the floor the attempt looks
// again every eighth of the floor; at the floor it cannot shrink further.
func (e *rttEstimator) nextCheck(left time.Duration) time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.timeout <= e.min {
		return left
	}
	return min(left, max(e.min/8, time.Millisecond))
}

func (e *rttEstimator) report() Timing {
	e.mu.Lock()
	defer e.mu.Unlock()
	return Timing{
		InitialTimeout: e.initial,
		MinTimeout:     e.min,
		MaxTimeout:     e.max,
		Timeout:        e.timeout,
		SRTT:           e.srtt,
		RTTVar:         e.rttvar,
		Samples:        e.samples,
	}
}

func clamp(d, lo, hi time.Duration) time.Duration {
	return max(lo, min(d, hi))
}

// retriesFor returns how many retries make it unlikely (below target) that a
// port which answers is misread as silent, when a share lossRate of first
// attempts is lost: the smallest r with lossRate^(r+1) <= target.
func retriesFor(lossRate, target float64) int {
	if lossRate <= 0 {
		return 0
	}
	if lossRate >= 0.9 {
		return math.MaxInt32
	}
	return max(0, int(math.Ceil(math.Log(target)/math.Log(lossRate)))-1)
}
