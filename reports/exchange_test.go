package reports

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cutover/cutover/diff"
)

// marks renders a view's rows as "L|C" with marked parts in [brackets]
// and absent sides as "-".
func marks(v exchangeView) []string {
	side := func(c cell) string {
		if c.Absent {
			return "-"
		}
		var b strings.Builder
		for _, p := range c.Parts {
			if p.Mark {
				b.WriteString("[" + p.Text + "]")
			} else {
				b.WriteString(p.Text)
			}
		}
		return strings.TrimSpace(b.String())
	}
	var out []string
	for _, r := range v.Rows {
		out = append(out, side(r.Legacy)+"|"+side(r.Candidate))
	}
	return out
}

func TestExchangeView(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		x    diff.ExchangeSample
		want []string
	}{
		{"status, header and a changed value marked; members in another order plain",
			diff.ExchangeSample{
				Legacy: &diff.ResponseSample{Status: 200, Header: map[string][]string{"Cache-Control": {"max-age=60, public"}},
					Body: `{"a":1,"b":2,"price":10}`},
				Candidate: &diff.ResponseSample{Status: 502, Header: map[string][]string{"Cache-Control": {"no-store"}},
					Body: `{"b":2,"a":1,"price":12}`},
				Differences: []diff.FieldRef{{Path: "status", Kind: diff.KindChanged}, {Path: "header.Cache-Control", Kind: diff.KindChanged},
					{Path: "body.price", Kind: diff.KindChanged}},
			},
			[]string{
				"HTTP/1.1 [200 OK]|HTTP/1.1 [502 Bad Gateway]",
				"Cache-Control: [max-age=60, public]|Cache-Control: [no-store]",
				"{|{",
				`"a": 1,|-`,
				`"b": 2,|"b": 2,`,
				`-|"a": 1,`,
				`"price": 1[0]|"price": 1[2]`,
				"}|}",
			}},
		{"a header only one side has; noise is not marked as a difference",
			diff.ExchangeSample{
				Legacy:      &diff.ResponseSample{Status: 200, Header: map[string][]string{"X-Id": {"1"}, "Location": {"/a"}}},
				Candidate:   &diff.ResponseSample{Status: 200, Header: map[string][]string{"X-Id": {"2"}}},
				Differences: []diff.FieldRef{{Path: "header.Location", Kind: diff.KindMissing}, {Path: "header.X-Id", Kind: diff.KindChanged, Noise: true}},
			},
			[]string{"HTTP/1.1 200 OK|HTTP/1.1 200 OK", "[Location: /a]|-", "X-Id: [1]|X-Id: [2]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := newExchangeView(tt.x)
			if diff := cmp.Diff(tt.want, marks(v)); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
			for _, r := range v.Rows {
				if strings.Contains(r.Candidate.textOf(), "X-Id") && r.Candidate.Class != cellNoise {
					t.Errorf("noise row class %q, want %q", r.Candidate.Class, cellNoise)
				}
			}
		})
	}
}

func (c cell) textOf() string {
	var b strings.Builder
	for _, p := range c.Parts {
		b.WriteString(p.Text)
	}
	return b.String()
}
