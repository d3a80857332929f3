package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"os"
)

// redisTLSOptions are the flags of a TLS connection to Redis (Redis 6+
// built with TLS, or a managed Redis that requires it).
type redisTLSOptions struct {
	on         bool
	caFile     string
	certFile   string
	keyFile    string
	serverName string
}

func redisTLSFlags(fs *flag.FlagSet, o *options) {
	fs.BoolVar(&o.redisTLS.on, "redis-tls", false, "connect to Redis over TLS")
	fs.StringVar(&o.redisTLS.caFile, "redis-tls-ca", "", "with --redis-tls: PEM file of the CA certificates Redis's certificate is checked against (empty: the system's)")
	fs.StringVar(&o.redisTLS.certFile, "redis-tls-cert", "", "with --redis-tls: PEM file of the client certificate, for a Redis with tls-auth-clients (with --redis-tls-key)")
	fs.StringVar(&o.redisTLS.keyFile, "redis-tls-key", "", "with --redis-tls: PEM file of the client certificate's private key")
	fs.StringVar(&o.redisTLS.serverName, "redis-tls-server-name", "", "with --redis-tls: the name Redis's certificate must carry (empty: the host of each --redis address)")
}

// config returns the TLS configuration of the connection to Redis, nil
// without --redis-tls.
func (r redisTLSOptions) config() (*tls.Config, error) {
	if !r.on {
		if r.caFile != "" || r.certFile != "" || r.keyFile != "" || r.serverName != "" {
			return nil, usageError{errors.New("--redis-tls-ca, --redis-tls-cert, --redis-tls-key and --redis-tls-server-name need --redis-tls")}
		}
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: r.serverName}
	if r.caFile != "" {
		pem, err := os.ReadFile(r.caFile)
		if err != nil {
			return nil, fmt.Errorf("--redis-tls-ca: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--redis-tls-ca: %s holds no PEM certificate", r.caFile)
		}
	}
	if (r.certFile == "") != (r.keyFile == "") {
		return nil, usageError{errors.New("--redis-tls-cert and --redis-tls-key go together")}
	}
	if r.certFile != "" {
		cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
		if err != nil {
			return nil, fmt.Errorf("--redis-tls-cert: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}
