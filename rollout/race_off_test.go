//go:build !race

package rollout

const raceBuild = false

const raceScale = 1
