//go:build !race

package rollout

const raceBuild = false
