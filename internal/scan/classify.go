package scan

import (
	"context"
	"errors"
	"net"
	"os"
	"syscall"
)

// kind says what an attempt's outcome means for the port.
type kind uint8

const (
	kindAnswered  kind = iota + 1 // the target (or a router on the way) answered: decided
	kindSilent                    // nothing came back in time: retry or filtered/no-response
	kindLocal                     // this machine ran short (descriptors, ports, buffers): try again later, not a port state
	kindCancelled                 // the scan itself was stopped (decided by the caller, never by classify)
	kindFatal                     // an error that says nothing about the port (e.g. the dialer's policy refused): stop the scan
)

// classify maps a dial error to a reason, by errno and never by message.
// timedOut reports whether the engine's own probe timer cancelled the attempt.
func classify(err error, timedOut bool) (Reason, kind) {
	switch {
	case err == nil:
		return SynAck, kindAnswered
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET):
		return ConnRefused, kindAnswered
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.EHOSTDOWN):
		return HostUnreach, kindAnswered
	case errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.ENETDOWN):
		return NetUnreach, kindAnswered
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return AdminProhibited, kindAnswered
	case isLocalShortage(err):
		return 0, kindLocal
	case timedOut, isTimeout(err):
		return NoResponse, kindSilent
	default:
		return 0, kindFatal
	}
}

// isTimeout recognises both shapes a timeout takes in Go's net package
// (context.DeadlineExceeded and os.ErrDeadlineExceeded race each other)
// plus the kernel's own ETIMEDOUT.
func isTimeout(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	return errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, os.ErrDeadlineExceeded) ||
		errors.Is(err, syscall.ETIMEDOUT)
}

// isLocalShortage recognises errors that mean this machine ran out of
// something, which say nothing about the target port.
func isLocalShortage(err error) bool {
	for _, errno := range []syscall.Errno{
		syscall.EMFILE, syscall.ENFILE, syscall.EADDRNOTAVAIL,
		syscall.ENOBUFS, syscall.ENOMEM, syscall.EAGAIN, syscall.EADDRINUSE,
	} {
		if errors.Is(err, errno) {
			return true
		}
	}
	return false
}
