package reports

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"github.com/cutover/cutover/diff"
)

// junitFields bounds the differences named in a failure's message; its
// text lists every reported field.
const junitFields = 3

// JUnit writes JUnit XML: one test suite for the run, one test case per
// endpoint (most severe first). A case fails when its endpoint has
// reported differences or a latency regression, with the top differences
// in the failure's message; an endpoint with nothing compared is skipped.
func JUnit(w io.Writer, s *diff.Summary) error {
	suite := junitSuite{
		Name: "cutover " + s.Source,
		Properties: []junitProperty{
			{Name: "verdict", Value: s.Verdict},
			{Name: "requests", Value: fmt.Sprint(s.Counts.Requests)},
			{Name: "compared", Value: fmt.Sprint(s.Counts.Compared)},
			{Name: "different", Value: fmt.Sprint(s.Counts.Different)},
		},
	}
	for _, r := range newDecision(s, nil).Rows {
		suite.Properties = append(suite.Properties, junitProperty{Name: "score." + r.Key, Value: strings.TrimSpace(r.Value + " " + r.State)})
	}
	for i, r := range s.Reasons {
		suite.Properties = append(suite.Properties, junitProperty{Name: fmt.Sprintf("reason.%d", i+1), Value: r})
	}
	for _, e := range rank(s) {
		tc := junitCase{Name: e.Endpoint, Classname: "cutover." + s.Source}
		switch {
		case e.failing():
			tc.Failure = junitFailureOf(e)
			suite.Failures++
		case e.Compared == 0:
			tc.Skipped = &junitSkipped{Message: "no exchange compared"}
			suite.Skipped++
		}
		suite.Cases = append(suite.Cases, tc)
	}
	suite.Tests = len(suite.Cases)
	doc := junitSuites{Name: "cutover", Tests: suite.Tests, Failures: suite.Failures, Suites: []junitSuite{suite}}

	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("junit report: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("junit report: %w", err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("junit report: %w", err)
	}
	return nil
}

// junitFailureOf sums up why an endpoint fails: the message names the
// top differences and the regression, the text lists all of them.
func junitFailureOf(e rankedEndpoint) *junitFailure {
	var msg, text []string
	if len(e.reported) > 0 {
		top := make([]string, 0, junitFields)
		for i, f := range e.reported {
			if i < junitFields {
				top = append(top, fmt.Sprintf("%s %s ×%d", f.Path, kindWords(f.Kind), f.Count))
			}
			text = append(text, fmt.Sprintf("%s %s: %d of %d compared (%s)",
				f.Path, kindWords(f.Kind), f.Count, e.Compared, noiseWords(f)))
		}
		if len(e.reported) > junitFields {
			top = append(top, fmt.Sprintf("+%d more", len(e.reported)-junitFields))
		}
		msg = append(msg, fmt.Sprintf("%d of %d compared differ: %s", e.Different, e.Compared, strings.Join(top, ", ")))
	}
	kind := "difference"
	if e.regression {
		msg = append(msg, "latency regression: "+e.LatencyVerdict.Reason)
		text = append(text, "latency: "+e.LatencyVerdict.Reason)
		if len(e.reported) == 0 {
			kind = "latency"
		}
	}
	return &junitFailure{Message: strings.Join(msg, "; "), Type: kind, Text: strings.Join(text, "\n")}
}

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *junitFailure `xml:"failure"`
	Skipped   *junitSkipped `xml:"skipped"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}
