package mirror

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/cutover/cutover/internal/testbed"
)

// scrape reads the admin API's /metrics: family name -> label value of
// label (or "") -> value (a histogram's sample count).
func scrape(t *testing.T, admin string, families map[string]string) map[string]map[string]float64 {
	t.Helper()
	g := get(admin, "/metrics", nil)
	if g.err != nil || g.status != http.StatusOK {
		t.Fatalf("GET /metrics: %d %v", g.status, g.err)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(g.body))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]float64{}
	for name, label := range families {
		out[name] = map[string]float64{}
		f, ok := fams[name]
		if !ok {
			continue
		}
		for _, m := range f.GetMetric() {
			key := ""
			for _, l := range m.GetLabel() {
				if l.GetName() == label {
					key = l.GetValue()
				}
			}
			switch f.GetType() {
			case dto.MetricType_HISTOGRAM:
				out[name][key] += float64(m.GetHistogram().GetSampleCount())
			default:
				out[name][key] += m.GetCounter().GetValue()
			}
		}
	}
	return out
}

// /metrics carries the summary's whole accounting, so that Prometheus can
// sum a fleet: requests == skipped + compared + failed, from the metrics.
func TestMetricsCarryTheAccounting(t *testing.T) {
	t.Parallel()
	bed := testbed.StartForTest(t, testbed.Config{})
	r := startMirror(t, bed, Config{}, ServerConfig{})
	for i := range 120 {
		if i == 90 {
			waitAccounted(t, r.agg, 90)
			bed.Candidate.Stop() // the shadows of the rest fail
		}
		method := "GET"
		if i%12 == 0 {
			method = "POST" // served, not shadowed: skipped "unsafe"
		}
		req, _ := http.NewRequest(method, r.url+"/api/items/7", nil)
		resp, err := rawClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	s := waitAccounted(t, r.agg, 120)
	got := scrape(t, r.admin, map[string]string{
		MetricExchanges: "", MetricCompared: "", MetricFailed: "side", MetricSkipped: "reason",
		MetricComparedLatency: "side", MetricRequests: "side", MetricErrors: "side",
	})
	c := s.Counts
	skipped := map[string]float64{}
	for k, v := range c.Skipped {
		skipped[k] = float64(v)
	}
	want := map[string]map[string]float64{
		MetricExchanges:       {"": float64(c.Requests)},
		MetricCompared:        {"": float64(c.Compared)},
		MetricFailed:          {"legacy": float64(c.Failed.Legacy), "candidate": float64(c.Failed.Candidate), "both": float64(c.Failed.Both)},
		MetricSkipped:         skipped,
		MetricComparedLatency: {"legacy": float64(c.Compared), "candidate": float64(c.Compared)},
		MetricRequests:        {"legacy": 120},
		MetricErrors:          {"legacy": 0}, // the series is there at 0
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("/metrics against the summary (-want +got):\n%s", d)
	}
	if c.Failed.Candidate == 0 || skipped["unsafe"] == 0 {
		t.Errorf("counts %+v: the test needs failed and skipped exchanges", c)
	}
}
