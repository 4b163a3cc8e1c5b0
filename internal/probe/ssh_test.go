package probe

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net"
	"slices"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
)

const testSSHVersion = "SSH-2.0-VantageTest_1.0"

// sshAttempts counts what the test SSH server was offered.
type sshAttempts struct {
	mu        sync.Mutex
	methods   []string // every authentication request, in order
	passwords int      // PasswordCallback calls
	keys      int      // PublicKeyCallback calls
	keyboard  int      // KeyboardInteractiveCallback calls
}

// sshServer serves SSH on loopback with the given authentication methods
// (all refusing), counting every attempt.
func sshServer(t *testing.T, password, keyboard bool) (uint16, *sshAttempts) {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(key)
	if err != nil {
		t.Fatal(err)
	}
	a := &sshAttempts{}
	refused := errors.New("refused")
	cfg := &ssh.ServerConfig{
		ServerVersion: testSSHVersion,
		PublicKeyCallback: func(ssh.ConnMetadata, ssh.PublicKey) (*ssh.Permissions, error) {
			a.mu.Lock()
			defer a.mu.Unlock()
			a.keys++
			return nil, refused
		},
		AuthLogCallback: func(_ ssh.ConnMetadata, method string, _ error) {
			a.mu.Lock()
			defer a.mu.Unlock()
			a.methods = append(a.methods, method)
		},
	}
	if password {
		cfg.PasswordCallback = func(ssh.ConnMetadata, []byte) (*ssh.Permissions, error) {
			a.mu.Lock()
			defer a.mu.Unlock()
			a.passwords++
			return nil, refused
		}
	}
	if keyboard {
		cfg.KeyboardInteractiveCallback = func(ssh.ConnMetadata, ssh.KeyboardInteractiveChallenge) (*ssh.Permissions, error) {
			a.mu.Lock()
			defer a.mu.Unlock()
			a.keyboard++
			return nil, refused
		}
	}
	cfg.AddHostKey(signer)
	port := serve(t, func(c net.Conn) {
		if conn, _, _, err := ssh.NewServerConn(c, cfg); err == nil {
			_ = conn.Close()
		}
	})
	return port, a
}

func TestSSHAuthMethods(t *testing.T) {
	tests := []struct {
		name               string
		password, keyboard bool
		methods            []string
		passwordAuth       bool
	}{
		{"password and publickey", true, false, []string{"publickey", "password"}, true},
		{"keyboard-interactive", false, true, []string{"publickey", "keyboard-interactive"}, true},
		{"publickey only", false, false, []string{"publickey"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			port, attempts := sshServer(t, tt.password, tt.keyboard)
			d := &testDialer{}
			cfg := Config{Dial: d.Dial, Host: testHost, Checks: map[uint16][]string{port: {CheckSSH}}}
			f := only(t, run(t, cfg, port), port, CheckSSH)
			if f.Err != "" || f.SSH == nil {
				t.Fatalf("finding %+v, want SSH info", f)
			}
			if f.SSH.Banner != testSSHVersion || !sameSet(f.SSH.AuthMethods, tt.methods) || f.SSH.PasswordAuth != tt.passwordAuth {
				t.Errorf("SSH %+v, want banner %q methods %q password auth %v", f.SSH, testSSHVersion, tt.methods, tt.passwordAuth)
			}
			assertNoCredentials(t, attempts)
		})
	}
}

// assertNoCredentials checks the server saw only the "none" request.
func assertNoCredentials(t *testing.T, a *sshAttempts) {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.passwords != 0 || a.keys != 0 || a.keyboard != 0 {
		t.Errorf("server received %d password, %d public key and %d keyboard-interactive attempts, want none",
			a.passwords, a.keys, a.keyboard)
	}
	if !slices.Equal(a.methods, []string{"none"}) {
		t.Errorf("server saw authentication requests %q, want only [none]", a.methods)
	}
}

func TestSSHServerWithoutAuthentication(t *testing.T) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &ssh.ServerConfig{NoClientAuth: true, ServerVersion: testSSHVersion}
	cfg.AddHostKey(signer)
	port := serve(t, func(c net.Conn) {
		conn, chans, reqs, err := ssh.NewServerConn(c, cfg)
		if err != nil {
			return
		}
		go ssh.DiscardRequests(reqs)
		for ch := range chans {
			_ = ch.Reject(ssh.Prohibited, "test")
		}
		_ = conn.Close()
	})
	d := &testDialer{}
	f := only(t, run(t, Config{Dial: d.Dial, Checks: map[uint16][]string{port: {CheckSSH}}}, port), port, CheckSSH)
	if f.Err != "" || f.SSH == nil || !slices.Equal(f.SSH.AuthMethods, []string{"none"}) || f.SSH.PasswordAuth {
		t.Errorf("finding %+v SSH %+v, want methods [none]", f, f.SSH)
	}
}

func TestSSHHandshakeFailureKeepsTheBanner(t *testing.T) {
	port := serve(t, func(c net.Conn) {
		_, _ = c.Write([]byte("SSH-2.0-Broken_0.1\r\n"))
		buf := make([]byte, 1024)
		_, _ = c.Read(buf) // the client's version, then hang up
	})
	d := &testDialer{}
	f := only(t, run(t, Config{Dial: d.Dial, Checks: map[uint16][]string{port: {CheckSSH}}}, port), port, CheckSSH)
	if f.Err == "" || f.SSH == nil || f.SSH.Banner != "SSH-2.0-Broken_0.1" {
		t.Errorf("finding %+v SSH %+v, want an error and the banner", f, f.SSH)
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
