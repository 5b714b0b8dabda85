package reports

import (
	"context"
	"encoding/json"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/cutover/cutover/diff"
	"github.com/cutover/cutover/internal/testbed"
	"github.com/cutover/cutover/internal/upstream"
	"github.com/cutover/cutover/replay"
)

// replaySummary is the summary of a real replay: replay/testdata/curl.pcap
// (made with tcpdump against the test bed) re-sent to the legacy NGINX/Lua
// and to the candidate fixture with a changed price on item answers.
func replaySummary(t *testing.T) *diff.Summary {
	t.Helper()
	bed := testbed.StartForTest(t, testbed.Config{Secondary: true, IPv6: true, Candidate: testbed.CandidateConfig{Switches: testbed.Switches{
		ChangeField: &testbed.FieldChange{Path: "/api/items/", Field: "price", Value: json.RawMessage(`0.01`)},
	}}})
	agg := diff.NewAggregator(diff.AggregatorConfig{Rules: testbed.Rules()})
	client := upstream.New(upstream.Config{Timeout: 5 * time.Second})
	defer client.Close()
	parse := func(s string) *url.URL {
		u, err := url.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	cfg := replay.Config{Files: []string{filepath.Join("..", "replay", "testdata", "curl.pcap")}, Unsafe: true,
		Legacy: parse(bed.Legacy.URL), Candidate: parse(bed.Candidate.URL), Secondary: parse(bed.Secondary.URL)}
	if _, err := replay.Run(context.Background(), cfg, client, agg, zerolog.Nop()); err != nil {
		t.Fatal(err)
	}
	s := agg.Summary("replay")
	if s.Counts.Different == 0 {
		t.Fatalf("the replay found no difference: %+v", s.Counts)
	}
	return &s
}
