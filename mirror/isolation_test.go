package mirror

import (
	"fmt"
	"io"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/cutover/cutover/diff"
	"github.com/cutover/cutover/internal/testbed"
)

func quantile(times []time.Duration, q float64) time.Duration {
	s := slices.Clone(times)
	slices.Sort(s)
	return s[int(float64(len(s)-1)*q)]
}

// hang is a shadow that accepts connections, reads what comes and never
// answers: the worst a shadow can do to a mirror.
func hang(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(io.Discard, c)
			}()
		}
	}()
	return "http://" + l.Addr().String()
}

// A misbehaving or dead shadow costs the client nothing: no failed
// request, and no client request holds shadow time. Two mirrors run side
// by side, one with a healthy shadow and one with a troubled one, and the
// client alternates between them, so that the shared machine's load
// weighs on both alike. The troubled shadows take a second or more (or
// forever) to answer: a client path that waited for them, for their
// queue or for a worker, would hold that second in most requests, so a
// median within 3× the healthy one (plus 2 ms) and a p90 within 3× the
// healthy one (plus 100 ms) catch it. Both limits are relative to the
// healthy mirror measured in the same interleaved run, so machine noise on
// 2 shared cores, which hits both alike, cannot reach them; the shadow's
// second is ten times the p90's slack.
func TestShadowTroubleNeverReachesTheClient(t *testing.T) {
	cases := []struct {
		name     string
		switches testbed.Switches
		stop     bool
		hang     bool
		check    func(c diff.Counts) string
	}{
		{
			name:     "candidate delayed 1s",
			switches: testbed.Switches{Latency: testbed.Latency{Fixed: testbed.Duration(time.Second)}},
			check: func(c diff.Counts) string {
				if c.Skipped[ReasonQueueFull] == 0 {
					return "a 1s shadow at this rate must overflow the queue: no queue_full counted"
				}
				return ""
			},
		},
		{
			name: "candidate never answers",
			hang: true,
			check: func(c diff.Counts) string {
				if c.Skipped[ReasonQueueFull] == 0 || c.Failed.Candidate == 0 {
					return "a shadow that never answers must overflow the queue and time out: no queue_full or failed.candidate counted"
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
			healthy := startMirror(t, healthyBed, cfg, ServerConfig{})
			var troubled *running
			switch {
			case c.hang:
				troubled = startMirrorTo(t, troubledBed.Legacy.URL, hang(t), cfg)
			case c.stop:
				troubled = startMirror(t, troubledBed, cfg, ServerConfig{})
				troubledBed.Candidate.Stop()
			default:
				troubled = startMirror(t, troubledBed, cfg, ServerConfig{})
				if err := troubledBed.Candidate.SetSwitches(c.switches); err != nil {
					t.Fatal(err)
				}
			}
			const n = 600
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
			hm, tm := quantile(ht, 0.5), quantile(tt, 0.5)
			if limit := 3*hm + 2*time.Millisecond; tm > limit {
				t.Errorf("client median %v through the mirror with a healthy shadow, %v with a troubled one: over the limit %v", hm, tm, limit)
			}
			if hp, tp := quantile(ht, 0.9), quantile(tt, 0.9); tp > 3*hp+100*time.Millisecond {
				t.Errorf("client p90 %v through the mirror with a healthy shadow, %v with a troubled one: clients wait for the shadow", hp, tp)
			}
			waitIdle(t, troubled.m)
			s := troubled.stop(t)
			if err := s.Counts.Check(); err != nil {
				t.Error(err)
			}
			if msg := c.check(s.Counts); msg != "" {
				t.Error(msg)
			}
			t.Logf("client median healthy %v, troubled %v; p90 %v, %v; troubled counts %+v", hm, tm, quantile(ht, 0.9), quantile(tt, 0.9), s.Counts)
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
