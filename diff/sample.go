package diff

import (
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Samples show a person a few real cases behind a count. They are the first
// ones seen, not a random choice: first cases are stable from run to run
// and cost nothing once the quota is full. Secrets never reach them.

// redacted replaces the value of a sensitive header in samples.
const redacted = "[redacted]"

// RequestSample is a request as samples show it: headers redacted, body
// cut at the aggregator's SampleBodyBytes.
type RequestSample struct {
	Method string              `json:"method"`
	URI    string              `json:"uri"`
	Host   string              `json:"host,omitempty"`
	Header map[string][]string `json:"header,omitempty"`
	Body   string              `json:"body,omitempty"`
	// BodyBytes is the body's full length; the sample is cut when it is
	// more than len(Body).
	BodyBytes int `json:"body_bytes,omitempty"`
}

// FieldSample is one exchange where a field differs.
type FieldSample struct {
	Time      *time.Time     `json:"time,omitempty"`
	Request   *RequestSample `json:"request"`
	Legacy    string         `json:"legacy,omitempty"`
	Candidate string         `json:"candidate,omitempty"`
	Detail    string         `json:"detail,omitempty"`
	// Noise is set when the difference was noise for this exchange: the
	// secondary differed there too, or legacy is known to vary there.
	Noise bool `json:"noise,omitempty"`
}

// FailureSample is one exchange where a side gave no HTTP answer.
type FailureSample struct {
	Time           *time.Time     `json:"time,omitempty"`
	Request        *RequestSample `json:"request"`
	Side           string         `json:"side"` // "legacy", "candidate" or "both"
	LegacyError    string         `json:"legacy_error,omitempty"`
	CandidateError string         `json:"candidate_error,omitempty"`
}

// sampler builds samples under the aggregator's redaction and size rules.
type sampler struct {
	redact   map[string]bool // canonical header names
	globs    nameGlobs       // the rules' redacted headers
	params   paramRedactor   // secret query parameters
	maxBytes int
}

// newSampler redacts the credentials headers, extra ones and those the
// rules redact (rules may be nil).
func newSampler(extra []string, rules *Rules, maxBytes int) sampler {
	s := sampler{redact: map[string]bool{}, maxBytes: maxBytes, params: newParamRedactor(rules)}
	if rules != nil {
		s.globs = slices.Clone(nameGlobs(rules.Headers.Redact))
	}
	always := []string{"Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie"}
	for _, h := range slices.Concat(always, extra) {
		s.redact[http.CanonicalHeaderKey(h)] = true
	}
	return s
}

func (s sampler) request(req *Request) *RequestSample {
	r := &RequestSample{Method: req.Method, URI: s.params.text(req.URI), Host: req.Host, BodyBytes: len(req.Body)}
	if len(req.Header) > 0 {
		r.Header = make(map[string][]string, len(req.Header))
		for name, values := range req.Header {
			if s.redacts(name) {
				r.Header[name] = []string{redacted}
				continue
			}
			r.Header[name] = make([]string, len(values))
			for i, v := range values {
				r.Header[name][i] = s.params.text(v) // Referer, a URL with a token
			}
		}
	}
	r.Body = s.cut(s.redactBody(string(req.Body)))
	return r
}

func (s sampler) redacts(header string) bool {
	return s.redact[http.CanonicalHeaderKey(header)] || secretHeader(header) || s.globs.match(header)
}

// secretPath reports whether a field path ends in a secret's name: a
// header, or a body field named like a secret header or parameter
// (body.password, body.headers.Authorization of an echo).
func (s sampler) secretPath(path string) bool {
	if name, ok := strings.CutPrefix(path, "header."); ok {
		return s.redacts(name)
	}
	last := path[strings.LastIndexByte(path, '.')+1:]
	last = strings.TrimSuffix(last, "[]")
	return path != "body" && last != "" && (s.redacts(last) || s.params.secret(last))
}

// value renders a difference's value, redacted when it is a sensitive
// header's (a changed Set-Cookie is worth reporting, its value is not).
func (s sampler) value(path, v string) string {
	if v != "" && s.secretPath(path) {
		return redacted
	}
	return s.cut(s.params.text(v))
}

// cut truncates to maxBytes on a rune boundary and makes the text valid
// UTF-8, so that any body survives JSON.
func (s sampler) cut(v string) string {
	if len(v) > s.maxBytes {
		v = v[:s.maxBytes]
		// Drop a rune cut in half rather than show a replacement char.
		for range utf8.UTFMax - 1 {
			if r, size := utf8.DecodeLastRuneInString(v); r != utf8.RuneError || size != 1 {
				break
			}
			v = v[:len(v)-1]
		}
	}
	return strings.ToValidUTF8(v, "\uFFFD")
}

func sampleTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}
