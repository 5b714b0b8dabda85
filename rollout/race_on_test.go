//go:build race

package rollout

// raceBuild: the race detector slows the simulations tenfold; they run
// fewer rounds (the figures come from non-race runs, BENCHMARKS.md).
const raceBuild = true

// raceScale widens the e2e latency margins and injected latencies: the
// candidate fixture runs inside the race-instrumented test binary, which
// on a busy machine answers tens of milliseconds slower than NGINX.
const raceScale = 8
