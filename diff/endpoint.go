package diff

import "strings"

// Endpoint names the endpoint an exchange is grouped under: the method in
// upper case, a space and a path template, e.g. "GET /api/items/{id}".
//
// The first of r.Endpoints that matches wins: a template matches a path with
// as many segments, every literal segment equal and every "{name}" segment
// non-empty; a template that starts with a method matches only that method.
// Without a match the template is inferred: segments that are decimal
// numbers, UUIDs, or runs of 16 or more hex digits with at least one digit
// (MD5, SHA-1 and SHA-256 hashes among them) become "{id}". The query and
// fragment are dropped, and an absolute URI is reduced to its path.
//
// r may be nil. Endpoint is called for every exchange: it does not allocate
// beyond the returned string.
func (r *Rules) Endpoint(method, uri string) string {
	method = strings.ToUpper(method)
	path := requestPath(uri)
	if r != nil {
		for _, t := range r.Endpoints {
			only, tpath, hasMethod := strings.Cut(t, " ")
			if !hasMethod {
				tpath = only
			} else if only != method {
				continue
			}
			if matchTemplate(tpath, path) {
				return method + " " + tpath
			}
		}
	}
	return inferTemplate(method+" ", path)
}

// requestPath strips scheme and authority, query and fragment from uri.
func requestPath(uri string) string {
	if i := strings.Index(uri, "://"); i >= 0 && !strings.Contains(uri[:i], "/") {
		rest := uri[i+3:]
		if j := strings.IndexAny(rest, "/?#"); j >= 0 {
			uri = rest[j:]
		} else {
			uri = ""
		}
	}
	if i := strings.IndexAny(uri, "?#"); i >= 0 {
		uri = uri[:i]
	}
	if uri == "" {
		return "/"
	}
	return uri
}

// matchTemplate walks both paths segment by segment without splitting them.
func matchTemplate(tmpl, path string) bool {
	for {
		tseg, trest, tmore := strings.Cut(tmpl, "/")
		pseg, prest, pmore := strings.Cut(path, "/")
		isParam := len(tseg) > 2 && tseg[0] == '{' && tseg[len(tseg)-1] == '}'
		if isParam && pseg == "" || !isParam && tseg != pseg {
			return false
		}
		if tmore != pmore {
			return false
		}
		if !tmore {
			return true
		}
		tmpl, path = trest, prest
	}
}

// inferTemplate returns prefix and path with identifier-like segments
// replaced by {id}, in one allocation.
func inferTemplate(prefix, path string) string {
	var b strings.Builder
	b.Grow(len(prefix) + len(path) + 8)
	b.WriteString(prefix)
	start := 0 // of the segment being looked at
	copied := 0
	for i := 0; i <= len(path); i++ {
		if i < len(path) && path[i] != '/' {
			continue
		}
		if isIdentifier(path[start:i]) {
			b.WriteString(path[copied:start])
			b.WriteString("{id}")
			copied = i
		}
		start = i + 1
	}
	b.WriteString(path[copied:])
	return b.String()
}

// isIdentifier reports whether a path segment looks generated rather than
// chosen: a decimal number, a UUID, or 16+ hex digits including a digit.
func isIdentifier(seg string) bool {
	if seg == "" {
		return false
	}
	digits, hex := 0, 0
	for i := 0; i < len(seg); i++ {
		switch c := seg[i]; {
		case '0' <= c && c <= '9':
			digits++
			hex++
		case 'a' <= c && c <= 'f', 'A' <= c && c <= 'F':
			hex++
		}
	}
	switch {
	case digits == len(seg):
		return true
	case hex == len(seg):
		return len(seg) >= 16 && digits > 0
	}
	return isUUID(seg)
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if c != '-' {
				return false
			}
			continue
		}
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
