package diff

import (
	"cmp"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Exchanges that differ in the same set of fields most likely share one
// cause (a 502 differs in status, body and three headers at once), so they
// are counted as one group and shown as one row, with whole exchanges as
// examples: status line, headers and body of both sides.

// maxGroups bounds the groups kept per endpoint; exchanges of others are
// counted in EndpointSummary.OtherGroups.
const maxGroups = 20

// GroupSummary is a set of differing fields (path and kind) and how many
// differing exchanges of the endpoint differ in exactly that set, noise
// left out.
type GroupSummary struct {
	Fields  []FieldRef       `json:"fields"`
	Count   int64            `json:"count"`
	Samples []ExchangeSample `json:"samples,omitempty"`
}

// FieldRef names a field of a group or of an exchange sample; Noise is set
// on a sample's differences that were noise for that exchange.
type FieldRef struct {
	Path  string `json:"path"`
	Kind  Kind   `json:"kind"`
	Noise bool   `json:"noise,omitempty"`
}

// ExchangeSample is one whole exchange: the request and both answers, as
// received (bodies decoded from their content coding for reading, and cut),
// with every difference found in it.
type ExchangeSample struct {
	Time        *time.Time      `json:"time,omitempty"`
	Request     *RequestSample  `json:"request"`
	Legacy      *ResponseSample `json:"legacy"`
	Candidate   *ResponseSample `json:"candidate"`
	Differences []FieldRef      `json:"differences"`
}

// ResponseSample is one side's answer in a sample.
type ResponseSample struct {
	Status int                 `json:"status"`
	Proto  string              `json:"proto,omitempty"`
	Header map[string][]string `json:"header,omitempty"`
	Body   string              `json:"body,omitempty"`
	// BodyBytes is the body's length as received; Decoded names the
	// content coding undone to show it, Binary says it is not text.
	BodyBytes int    `json:"body_bytes"`
	Decoded   string `json:"decoded,omitempty"`
	Binary    bool   `json:"binary,omitempty"`
}

// groupState counts one group of an endpoint.
type groupState struct {
	fields  []FieldRef
	count   int64
	samples []ExchangeSample
}

// groupKey joins a sorted set of fields into a map key.
func groupKey(fields []FieldRef) string {
	var b strings.Builder
	for _, f := range fields {
		b.WriteString(f.Path)
		b.WriteByte(0)
		b.WriteString(string(f.Kind))
		b.WriteByte(0)
	}
	return b.String()
}

// response renders one side's answer for a sample.
func (s sampler) response(r *Response) *ResponseSample {
	if r == nil {
		return nil
	}
	out := &ResponseSample{Status: r.Status, Proto: r.Proto, BodyBytes: len(r.Body)}
	if len(r.Header) > 0 {
		out.Header = make(map[string][]string, len(r.Header))
		for name, values := range r.Header {
			if s.redacts(name) {
				out.Header[name] = []string{redacted}
				continue
			}
			out.Header[name] = make([]string, len(values))
			for i, v := range values {
				out.Header[name][i] = s.params.text(v) // Location, a URL with a token
			}
		}
	}
	body := r.Body
	if codings := contentCodings(r.Header); len(codings) > 0 && decodable(codings) {
		if dec, err := decodeBody(codings, body); err == nil {
			body, out.Decoded = dec, strings.Join(codings, ", ")
		}
	}
	if len(body) > 0 && !isText(body) {
		out.Binary = true
		return out
	}
	out.Body = s.cut(s.redactBody(string(body)))
	return out
}

// groupSummaries lists an endpoint's groups, largest first.
func groupSummaries(groups map[string]*groupState) []GroupSummary {
	if len(groups) == 0 {
		return nil
	}
	out := make([]GroupSummary, 0, len(groups))
	for _, g := range groups {
		out = append(out, GroupSummary{Fields: slices.Clone(g.fields), Count: g.count, Samples: slices.Clone(g.samples)})
	}
	slices.SortFunc(out, func(a, b GroupSummary) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(groupKey(a.Fields), groupKey(b.Fields)))
	})
	return out
}

// is5xx says whether an answer is a server error.
func is5xx(r *Response) bool {
	return r != nil && r.Err == "" && r.Status >= http.StatusInternalServerError && r.Status <= 599
}
