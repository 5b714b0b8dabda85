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

// Exit codes of `rollout run` besides 0, 1 and 2 (README, "Exit codes").
const (
	exitInterrupted = 3 // stopped (SIGTERM, Ctrl-C) before the rollout ended; run again to resume
	exitPaused      = 4 // left paused at a step's deadline, waiting for an operator
)

// codedError ends the command with its own exit code and message.
type codedError struct {
	code int
	msg  string
}

func (e *codedError) Error() string { return e.msg }

// oneLine keeps an error to the single line DESIGN.md promises on stderr.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}
