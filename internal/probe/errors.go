package probe

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
)

// dialError marks a failure to connect, as opposed to a failed exchange.
type dialError struct{ err error }

func (e *dialError) Error() string { return "dial: " + e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }

// failure is an error whose message is a sentence fit for the user; the
// cause is kept for errors.Is/As and never shown.
type failure struct {
	msg string
	err error
}

func (f *failure) Error() string { return f.msg }
func (f *failure) Unwrap() error { return f.err }

// fail turns err, which ended an exchange bounded by ctx, into a failure
// that says why in the user's terms.
func fail(ctx context.Context, err error) error {
	var f *failure
	if errors.As(err, &f) {
		return err
	}
	return &failure{msg: explain(ctx, err), err: err}
}

// errText is a Finding.Err: what failed and why, or only "the check ran
// out of time" when Total or the caller's context ended it.
func errText(what string, err error) string {
	var f *failure
	if errors.As(err, &f) && f.msg == msgOutOfTime {
		return msgOutOfTime
	}
	return what + ": " + err.Error()
}

func explain(ctx context.Context, err error) string {
	if ctx.Err() != nil {
		if errors.Is(context.Cause(ctx), errProbeTimeout) {
			return "the port did not answer in time"
		}
		return msgOutOfTime
	}
	var de *dialError
	var op *net.OpError
	var record tls.RecordHeaderError
	var ne net.Error
	switch {
	case errors.As(err, &de) && errors.Is(err, syscall.ECONNREFUSED):
		return "the connection was refused"
	case errors.As(err, &de) && errors.As(err, &ne) && ne.Timeout():
		return "the connection timed out"
	case errors.As(err, &de):
		return "the connection could not be made"
	case errors.As(err, &op) && op.Op == "remote error": // a TLS alert from the server
		return "the server refused the TLS handshake (" + op.Err.Error() + ")"
	case errors.As(err, &record):
		return "the port does not speak TLS"
	case strings.Contains(err.Error(), "malformed HTTP"): // net/http's unexported badStringError
		return "the port does not speak HTTP"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, net.ErrClosed):
		return "the port closed the connection"
	case errors.As(err, &ne) && ne.Timeout():
		return "the port did not answer in time"
	}
	return "the exchange failed"
}

// answered reports whether err ended an exchange with a port that accepted
// the connection and then answered in a way the check did not understand
// (another protocol), as opposed to a refused or silent port.
func answered(err error) bool {
	var de *dialError
	var ne net.Error
	return !errors.As(err, &de) && !(errors.As(err, &ne) && ne.Timeout()) &&
		!errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled)
}
