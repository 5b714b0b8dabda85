package diff

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestVerdictJudge(t *testing.T) {
	t.Parallel()
	ok := LatencyVerdict{Status: LatencyOK}
	slow := LatencyVerdict{Status: LatencyRegression, Reason: "slower by 10 ms (95% interval 8 to 12 ms, p=1e-09), over the 5 ms tolerance",
		P50Ratio: 1.1, P99Ratio: 1.12}
	thin := LatencyVerdict{Status: LatencyInconclusive, Reason: "10 exchanges per side, fewer than the 30 needed", MinSamples: 30}
	items := func(different, compared int64, lat LatencyVerdict) EndpointSummary {
		return EndpointSummary{Endpoint: "GET /api/items/{id}", Requests: compared, Compared: compared, Different: different,
			Fields:         []FieldSummary{{Path: "body.price", Kind: KindChanged, Count: different, Reported: different > 0}},
			LatencyVerdict: lat}
	}
	tests := []struct {
		name    string
		cfg     VerdictConfig
		summary Summary
		verdict string
		reasons []string
	}{
		{
			name:    "clean",
			summary: Summary{Counts: Counts{Requests: 100, Compared: 100}, Endpoints: []EndpointSummary{items(0, 100, ok)}, LatencyVerdict: ok},
			verdict: VerdictPass,
			reasons: []string{"all 100 compared exchanges answer alike, with no latency regression"},
		},
		{
			name:    "differences over the default limit of 0",
			summary: Summary{Counts: Counts{Requests: 100, Compared: 100, Different: 5}, Endpoints: []EndpointSummary{items(5, 100, ok)}, LatencyVerdict: ok},
			verdict: VerdictFail,
			reasons: []string{
				"5 of 100 compared exchanges differ (5%), over the limit of 0%",
				"GET /api/items/{id}: 5 of 100 differ; most at body.price (changed, 5)",
			},
		},
		{
			name:    "differences within a configured limit",
			cfg:     VerdictConfig{MaxDifferenceRate: 0.1},
			summary: Summary{Counts: Counts{Requests: 100, Compared: 100, Different: 5}, Endpoints: []EndpointSummary{items(5, 100, ok)}, LatencyVerdict: ok},
			verdict: VerdictPass,
			reasons: []string{"5 of 100 compared exchanges differ (5%), within the limit of 10%"},
		},
		{
			name: "latency regression and candidate failures",
			summary: Summary{Counts: Counts{Requests: 103, Compared: 100, Failed: Failed{Candidate: 2, Both: 1}},
				Endpoints:      []EndpointSummary{func() EndpointSummary { e := items(0, 100, slow); e.Failed.Candidate = 2; return e }()},
				LatencyVerdict: ok},
			verdict: VerdictFail,
			reasons: []string{
				"candidate gave no answer to 2 requests that legacy answered, most on GET /api/items/{id} (2), over the limit of 0",
				"GET /api/items/{id}: latency slower by 10 ms (95% interval 8 to 12 ms, p=1e-09), over the 5 ms tolerance; p50 ×1.10, p99 ×1.12",
				"legacy gave no answer to 1 request (candidate did not either to 1 of them); not the candidate's failure",
			},
		},
		{
			name:    "latency ignored",
			cfg:     VerdictConfig{IgnoreLatency: true},
			summary: Summary{Counts: Counts{Requests: 100, Compared: 100}, Endpoints: []EndpointSummary{items(0, 100, slow)}, LatencyVerdict: ok},
			verdict: VerdictPass,
			reasons: []string{"GET /api/items/{id}: latency slower by 10 ms (95% interval 8 to 12 ms, p=1e-09), over the 5 ms tolerance; p50 ×1.10, p99 ×1.12 (latency ignored by configuration)"},
		},
		{
			name:    "inconclusive is mentioned, not failed",
			summary: Summary{Counts: Counts{Requests: 10, Compared: 10}, Endpoints: []EndpointSummary{items(0, 10, thin)}, LatencyVerdict: thin},
			verdict: VerdictPass,
			reasons: []string{
				"overall latency inconclusive: 10 exchanges per side, fewer than the 30 needed (not a failure by default)",
				"latency inconclusive on 1 of 1 endpoints with compared exchanges: fewer than the 30 needed per side (not a failure by default)",
			},
		},
		{
			name:    "inconclusive fails when configured",
			cfg:     VerdictConfig{FailInconclusive: true},
			summary: Summary{Counts: Counts{Requests: 10, Compared: 10}, Endpoints: []EndpointSummary{items(0, 10, thin)}, LatencyVerdict: thin},
			verdict: VerdictFail,
			reasons: []string{
				"overall latency inconclusive: 10 exchanges per side, fewer than the 30 needed (a failure by configuration)",
				"latency inconclusive on 1 of 1 endpoints with compared exchanges: fewer than the 30 needed per side (a failure by configuration)",
			},
		},
		{
			name:    "nothing compared",
			summary: Summary{Counts: Counts{Requests: 3, Skipped: map[string]int64{"unsafe": 3}}, LatencyVerdict: thin},
			verdict: VerdictFail,
			reasons: []string{
				"no exchange was compared: 3 requests, 3 skipped, 0 failed",
				"overall latency inconclusive: 10 exchanges per side, fewer than the 30 needed (not a failure by default)",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			verdict, reasons := tt.cfg.Judge(&tt.summary)
			if verdict != tt.verdict {
				t.Errorf("verdict = %q, want %q", verdict, tt.verdict)
			}
			if diff := cmp.Diff(tt.reasons, reasons); diff != "" {
				t.Errorf("reasons (-want +got):\n%s", diff)
			}
		})
	}
}
