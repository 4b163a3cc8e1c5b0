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
	Port  uint16
	Check string // "tls", "http", "ssh", "banner"
	// Err is a user-facing sentence when the check could not complete
	// (the port's scan result stands regardless); "" on success.
	Err    string
	TLS    *TLSInfo
	HTTP   *HTTPInfo
	SSH    *SSHInfo
	Banner *BannerInfo
}

// TLSInfo is a TLS endpoint's handshake and certificate.
type TLSInfo struct {
	Version      string // negotiated, e.g. "TLS 1.3"
	CipherSuite  string // e.g. "TLS_AES_128_GCM_SHA256"
	Accepts10    bool   // a TLS 1.0-only handshake succeeded
	Accepts11    bool   // a TLS 1.1-only handshake succeeded
	Subject      string // leaf certificate's subject common name
	SANs         []string
	Issuer       string
	NotAfter     time.Time
	DaysLeft     int  // whole days until NotAfter (negative when expired)
	Expired      bool // NotAfter is in the past
	SelfSigned   bool // the leaf is its own issuer
	ValidForName bool // the chain verifies against the roots AND the leaf covers the name typed
	VerifyError  string
}

// HTTPInfo is what a plain-HTTP GET / with the user's host name returned.
type HTTPInfo struct {
	Status           int
	Location         string // Location header, if any
	RedirectsToHTTPS bool   // 3xx to an https:// URL
	Server           string // Server header
	HSTS             string // Strict-Transport-Security seen on the https side ("" if none or not checked)
}

// SSHInfo is an SSH server's banner and the authentication methods it
// offers to an unauthenticated "none" attempt.
type SSHInfo struct {
	Banner       string   // e.g. "SSH-2.0-OpenSSH_9.6"
	AuthMethods  []string // e.g. ["publickey", "password"]
	PasswordAuth bool     // password or keyboard-interactive offered: open to brute force
}

// BannerInfo is the first line a talk-first service sent.
type BannerInfo struct {
	Protocol string // best guess: "ftp", "smtp", "pop3", "imap", "mysql", "redis", …, or "" when unknown
	Line     string // the greeting's first line, capped and made printable
}
