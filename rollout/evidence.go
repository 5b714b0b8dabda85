package rollout

import (
	"math/rand/v2"
	"slices"
	"time"
)

// stepEvidence is what the looks of the current step saw, kept in memory
// by the controller: the step's cumulative measure at each of the latest
// looks (their differences are the recent window), the latency pairs each
// look brought, and a uniform sample of all the step's pairs (the tail
// gate's). A restarted controller starts it afresh: the recent window then
// fills again within recent_intervals.
type stepEvidence struct {
	window string
	looks  []lookRecord
	sample pairSample
}

type lookRecord struct {
	look  int // the step's look it was taken at (0: the window's opening)
	at    time.Time
	m     Measure
	pairs LatencyPairs
}

// stepSampleSize bounds the step's latency sample.
const stepSampleSize = 8192

// maxRecentLooks is the longest recent window, in intervals.
const maxRecentLooks = 16

// add records a look and returns the evidence it judges: the step's
// window, and the recent windows ending now, one per length from one
// interval to maxRecentLooks (as far as the step goes back). Judging
// every length finds a regression however much evidence it needs: the
// window that starts just after its onset fails as soon as it holds
// enough.
func (e *stepEvidence) add(window string, at time.Time, m Measure, recentLooks, look int) evidence {
	if e.window != window {
		*e = stepEvidence{window: window, sample: newPairSample(stepSampleSize)}
	}
	e.looks = append(e.looks, lookRecord{look: look, at: at, m: m, pairs: m.Pairs})
	if keep := max(maxRecentLooks, recentLooks) + 1; len(e.looks) > keep {
		e.looks = e.looks[len(e.looks)-keep:]
	}
	e.sample.add(m.Pairs)
	ev := evidence{Step: m, StepPairs: e.sample.pairs, Look: look}
	last := e.looks[len(e.looks)-1]
	var pairs LatencyPairs
	for n := 1; n < len(e.looks); n++ {
		base := e.looks[len(e.looks)-1-n]
		newer := e.looks[len(e.looks)-n].pairs
		pairs.Legacy = append(slices.Clone(newer.Legacy[:newer.Len()]), pairs.Legacy...)
		pairs.Candidate = append(slices.Clone(newer.Candidate[:newer.Len()]), pairs.Candidate...)
		recent, ok := subtract(last.m, base.m)
		if !ok {
			break // a mirror restarted: its counts began again
		}
		recent.Pairs = pairs
		ev.Recent = append(ev.Recent, recentWindow{Looks: n, From: base.look, Span: last.at.Sub(base.at), Measure: recent,
			judgesPairs: n == 1 || n%recentLooks == 0 && isPowerOfTwo(n/recentLooks)})
	}
	return ev
}

func isPowerOfTwo(n int) bool { return n > 0 && n&(n-1) == 0 }

// recentWindow is the evidence of the latest Looks intervals.
type recentWindow struct {
	Looks int
	// From is the look the window starts after (0: the step's start).
	From    int
	Span    time.Duration
	Measure Measure
	// judgesPairs marks the lengths the latency tests run on (one
	// interval, and recent intervals times 1, 2, 4, 8): those tests cost
	// more than a count's.
	judgesPairs bool
}

// subtract is the evidence between two cumulative measures of one window;
// ok is false when a count went down.
func subtract(a, b Measure) (Measure, bool) {
	d := Measure{
		Legacy:    Served{a.Legacy.Requests - b.Legacy.Requests, a.Legacy.Errors - b.Legacy.Errors},
		Candidate: Served{a.Candidate.Requests - b.Candidate.Requests, a.Candidate.Errors - b.Candidate.Errors},
		Answered:  a.Answered, Missing: a.Missing,
	}
	d.Counts.Requests = a.Counts.Requests - b.Counts.Requests
	d.Counts.Compared = a.Counts.Compared - b.Counts.Compared
	d.Counts.Different = a.Counts.Different - b.Counts.Different
	d.Counts.Failed.Legacy = a.Counts.Failed.Legacy - b.Counts.Failed.Legacy
	d.Counts.Failed.Candidate = a.Counts.Failed.Candidate - b.Counts.Failed.Candidate
	d.Counts.Failed.Both = a.Counts.Failed.Both - b.Counts.Failed.Both
	for _, v := range []int64{d.Legacy.Requests, d.Legacy.Errors, d.Candidate.Requests, d.Candidate.Errors, d.Counts.Compared, d.Counts.Different,
		d.Counts.Failed.Legacy, d.Counts.Failed.Candidate, d.Counts.Failed.Both} {
		if v < 0 {
			return Measure{}, false
		}
	}
	return d, true
}

// pairSample is a uniform sample of latency pairs (reservoir sampling).
type pairSample struct {
	size  int
	seen  int64
	pairs LatencyPairs
	rng   *rand.Rand
}

func newPairSample(size int) pairSample {
	return pairSample{size: size, rng: rand.New(rand.NewPCG(uint64(size), 7))}
}

func (s *pairSample) add(p LatencyPairs) {
	for i := range p.Len() {
		s.seen++
		if len(s.pairs.Legacy) < s.size {
			s.pairs.Legacy = append(s.pairs.Legacy, p.Legacy[i])
			s.pairs.Candidate = append(s.pairs.Candidate, p.Candidate[i])
			continue
		}
		if j := s.rng.Int64N(s.seen); j < int64(s.size) {
			s.pairs.Legacy[j], s.pairs.Candidate[j] = p.Legacy[i], p.Candidate[i]
		}
	}
}

// open starts a new window's evidence with nothing seen at at.
func (e *stepEvidence) open(window string, at time.Time) {
	*e = stepEvidence{window: window, sample: newPairSample(stepSampleSize), looks: []lookRecord{{at: at}}}
}
