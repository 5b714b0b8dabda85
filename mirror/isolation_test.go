package mirror

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/cutover/cutover/diff"
	"github.com/cutover/cutover/internal/testbed"
)

func p99(times []time.Duration) time.Duration {
	s := slices.Clone(times)
	slices.Sort(s)
	return s[len(s)*99/100]
}

// A misbehaving or dead shadow must cost the client nothing: no failed
// request, and a p99 within 10% of the p99 through a mirror whose shadow is
// healthy (plus a 1ms floor: loopback p99s are a few milliseconds, where
// scheduler noise alone exceeds 10%). The two mirrors run side by side and
// the client alternates between them, so that the shared machine's load,
// other tests included, weighs on both alike. It is not parallel: Go runs
// it before the package's parallel tests, so no other test of the package
// loads the machine meanwhile.
func TestShadowTroubleNeverReachesTheClient(t *testing.T) {
	cases := []struct {
		name     string
		switches testbed.Switches
		stop     bool
		check    func(c diff.Counts) string
	}{
		{
			name:     "candidate delayed 1s",
			switches: testbed.Switches{Latency: testbed.Latency{Fixed: testbed.Duration(time.Second)}},
			check: func(c diff.Counts) string {
				if c.Skipped["queue_full"] == 0 {
					return "a 1s shadow at this rate must overflow the queue: no queue_full counted"
				}
				return ""
			},
		},
		{
			name:     "candidate resets connections",
			switches: testbed.Switches{ResetRate: 1},
			check: func(c diff.Counts) string {
				if c.Failed.Candidate == 0 {
					return "resets not counted as failed.candidate"
				}
				return ""
			},
		},
		{
			name: "candidate stopped",
			stop: true,
			check: func(c diff.Counts) string {
				if c.Failed.Candidate == 0 {
					return "refused shadows not counted as failed.candidate"
				}
				return ""
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := Config{ShadowTimeout: 2 * time.Second, QueueSize: 32, Workers: 8}
			healthyBed, troubledBed := testbed.StartForTest(t, testbed.Config{}), testbed.StartForTest(t, testbed.Config{})
			healthy, troubled := startMirror(t, healthyBed, cfg, ServerConfig{}), startMirror(t, troubledBed, cfg, ServerConfig{})
			if c.stop {
				troubledBed.Candidate.Stop()
			} else if err := troubledBed.Candidate.SetSwitches(c.switches); err != nil {
				t.Fatal(err)
			}
			const n = 1000
			var ht, tt []time.Duration
			failed := 0
			for i := range 20 + n { // the first 20 of each warm the pools
				path := fmt.Sprintf("/api/items/%d", 1+i%1000)
				for _, m := range []struct {
					base  string
					times *[]time.Duration
				}{{healthy.url, &ht}, {troubled.url, &tt}} {
					start := time.Now()
					g := get(m.base, path, nil)
					if i >= 20 {
						*m.times = append(*m.times, time.Since(start))
					}
					if g.err != nil || g.status != 200 {
						failed++
					}
				}
			}
			if failed != 0 {
				t.Errorf("%d client requests failed", failed)
			}
			h, b := p99(ht), p99(tt)
			if limit := h*110/100 + time.Millisecond; b > limit {
				t.Errorf("client p99 %v through the mirror with a healthy shadow, %v with a troubled one: over the limit %v", h, b, limit)
			}
			waitIdle(t, troubled.m)
			s := troubled.stop(t)
			if err := s.Counts.Check(); err != nil {
				t.Error(err)
			}
			if msg := c.check(s.Counts); msg != "" {
				t.Error(msg)
			}
			t.Logf("client p99 healthy %v, troubled %v; troubled counts %+v", h, b, s.Counts)
		})
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
