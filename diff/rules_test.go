package diff

import (
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseRules(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/rules/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseRules(data)
	if err != nil {
		t.Fatal(err)
	}
	want := &Rules{
		Ignore:    []string{"header.X-Request-Id", "body.meta.*", "body.**.updated_at"},
		Tolerance: []Tolerance{{Path: "body.items[].price", Absolute: 0.01}, {Path: "body.stats", Relative: 0.001}},
		Unordered: []string{"body.tags", "body.items[].labels"},
		TimeSkew: []TimeSkew{
			{Path: "body.generated_at", Skew: 2 * time.Second},
			{Path: "header.Last-Modified", Skew: 1500 * time.Millisecond},
		},
		Endpoints: []string{"/users/{id}", "GET /api/items/{sku}/reviews"},
		Headers: HeaderRules{
			Include: []string{"*", "Server"},
			Exclude: []string{"X-Cache*"},
			Redact:  []string{"X-Api-Key"},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseRules (-want +got):\n%s", diff)
	}
}

func TestParseRulesEmpty(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"", "\n# nothing here\n"} {
		got, err := ParseRules([]byte(in))
		if err != nil {
			t.Fatalf("ParseRules(%q): %v", in, err)
		}
		if diff := cmp.Diff(&Rules{}, got); diff != "" {
			t.Errorf("ParseRules(%q) (-want +got):\n%s", in, diff)
		}
	}
}

func TestParseRulesErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"unknown key names its line",
			"# rules for the shop\n\nignore:\n  - header.X-Request-Id\n\nunordered: [body.tags]\nignroe:\n  - body.meta.*\n",
			`rules line 7: unknown key "ignroe"`},
		{"unknown nested key", "tolerance:\n  - path: body.a\n    absolut: 1\n", `rules line 3: unknown key "absolut" in tolerance`},
		{"unknown header key", "headers:\n  inclued: [X-A]\n", `rules line 2: unknown key "inclued" in headers`},
		{"not a mapping", "- body.a\n", "rules line 1: rules: want a mapping"},
		{"list wanted", "ignore: body.a\n", "rules line 1: ignore: want a list"},
		{"string wanted", "ignore:\n  - {a: 1}\n", "rules line 2: ignore: want a string"},
		{"bad path", "ignore:\n  - bdy.meta\n", `rules line 2: ignore: "bdy.meta" is not a field path: want status, header.<Name>, body or body.<field>`},
		{"bad number", "tolerance:\n  - path: body.a\n    absolute: lots\n", `rules line 3: tolerance.absolute: want a number >= 0, got "lots"`},
		{"negative number", "tolerance:\n  - path: body.a\n    relative: -1\n", `rules line 3: tolerance.relative: want a number >= 0, got "-1"`},
		{"tolerance without amount", "tolerance:\n  - path: body.a\n", "rules line 2: tolerance: give absolute or relative (or both)"},
		{"tolerance without path", "tolerance:\n  - absolute: 1\n", "rules line 2: tolerance: path is required"},
		{"bad skew", "time_skew:\n  - path: body.at\n    skew: 2 parsecs\n", `rules line 3: time_skew.skew: want a positive duration such as 2s, got "2 parsecs"`},
		{"skew missing", "time_skew:\n  - path: body.at\n", "rules line 2: time_skew: skew is required"},
		{"bad template", "endpoints:\n  - users/{id}\n", `rules line 2: endpoints: template "users/{id}" must start with /`},
		{"bad parameter", "endpoints:\n  - /users/x{id}\n", `rules line 2: endpoints: template "/users/x{id}": a parameter is a whole segment such as {id}`},
		{"lower-case method", "endpoints:\n  - get /users\n", `rules line 2: endpoints: template "get /users": the method must be upper case, e.g. GET /users/{id}`},
		{"bad header name", "headers:\n  exclude: [\"X A\"]\n", `rules line 2: headers.exclude: "X A" is not a header name`},
		{"key given twice", "ignore: [body.a]\nignore: [body.b]\n", `rules line 2: key "ignore" given twice`},
		{"syntax error", "ignore: [body.a]\nunordered: b: c\n", "rules line 2: mapping values are not allowed in this context"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseRules([]byte(tt.in))
			if err == nil {
				t.Fatalf("ParseRules(%q) succeeded, want %q", tt.in, tt.want)
			}
			if diff := cmp.Diff(tt.want, err.Error()); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRulesFromFileApply checks that the example file in testdata works
// end to end, as a user would write it.
func TestRulesFromFileApply(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/rules/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rules, err := ParseRules(data)
	if err != nil {
		t.Fatal(err)
	}
	legacy := rsp(200, `{"meta":{"rid":"a"},"tags":["x","y"],"items":[{"price":1.00,"labels":[1,2]}],"stats":{"n":1000}}`,
		ctJSON, "X-Request-Id: 1", "X-Cache: HIT", "Server: openresty")
	candidate := rsp(200, `{"meta":{"rid":"b"},"tags":["y","x"],"items":[{"price":1.005,"labels":[2,1]}],"stats":{"n":1000.5}}`,
		ctJSON, "X-Request-Id: 2", "X-Cache: MISS", "Server: candidate")
	want := []Difference{{Path: "header.Server", Kind: KindChanged, Legacy: "openresty", Candidate: "candidate"}}
	if diff := cmp.Diff(want, NewComparer(rules).Compare(legacy, candidate)); diff != "" {
		t.Errorf("Compare (-want +got):\n%s", diff)
	}
}
