package rollout

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCounterWindow(t *testing.T) {
	t.Parallel()
	s := func(r, e int64) Served { return Served{Requests: r, Errors: e} }
	var w counterWindow
	steps := []struct {
		name              string
		id                string
		legacy, candidate Served
		full              bool
		want              Measure
	}{
		{"opens empty", "a", s(100, 1), s(10, 0), false, Measure{}},
		{"counts since it opened", "a", s(150, 2), s(30, 3), false, Measure{Legacy: s(50, 1), Candidate: s(20, 3)}},
		{"a new id opens anew", "b", s(160, 2), s(40, 3), false, Measure{}},
		{"at 100 legacy's stragglers are left out", "b", s(161, 2), s(90, 4), true, Measure{Candidate: s(50, 1)}},
		{"a router restarted starts over", "b", s(5, 0), s(1, 0), false, Measure{}},
		{"and counts from there", "b", s(9, 0), s(4, 1), false, Measure{Legacy: s(4, 0), Candidate: s(3, 1)}},
	}
	for _, st := range steps {
		got := w.measure(st.id, st.legacy, st.candidate, st.full)
		if d := cmp.Diff(st.want, got); d != "" {
			t.Errorf("%s (-want +got):\n%s", st.name, d)
		}
	}
}
