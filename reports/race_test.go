//go:build race

package reports

// raceEnabled: timings under the race detector say nothing of real speed.
const raceEnabled = true
