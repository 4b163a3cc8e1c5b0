package probe

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"math"
	"strings"
	"time"
)

// checkTLS reads what the port serves over TLS and judges the certificate.
// A port that answers the ClientHello in plain HTTP (a web server on 443
// without TLS) gets the HTTP check's finding instead.
func (p *prober) checkTLS(ctx context.Context, port uint16) Finding {
	state, err := p.handshake(ctx, port, tls.VersionTLS10, tls.VersionTLS13, p.cfg.PerProbe)
	if err != nil {
		var rh tls.RecordHeaderError
		if errors.As(err, &rh) && string(rh.RecordHeader[:]) == "HTTP/" && ctx.Err() == nil {
			if reply, herr := p.get(ctx, "http", port, p.cfg.PerProbe); herr == nil {
				return p.httpFinding(ctx, port, reply)
			}
		}
		return Finding{Port: port, Check: CheckTLS, Err: errText("the TLS handshake failed", err)}
	}
	f := p.tlsFinding(ctx, port, state)
	if w := p.wellKnown(port); w == 443 || w == 8443 {
		p.readHTTPS(ctx, &f)
	}
	return f
}

// readHTTPS adds the answer to GET / over TLS (status, Server, HSTS) to a
// web port's TLS finding.
func (p *prober) readHTTPS(ctx context.Context, f *Finding) {
	if f.TLS == nil || ctx.Err() != nil {
		return
	}
	if reply, err := p.get(ctx, "https", f.Port, p.cfg.PerProbe); err == nil {
		f.TLS.HTTPS = &HTTPSInfo{Status: reply.status, Server: reply.server, HSTS: reply.hsts}
	}
}

// tlsFinding completes a successful handshake's finding: the certificate
// and whether TLS 1.0 and 1.1 are still accepted.
func (p *prober) tlsFinding(ctx context.Context, port uint16, state tls.ConnectionState) Finding {
	f := Finding{Port: port, Check: CheckTLS}
	if len(state.PeerCertificates) == 0 {
		f.Err = "the server sent no certificate"
		return f
	}
	info := p.certInfo(state.PeerCertificates)
	info.Version = tls.VersionName(state.Version)
	info.CipherSuite = tls.CipherSuiteName(state.CipherSuite)
	info.Accepts10 = state.Version == tls.VersionTLS10 || p.accepts(ctx, port, tls.VersionTLS10)
	info.Accepts11 = state.Version == tls.VersionTLS11 || p.accepts(ctx, port, tls.VersionTLS11)
	f.TLS = info
	return f
}

// accepts reports whether a handshake pinned to version succeeds. A
// timeout counts as "no": the main handshake already showed the port
// answers.
func (p *prober) accepts(ctx context.Context, port uint16, version uint16) bool {
	if ctx.Err() != nil {
		return false
	}
	state, err := p.handshake(ctx, port, version, version, p.cfg.PerProbe)
	return err == nil && state.Version == version
}

// handshake runs one TLS handshake limited to versions [minV, maxV] and
// returns what was negotiated; it sends nothing after the handshake.
func (p *prober) handshake(ctx context.Context, port uint16, minV, maxV uint16, limit time.Duration) (tls.ConnectionState, error) {
	ctx, cancel := p.within(ctx, limit)
	defer cancel()
	conn, err := p.dial(ctx, port)
	if err != nil {
		return tls.ConnectionState{}, fail(ctx, err)
	}
	tc := tls.Client(conn, p.tlsConfig(minV, maxV))
	defer tc.Close()
	if err := tc.HandshakeContext(ctx); err != nil {
		return tls.ConnectionState{}, fail(ctx, err)
	}
	return tc.ConnectionState(), nil
}

// tlsConfig accepts whatever the server presents (the chain is verified
// separately, so a bad certificate is reported rather than hidden) and
// offers every version and suite Go implements, so old servers still
// answer: an explicit MinVersion re-enables TLS 1.0/1.1 client-side, and an
// explicit suite list re-enables RSA key exchange and 3DES.
func (p *prober) tlsConfig(minV, maxV uint16) *tls.Config {
	cfg := &tls.Config{
		InsecureSkipVerify: true, // verified in verify with the configured roots
		MinVersion:         minV,
		MaxVersion:         maxV,
		CipherSuites:       allCipherSuites(),
	}
	if !p.hostIP {
		cfg.ServerName = p.host
	}
	return cfg
}

func allCipherSuites() []uint16 {
	var ids []uint16
	for _, s := range tls.CipherSuites() {
		ids = append(ids, s.ID)
	}
	for _, s := range tls.InsecureCipherSuites() {
		ids = append(ids, s.ID)
	}
	return ids
}

// certInfo describes the leaf of chain and verifies the chain for the
// host name at Now.
func (p *prober) certInfo(chain []*x509.Certificate) *TLSInfo {
	leaf := chain[0]
	now := p.cfg.Now()
	info := &TLSInfo{
		Subject:    printableText(leaf.Subject.CommonName, maxLine),
		SANs:       subjectAltNames(leaf),
		Issuer:     issuerName(leaf),
		NotAfter:   leaf.NotAfter,
		DaysLeft:   int(math.Floor(leaf.NotAfter.Sub(now).Hours() / 24)),
		Expired:    now.After(leaf.NotAfter),
		SelfSigned: selfSigned(leaf),
	}
	if err := p.verify(chain, now); err != nil {
		info.VerifyError = verifyText(err, p.host)
	} else {
		info.ValidForName = true
	}
	return info
}

// verify checks chain against the roots for the host name (or IP) the user
// typed, with the server's other certificates as intermediates.
func (p *prober) verify(chain []*x509.Certificate, now time.Time) error {
	roots := p.cfg.Roots
	if roots == nil {
		roots = systemRoots()
	}
	intermediates := x509.NewCertPool()
	for _, c := range chain[1:] {
		intermediates.AddCert(c)
	}
	_, err := chain[0].Verify(x509.VerifyOptions{
		DNSName:       p.host, // an IP literal is checked against IP SANs
		Roots:         roots,
		Intermediates: intermediates,
		CurrentTime:   now,
	})
	return err
}

// verifyText says why a chain does not verify, in the user's terms.
func verifyText(err error, host string) string {
	var unknown x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	var name x509.HostnameError
	switch {
	case errors.As(err, &name):
		return "the certificate is not valid for " + host
	case errors.As(err, &unknown):
		return "the certificate is not issued by a trusted authority"
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return "the certificate has expired or is not yet valid"
	case errors.As(err, &invalid):
		return "the certificate chain is invalid"
	}
	return "the certificate chain could not be verified"
}

// selfSigned reports whether the leaf names itself as issuer and its own
// key signed it (CheckSignatureFrom would also demand a CA certificate).
func selfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawIssuer, c.RawSubject) &&
		c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}

// issuerName is the issuer's common name, with its organisation when that
// says more (Let's Encrypt's intermediates are called "R11").
func issuerName(c *x509.Certificate) string {
	cn := c.Issuer.CommonName
	var org string
	if len(c.Issuer.Organization) > 0 {
		org = c.Issuer.Organization[0]
	}
	switch {
	case cn == "":
		return printableText(c.Issuer.String(), maxLine)
	case org == "" || strings.Contains(cn, org):
		return printableText(cn, maxLine)
	}
	return printableText(cn+" ("+org+")", maxLine)
}

// maxSANs caps the names kept from one certificate (CDN certificates can
// list hundreds).
const maxSANs = 100

func subjectAltNames(c *x509.Certificate) []string {
	var sans []string
	for _, n := range c.DNSNames {
		sans = append(sans, printableText(n, maxLine))
	}
	for _, ip := range c.IPAddresses {
		sans = append(sans, ip.String())
	}
	if len(sans) > maxSANs {
		sans = sans[:maxSANs]
	}
	return sans
}
