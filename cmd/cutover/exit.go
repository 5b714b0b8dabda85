package main

import "strings"

// verdictError reports that a command ran to the end and its verdict failed:
// exit code 1. Every other error means the command could not run: exit code 2.
type verdictError struct{ msg string }

func (e *verdictError) Error() string {
	if e.msg == "" {
		return "verdict: fail"
	}
	return e.msg
}

// oneLine keeps an error to the single line DESIGN.md promises on stderr.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}
