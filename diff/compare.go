package diff

import (
	"bytes"
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Comparer compares two answers under a set of rules. It keeps nothing
// between calls and never changes after NewComparer: safe for concurrent use.
type Comparer struct {
	ignore    globs
	unordered globs
	tolerance []Tolerance
	skew      []TimeSkew
	include   nameGlobs
	exclude   nameGlobs
	redact    nameGlobs
	// keep holds the header names given exactly in Headers.Include: they
	// are compared even where the defaults would leave them out.
	keep map[string]bool
}

// NewComparer returns a Comparer for rules; nil rules mean the defaults.
// The rules are copied.
func NewComparer(rules *Rules) *Comparer {
	if rules == nil {
		rules = &Rules{}
	}
	c := &Comparer{
		ignore:    slices.Clone(globs(rules.Ignore)),
		unordered: slices.Clone(globs(rules.Unordered)),
		tolerance: slices.Clone(rules.Tolerance),
		skew:      slices.Clone(rules.TimeSkew),
		include:   slices.Clone(nameGlobs(rules.Headers.Include)),
		exclude:   slices.Clone(nameGlobs(rules.Headers.Exclude)),
		redact:    slices.Clone(nameGlobs(rules.Headers.Redact)),
		keep:      map[string]bool{},
	}
	for _, name := range rules.Headers.Include {
		if !strings.Contains(name, "*") {
			c.keep[http.CanonicalHeaderKey(name)] = true
		}
	}
	return c
}

// Compare returns the places where candidate's answer differs from
// legacy's, after normalisation and under the rules.
//
// Bodies are compared after undoing Content-Encoding (gzip, deflate, br);
// byte-identical bodies under the same codings are not decoded at all. The
// legacy Content-Type (else the candidate's, else a sniff) picks how: JSON
// by structure (object keys in any order, numbers by value, arrays by
// position), text and HTML by lines, anything else by length and SHA-256.
// Headers are compared as sets of values, by canonical name, as
// HeaderRules describes.
//
// The result is sorted by path, then kind, and holds at most one Difference
// per path and kind: array elements share a path, so the first one found is
// kept and Detail counts the others. A nil result means the answers are
// the same. Status and headers are compared only when both answers have a
// status (a Response with Status 0 is a bare body). A failed side (see
// Response.Failed) gives one difference at "status"; two failed sides give
// none, since there is no answer to compare.
func (c *Comparer) Compare(legacy, candidate *Response) []Difference {
	d := &differences{c: c}
	switch {
	case legacy.Failed() && candidate.Failed():
		return nil
	case legacy.Failed():
		d.add(Difference{Path: "status", Kind: KindExtra, Candidate: strconv.Itoa(candidate.Status), Detail: "legacy failed: " + failure(legacy)})
		return d.sorted()
	case candidate.Failed():
		d.add(Difference{Path: "status", Kind: KindMissing, Legacy: strconv.Itoa(legacy.Status), Detail: "candidate failed: " + failure(candidate)})
		return d.sorted()
	}
	compressed := c.compareBodies(legacy, candidate, d)
	if legacy.Status != 0 && candidate.Status != 0 {
		if legacy.Status != candidate.Status {
			d.add(Difference{Path: "status", Kind: KindChanged, Legacy: strconv.Itoa(legacy.Status), Candidate: strconv.Itoa(candidate.Status)})
		}
		lh, lt := grpcFields(legacy)
		kh, kt := grpcFields(candidate)
		c.compareHeaders(lh, kh, compressed, d)
		c.compareTrailers(lt, kt, d) // grpc.go
	}
	return d.sorted()
}

func failure(r *Response) string {
	if r == nil {
		return "no response"
	}
	return r.Err
}

// differences collects the result of one comparison.
type differences struct {
	c    *Comparer
	list []Difference
}

// add records d unless the rules ignore its path.
func (ds *differences) add(d Difference) {
	if !ds.c.ignore.matchUnder(d.Path) {
		ds.list = append(ds.list, d)
	}
}

// sorted orders by path and kind and folds repeats into the first.
func (ds *differences) sorted() []Difference {
	if len(ds.list) == 0 {
		return nil
	}
	slices.SortStableFunc(ds.list, func(a, b Difference) int {
		return cmp.Or(strings.Compare(a.Path, b.Path), strings.Compare(string(a.Kind), string(b.Kind)))
	})
	out := ds.list[:1]
	more := 0
	for _, d := range ds.list[1:] {
		last := &out[len(out)-1]
		if d.Path == last.Path && d.Kind == last.Kind {
			more++
			continue
		}
		noteMore(last, more)
		more = 0
		out = append(out, d)
	}
	noteMore(&out[len(out)-1], more)
	return out
}

func noteMore(d *Difference, more int) {
	if more > 0 {
		d.Detail = strings.TrimSpace(fmt.Sprintf("%s (and %d more like this)", d.Detail, more))
	}
}

// compareBodies compares the bodies and reports whether either was
// compressed with a coding it undid, which the header comparison needs.
func (c *Comparer) compareBodies(legacy, candidate *Response, d *differences) (compressed bool) {
	lc, kc := contentCodings(legacy.Header), contentCodings(candidate.Header)
	compressed = len(lc)+len(kc) > 0 && decodable(lc) && decodable(kc)
	if c.ignore.matchUnder("body") {
		return compressed
	}
	// Fast path: the same bytes under the same codings need no decoding.
	if slices.Equal(lc, kc) && bytes.Equal(legacy.Body, candidate.Body) {
		return compressed
	}
	if legacy.BodyTruncated || candidate.BodyTruncated {
		compareTruncated(legacy.Body, candidate.Body, d)
		return compressed
	}
	lb, lerr := decodeBody(lc, legacy.Body)
	kb, kerr := decodeBody(kc, candidate.Body)
	switch {
	case bytes.Equal(lb, kb):
		return compressed
	case len(kb) == 0:
		d.add(Difference{Path: "body", Kind: KindMissing, Legacy: sizeSample(lb), Detail: "candidate body is empty"})
		return compressed
	case len(lb) == 0:
		d.add(Difference{Path: "body", Kind: KindExtra, Candidate: sizeSample(kb), Detail: "legacy body is empty"})
		return compressed
	case (lerr == nil) != (kerr == nil):
		// One side's body is damaged: comparing its raw bytes with the
		// other's decoded ones would only say the same thing less clearly.
		detail := "candidate body: " + errText(kerr)
		if lerr != nil {
			detail = "legacy body: " + errText(lerr)
		}
		d.add(Difference{Path: "body", Kind: KindChanged, Legacy: sizeSample(lb), Candidate: sizeSample(kb), Detail: detail})
		return compressed
	}
	switch bodyKind(legacy.Header, candidate.Header, lb) {
	case kindJSON:
		c.compareJSONBodies(lb, kb, d)
	case kindText:
		compareText(lb, kb, d)
	default:
		compareBinary(lb, kb, d)
	}
	return compressed
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func sizeSample(b []byte) string { return strconv.Itoa(len(b)) + " bytes" }

// bodyClass says how a body is compared.
type bodyClass int

const (
	kindBinary bodyClass = iota
	kindText
	kindJSON
)

// bodyKind classifies by the legacy Content-Type (the reference), else the
// candidate's, else by sniffing the legacy body.
func bodyKind(legacy, candidate http.Header, body []byte) bodyClass {
	mt := mediaType(legacy)
	if mt == "" {
		mt = mediaType(candidate)
	}
	switch {
	case mt == "":
		return sniff(body)
	case mt == "application/json", mt == "text/json", strings.HasSuffix(mt, "+json"):
		return kindJSON
	case strings.HasPrefix(mt, "text/"), strings.HasSuffix(mt, "+xml"), textTypes[mt]:
		return kindText
	}
	return kindBinary
}

// textTypes are the application/* types that are text.
var textTypes = map[string]bool{
	"application/xml": true, "application/javascript": true, "application/ecmascript": true,
	"application/x-www-form-urlencoded": true, "application/x-ndjson": true, "application/jsonl": true,
	"application/graphql": true, "application/x-yaml": true, "application/yaml": true,
}

func mediaType(h http.Header) string {
	mt, _, _ := strings.Cut(h.Get("Content-Type"), ";")
	return strings.ToLower(strings.TrimSpace(mt))
}

// sniff guesses for a body without a Content-Type: what looks like a JSON
// object or array is tried as JSON, valid UTF-8 without NUL is text.
func sniff(b []byte) bodyClass {
	t := bytes.TrimLeft(b, " \t\r\n")
	switch {
	case len(t) > 0 && (t[0] == '{' || t[0] == '['):
		return kindJSON
	case isText(b):
		return kindText
	}
	return kindBinary
}
