package mirror

import (
	"testing"
	"time"

	"github.com/cutover/cutover/diff"
)

// A request counts in the window in force when it was routed: an answer
// that ends after the next step opened is evidence of the step before.
func TestWindowCountsARequestWhereItWasRouted(t *testing.T) {
	t.Parallel()
	ws := newWindows(diff.NewAggregator(diff.AggregatorConfig{}))
	first := ws.rotate("step-1")
	routed := time.Now()
	time.Sleep(20 * time.Millisecond)
	second := ws.rotate("step-2")

	// Routed in step 1, answered now: slow legacy and a shadow pair.
	ws.observe(sideLegacy, &diff.Response{Status: 200, Total: time.Since(routed)})
	ok := &diff.Response{Status: 200, Total: 3 * time.Millisecond}
	ws.current().agg.Add(&diff.Exchange{Time: routed, Request: diff.Request{Method: "GET", URI: "/a"}, Legacy: ok, Candidate: ok})
	// Routed in step 2.
	time.Sleep(5 * time.Millisecond)
	ws.observe(sideCandidate, &diff.Response{Status: 503, Total: time.Millisecond})
	ws.current().agg.Add(&diff.Exchange{Time: time.Now(), Request: diff.Request{Method: "GET", URI: "/a"}, Legacy: ok, Candidate: ok})

	tests := []struct {
		name                    string
		w                       *window
		legacy, candidate, errs int64
		compared, pairs         int64
	}{
		{"step 1", first, 1, 0, 0, 1, 1},
		{"step 2", second, 0, 1, 1, 1, 1},
	}
	for _, tt := range tests {
		r := tt.w.report()
		got := [5]int64{r.Served["legacy"].Requests, r.Served["candidate"].Requests, r.Served["candidate"].Errors, r.Summary.Counts.Compared, tt.w.pairs.after(0).Seq}
		if want := [5]int64{tt.legacy, tt.candidate, tt.errs, tt.compared, tt.pairs}; got != want {
			t.Errorf("%s: legacy, candidate, candidate errors, compared, pairs = %v, want %v", tt.name, got, want)
		}
	}
	// Two windows back counts nowhere.
	third := ws.rotate("step-3")
	ws.current().agg.Add(&diff.Exchange{Time: routed, Request: diff.Request{Method: "GET", URI: "/a"}, Legacy: ok, Candidate: ok})
	if n := third.report().Summary.Counts.Compared + first.report().Summary.Counts.Compared; n != 1 {
		t.Errorf("an exchange routed two windows back was counted (%d compared in steps 1 and 3, want 1)", n)
	}
}

func TestPairRingReturnsTheUnseenLatest(t *testing.T) {
	t.Parallel()
	var r pairRing
	for i := range pairRingSize + 10 {
		r.add(time.Duration(i)*time.Millisecond, time.Duration(i+1)*time.Millisecond)
	}
	p := r.after(pairRingSize + 5)
	if p.Seq != pairRingSize+10 || len(p.Legacy) != 5 || p.Legacy[0] != pairRingSize+5 || p.Candidate[4] != pairRingSize+10 {
		t.Errorf("after %d: seq %d, %d pairs from %v, want 5 from %d", pairRingSize+5, p.Seq, len(p.Legacy), p.Legacy, pairRingSize+5)
	}
	if p := r.after(0); len(p.Legacy) != pairRingSize || p.Legacy[0] != 10 {
		t.Errorf("after 0: %d pairs from %v, want the latest %d from 10", len(p.Legacy), p.Legacy[:1], pairRingSize)
	}
}
