package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"

	"github.com/cutover/cutover/internal/upstream"
	"github.com/cutover/cutover/replay"
)

const tlsKeylogUsage = "decrypt TLS with the secrets of this NSS key log (what SSLKEYLOGFILE makes curl, browsers and Go write); a pcapng's own secrets are used without it"

// loadKeyLog reads the --tls-keylog file; "" is none.
func loadKeyLog(path string) (*replay.KeyLog, error) {
	if path == "" {
		return nil, nil
	}
	keys, err := replay.LoadKeyLog(path)
	if err != nil {
		return nil, fmt.Errorf("--tls-keylog: %w", err)
	}
	return keys, nil
}

const (
	upstreamProtoUsage = "protocol spoken to targets: h1, h2 (h2c on http:// targets, h2 by ALPN on https://) or auto (ALPN on https://, HTTP/1.1 on http://)"
	upstreamCAUsage    = "PEM file of the certificate authorities trusted for https:// targets (default: the system's)"
)

// upstreamConfig checks --upstream-proto and reads --upstream-ca.
func upstreamConfig(proto, caFile string) (upstream.Config, error) {
	var cfg upstream.Config
	p, err := upstream.ParseProto(proto)
	if err != nil {
		return cfg, fmt.Errorf("invalid --upstream-proto: %w", err)
	}
	cfg.Proto = p
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return cfg, fmt.Errorf("--upstream-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return cfg, fmt.Errorf("--upstream-ca: %s holds no PEM certificate", caFile)
		}
		cfg.TLS = &tls.Config{RootCAs: pool}
	}
	return cfg, nil
}
