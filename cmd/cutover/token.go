package main

import (
	"fmt"
	"os"
	"strings"
)

// readToken reads a bearer token from the file a flag names: "" without
// one; a file that holds nothing is an error, not an open door.
func readToken(flag, path string) (string, error) {
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", flag, err)
	}
	token := strings.TrimSpace(string(b))
	if token == "" {
		return "", fmt.Errorf("%s %s is empty", flag, path)
	}
	return token, nil
}
