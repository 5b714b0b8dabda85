package reports

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/joshdk/go-junit"
)

// TestJUnitConsumer reads the JUnit XML back with go-junit, the library CI
// tools use to ingest reports: suites, cases, failures and their messages
// must come back as written.
func TestJUnitConsumer(t *testing.T) {
	t.Parallel()
	type testCase struct {
		Name, Classname, Message, Body, Type string
		Status                               junit.Status
	}
	for _, fx := range fixtures {
		t.Run(fx.name, func(t *testing.T) {
			t.Parallel()
			s, _ := readFixture(t, fx.name)
			var want []testCase
			failed := 0
			for _, e := range rank(s) {
				tc := testCase{Name: e.Endpoint, Classname: "cutover." + s.Source, Status: junit.StatusPassed}
				if e.failing() {
					f := junitFailureOf(e)
					tc.Status, tc.Message, tc.Body, tc.Type = junit.StatusFailed, f.Message, f.Text, f.Type
					failed++
				}
				want = append(want, tc)
			}

			var b bytes.Buffer
			if err := JUnit(&b, s); err != nil {
				t.Fatal(err)
			}
			suites, err := junit.Ingest(b.Bytes())
			if err != nil {
				t.Fatalf("go-junit cannot read the report: %v", err)
			}
			if len(suites) != 1 {
				t.Fatalf("got %d suites, want 1", len(suites))
			}
			suite := suites[0]
			if suite.Name != "cutover replay" || suite.Properties["verdict"] != s.Verdict {
				t.Errorf("suite %q verdict %q, want %q %q", suite.Name, suite.Properties["verdict"], "cutover replay", s.Verdict)
			}
			if suite.Totals.Tests != len(want) || suite.Totals.Failed != failed {
				t.Errorf("totals %+v, want %d tests, %d failed", suite.Totals, len(want), failed)
			}
			var got []testCase
			for _, c := range suite.Tests {
				tc := testCase{Name: c.Name, Classname: c.Classname, Status: c.Status, Message: c.Message}
				if e, ok := c.Error.(junit.Error); ok {
					tc.Body, tc.Type = e.Body, e.Type
				}
				got = append(got, tc)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("cases (-want +got):\n%s", diff)
			}
			if failed == 0 {
				t.Error("the fixture should have failing endpoints")
			}
		})
	}
}
