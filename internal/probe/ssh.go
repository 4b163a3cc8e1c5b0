package probe

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
)

const (
	sshUser    = "vantage-probe"
	sshVersion = "SSH-2.0-Vantage_probe"
)

// errStopAuth ends the SSH handshake once the server has listed its
// authentication methods, before the client tries any of them.
var errStopAuth = errors.New("probe: stop after the server listed its authentication methods")

// checkSSH reads the server's banner and the authentication methods it
// offers, without sending any credential.
//
// The client sends the one request RFC 4252 always starts with: method
// "none", which carries no credential. The server answers with the methods
// that can continue; x/crypto/ssh then calls ClientConfig.AuthCallback
// with them in ClientAuthContext.AllowedMethods, and the callback records
// them and returns an error, which aborts the handshake before any other
// method is attempted. ClientConfig.Auth is empty, so there is nothing to
// attempt anyway; the tests assert the server sees only "none".
func (p *prober) checkSSH(ctx context.Context, port uint16) Finding {
	f := Finding{Port: port, Check: CheckSSH}
	ctx, cancel := p.within(ctx, p.cfg.PerProbe)
	defer cancel()
	conn, err := p.dial(ctx, port)
	if err != nil {
		f.Err = errText("the SSH check failed", fail(ctx, err))
		return f
	}
	rec := &versionRecorder{Conn: conn}
	defer rec.Close()

	// AuthCallback runs on this goroutine, inside NewClientConn.
	var methods []string
	var serverVersion string
	reached := false
	cfg := &ssh.ClientConfig{
		User:            sshUser,
		ClientVersion:   sshVersion,
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), // nothing is authenticated or trusted here
		AuthCallback: func(actx *ssh.ClientAuthContext) (ssh.AuthMethod, error) {
			reached = true
			methods = slices.Clone(actx.AllowedMethods)
			serverVersion = string(actx.Metadata.ServerVersion())
			return nil, errStopAuth
		},
	}
	client, _, _, err := ssh.NewClientConn(rec, netip.AddrPortFrom(p.addr, port).String(), cfg)
	info := &SSHInfo{Banner: serverVersion}
	if info.Banner == "" {
		info.Banner = rec.version()
	}
	info.Banner = printable(info.Banner, maxLine)
	switch {
	case err == nil: // the server let "none" in: no authentication at all
		_ = client.Close()
		info.AuthMethods = []string{"none"}
	case reached:
		info.AuthMethods = sanitizeMethods(methods)
	default:
		f.Err = errText("the SSH handshake failed", fail(ctx, sshCause(err)))
		if info.Banner == "" {
			return f
		}
	}
	info.PasswordAuth = slices.Contains(info.AuthMethods, "password") ||
		slices.Contains(info.AuthMethods, "keyboard-interactive")
	f.SSH = info
	return f
}

// sshCause turns x/crypto/ssh's negotiation errors into a failure the
// user can read; network errors are left to explain.
func sshCause(err error) error {
	if strings.Contains(err.Error(), "no common algorithm") {
		return &failure{msg: "the server offers no algorithm this check supports", err: err}
	}
	return err
}

// sanitizeMethods keeps at most 16 printable method names.
func sanitizeMethods(methods []string) []string {
	out := make([]string, 0, min(len(methods), 16))
	for _, m := range methods {
		if len(out) == 16 {
			break
		}
		if m = printable(m, 64); m != "" {
			out = append(out, m)
		}
	}
	return out
}

// versionRecorder keeps the first bytes the server sends, so the banner is
// known even when the handshake fails after the version exchange.
type versionRecorder struct {
	net.Conn
	mu   sync.Mutex
	head []byte
}

const maxRecorded = 1024

func (r *versionRecorder) Read(b []byte) (int, error) {
	n, err := r.Conn.Read(b)
	r.mu.Lock()
	if room := maxRecorded - len(r.head); room > 0 {
		r.head = append(r.head, b[:min(n, room)]...)
	}
	r.mu.Unlock()
	return n, err
}

// version is the first line that starts "SSH-" (RFC 4253 lets servers
// send other lines before it).
func (r *versionRecorder) version() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for line := range bytes.Lines(r.head) {
		if bytes.HasPrefix(line, []byte("SSH-")) && bytes.HasSuffix(line, []byte("\n")) {
			return string(bytes.TrimRight(line, "\r\n"))
		}
	}
	return ""
}
