package diff

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Rules tell a Comparer what to leave out and how loosely to compare. A nil
// *Rules and the zero value both mean the defaults alone; rules add to the
// defaults, they never remove them (see HeaderRules for the one exception).
//
// Every path and glob uses the field paths of DESIGN.md: "status",
// "header.<Name>", "body", "body.a.b[].c". In a glob "*" matches within one
// segment (never a '.') and "**" matches across segments; header names match
// whatever their case. Ignore, Tolerance and TimeSkew on a path apply to
// everything below it too; Unordered applies to the arrays it names.
//
// Rules are read from YAML by ParseRules or built in Go; a Comparer copies
// what it needs, so changing Rules after NewComparer has no effect on it.
type Rules struct {
	// Ignore lists path globs whose differences are never reported,
	// e.g. "header.X-Request-Id" or "body.meta.*".
	Ignore []string `yaml:"ignore"`
	// Tolerance lets numbers at a path differ a little.
	Tolerance []Tolerance `yaml:"tolerance"`
	// Unordered lists JSON arrays compared as multisets: the same elements
	// in another order are no difference, and elements that do differ are
	// paired after sorting both sides (ignored fields left out).
	Unordered []string `yaml:"unordered"`
	// TimeSkew lets times at a path differ a little: RFC 3339 strings in
	// JSON, HTTP dates in headers.
	TimeSkew []TimeSkew `yaml:"time_skew"`
	// Endpoints are path templates such as "/users/{id}" or
	// "GET /users/{id}/orders"; see Endpoint.
	Endpoints []string `yaml:"endpoints"`
	// Headers says which headers are compared and which are redacted.
	Headers HeaderRules `yaml:"headers"`
	// Query says which query parameters are redacted.
	Query QueryRules `yaml:"query"`
}

// QueryRules name query parameters whose values are secrets.
type QueryRules struct {
	// Redact lists parameter name globs ("*" any run of characters,
	// case-insensitive) whose values are replaced by "[redacted]" wherever
	// a URI is shown, on top of SecretParams.
	Redact []string `yaml:"redact"`
}

// Tolerance makes two numbers at Path equal when they differ by at most
// Absolute, or by at most Relative times the larger magnitude.
type Tolerance struct {
	Path     string  `yaml:"path"`
	Absolute float64 `yaml:"absolute"`
	Relative float64 `yaml:"relative"`
}

// TimeSkew makes two times at Path equal when they are at most Skew apart.
type TimeSkew struct {
	Path string        `yaml:"path"`
	Skew time.Duration `yaml:"skew"`
}

// HeaderRules choose the headers that are compared. Names are globs over
// header names ("X-*"), case-insensitive.
//
// By default every header is compared except hop-by-hop ones (Connection,
// Keep-Alive, Proxy-Connection, TE, Trailer, Transfer-Encoding, Upgrade),
// which describe a connection and are never compared, those that differ
// between any two proxies (Date, Server, Age, Via), and Content-Length,
// which is framing (a length change shows as a body difference). When
// either body was compressed, Content-Encoding and a weak ETag prefix
// ("W/") are not compared either; the token Accept-Encoding in Vary never is.
type HeaderRules struct {
	// Include, when not empty, limits the comparison to these headers. A
	// name given exactly (no '*') is compared even if the defaults above
	// would leave it out, hop-by-hop headers excepted: ["*", "Server"]
	// compares every header and Server too.
	Include []string `yaml:"include"`
	// Exclude lists headers never compared.
	Exclude []string `yaml:"exclude"`
	// Redact lists headers whose values are replaced by "[redacted]" in the
	// samples of a Difference (they are still compared), on top of
	// Authorization, Proxy-Authorization, Cookie and Set-Cookie.
	Redact []string `yaml:"redact"`
}

// ParseRules reads rules from YAML. Unknown keys, wrong types and malformed
// globs or templates are errors that name the line, e.g.
// `rules line 7: unknown key "ignroe"`. Empty input gives empty rules.
func ParseRules(data []byte) (*Rules, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, yamlSyntaxError(err)
	}
	r := &Rules{}
	if len(doc.Content) == 0 {
		return r, nil
	}
	if err := r.decode(doc.Content[0]); err != nil {
		var le *lineError
		if errors.As(err, &le) {
			return nil, fmt.Errorf("rules line %d: %s", le.line, le.msg)
		}
		return nil, fmt.Errorf("rules: %w", err)
	}
	return r, nil
}

// lineError is a problem at one line of a rules file.
type lineError struct {
	line int
	msg  string
}

func (e *lineError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.msg) }

func errAt(n *yaml.Node, format string, args ...any) error {
	return &lineError{line: n.Line, msg: fmt.Sprintf(format, args...)}
}

// yamlLine pulls the line out of the YAML parser's own messages.
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func yamlSyntaxError(err error) error {
	msg := oneLine(err.Error())
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("rules line %s: %s", m[1], m[2])
	}
	return fmt.Errorf("rules: %s", strings.TrimPrefix(msg, "yaml: "))
}

func oneLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// decode reads the top-level mapping strictly: every key must be known.
func (r *Rules) decode(n *yaml.Node) error {
	return eachKey(n, "rules", func(key string, k, v *yaml.Node) error {
		switch key {
		case "ignore":
			return decodeStrings(v, key, &r.Ignore, checkPathGlob)
		case "unordered":
			return decodeStrings(v, key, &r.Unordered, checkPathGlob)
		case "endpoints":
			return decodeStrings(v, key, &r.Endpoints, checkTemplate)
		case "tolerance":
			return eachItem(v, key, func(item *yaml.Node) error {
				t, err := decodeTolerance(item)
				r.Tolerance = append(r.Tolerance, t)
				return err
			})
		case "time_skew":
			return eachItem(v, key, func(item *yaml.Node) error {
				s, err := decodeTimeSkew(item)
				r.TimeSkew = append(r.TimeSkew, s)
				return err
			})
		case "headers":
			return r.Headers.decode(v)
		case "query":
			return eachKey(v, "query", func(key string, k, v *yaml.Node) error {
				if key != "redact" {
					return errAt(k, "unknown key %q in query", key)
				}
				return decodeStrings(v, "query.redact", &r.Query.Redact, checkParamGlob)
			})
		}
		return errAt(k, "unknown key %q", key)
	})
}

func (h *HeaderRules) decode(n *yaml.Node) error {
	return eachKey(n, "headers", func(key string, k, v *yaml.Node) error {
		switch key {
		case "include":
			return decodeStrings(v, "headers.include", &h.Include, checkHeaderGlob)
		case "exclude":
			return decodeStrings(v, "headers.exclude", &h.Exclude, checkHeaderGlob)
		case "redact":
			return decodeStrings(v, "headers.redact", &h.Redact, checkHeaderGlob)
		}
		return errAt(k, "unknown key %q in headers", key)
	})
}

func decodeTolerance(n *yaml.Node) (Tolerance, error) {
	var t Tolerance
	err := eachKey(n, "tolerance", func(key string, k, v *yaml.Node) error {
		switch key {
		case "path":
			return decodePath(v, "tolerance.path", &t.Path)
		case "absolute":
			return decodeAmount(v, "tolerance.absolute", &t.Absolute)
		case "relative":
			return decodeAmount(v, "tolerance.relative", &t.Relative)
		}
		return errAt(k, "unknown key %q in tolerance", key)
	})
	switch {
	case err != nil:
		return t, err
	case t.Path == "":
		return t, errAt(n, "tolerance: path is required")
	case t.Absolute == 0 && t.Relative == 0:
		return t, errAt(n, "tolerance: give absolute or relative (or both)")
	}
	return t, nil
}

func decodeTimeSkew(n *yaml.Node) (TimeSkew, error) {
	var s TimeSkew
	err := eachKey(n, "time_skew", func(key string, k, v *yaml.Node) error {
		switch key {
		case "path":
			return decodePath(v, "time_skew.path", &s.Path)
		case "skew":
			d, err := time.ParseDuration(v.Value)
			if v.Kind != yaml.ScalarNode || err != nil || d <= 0 {
				return errAt(v, "time_skew.skew: want a positive duration such as 2s, got %q", v.Value)
			}
			s.Skew = d
			return nil
		}
		return errAt(k, "unknown key %q in time_skew", key)
	})
	switch {
	case err != nil:
		return s, err
	case s.Path == "":
		return s, errAt(n, "time_skew: path is required")
	case s.Skew == 0:
		return s, errAt(n, "time_skew: skew is required")
	}
	return s, nil
}

// eachKey walks a mapping node, rejecting repeated keys.
func eachKey(n *yaml.Node, what string, fn func(key string, k, v *yaml.Node) error) error {
	if n.Kind != yaml.MappingNode {
		return errAt(n, "%s: want a mapping", what)
	}
	seen := make(map[string]bool, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if seen[k.Value] {
			return errAt(k, "key %q given twice", k.Value)
		}
		seen[k.Value] = true
		if err := fn(k.Value, k, v); err != nil {
			return err
		}
	}
	return nil
}

func eachItem(n *yaml.Node, what string, fn func(*yaml.Node) error) error {
	if n.Kind != yaml.SequenceNode {
		return errAt(n, "%s: want a list", what)
	}
	for _, item := range n.Content {
		if err := fn(item); err != nil {
			return err
		}
	}
	return nil
}

func decodeStrings(n *yaml.Node, what string, dst *[]string, check func(string) error) error {
	return eachItem(n, what, func(item *yaml.Node) error {
		if item.Kind != yaml.ScalarNode {
			return errAt(item, "%s: want a string", what)
		}
		if err := check(item.Value); err != nil {
			return errAt(item, "%s: %v", what, err)
		}
		*dst = append(*dst, item.Value)
		return nil
	})
}

func decodePath(n *yaml.Node, what string, dst *string) error {
	if n.Kind != yaml.ScalarNode {
		return errAt(n, "%s: want a string", what)
	}
	if err := checkPathGlob(n.Value); err != nil {
		return errAt(n, "%s: %v", what, err)
	}
	*dst = n.Value
	return nil
}

func decodeAmount(n *yaml.Node, what string, dst *float64) error {
	f, err := strconv.ParseFloat(n.Value, 64)
	if n.Kind != yaml.ScalarNode || err != nil || f < 0 || math.IsInf(f, 0) {
		return errAt(n, "%s: want a number >= 0, got %q", what, n.Value)
	}
	*dst = f
	return nil
}

// checkPathGlob accepts globs rooted at one of the field paths of DESIGN.md.
func checkPathGlob(g string) error {
	switch {
	case g == "status", g == "body", g == "*", g == "**":
	case strings.HasPrefix(g, "header.") && len(g) > len("header."):
	case strings.HasPrefix(g, "body.") && len(g) > len("body."):
	case strings.HasPrefix(g, "body[]"), strings.HasPrefix(g, "*."), strings.HasPrefix(g, "**."):
	default:
		return fmt.Errorf("%q is not a field path: want status, header.<Name>, body or body.<field>", g)
	}
	return nil
}

func checkHeaderGlob(g string) error {
	if g == "" || strings.ContainsAny(g, " :\t") {
		return fmt.Errorf("%q is not a header name", g)
	}
	return nil
}

// checkTemplate accepts "/a/{x}/b", optionally preceded by a method.
func checkTemplate(t string) error {
	method, path, hasMethod := strings.Cut(t, " ")
	if !hasMethod {
		path = method
	} else if method == "" || strings.ToUpper(method) != method {
		return fmt.Errorf("template %q: the method must be upper case, e.g. GET /users/{id}", t)
	}
	if !strings.HasPrefix(path, "/") {
		return fmt.Errorf("template %q must start with /", t)
	}
	for seg := range strings.SplitSeq(path, "/") {
		opens, closes := strings.Count(seg, "{"), strings.Count(seg, "}")
		if opens+closes == 0 {
			continue
		}
		if opens != 1 || closes != 1 || seg[0] != '{' || seg[len(seg)-1] != '}' || len(seg) < 3 {
			return fmt.Errorf("template %q: a parameter is a whole segment such as {id}", t)
		}
	}
	return nil
}
