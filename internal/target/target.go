// Package target turns what a person types into one pinned, allowed IP
// address, and guards every connection made to it. It owns the whole path
// of SECURITY.md "From input to a pinned IP": normalising the input (Parse),
// the address policy (Policy), resolving a name exactly once with Go's own
// resolver (Pinner), and the connect-time re-check (Policy.Control).
//
// It must never echo a forbidden address to the user: user-facing messages
// (Error.Msg) name the kind of range ("a private network"), never the address,
// which goes only to Error.Err for logs. It must never resolve through cgo or
// getaddrinfo (which accept the old numeric spellings such as 0x7f.1), never
// resolve a name twice for one target, and never let a connection reach an
// address other than the one it pinned.
package target

import (
	"errors"
	"strconv"
	"unicode/utf8"
)

// The kinds of Error. Each maps to one HTTP status in the web layer.
var (
	ErrInvalidInput = errors.New("invalid target")      // syntax: HTTP 422
	ErrForbidden    = errors.New("forbidden target")    // policy: HTTP 403
	ErrUnresolvable = errors.New("unresolvable target") // NXDOMAIN / no address: HTTP 422
	ErrResolver     = errors.New("resolver failure")    // timeout / SERVFAIL / network: HTTP 502 or 503
)

// Error is the package's one error type: a sentence a user can act on, and
// the cause kept for logs.
type Error struct {
	Kind error  // one of ErrInvalidInput, ErrForbidden, ErrUnresolvable, ErrResolver
	Msg  string // user-facing; never contains a forbidden address or internal detail
	Err  error  // the cause, for logs only; may name addresses
}

// Error returns the user-facing message.
func (e *Error) Error() string {
	if e.Msg == "" && e.Kind != nil {
		return e.Kind.Error()
	}
	return e.Msg
}

// Unwrap returns Kind and Err, so errors.Is(err, ErrForbidden) and
// errors.Is(err, context.DeadlineExceeded) both work.
func (e *Error) Unwrap() []error {
	errs := make([]error, 0, 2)
	if e.Kind != nil {
		errs = append(errs, e.Kind)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

func newError(kind error, msg string, cause error) *Error {
	return &Error{Kind: kind, Msg: msg, Err: cause}
}

// maxQuoted caps how much of the user's own input a message repeats.
const maxQuoted = 100

// quote returns s, cut to maxQuoted runes, as a Go-quoted string: control and
// invisible characters show as escapes, so a message cannot be spoofed.
func quote(s string) string {
	if utf8.RuneCountInString(s) > maxQuoted {
		n := 0
		for i := range s {
			if n == maxQuoted {
				s = s[:i] + "…"
				break
			}
			n++
		}
	}
	return strconv.Quote(s)
}
