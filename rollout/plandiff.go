package rollout

import (
	"encoding/json"
	"fmt"
)

// planChanges lists how b differs from a, as parsed (defaults filled in):
// none when only the text differs.
func planChanges(a, b *Plan) []string {
	var out []string
	same := func(x, y any) bool {
		jx, _ := json.Marshal(x)
		jy, _ := json.Marshal(y)
		return string(jx) == string(jy)
	}
	for i := range max(len(a.Steps), len(b.Steps)) {
		switch {
		case i >= len(a.Steps):
			out = append(out, fmt.Sprintf("step %d (%g%%) added", i+1, b.Steps[i].Weight))
		case i >= len(b.Steps):
			out = append(out, fmt.Sprintf("step %d (%g%%) removed", i+1, a.Steps[i].Weight))
		case !same(a.Steps[i], b.Steps[i]):
			out = append(out, fmt.Sprintf("step %d changed", i+1))
		}
	}
	ra, rb := *a, *b
	ra.Steps, rb.Steps = nil, nil
	if !same(ra.Gates, rb.Gates) {
		out = append(out, "gates changed")
	}
	ra.Gates, rb.Gates = Gates{}, Gates{}
	if !same(ra, rb) {
		out = append(out, "settings changed")
	}
	return out
}
