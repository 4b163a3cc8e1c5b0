package store

import "crypto/rand"

// idLen is the length of rand.Text's output: 26 base32 characters, 130 bits.
const idLen = 26

// NewID returns a fresh scan ID: 26 characters of the standard base32
// alphabet (A–Z, 2–7) carrying 130 random bits from crypto/rand, safe in a
// URL path without escaping.
func NewID() string { return rand.Text() }

// ValidID reports whether s has exactly the shape NewID produces, so callers
// can reject garbage (a 404) before touching the store.
func ValidID(s string) bool {
	if len(s) != idLen {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if (c < 'A' || c > 'Z') && (c < '2' || c > '7') {
			return false
		}
	}
	return true
}
