package reports

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/cutover/cutover/diff"
)

// exampleView is one sample of a field as the HTML shows it: the request,
// and legacy against candidate side by side, each an excerpt of the answer
// that leads to the differing path and marks the value found there.
type exampleView struct {
	Time        string
	Request     string
	Host        string
	Headers     []string
	RequestBody string
	Cut         bool // the request body in the sample was cut
	Legacy      []exampleLine
	Candidate   []exampleLine
	Detail      string
	Noise       bool
}

// exampleLine is one line of an excerpt; Mark is set on the differing
// value's lines.
type exampleLine struct {
	Text string
	Mark bool
}

// absent stands for a value that one side does not have.
const absent = "(absent)"

func newExampleView(path string, s diff.FieldSample) exampleView {
	v := exampleView{
		Legacy:    excerpt(path, s.Legacy),
		Candidate: excerpt(path, s.Candidate),
		Detail:    s.Detail,
		Noise:     s.Noise,
	}
	if s.Time != nil {
		v.Time = s.Time.UTC().Format(time.RFC3339)
	}
	if r := s.Request; r != nil {
		v.Request = r.Method + " " + r.URI
		v.Host = r.Host
		for _, name := range sortedKeys(r.Header) {
			for _, value := range r.Header[name] {
				v.Headers = append(v.Headers, name+": "+value)
			}
		}
		v.RequestBody = pretty(r.Body, "")
		v.Cut = r.BodyBytes > len(r.Body)
	}
	return v
}

// excerpt renders one side's value at path in the shape of the answer: a
// header line, the status line, or the JSON skeleton from the body's root
// down to path with the value pretty-printed in place.
func excerpt(path, value string) []exampleLine {
	if value == "" {
		value = absent
	}
	switch {
	case path == "status":
		return []exampleLine{{Text: "status " + value, Mark: true}}
	case strings.HasPrefix(path, "header."):
		// One line per field line, as received.
		var out []exampleLine
		for _, l := range strings.Split(value, "\n") {
			out = append(out, exampleLine{Text: strings.TrimPrefix(path, "header.") + ": " + l, Mark: true})
		}
		return out
	case strings.HasPrefix(path, "body.") || strings.HasPrefix(path, "body["):
		return jsonExcerpt(strings.TrimPrefix(path, "body"), value)
	}
	return marked(pretty(value, ""))
}

// jsonExcerpt nests value in the objects and arrays that rest (".a[].b")
// names. Siblings are not in the sample, so only the path is drawn.
func jsonExcerpt(rest, value string) []exampleLine {
	var lines []exampleLine
	var closers []string
	prefix := ""
	for _, tok := range pathTokens(rest) {
		open, closer := "{", "}"
		next := ""
		if tok == "[]" {
			open, closer = "[", "]"
		} else {
			next = quote(tok) + ": "
		}
		lines = append(lines, exampleLine{Text: indent(len(closers)) + prefix + open})
		closers = append(closers, closer)
		prefix = next
	}
	val := marked(pretty(value, indent(len(closers))))
	val[0].Text = indent(len(closers)) + prefix + val[0].Text
	lines = append(lines, val...)
	for i := len(closers) - 1; i >= 0; i-- {
		lines = append(lines, exampleLine{Text: indent(i) + closers[i]})
	}
	return lines
}

// pathTokens splits ".a.b[].c" into "a", "b", "[]", "c", and a quoted
// key (`["a.b"]`) into the one key it is.
func pathTokens(rest string) []string {
	segs, ok := diff.SplitPath(rest)
	if !ok { // not a path diff writes: show the rest as one key
		return []string{strings.TrimPrefix(rest, ".")}
	}
	out := make([]string, len(segs))
	for i, sg := range segs {
		out[i] = sg.Key
		if sg.Elements {
			out[i] = "[]"
		}
	}
	return out
}

func quote(key string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // the template escapes; a person reads "<"
	_ = enc.Encode(key)      // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}

func indent(depth int) string { return strings.Repeat("  ", depth) }

// pretty indents text that is JSON, with prefix on every line but the
// first; other text is returned as it is. The \u003c-style escapes that Go
// writes for <, > and & are undone: a person reads the characters, and the
// template escapes them for HTML anyway.
func pretty(text, prefix string) string {
	var b bytes.Buffer
	if json.Indent(&b, []byte(text), prefix, "  ") != nil {
		return text
	}
	return unescapeHTMLInJSON(b.String())
}

// unescapeHTMLInJSON turns \u003c, \u003e and \u0026 back into <, > and &
// in JSON text, leaving every other escape (and an escaped backslash
// followed by "u003c") as it is.
func unescapeHTMLInJSON(s string) string {
	if !strings.Contains(s, `\u00`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch rest := s[i+1:]; {
		case strings.HasPrefix(rest, "u003c"):
			b.WriteByte('<')
		case strings.HasPrefix(rest, "u003e"):
			b.WriteByte('>')
		case strings.HasPrefix(rest, "u0026"):
			b.WriteByte('&')
		default: // another escape: keep both bytes, skip the escaped one
			b.WriteString(s[i : i+2])
			i++
			continue
		}
		i += len("u003c")
	}
	return b.String()
}

func marked(text string) []exampleLine {
	parts := strings.Split(text, "\n")
	out := make([]exampleLine, len(parts))
	for i, p := range parts {
		out[i] = exampleLine{Text: p, Mark: true}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
