package diff

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"crypto/sha256"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/google/go-cmp/cmp"
)

// rsp builds an answer from a status, a body and "Name: value" lines.
func rsp(status int, body string, header ...string) *Response {
	h := http.Header{}
	for _, line := range header {
		k, v, _ := strings.Cut(line, ":")
		h.Add(k, strings.TrimSpace(v))
	}
	return &Response{Status: status, Header: h, Body: []byte(body)}
}

const ctJSON = "Content-Type: application/json"

// jsonPair is a legacy and candidate answer with JSON bodies and the same headers.
func jsonPair(legacy, candidate string) (*Response, *Response) {
	return rsp(200, legacy, ctJSON), rsp(200, candidate, ctJSON)
}

func compress(t testing.TB, coding, s string) string {
	t.Helper()
	var b bytes.Buffer
	var w interface {
		Write([]byte) (int, error)
		Close() error
	}
	switch coding {
	case "gzip":
		w = gzip.NewWriter(&b)
	case "deflate":
		w = zlib.NewWriter(&b)
	case "raw-deflate":
		w, _ = flate.NewWriter(&b, flate.BestSpeed)
	case "br":
		w = brotli.NewWriter(&b)
	default:
		t.Fatalf("unknown coding %q", coding)
	}
	if _, err := w.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func hashOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return fmt.Sprintf("%d bytes, sha256 %x", len(s), sum[:8])
}

type compareCase struct {
	name      string
	rules     *Rules
	legacy    *Response
	candidate *Response
	want      []Difference
}

func runCompareCases(t *testing.T, tests []compareCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := NewComparer(tt.rules).Compare(tt.legacy, tt.candidate)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Compare (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCompareJSON(t *testing.T) {
	t.Parallel()
	const doc = `{"id":7,"tags":["a","b"],"meta":{"n":1.5}}`
	var tests []compareCase
	add := func(name string, rules *Rules, legacy, candidate string, want ...Difference) {
		l, c := jsonPair(legacy, candidate)
		tests = append(tests, compareCase{name, rules, l, c, want})
	}
	add("identical", nil, doc, doc)
	add("key order and spacing", nil, `{"a":1,"b":{"c":2,"d":[3]}}`, `{ "b": {"d": [3], "c": 2}, "a": 1 }`)
	add("changed scalar", nil, `{"a":{"b":"x"}}`, `{"a":{"b":"y"}}`,
		Difference{Path: "body.a.b", Kind: KindChanged, Legacy: `"x"`, Candidate: `"y"`})
	add("nested missing field", nil, `{"a":{"b":{"c":1,"d":2}}}`, `{"a":{"b":{"d":2}}}`,
		Difference{Path: "body.a.b.c", Kind: KindMissing, Legacy: "1"})
	add("nested extra field", nil, `{"a":{"b":{"d":2}}}`, `{"a":{"b":{"c":{"e":1},"d":2}}}`,
		Difference{Path: "body.a.b.c", Kind: KindExtra, Candidate: `{"e":1}`})
	add("type number to string", nil, `{"id":1}`, `{"id":"1"}`,
		Difference{Path: "body.id", Kind: KindType, Legacy: "1", Candidate: `"1"`, Detail: "number → string"})
	add("type null to number", nil, `{"a":null}`, `{"a":0}`,
		Difference{Path: "body.a", Kind: KindType, Legacy: "null", Candidate: "0", Detail: "null → number"})
	add("type object to array", nil, `{"a":{}}`, `{"a":[]}`,
		Difference{Path: "body.a", Kind: KindType, Legacy: "{}", Candidate: "[]", Detail: "object → array"})
	add("array order", nil, `{"tags":["a","b","c"]}`, `{"tags":["c","a","b"]}`,
		Difference{Path: "body.tags", Kind: KindOrder, Legacy: `["a","b","c"]`, Candidate: `["c","a","b"]`, Detail: "same elements in another order"})
	add("array order ignored when unordered", &Rules{Unordered: []string{"body.tags"}},
		`{"tags":["a","b","c"]}`, `{"tags":["c","a","b"]}`)
	add("unordered array still compares elements", &Rules{Unordered: []string{"body.items"}},
		`{"items":[{"id":1,"p":1},{"id":2,"p":2}]}`, `{"items":[{"id":2,"p":2},{"id":1,"p":5}]}`,
		Difference{Path: "body.items[].p", Kind: KindChanged, Legacy: "1", Candidate: "5"})
	add("unordered array with a repeated element", &Rules{Unordered: []string{"body.a"}},
		`{"a":[1,1,2]}`, `{"a":[1,2,2]}`,
		Difference{Path: "body.a[]", Kind: KindChanged, Legacy: "1", Candidate: "2"})
	add("array size", nil, `{"items":[1,2,3]}`, `{"items":[1,2]}`,
		Difference{Path: "body.items", Kind: KindSize, Legacy: "[1,2,3]", Candidate: "[1,2]", Detail: "length 3 → 2"})
	add("array element changed", nil, `{"items":[{"p":1},{"p":2}]}`, `{"items":[{"p":1},{"p":3}]}`,
		Difference{Path: "body.items[].p", Kind: KindChanged, Legacy: "2", Candidate: "3"})
	add("elements share a path and are counted", nil,
		`{"items":[{"p":1},{"p":2},{"p":3}]}`, `{"items":[{"p":1},{"p":5},{"p":6}]}`,
		Difference{Path: "body.items[].p", Kind: KindChanged, Legacy: "2", Candidate: "5", Detail: "(and 1 more like this)"})
	add("nested arrays", nil, `{"m":[[1,2],[3,4]]}`, `{"m":[[1,2],[3,5]]}`,
		Difference{Path: "body.m[][]", Kind: KindChanged, Legacy: "4", Candidate: "5"})
	add("numbers by value", nil, `{"a":1.0,"b":100,"c":-0,"d":0.5}`, `{"a":1,"b":1e2,"c":0,"d":5E-1}`)
	add("large integers keep every digit", nil, `{"id":12345678901234567890}`, `{"id":12345678901234567891}`,
		Difference{Path: "body.id", Kind: KindChanged, Legacy: "12345678901234567890", Candidate: "12345678901234567891"})
	add("float within absolute tolerance", &Rules{Tolerance: []Tolerance{{Path: "body.items[].price", Absolute: 0.01}}},
		`{"items":[{"price":9.99}]}`, `{"items":[{"price":9.995}]}`)
	add("float beyond absolute tolerance", &Rules{Tolerance: []Tolerance{{Path: "body.items[].price", Absolute: 0.01}}},
		`{"items":[{"price":9.99}]}`, `{"items":[{"price":10.5}]}`,
		Difference{Path: "body.items[].price", Kind: KindChanged, Legacy: "9.99", Candidate: "10.5"})
	add("relative tolerance covers a subtree", &Rules{Tolerance: []Tolerance{{Path: "body.stats", Relative: 0.01}}},
		`{"stats":{"a":1000,"b":{"c":-200}}}`, `{"stats":{"a":1009,"b":{"c":-198.5}}}`)
	add("tolerance does not reach other paths", &Rules{Tolerance: []Tolerance{{Path: "body.stats", Relative: 0.5}}},
		`{"stats":1,"statsx":1}`, `{"stats":1.2,"statsx":1.2}`,
		Difference{Path: "body.statsx", Kind: KindChanged, Legacy: "1", Candidate: "1.2"})
	add("ignore a glob", &Rules{Ignore: []string{"body.meta.*"}},
		`{"meta":{"rid":"a","t":{"x":1}},"v":1}`, `{"meta":{"rid":"b","t":{"x":2},"new":true},"v":1}`)
	add("ignore does not hide the parent", &Rules{Ignore: []string{"body.meta.*"}},
		`{"meta":{"rid":"a"}}`, `{}`,
		Difference{Path: "body.meta", Kind: KindMissing, Legacy: `{"rid":"a"}`})
	add("ignore inside array elements", &Rules{Ignore: []string{"body.items[].ts"}},
		`{"items":[{"id":1,"ts":1},{"id":2,"ts":2}]}`, `{"items":[{"id":1,"ts":8},{"id":2,"ts":9}]}`)
	add("order found despite ignored fields", &Rules{Ignore: []string{"body.items[].ts"}},
		`{"items":[{"id":1,"ts":1},{"id":2,"ts":2}]}`, `{"items":[{"id":2,"ts":9},{"id":1,"ts":8}]}`,
		Difference{Path: "body.items", Kind: KindOrder, Legacy: `[{"id":1,"ts":1},{"id":2,"ts":2}]`,
			Candidate: `[{"id":2,"ts":9},{"id":1,"ts":8}]`, Detail: "same elements in another order"})
	add("ignore with **", &Rules{Ignore: []string{"body.**.updated_at"}},
		`{"a":{"b":[{"updated_at":"1"}]},"updated_at":"x"}`, `{"a":{"b":[{"updated_at":"2"}]},"updated_at":"y"}`,
		Difference{Path: "body.updated_at", Kind: KindChanged, Legacy: `"x"`, Candidate: `"y"`})
	add("time within skew", &Rules{TimeSkew: []TimeSkew{{Path: "body.at", Skew: 2 * time.Second}}},
		`{"at":"2024-05-01T12:00:00Z"}`, `{"at":"2024-05-01T14:00:01.5+02:00"}`)
	add("time beyond skew", &Rules{TimeSkew: []TimeSkew{{Path: "body.at", Skew: 2 * time.Second}}},
		`{"at":"2024-05-01T12:00:00Z"}`, `{"at":"2024-05-01T12:00:03Z"}`,
		Difference{Path: "body.at", Kind: KindChanged, Legacy: `"2024-05-01T12:00:00Z"`, Candidate: `"2024-05-01T12:00:03Z"`})
	add("time skew needs times", &Rules{TimeSkew: []TimeSkew{{Path: "body.at", Skew: time.Hour}}},
		`{"at":"soon"}`, `{"at":"later"}`,
		Difference{Path: "body.at", Kind: KindChanged, Legacy: `"soon"`, Candidate: `"later"`})
	add("scalar root", nil, `1`, `2`, Difference{Path: "body", Kind: KindChanged, Legacy: "1", Candidate: "2"})
	add("array root", nil, `[{"a":1}]`, `[{"a":2}]`, Difference{Path: "body[].a", Kind: KindChanged, Legacy: "1", Candidate: "2"})
	add("one side not JSON", nil, `{"a":1}`, `<html>oops</html>`,
		Difference{Path: "body", Kind: KindType, Legacy: `{"a":1}`, Candidate: `<html>oops</html>`,
			Detail: "candidate body is not JSON: offset 0: invalid character '<'"})
	add("neither side JSON falls back to text", nil, "oops\nA", "oops\nB",
		Difference{Path: "body", Kind: KindChanged, Legacy: "A", Candidate: "B", Detail: "first difference at line 2; 50% of lines alike"})
	add("trailing data is not JSON", nil, `{"a":1}`, `{"a":1} {}`,
		Difference{Path: "body", Kind: KindType, Legacy: `{"a":1}`, Candidate: `{"a":1} {}`,
			Detail: "candidate body is not JSON: offset 8: more data after the JSON value"})
	add("samples keep HTML characters", nil, `{"a":{"b":"<b>&"}}`, `{"a":{}}`,
		Difference{Path: "body.a.b", Kind: KindMissing, Legacy: `"<b>&"`})
	add("escapes decoded", nil, `{"s":"caf\u00e9 \ud83d\ude00","k\u0031":1}`, `{"s":"café 😀","k1":1}`)
	runCompareCases(t, tests)
}

func TestCompareBodies(t *testing.T) {
	t.Parallel()
	const doc = `{"items":[{"id":1,"price":9.99}],"total":1}`
	png := "\x89PNG\r\n\x1a\nabcd"
	truncated := func(r *Response) *Response { r.BodyTruncated = true; return r }
	tests := []compareCase{
		{name: "gzip against plain, same JSON",
			legacy: rsp(200, compress(t, "gzip", doc), ctJSON, "Content-Encoding: gzip", "Vary: Accept-Encoding",
				"Content-Length: 61", `ETag: W/"abc"`),
			candidate: rsp(200, doc, ctJSON, "Content-Length: 44", `ETag: "abc"`)},
		{name: "brotli against deflate, same JSON",
			legacy:    rsp(200, compress(t, "br", doc), ctJSON, "Content-Encoding: br"),
			candidate: rsp(200, compress(t, "deflate", doc), ctJSON, "Content-Encoding: deflate")},
		{name: "raw deflate and stacked codings",
			legacy:    rsp(200, compress(t, "raw-deflate", doc), ctJSON, "Content-Encoding: deflate"),
			candidate: rsp(200, compress(t, "br", compress(t, "gzip", doc)), ctJSON, "Content-Encoding: gzip, br")},
		{name: "gzip against plain, one change",
			legacy:    rsp(200, compress(t, "gzip", doc), ctJSON, "Content-Encoding: gzip"),
			candidate: rsp(200, strings.Replace(doc, "9.99", "8.99", 1), ctJSON),
			want:      []Difference{{Path: "body.items[].price", Kind: KindChanged, Legacy: "9.99", Candidate: "8.99"}}},
		{name: "damaged gzip",
			legacy:    rsp(200, doc, ctJSON),
			candidate: rsp(200, "this is not a gzip stream", ctJSON, "Content-Encoding: gzip"),
			want: []Difference{{Path: "body", Kind: KindChanged, Legacy: "43 bytes", Candidate: "25 bytes",
				Detail: "candidate body: undo gzip: gzip: invalid header"}}},
		{name: "unknown coding compares bytes and the header",
			legacy:    rsp(200, "abc", "Content-Type: application/octet-stream", "Content-Encoding: zstd"),
			candidate: rsp(200, "abd", "Content-Type: application/octet-stream"),
			want: []Difference{
				{Path: "body", Kind: KindChanged, Legacy: "3 bytes", Candidate: "3 bytes", Detail: "legacy body: undo zstd: unsupported content coding"},
				{Path: "header.Content-Encoding", Kind: KindMissing, Legacy: "zstd"},
			}},
		{name: "text first differing line",
			legacy:    rsp(200, "a\nb\nc\n", "Content-Type: text/plain"),
			candidate: rsp(200, "a\nB\nc\n", "Content-Type: text/plain"),
			want: []Difference{{Path: "body", Kind: KindChanged, Legacy: "b", Candidate: "B",
				Detail: "first difference at line 2; 75% of lines alike"}}},
		{name: "text shorter candidate",
			legacy:    rsp(200, "a\nb", "Content-Type: text/plain"),
			candidate: rsp(200, "a", "Content-Type: text/plain"),
			want: []Difference{{Path: "body", Kind: KindChanged, Legacy: "b", Candidate: "(end of body)",
				Detail: "first difference at line 2; 67% of lines alike"}}},
		{name: "html line ends do not count",
			legacy:    rsp(200, "<p>\r\nhi\r\n</p>", "Content-Type: text/html; charset=utf-8"),
			candidate: rsp(200, "<p>\nhi\n</p>", "Content-Type: text/html; charset=utf-8")},
		{name: "html changed line",
			legacy:    rsp(200, "<html>\n<title>Shop</title>\n<p>9.99</p>\n</html>", "Content-Type: text/html"),
			candidate: rsp(200, "<html>\n<title>Shop</title>\n<p>8.99</p>\n</html>", "Content-Type: text/html"),
			want: []Difference{{Path: "body", Kind: KindChanged, Legacy: "<p>9.99</p>", Candidate: "<p>8.99</p>",
				Detail: "first difference at line 3; 75% of lines alike"}}},
		{name: "binary same length by hash",
			legacy:    rsp(200, png, "Content-Type: image/png"),
			candidate: rsp(200, png[:10]+"xy", "Content-Type: image/png"),
			want: []Difference{{Path: "body", Kind: KindChanged, Legacy: hashOf(png), Candidate: hashOf(png[:10] + "xy"),
				Detail: "first difference at byte 10"}}},
		{name: "binary other length",
			legacy:    rsp(200, png, "Content-Type: image/png"),
			candidate: rsp(200, png+"!", "Content-Type: image/png"),
			want: []Difference{{Path: "body", Kind: KindSize, Legacy: hashOf(png), Candidate: hashOf(png + "!"),
				Detail: "first difference at byte 12"}}},
		{name: "sniffed JSON without content type",
			legacy:    rsp(200, `{"a":1}`),
			candidate: rsp(200, ` {"a":2}`),
			want:      []Difference{{Path: "body.a", Kind: KindChanged, Legacy: "1", Candidate: "2"}}},
		{name: "sniffed text without content type",
			legacy:    &Response{Body: []byte("line one\nline two")},
			candidate: &Response{Body: []byte("line one\nline 2")},
			want: []Difference{{Path: "body", Kind: KindChanged, Legacy: "line two", Candidate: "line 2",
				Detail: "first difference at line 2; 50% of lines alike"}}},
		{name: "sniffed binary without content type",
			legacy:    &Response{Body: []byte("a\x00b")},
			candidate: &Response{Body: []byte("a\x00c")},
			want: []Difference{{Path: "body", Kind: KindChanged, Legacy: hashOf("a\x00b"), Candidate: hashOf("a\x00c"),
				Detail: "first difference at byte 2"}}},
		{name: "candidate body empty",
			legacy:    rsp(200, "{}", ctJSON),
			candidate: rsp(200, "", ctJSON),
			want:      []Difference{{Path: "body", Kind: KindMissing, Legacy: "2 bytes", Detail: "candidate body is empty"}}},
		{name: "legacy body empty",
			legacy:    rsp(204, ""),
			candidate: rsp(204, "x"),
			want:      []Difference{{Path: "body", Kind: KindExtra, Candidate: "1 bytes", Detail: "legacy body is empty"}}},
		{name: "truncated bodies agree on what both have",
			legacy:    truncated(rsp(200, "abcdef", "Content-Type: text/plain")),
			candidate: rsp(200, "abcdefgh", "Content-Type: text/plain")},
		{name: "truncated bodies differ",
			legacy:    truncated(rsp(200, "abcdef", "Content-Type: text/plain")),
			candidate: truncated(rsp(200, "abXdef", "Content-Type: text/plain")),
			want: []Difference{{Path: "body", Kind: KindChanged, Legacy: "6 bytes", Candidate: "6 bytes",
				Detail: "truncated bodies differ at byte 2"}}},
		{name: "bare bodies compare the body only",
			legacy:    &Response{Body: []byte(`{"a":1}`)},
			candidate: &Response{Status: 500, Header: http.Header{"X-A": {"1"}}, Body: []byte(`{"a":2}`)},
			want:      []Difference{{Path: "body.a", Kind: KindChanged, Legacy: "1", Candidate: "2"}}},
		{name: "ignore the whole body", rules: &Rules{Ignore: []string{"body"}},
			legacy:    rsp(200, "a", "Content-Type: text/plain"),
			candidate: rsp(200, "b", "Content-Type: text/plain")},
	}
	runCompareCases(t, tests)
}

func TestCompareStatusAndFailures(t *testing.T) {
	t.Parallel()
	failed := &Response{Err: "connection refused"}
	runCompareCases(t, []compareCase{
		{name: "status", legacy: rsp(200, "ok"), candidate: rsp(502, "ok"),
			want: []Difference{{Path: "status", Kind: KindChanged, Legacy: "200", Candidate: "502"}}},
		{name: "ignored status", rules: &Rules{Ignore: []string{"status"}}, legacy: rsp(200, "ok"), candidate: rsp(502, "ok")},
		{name: "legacy failed", legacy: failed, candidate: rsp(200, "ok"),
			want: []Difference{{Path: "status", Kind: KindExtra, Candidate: "200", Detail: "legacy failed: connection refused"}}},
		{name: "candidate failed", legacy: rsp(200, "ok"), candidate: failed,
			want: []Difference{{Path: "status", Kind: KindMissing, Legacy: "200", Detail: "candidate failed: connection refused"}}},
		{name: "candidate nil", legacy: rsp(200, "ok"), candidate: nil,
			want: []Difference{{Path: "status", Kind: KindMissing, Legacy: "200", Detail: "candidate failed: no response"}}},
		{name: "both failed", legacy: failed, candidate: failed},
	})
}

func TestCompareHeaders(t *testing.T) {
	t.Parallel()
	tests := []compareCase{
		{name: "multi-value headers are sets",
			legacy:    rsp(200, "", "Cache-Control: public, max-age=60", "X-Multi: a", "X-Multi: b", "Vary: Origin, Accept-Encoding"),
			candidate: rsp(200, "", "Cache-Control: max-age=60,public", "X-Multi: b", "X-Multi: a", "X-Multi: a", "Vary: origin")},
		{name: "field lines are not split at commas",
			legacy:    rsp(200, "", "X-Multi: a, b"),
			candidate: rsp(200, "", "X-Multi: a", "X-Multi: b"),
			want:      []Difference{{Path: "header.X-Multi", Kind: KindChanged, Legacy: "a, b", Candidate: "a\nb"}}},
		{name: "names are canonical",
			legacy:    &Response{Status: 200, Header: http.Header{"x-cache": {"HIT"}, "X-CACHE": {"HIT"}}},
			candidate: &Response{Status: 200, Header: http.Header{"X-Cache": {" HIT "}}}},
		{name: "a name not canonical among differences, found once",
			legacy:    &Response{Status: 200, Header: http.Header{"X-A": {"1"}, "x-b": {"2"}, "X-C": {"3"}}},
			candidate: &Response{Status: 200, Header: http.Header{"X-A": {"9"}, "X-B": {"2"}, "X-C": {"3"}}},
			want:      []Difference{{Path: "header.X-A", Kind: KindChanged, Legacy: "1", Candidate: "9"}}},
		{name: "changed, missing, extra, sorted by path",
			legacy:    rsp(200, "", "X-Old: 1", "X-Cache: HIT"),
			candidate: rsp(200, "", "X-New: 2", "X-Cache: MISS"),
			want: []Difference{
				{Path: "header.X-Cache", Kind: KindChanged, Legacy: "HIT", Candidate: "MISS"},
				{Path: "header.X-New", Kind: KindExtra, Candidate: "2"},
				{Path: "header.X-Old", Kind: KindMissing, Legacy: "1"},
			}},
		{name: "defaults leave out what differs between any two proxies",
			legacy: rsp(200, "", "Date: Wed, 01 May 2024 12:00:00 GMT", "Server: openresty", "Age: 3", "Via: 1.1 edge",
				"Connection: keep-alive", "Keep-Alive: timeout=5", "Transfer-Encoding: chunked"),
			candidate: rsp(200, "", "Date: Wed, 01 May 2024 12:00:01 GMT", "Server: candidate", "Connection: close")},
		{name: "content length is framing: the body says the length changed",
			legacy:    rsp(200, "hello", "Content-Type: text/plain", "Content-Length: 5"),
			candidate: rsp(200, "hello!", "Content-Type: text/plain", "Content-Length: 6"),
			want: []Difference{
				{Path: "body", Kind: KindChanged, Legacy: "hello", Candidate: "hello!", Detail: "first difference at line 1; 0% of lines alike"},
			}},
		{name: "an exact include compares content length", rules: &Rules{Headers: HeaderRules{Include: []string{"*", "Content-Length"}}},
			legacy:    rsp(200, "hello", "Content-Type: text/plain", "Content-Length: 5"),
			candidate: rsp(200, "hello", "Content-Type: text/plain", "Content-Length: 6"),
			want: []Difference{
				{Path: "header.Content-Length", Kind: KindChanged, Legacy: "5", Candidate: "6"},
			}},
		{name: "content length absent under chunked framing",
			legacy:    rsp(200, "hello", "Content-Type: text/plain", "Content-Length: 5"),
			candidate: rsp(200, "hello", "Content-Type: text/plain", "Transfer-Encoding: chunked")},
		{name: "include limits the comparison", rules: &Rules{Headers: HeaderRules{Include: []string{"x-*"}}},
			legacy:    rsp(200, "", "Content-Language: en", "X-A: 1"),
			candidate: rsp(200, "", "Content-Language: de", "X-A: 2"),
			want:      []Difference{{Path: "header.X-A", Kind: KindChanged, Legacy: "1", Candidate: "2"}}},
		{name: "an exact include brings back a default", rules: &Rules{Headers: HeaderRules{Include: []string{"*", "server"}}},
			legacy:    rsp(200, "", "Server: openresty", "Date: a", "X-A: 1"),
			candidate: rsp(200, "", "Server: candidate", "Date: b", "X-A: 2"),
			want: []Difference{
				{Path: "header.Server", Kind: KindChanged, Legacy: "openresty", Candidate: "candidate"},
				{Path: "header.X-A", Kind: KindChanged, Legacy: "1", Candidate: "2"},
			}},
		{name: "hop-by-hop stays out even when included", rules: &Rules{Headers: HeaderRules{Include: []string{"Connection"}}},
			legacy: rsp(200, "", "Connection: close"), candidate: rsp(200, "", "Connection: keep-alive")},
		{name: "exclude", rules: &Rules{Headers: HeaderRules{Exclude: []string{"X-Cache*"}}},
			legacy: rsp(200, "", "X-Cache: HIT", "X-Cache-Key: a"), candidate: rsp(200, "", "X-Cache: MISS")},
		{name: "ignore a header path", rules: &Rules{Ignore: []string{"header.x-request-id"}},
			legacy: rsp(200, "", "X-Request-Id: a"), candidate: rsp(200, "", "X-Request-Id: b")},
		{name: "secrets are redacted in samples", rules: &Rules{Headers: HeaderRules{Redact: []string{"X-Token"}}},
			legacy:    rsp(200, "", "Set-Cookie: s=1", "X-Token: abc"),
			candidate: rsp(200, "", "Set-Cookie: s=2", "X-Token: xyz"),
			want: []Difference{
				{Path: "header.Set-Cookie", Kind: KindChanged, Legacy: "[redacted]", Candidate: "[redacted]"},
				{Path: "header.X-Token", Kind: KindChanged, Legacy: "[redacted]", Candidate: "[redacted]"},
			}},
		{name: "http dates within skew", rules: &Rules{TimeSkew: []TimeSkew{{Path: "header.Last-Modified", Skew: 2 * time.Second}}},
			legacy:    rsp(200, "", "Last-Modified: Wed, 01 May 2024 12:00:00 GMT"),
			candidate: rsp(200, "", "Last-Modified: Wed, 01 May 2024 12:00:01 GMT")},
		{name: "numeric header within tolerance", rules: &Rules{Tolerance: []Tolerance{{Path: "header.X-Load", Absolute: 0.5}}},
			legacy: rsp(200, "", "X-Load: 1.2"), candidate: rsp(200, "", "X-Load: 1.6")},
		{name: "etag weakened by compression is the same",
			legacy:    rsp(200, compress(t, "gzip", "x"), "Content-Type: text/plain", "Content-Encoding: gzip", `ETag: W/"1"`),
			candidate: rsp(200, "x", "Content-Type: text/plain", `ETag: "1"`)},
		{name: "etag weakness counts without compression",
			legacy:    rsp(200, "x", "Content-Type: text/plain", `ETag: W/"1"`),
			candidate: rsp(200, "x", "Content-Type: text/plain", `ETag: "1"`),
			want:      []Difference{{Path: "header.Etag", Kind: KindChanged, Legacy: `W/"1"`, Candidate: `"1"`}}},
	}
	runCompareCases(t, tests)
}

// TestCompareConcurrent shares one Comparer between goroutines (run with
// -race) and checks the result never changes.
func TestCompareConcurrent(t *testing.T) {
	t.Parallel()
	rules := &Rules{Ignore: []string{"body.meta.*"}, Unordered: []string{"body.data.items[].tags"},
		Tolerance: []Tolerance{{Path: "body.data.items[].seller.rating", Absolute: 0.5}}}
	c := NewComparer(rules)
	legacy, candidate := jsonResponse(catalogue("13.99")), jsonResponse(catalogue("13.49"))
	want := c.Compare(legacy, candidate)
	if len(want) != 1 {
		t.Fatalf("want one difference, got %v", want)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				if got := c.Compare(legacy, candidate); !cmp.Equal(want, got) {
					t.Errorf("Compare changed (-want +got):\n%s", cmp.Diff(want, got))
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestNewComparerCopiesRules(t *testing.T) {
	t.Parallel()
	rules := &Rules{Ignore: []string{"body.a"}}
	c := NewComparer(rules)
	rules.Ignore[0] = "body.b"
	l, k := jsonPair(`{"a":1,"b":1}`, `{"a":2,"b":1}`)
	if got := c.Compare(l, k); len(got) != 0 {
		t.Errorf("changing Rules after NewComparer changed the Comparer: %v", got)
	}
}
