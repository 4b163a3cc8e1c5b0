// Package probe runs safe, read-only follow-up checks on open ports: the
// TLS handshake and certificate, whether HTTP redirects to HTTPS, the SSH
// banner and offered authentication methods, and the greeting of protocols
// that talk first. Every check dials only the pinned address through the
// caller's guarded dialer, under strict time and byte limits, and never
// sends credentials, exploits or anything beyond a harmless hello.
package probe

import "time"

// Finding is what one check learnt about one open port.
type Finding struct {
	Port  uint16 `json:"port"`
	Check string `json:"check"` // "tls", "http", "ssh", "banner"
	// Err is a user-facing sentence when the check could not complete
	// (the port's scan result stands regardless); "" on success.
	Err    string      `json:"error,omitempty"`
	TLS    *TLSInfo    `json:"tls,omitempty"`
	HTTP   *HTTPInfo   `json:"http,omitempty"`
	SSH    *SSHInfo    `json:"ssh,omitempty"`
	Banner *BannerInfo `json:"banner,omitempty"`
}

// TLSInfo is a TLS endpoint's handshake and certificate.
type TLSInfo struct {
	Version      string    `json:"version"`       // negotiated, e.g. "TLS 1.3"
	CipherSuite  string    `json:"cipher_suite"`  // e.g. "TLS_AES_128_GCM_SHA256"
	Accepts10    bool      `json:"accepts_tls10"` // a TLS 1.0-only handshake succeeded
	Accepts11    bool      `json:"accepts_tls11"` // a TLS 1.1-only handshake succeeded
	Subject      string    `json:"subject"`       // leaf certificate's subject common name
	SANs         []string  `json:"sans,omitempty"`
	Issuer       string    `json:"issuer"`
	NotAfter     time.Time `json:"not_after"`
	DaysLeft     int       `json:"days_left"`      // whole days until NotAfter (negative when expired)
	Expired      bool      `json:"expired"`        // NotAfter is in the past
	SelfSigned   bool      `json:"self_signed"`    // the leaf is its own issuer
	ValidForName bool      `json:"valid_for_name"` // the chain verifies against the roots AND the leaf covers the name typed
	VerifyError  string    `json:"verify_error,omitempty"`
	// HTTPS is what GET / over TLS returned, on web ports (443, 8443, or
	// an HTTP port that speaks TLS); nil elsewhere or when it failed.
	HTTPS *HTTPSInfo `json:"https,omitempty"`
}

// HTTPSInfo is a web server's answer to GET / over TLS.
type HTTPSInfo struct {
	Status int    `json:"status"`
	Server string `json:"server,omitempty"` // Server header
	HSTS   string `json:"hsts,omitempty"`   // Strict-Transport-Security ("" when none)
}

// HTTPInfo is what a plain-HTTP GET / with the user's host name returned.
type HTTPInfo struct {
	Status           int    `json:"status"`
	Location         string `json:"location,omitempty"` // Location header, if any
	RedirectsToHTTPS bool   `json:"redirects_to_https"` // 3xx to an https:// URL
	Server           string `json:"server,omitempty"`   // Server header
	HSTS             string `json:"hsts,omitempty"`     // Strict-Transport-Security seen on the https side ("" if none or not checked)
}

// SSHInfo is an SSH server's banner and the authentication methods it
// offers to an unauthenticated "none" attempt.
type SSHInfo struct {
	Banner       string   `json:"banner"`                 // e.g. "SSH-2.0-OpenSSH_9.6"
	AuthMethods  []string `json:"auth_methods,omitempty"` // e.g. ["publickey", "password"]
	PasswordAuth bool     `json:"password_auth"`          // password or keyboard-interactive offered: open to brute force
}

// BannerInfo is the first line a talk-first service sent.
type BannerInfo struct {
	Protocol string `json:"protocol,omitempty"` // best guess: "ftp", "smtp", "pop3", "imap", "mysql", "redis", …, or "" when unknown
	Line     string `json:"line"`               // the greeting's first line, capped and made printable
}
