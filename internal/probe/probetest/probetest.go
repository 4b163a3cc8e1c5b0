// Package probetest starts, on loopback, one server of each kind the
// follow-up checks know (TLS with a self-signed certificate, plain HTTP,
// SSH offering passwords, an FTP greeting), for other packages' end-to-end
// tests. Everything stops with the test.
package probetest

import (
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// Ports are where the servers listen on 127.0.0.1.
type Ports struct {
	TLS, HTTP, SSH, FTP uint16
}

// List returns the ports in ascending order of kind: TLS, HTTP, SSH, FTP.
func (p Ports) List() []uint16 { return []uint16{p.TLS, p.HTTP, p.SSH, p.FTP} }

func port(t testing.TB, addr string) uint16 {
	t.Helper()
	ap, err := netip.ParseAddrPort(strings.TrimPrefix(strings.TrimPrefix(addr, "https://"), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	return ap.Port()
}

// Start runs the four servers until the test ends.
func Start(t testing.TB) Ports {
	t.Helper()
	hello := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Server", "probetest-httpd")
		_, _ = io.WriteString(w, "hello")
	})
	tlsSrv := httptest.NewTLSServer(hello) // self-signed, for 127.0.0.1 and example.com
	t.Cleanup(tlsSrv.Close)
	httpSrv := httptest.NewServer(hello)
	t.Cleanup(httpSrv.Close)
	return Ports{TLS: port(t, tlsSrv.URL), HTTP: port(t, httpSrv.URL), SSH: startSSH(t), FTP: startGreeter(t, "220 probetest FTP ready\r\n")}
}

func listen(t testing.TB) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// startGreeter sends greeting to each connection and closes it.
func startGreeter(t testing.TB, greeting string) uint16 {
	l := listen(t)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_, _ = io.WriteString(c, greeting)
			c.Close()
		}
	}()
	return port(t, l.Addr().String())
}

// startSSH runs an SSH server that offers password and public-key logins
// and accepts none of them.
func startSSH(t testing.TB) uint16 {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &ssh.ServerConfig{
		PasswordCallback:  func(ssh.ConnMetadata, []byte) (*ssh.Permissions, error) { return nil, io.EOF },
		PublicKeyCallback: func(ssh.ConnMetadata, ssh.PublicKey) (*ssh.Permissions, error) { return nil, io.EOF },
		ServerVersion:     "SSH-2.0-probetest",
	}
	cfg.AddHostKey(signer)
	l := listen(t)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _, _, _ = ssh.NewServerConn(c, cfg)
			}()
		}
	}()
	return port(t, l.Addr().String())
}
