//go:build race

package replay

// raceEnabled: the race detector slows everything several times over, so
// timing bounds are not checked.
const raceEnabled = true
