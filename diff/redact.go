package diff

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
)

// Credentials never reach an output: every sample (the summary JSON, the
// admin API's /summary, every report rendered from them) shows the value
// of a secret header, and of a secret query parameter wherever a URI or a
// URL-like value is shown, as Redacted. Secrets are recognised by default
// (SecretHeaders, SecretParams) and by the rules (headers.redact,
// query.redact); rules add to the defaults, never remove them.

// Redacted replaces a secret's value.
const Redacted = redacted

// SecretHeaders are the headers whose values are secrets by default, on top
// of any header whose name contains a word of secretHeaderWords.
var SecretHeaders = []string{
	"Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie",
	"X-Api-Key", "Api-Key", "X-Auth-Token", "X-Access-Token", "X-Amz-Security-Token",
	"X-Csrf-Token", "X-Xsrf-Token", "X-Goog-Api-Key", "X-Session-Id",
}

// secretHeaderWords mark a header as secret wherever they appear in its
// name (lower case): X-Upstream-Token, X-Client-Secret, ...
var secretHeaderWords = []string{"token", "secret", "password", "api-key", "apikey", "authorization", "cookie", "session"}

// SecretParams are the query parameters whose values are secrets by
// default (matched whatever their case), on top of any parameter whose name
// contains a word of secretParamWords.
var SecretParams = []string{"key", "sig", "pwd", "pass", "auth", "code", "jwt"}

// secretParamWords mark a parameter as secret wherever they appear in its
// name (lower case): access_token, client_secret, x-amz-signature, ...
var secretParamWords = []string{"token", "secret", "password", "passwd", "api_key", "apikey", "api-key", "signature", "credential", "session", "private_key"}

var secretHeaderSet = func() map[string]bool {
	m := map[string]bool{}
	for _, h := range SecretHeaders {
		m[http.CanonicalHeaderKey(h)] = true
	}
	return m
}()

// secretHeader reports whether a header's values are secrets by default.
func secretHeader(name string) bool {
	if secretHeaderSet[http.CanonicalHeaderKey(name)] {
		return true
	}
	lower := strings.ToLower(name)
	for _, w := range secretHeaderWords {
		if strings.Contains(lower, w) {
			return true
		}
	}
	return false
}

// paramRedactor recognises secret query parameters: the defaults and the
// rules' query.redact globs ("*" matches any run of characters).
type paramRedactor struct {
	globs []*regexp.Regexp
}

func newParamRedactor(rules *Rules) paramRedactor {
	var p paramRedactor
	if rules == nil {
		return p
	}
	for _, g := range rules.Query.Redact {
		p.globs = append(p.globs, paramGlob(g))
	}
	return p
}

func paramGlob(g string) *regexp.Regexp {
	q := strings.ReplaceAll(regexp.QuoteMeta(strings.ToLower(g)), `\*`, `.*`)
	return regexp.MustCompile("^" + q + "$")
}

func (p paramRedactor) secret(name string) bool {
	lower := strings.ToLower(name)
	for _, s := range SecretParams {
		if lower == s {
			return true
		}
	}
	for _, w := range secretParamWords {
		if strings.Contains(lower, w) {
			return true
		}
	}
	for _, g := range p.globs {
		if g.MatchString(lower) {
			return true
		}
	}
	return false
}

// text redacts the secret parameters of every query in s: a URI, a URL in
// a header (Location) or a body value, an error naming a URL. Everything
// else is left exactly as it was.
func (p paramRedactor) text(s string) string {
	if !strings.ContainsAny(s, "?&") || !strings.Contains(s, "=") {
		return s
	}
	var b strings.Builder
	changed := false
	// A parameter starts after '?', '&' or ';' and its value ends at the
	// next '&', '#', white space or quote.
	for i := 0; i < len(s); {
		j := i
		if s[i] == '?' || s[i] == '&' || s[i] == ';' {
			j = i + 1
		}
		if j == i {
			b.WriteByte(s[i])
			i++
			continue
		}
		b.WriteString(s[i:j])
		end := j
		for end < len(s) && strings.IndexByte("&#;? \t\r\n\"'", s[end]) < 0 {
			end++
		}
		name, _, hasValue := strings.Cut(s[j:end], "=")
		if hasValue && name != "" && p.secret(unescapeName(name)) {
			b.WriteString(name + "=" + Redacted)
			changed = true
		} else {
			b.WriteString(s[j:end])
		}
		i = end
	}
	if !changed {
		return s
	}
	return b.String()
}

// unescapeName decodes the few escapes a parameter name is spelt with.
func unescapeName(n string) string {
	if !strings.Contains(n, "%") && !strings.Contains(n, "+") {
		return n
	}
	return strings.NewReplacer("%5F", "_", "%5f", "_", "%2D", "-", "%2d", "-", "+", " ").Replace(n)
}

// RedactURI redacts the values of the default secret query parameters of
// uri, for outputs outside a summary (logs, inspect).
func RedactURI(uri string) string { return paramRedactor{}.text(uri) }

// checkParamGlob accepts a query parameter name glob.
func checkParamGlob(g string) error {
	if g == "" || strings.ContainsAny(g, "&=?# \t") {
		return fmt.Errorf("%q is not a query parameter name", g)
	}
	return nil
}

// redactBody hides the secrets of a body shown in a sample: secret query
// parameters wherever they appear (a form body is a query; a JSON string
// may hold a URL), and in a JSON body the values of fields named like a
// secret header or parameter (an echo of the request's headers). A body
// with nothing to hide is returned as it was.
func (s sampler) redactBody(body string) string {
	body = strings.TrimPrefix(s.params.text("&"+body), "&")
	t := strings.TrimSpace(body)
	if t == "" || (t[0] != '{' && t[0] != '[') {
		return body
	}
	dec := json.NewDecoder(strings.NewReader(t))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil || dec.More() || !s.redactJSON(v) {
		return body
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if enc.Encode(v) != nil {
		return Redacted // never the secret
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// redactJSON replaces the values of secret-named fields in v; false when
// there were none.
func (s sampler) redactJSON(v any) bool {
	changed := false
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if s.redacts(k) || s.params.secret(k) {
				v[k] = Redacted
				changed = true
			} else if str, ok := x.(string); ok {
				// A URL in a string: its escaped '&' (\u0026) hid it above.
				if r := s.params.text(str); r != str {
					v[k], changed = r, true
				}
			} else if s.redactJSON(x) {
				changed = true
			}
		}
	case []any:
		for i, x := range v {
			if str, ok := x.(string); ok {
				if r := s.params.text(str); r != str {
					v[i], changed = r, true
				}
			} else if s.redactJSON(x) {
				changed = true
			}
		}
	}
	return changed
}
