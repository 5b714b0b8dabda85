//go:build race

package rollout

// raceBuild: the race detector slows the simulations tenfold; they run
// fewer rounds (the figures come from non-race runs, BENCHMARKS.md).
const raceBuild = true
