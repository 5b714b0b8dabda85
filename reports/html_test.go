package reports

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestHTML(t *testing.T) {
	t.Parallel()
	at := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	timeline := &Timeline{Points: []TimelinePoint{
		{Time: at, Weight: 1, Event: "step", Reason: "plan step 1"},
		{Time: at.Add(5 * time.Minute), Weight: 5, Event: "step", Reason: "gates passed",
			Gates: []Gate{{Name: "error rate", Figure: "0.1%", Limit: "≤ 1%", Passed: true}}},
		{Time: at.Add(9 * time.Minute), Weight: 0, Event: EventRollback, Reason: "p99 " + xssBody,
			Gates: []Gate{{Name: "latency p99", Figure: "+31%", Limit: "≤ +10%", Passed: false}}},
	}}
	tests := []struct {
		name    string
		fixture string
		opt     HTMLOptions
		want    []string // substrings of the page
		notWant []string
	}{
		{"verdict and top endpoint", "injected", HTMLOptions{},
			[]string{`<span class="verdict">FAIL</span>`, `id="decision-line"`, "GET /api/users/{id}", "header.Cache-Control",
				`<b>803</b><span>requests</span>`, "<svg", "Content-Security-Policy"},
			[]string{`id="timeline"`, "Bearer s3cr3t", "session=abc"}},
		{"traffic is text", "xss", HTMLOptions{},
			[]string{"&lt;script&gt;alert(1)&lt;/script&gt;"},
			[]string{"<script", "javascript:"}},
		{"timeline", "injected", HTMLOptions{Timeline: timeline},
			[]string{`id="timeline"`, `<tr class="rollback">`, "latency p99: &#43;31%", "p99 &lt;script&gt;"},
			[]string{"<script"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, _ := readFixture(t, tt.fixture)
			var b bytes.Buffer
			if err := HTML(&b, s, tt.opt); err != nil {
				t.Fatal(err)
			}
			page := b.String()
			for _, w := range tt.want {
				if !strings.Contains(page, w) {
					t.Errorf("page lacks %q", w)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(page, w) {
					t.Errorf("page contains %q", w)
				}
			}
		})
	}
}

func TestExcerpt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, path, value string
		want              []exampleLine
	}{
		{"status", "status", "500", []exampleLine{{"status 500", true}}},
		{"header", "header.Cache-Control", "", []exampleLine{{"Cache-Control: (absent)", true}}},
		{"nested json", "body.items[].price", "12.5", []exampleLine{
			{"{", false}, {`  "items": [`, false}, {"    {", false}, {`      "price": 12.5`, true},
			{"    }", false}, {"  ]", false}, {"}", false}}},
		{"object value is pretty", "body.stock", `{"n":1}`, []exampleLine{
			{"{", false}, {`  "stock": {`, true}, {`    "n": 1`, true}, {"  }", true}, {"}", false}}},
		{"root array", "body[].id", "7", []exampleLine{
			{"[", false}, {"  {", false}, {`    "id": 7`, true}, {"  }", false}, {"]", false}}},
		{"text body", "body", "a\nb", []exampleLine{{"a", true}, {"b", true}}},
		{"html escapes undone", "body.n", `"\u003cb\u003e \u0026 \\u003c"`, []exampleLine{
			{"{", false}, {`  "n": "<b> & \\u003c"`, true}, {"}", false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, excerpt(tt.path, tt.value)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
