package main

import (
	"fmt"

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
