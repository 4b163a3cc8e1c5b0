package probe

import (
	"crypto/x509"
	"sync"

	"golang.org/x/crypto/x509roots/fallback/bundle"
)

// systemRoots is the pool that verifies chains when Config.Roots is nil:
// the system's roots, or the x509roots bundle when the system has none (a
// distroless image). It uses the bundle package's API rather than importing
// x509roots/fallback, which would change x509 defaults for the whole binary.
var systemRoots = sync.OnceValue(func() *x509.CertPool {
	if pool, err := x509.SystemCertPool(); err == nil && !pool.Equal(x509.NewCertPool()) {
		return pool
	}
	return bundleRoots()
})

func bundleRoots() *x509.CertPool {
	pool := x509.NewCertPool()
	for root := range bundle.Roots() {
		cert, err := x509.ParseCertificate(root.Certificate)
		if err != nil {
			continue // the bundle is generated and tested upstream; skip rather than panic
		}
		if root.Constraint == nil {
			pool.AddCert(cert)
		} else {
			pool.AddCertWithConstraint(cert, root.Constraint)
		}
	}
	return pool
}
