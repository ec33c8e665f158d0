package emulator

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/geoblob/geoblob/internal/location"
)

// Certificate is a throwaway self-signed TLS certificate for serving the
// emulator over HTTPS in tests and on a developer's machine. It is its own
// root: trust it with Pool (or HTTPClient), never in a system store.
type Certificate struct {
	// TLS is the certificate and its private key, ready for a tls.Config.
	TLS tls.Certificate
	// CertPEM and KeyPEM are the same in PEM, as geoblob serve --cert and
	// --key read them.
	CertPEM, KeyPEM []byte
	leaf            *x509.Certificate
}

// DefaultCertificateHosts are the names NewCertificate covers when given
// none: the loopback addresses, localhost, and the emulator's host-style
// names (*.blob.localhost matches ACCOUNT.blob.localhost and
// ACCOUNT-secondary.blob.localhost).
var DefaultCertificateHosts = []string{"127.0.0.1", "::1", "localhost", "*" + location.LocalBlobSuffix}

// NewCertificate generates a self-signed ECDSA P-256 certificate valid for
// hosts (IP addresses or DNS names, wildcards allowed; DefaultCertificateHosts
// when none), from an hour ago for 30 days. Nothing is written to disk.
func NewCertificate(hosts ...string) (*Certificate, error) {
	if len(hosts) == 0 {
		hosts = DefaultCertificateHosts
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("emulator: certificate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("emulator: certificate serial: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{"geoblob emulator (throwaway)"}, CommonName: hosts[0]},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(30 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("emulator: create certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("emulator: marshal key: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("emulator: parse certificate: %w", err)
	}
	return &Certificate{
		TLS:     tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf},
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		leaf:    leaf,
	}, nil
}

// ServerTLS returns a server configuration serving c, for Options.TLS.
func (c *Certificate) ServerTLS() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{c.TLS}, MinVersion: tls.VersionTLS12}
}

// Pool returns a certificate pool holding c, for a client that trusts it.
func (c *Certificate) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(c.leaf)
	return p
}

// WriteFiles writes c to dir as cert.pem and key.pem (the key readable by
// its owner only), for geoblob serve --cert and --key, and returns their
// paths.
func (c *Certificate) WriteFiles(dir string) (certFile, keyFile string, err error) {
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, c.CertPEM, 0o644); err != nil {
		return "", "", fmt.Errorf("emulator: write certificate: %w", err)
	}
	if err := os.WriteFile(keyFile, c.KeyPEM, 0o600); err != nil {
		return "", "", fmt.Errorf("emulator: write key: %w", err)
	}
	return certFile, keyFile, nil
}

// LoadTLS reads a PEM certificate (chain) and key, as geoblob serve --cert
// and --key take them, into a configuration for Options.TLS.
func LoadTLS(certFile, keyFile string) (*tls.Config, error) {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("emulator: load certificate: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}, nil
}

// DialLocalhost dials like net.Dialer.DialContext but connects every name
// under .localhost (ACCOUNT.blob.localhost, ACCOUNT-secondary.blob.localhost)
// to 127.0.0.1, for systems whose resolver does not map them to loopback
// (RFC 6761 lets it, not every resolver does). Other addresses are dialled
// unchanged.
func DialLocalhost(ctx context.Context, network, addr string) (net.Conn, error) {
	if host, port, err := net.SplitHostPort(addr); err == nil {
		h := strings.TrimSuffix(strings.ToLower(host), ".")
		if h == "localhost" || strings.HasSuffix(h, ".localhost") {
			addr = net.JoinHostPort("127.0.0.1", port)
		}
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

// NewHTTPClient returns an HTTP client that dials with DialLocalhost and,
// when roots is not nil, trusts exactly the certificates in roots (for the
// emulator's throwaway one, Certificate.Pool). It serves as the Transport
// of azblob/azcore client options (policy.Transporter).
func NewHTTPClient(roots *x509.CertPool) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = DialLocalhost
	if roots != nil {
		t.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: t}
}

// HTTPClient returns an HTTP client for this emulator: it dials the
// host-style names with DialLocalhost and, when the emulator serves HTTPS,
// trusts exactly the certificates listed in Options.TLS.Certificates (a
// throwaway one from NewCertificate, or a loaded pair; a configuration that
// only has GetCertificate needs NewHTTPClient with its own roots). Use it as
// the Transport of azblob client options.
func (e *Emulator) HTTPClient() *http.Client {
	if e.opts.TLS == nil {
		return NewHTTPClient(nil)
	}
	pool := x509.NewCertPool()
	for _, c := range e.opts.TLS.Certificates {
		for _, der := range c.Certificate {
			if cert, err := x509.ParseCertificate(der); err == nil {
				pool.AddCert(cert)
			}
		}
	}
	return NewHTTPClient(pool)
}

// scheme is "https" when the emulator serves TLS, else "http".
func (e *Emulator) scheme() string {
	if e.opts.TLS != nil {
		return "https"
	}
	return "http"
}

// tlsListener wraps l in TLS when the emulator serves HTTPS. TLS is the
// innermost layer, so that the refuse-fault listener and azerr.Listener
// above it see plain HTTP. HTTP/2 is not offered: net/http speaks it only
// on a *tls.Conn it sees itself, and the layers above hide it.
func (e *Emulator) tlsListener(l net.Listener) net.Listener {
	if e.opts.TLS == nil {
		return l
	}
	cfg := e.opts.TLS.Clone()
	cfg.NextProtos = []string{"http/1.1"}
	return tls.NewListener(l, cfg)
}

type connKey struct{}

// withConn is the servers' ConnContext: it keeps the accepted connection,
// so that withTLSState can find the TLS connection under the wrappers.
func withConn(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, c)
}

// withTLSState sets r.TLS for requests that arrived over the emulator's TLS
// listener: net/http sets it only when it sees the *tls.Conn itself.
func withTLSState(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil {
			if c, ok := r.Context().Value(connKey{}).(net.Conn); ok {
				for i := 0; i < 8 && c != nil; i++ {
					if tc, ok := c.(*tls.Conn); ok {
						st := tc.ConnectionState()
						r.TLS = &st
						break
					}
					u, ok := c.(interface{ NetConn() net.Conn })
					if !ok {
						break
					}
					c = u.NetConn()
				}
			}
		}
		h.ServeHTTP(w, r)
	})
}
