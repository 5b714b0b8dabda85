package reports

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cutover/cutover/diff"
)

var update = flag.Bool("update", false, "rewrite the fixtures and golden files under testdata/")

// fixtures are the fixed summaries under testdata/, made by the real
// aggregator from fixtureSummary (rewritten with -update).
var fixtures = []struct {
	name string
	cfg  fixtureConfig
}{
	{"injected", fixtureConfig{exchanges: 200}},
	{"xss", fixtureConfig{exchanges: 40, xss: true}},
}

// readFixture returns the named summary, rewriting it first under -update.
func readFixture(t *testing.T, name string) (*diff.Summary, []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".summary.json")
	if *update {
		for _, f := range fixtures {
			if f.name == name {
				s := fixtureSummary(f.cfg)
				b, err := json.MarshalIndent(s, "", "  ")
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./reports -run Golden -update)", err)
	}
	s, err := diff.ParseSummary(b)
	if err != nil {
		t.Fatal(err)
	}
	return s, b
}

func TestGolden(t *testing.T) {
	t.Parallel()
	formats := []struct {
		ext    string
		render func(io.Writer, *diff.Summary) error
	}{
		{"md", Markdown},
		{"junit.xml", JUnit},
	}
	for _, fx := range fixtures {
		for _, f := range formats {
			t.Run(fx.name+"."+f.ext, func(t *testing.T) {
				t.Parallel()
				s, _ := readFixture(t, fx.name)
				var got bytes.Buffer
				if err := f.render(&got, s); err != nil {
					t.Fatal(err)
				}
				golden := filepath.Join("testdata", fx.name+"."+f.ext)
				if *update {
					if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test ./reports -run Golden -update)", err)
				}
				if diff := cmp.Diff(string(want), got.String()); diff != "" {
					t.Errorf("%s (-want +got):\n%s", golden, diff)
				}
			})
		}
	}
}

// TestGoldenJSON: the JSON format is the summary unchanged, byte for byte.
func TestGoldenJSON(t *testing.T) {
	t.Parallel()
	for _, fx := range fixtures {
		t.Run(fx.name, func(t *testing.T) {
			t.Parallel()
			s, want := readFixture(t, fx.name)
			var got bytes.Buffer
			if err := JSON(&got, s); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), got.String()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
