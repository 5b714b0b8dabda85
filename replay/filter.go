package replay

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/cutover/cutover/diff"
)

// Filter selects the requests to replay. Every non-empty list must match:
// methods exactly (case-insensitive), paths and hosts as globs where *
// matches any run of characters (slashes included) and ? one character.
type Filter struct {
	Methods []string
	Paths   []*regexp.Regexp
	Hosts   []*regexp.Regexp
}

// ParseFilter reads --filter values: "method=GET,HEAD", "path=/api/*",
// "host=*.example.com"; several values of one key are alternatives.
func ParseFilter(specs []string) (Filter, error) {
	var f Filter
	for _, s := range specs {
		key, val, ok := strings.Cut(s, "=")
		if !ok || val == "" {
			return f, fmt.Errorf("filter %q: want method=..., path=GLOB or host=GLOB", s)
		}
		for _, v := range strings.Split(val, ",") {
			if v == "" {
				return f, fmt.Errorf("filter %q: an empty value", s)
			}
			if key != "method" && strings.ContainsAny(v, "[]{}") {
				// A user writing a class or a set means one, and would
				// silently match nothing: only * and ? are globs here.
				return f, fmt.Errorf("filter %q: only * and ? are special in a glob, not [ ] { }", s)
			}
			switch key {
			case "method":
				f.Methods = append(f.Methods, strings.ToUpper(v))
			case "path":
				f.Paths = append(f.Paths, globRegexp(v))
			case "host":
				f.Hosts = append(f.Hosts, globRegexp(strings.ToLower(v)))
			default:
				return f, fmt.Errorf("filter %q: unknown key %q (want method, path or host)", s, key)
			}
		}
	}
	return f, nil
}

func globRegexp(glob string) *regexp.Regexp {
	q := regexp.QuoteMeta(glob)
	q = strings.NewReplacer(`\*`, `.*`, `\?`, `.`).Replace(q)
	return regexp.MustCompile("^" + q + "$")
}

// Match reports whether the filter keeps req.
func (f Filter) Match(req *diff.Request) bool {
	if len(f.Methods) > 0 && !contains(f.Methods, req.Method) {
		return false
	}
	path, _, _ := strings.Cut(req.URI, "?")
	if len(f.Paths) > 0 && !anyMatch(f.Paths, path) {
		return false
	}
	return len(f.Hosts) == 0 || anyMatch(f.Hosts, strings.ToLower(req.Host))
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func anyMatch(res []*regexp.Regexp, s string) bool {
	for _, re := range res {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

// safe reports whether a method does not change state (RFC 9110 9.2.1).
func safe(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return false
}
