package reports

import (
	"fmt"
	"io"
	"strings"

	"github.com/cutover/cutover/diff"
)

// The Markdown summary's bounds: it goes into a pull request or a chat.
const (
	mdEndpoints = 10
	mdFields    = 3 // top differences per endpoint
	mdGroups    = 5 // groups of differing exchanges
)

// mdState marks a scorecard row's state.
func mdState(state string) string {
	switch state {
	case scoreOver:
		return "❌ over"
	case scoreWarn:
		return "⚠️ watch"
	case scoreOK:
		return "✅ ok"
	}
	return ""
}

// Markdown writes a compact summary for a pull request or a chat message:
// the verdict and its reasons, the accounting, one latency line and the
// most severe endpoints. It has no link. Text from traffic is escaped or
// in code spans, so it renders as written and never as markup.
func Markdown(w io.Writer, s *diff.Summary) error {
	var b strings.Builder
	c := s.Counts
	fmt.Fprintf(&b, "### cutover: %s (%s)\n\n", strings.ToUpper(s.Verdict), mdText(s.Source))
	d := newDecision(s, nil)
	fmt.Fprintf(&b, "**%s**\n\n", mdText(d.Sentence))
	b.WriteString("| measure | value | detail | limit | |\n|---|---:|---|---|---|\n")
	for _, r := range d.Rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", mdText(r.Name), mdText(r.Value), mdText(r.Interval), mdText(r.Limit), mdState(r.State))
	}
	b.WriteString("\n")
	if groups, _ := groupViews(rank(s)); len(groups) > 0 {
		b.WriteString("**Differences by exchange** (exchanges differing in the same fields are one row):\n\n")
		for i, g := range groups {
			if i == mdGroups {
				fmt.Fprintf(&b, "- and %d more group(s): see the full report\n", len(groups)-i)
				break
			}
			fields := make([]string, len(g.Fields))
			for j, f := range g.Fields {
				fields[j] = mdCode(f.Path) + " " + mdText(f.Kind)
			}
			fmt.Fprintf(&b, "- %d× %s: %s (%s)\n", g.Count, mdCode(g.Endpoint), mdText(g.Headline), strings.Join(fields, ", "))
		}
		b.WriteString("\n")
	}
	if len(s.Reasons) > 0 {
		b.WriteString("<details><summary>the verdict's reasons</summary>\n\n")
		for _, r := range s.Reasons {
			fmt.Fprintf(&b, "- %s\n", mdText(r))
		}
		b.WriteString("\n</details>\n\n")
	}
	fmt.Fprintf(&b, "**%d requests** = %d skipped + %d compared + %d failed (legacy %d, candidate %d, both %d) · **%d** of the compared differ\n\n",
		c.Requests, sum(c.Skipped), c.Compared, failures(c.Failed), c.Failed.Legacy, c.Failed.Candidate, c.Failed.Both, c.Different)
	l := s.LatencyMs
	fmt.Fprintf(&b, "**Latency** (ms, legacy → candidate): p50 %.1f → %.1f · p99 %.1f → %.1f · %s\n\n",
		l.Legacy.P50, l.Candidate.P50, l.Legacy.P99, l.Candidate.P99, mdText(s.LatencyVerdict.Status))

	var failing []rankedEndpoint
	for _, e := range rank(s) {
		if e.failing() {
			failing = append(failing, e)
		}
	}
	if len(failing) == 0 {
		b.WriteString("No endpoint differs or regresses.\n")
		_, err := io.WriteString(w, b.String())
		return err
	}
	b.WriteString("| # | endpoint | requests | different | top differences | latency |\n")
	b.WriteString("|---:|---|---:|---:|---|---|\n")
	for i, e := range failing {
		if i == mdEndpoints {
			fmt.Fprintf(&b, "\n%d more endpoint(s) differ or regress: see the full report.\n", len(failing)-i)
			break
		}
		var top []string
		for j, f := range e.reported {
			if j == mdFields {
				top = append(top, fmt.Sprintf("+%d more", len(e.reported)-j))
				break
			}
			top = append(top, fmt.Sprintf("%s %s ×%d", mdCode(f.Path), kindWords(f.Kind), f.Count))
		}
		fmt.Fprintf(&b, "| %d | %s | %d | %d (%s) | %s | %s |\n", i+1, mdCode(e.Endpoint), e.Requests, e.Different,
			pct(e.differentRate()), strings.Join(top, ", "), mdText(e.LatencyVerdict.Status))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// mdText escapes the characters that would make text markup (emphasis,
// links, HTML, table cells) and keeps it on one line.
func mdText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '\\', '`', '*', '_', '[', ']', '<', '>', '|', '~', '#', '!', '&':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '\n', '\r':
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// mdCode puts s in a code span that survives any backticks in it and a
// table cell (GFM reads \| as | inside code in tables).
func mdCode(s string) string {
	s = strings.NewReplacer("\n", " ", "\r", " ", "|", `\|`).Replace(s)
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") || len(fence) > 1 {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}
