package mirror

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/cutover/cutover/diff"
	"github.com/cutover/cutover/internal/testbed"
)

// clientTimes sends n requests through the mirror, one at a time, and
// appends how long each took; it returns how many failed.
func clientTimes(t *testing.T, base string, n int, times *[]time.Duration) int {
	t.Helper()
	failed := 0
	for i := range n {
		start := time.Now()
		g := get(base, fmt.Sprintf("/api/items/%d", 1+i%1000), nil)
		*times = append(*times, time.Since(start))
		if g.err != nil || g.status != 200 {
			failed++
		}
	}
	return failed
}

func p99(times []time.Duration) time.Duration {
	s := slices.Clone(times)
	slices.Sort(s)
	return s[len(s)*99/100]
}

// A misbehaving or dead shadow must cost the client nothing: no failed
// request, and a p99 within 10% of the p99 with a healthy shadow (plus a
// 1ms floor: loopback p99s are a millisecond or two, where scheduler noise
// alone exceeds 10%). Healthy and troubled blocks alternate, so that the
// shared machine's drift weighs on both alike.
func TestShadowTroubleNeverReachesTheClient(t *testing.T) {
	bed := testbed.StartForTest(t, testbed.Config{Secondary: true})
	r := startMirror(t, bed, Config{ShadowTimeout: 2 * time.Second, QueueSize: 32, Workers: 8}, ServerConfig{})
	const rounds, block = 3, 100
	var warm []time.Duration
	clientTimes(t, r.url, 50, &warm)

	cases := []struct {
		name     string
		switches testbed.Switches
		stop     bool
		check    func(before, after diff.Counts) string
	}{
		{
			name:     "candidate delayed 1s",
			switches: testbed.Switches{Latency: testbed.Latency{Fixed: testbed.Duration(time.Second)}},
			check: func(before, after diff.Counts) string {
				if after.Skipped["queue_full"] == before.Skipped["queue_full"] {
					return "a 1s shadow at this rate must overflow the queue: no queue_full counted"
				}
				return ""
			},
		},
		{
			name:     "candidate resets connections",
			switches: testbed.Switches{ResetRate: 1},
			check: func(before, after diff.Counts) string {
				if after.Failed.Candidate == before.Failed.Candidate {
					return "resets not counted as failed.candidate"
				}
				return ""
			},
		},
		{
			name: "candidate stopped",
			stop: true,
			check: func(before, after diff.Counts) string {
				if after.Failed.Candidate-before.Failed.Candidate < block {
					return "refused shadows not counted as failed.candidate"
				}
				return ""
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var healthy, troubled []time.Duration
			failed := 0
			before := r.agg.Summary("mirror").Counts
			n := rounds
			if c.stop {
				n = 1 // a stopped candidate does not come back
			}
			for range n {
				bed.Candidate.SetSwitches(testbed.Switches{})
				failed += clientTimes(t, r.url, block, &healthy)
				if c.stop {
					bed.Candidate.Stop()
				} else {
					bed.Candidate.SetSwitches(c.switches)
				}
				failed += clientTimes(t, r.url, block, &troubled)
			}
			bed.Candidate.SetSwitches(testbed.Switches{})
			waitIdle(t, r.m)
			after := r.agg.Summary("mirror").Counts
			if failed != 0 {
				t.Errorf("%d client requests failed", failed)
			}
			h, b := p99(healthy), p99(troubled)
			if limit := h*110/100 + time.Millisecond; b > limit {
				t.Errorf("client p99 %v with a healthy shadow, %v with a troubled one: over the limit %v", h, b, limit)
			}
			if msg := c.check(before, after); msg != "" {
				t.Error(msg)
			}
			t.Logf("client p99 healthy %v, troubled %v; counts %+v", h, b, after)
		})
	}
	s := r.stop(t)
	if err := s.Counts.Check(); err != nil {
		t.Error(err)
	}
}

// waitIdle waits until no shadow copy is queued or being sent.
func waitIdle(t *testing.T, m *Mirror) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st := m.Status().Shadow
		if st.Queued == 0 && st.InFlight == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("shadows still busy: %+v", st)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
