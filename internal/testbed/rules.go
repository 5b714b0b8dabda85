package testbed

import (
	"fmt"

	"github.com/cutover/cutover/diff"
)

// RulesYAML returns the comparison rules for the test bed's edge: what a
// team would write for its own edge (see nginx/rules.yaml).
func RulesYAML() []byte {
	b, err := nginxFiles.ReadFile("nginx/rules.yaml")
	if err != nil {
		panic(fmt.Sprintf("embedded rules.yaml: %v", err)) // compiled in: cannot happen
	}
	return b
}

// Rules returns RulesYAML parsed.
func Rules() *diff.Rules {
	r, err := diff.ParseRules(RulesYAML())
	if err != nil {
		panic(fmt.Sprintf("embedded rules.yaml: %v", err)) // tested: cannot happen
	}
	return r
}
