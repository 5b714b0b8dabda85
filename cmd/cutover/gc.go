package main

import (
	"os"
	"runtime/debug"
)

// tuneGC trades memory for CPU in the commands that move traffic (mirror,
// replay) or read captures (inspect): their heap is small and short-lived,
// and Go's default (GOGC=100) spends a sixth of their CPU collecting it. A soft memory limit keeps the
// trade bounded. GOGC and GOMEMLIMIT, when set, win.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(1 << 30)
	}
}

// reservedMemory is the part of a memory limit that Go's soft limit does
// not cover: the binary's own pages (about 22 MiB resident of a 43 MB
// binary) and memory outside the Go heap.
const reservedMemory = 32 << 20
