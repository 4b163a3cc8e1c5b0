package store

import "errors"

// ErrExists is returned by CreateScan when a scan with the same ID is
// already stored.
var ErrExists = errors.New("store: scan ID already exists")

// ErrConflict is returned when a scan's status does not allow the change
// asked for: starting a scan that is not queued, adding results to or
// finishing a scan that is already final.
var ErrConflict = errors.New("store: scan status does not allow this")

// ErrInvalid is returned for arguments no scan could have: an empty ID, an
// unknown or misplaced status, a zero or unrepresentable time, results out of
// order.
var ErrInvalid = errors.New("store: invalid argument")

// ErrForbidden is returned by Delete when the token does not match.
var ErrForbidden = errors.New("store: wrong delete token")
