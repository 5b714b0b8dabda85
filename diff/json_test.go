package diff

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// stdDecode is what parseJSON must agree with.
func stdDecode(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errStdTrailing
	}
	if _, err := dec.Token(); err == nil {
		return nil, errStdTrailing
	}
	return v, nil
}

var errStdTrailing = jsonTestError("trailing data")

// toStd turns parseJSON's objects into maps, as encoding/json makes them.
func toStd(v any) any {
	switch v := v.(type) {
	case jsonObject:
		m := make(map[string]any, len(v))
		for _, kv := range v {
			m[kv.key] = toStd(kv.val)
		}
		return m
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = toStd(e)
		}
		return out
	}
	return v
}

type jsonTestError string

func (e jsonTestError) Error() string { return string(e) }

func TestParseJSON(t *testing.T) {
	t.Parallel()
	valid := []string{
		`{}`, `[]`, `0`, `-0`, `-1.5e+10`, `1E-2`, `"x"`, `true`, `false`, `null`,
		` {"a" : [1, {"b": null}, "c\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"], "a": 2} `,
		`{"":1}`, `"\ud800"`, `"\ud800\u0041"`, `[[[[]]]]`, `12345678901234567890123`,
	}
	for _, in := range valid {
		got, err := parseJSON([]byte(in))
		if err != nil {
			t.Errorf("parseJSON(%s): %v", in, err)
			continue
		}
		want, _ := stdDecode([]byte(in))
		if diff := cmp.Diff(want, toStd(got)); diff != "" {
			t.Errorf("parseJSON(%s) (-encoding/json +got):\n%s", in, diff)
		}
	}
	invalid := map[string]string{
		``:              "offset 0: unexpected end of JSON",
		`{`:             "offset 1: want an object key",
		`{"a"}`:         "offset 4: want ':' after object key",
		`{"a":1,}`:      "offset 7: want an object key",
		`[1,]`:          "offset 3: invalid character ']'",
		`[1 2]`:         "offset 3: want ',' or ']'",
		`01`:            "offset 1: more data after the JSON value",
		`1.`:            "offset 2: invalid number",
		`-`:             "offset 1: invalid number",
		`1e`:            "offset 2: invalid number",
		`tru`:           "offset 0: invalid literal, want true",
		`"a`:            "offset 2: unterminated string",
		"\"a\tb\"":      "offset 2: control character in string",
		`"\x"`:          "invalid escape in string",
		`"\u12"`:        "invalid escape in string",
		`{"a":1} x`:     "offset 8: more data after the JSON value",
		`[1]]`:          "offset 3: more data after the JSON value",
		`{"a":1 "b":2}`: "offset 7: want ',' or '}'",
	}
	for in, want := range invalid {
		_, err := parseJSON([]byte(in))
		if got := errText(err); got != want {
			t.Errorf("parseJSON(%q) error = %q, want %q", in, got, want)
		}
		if json.Valid([]byte(in)) {
			t.Errorf("encoding/json accepts %q", in)
		}
	}
	deep := strings.Repeat("[", maxJSONDepth+1) + strings.Repeat("]", maxJSONDepth+1)
	if _, err := parseJSON([]byte(deep)); err == nil {
		t.Errorf("parseJSON accepted %d levels of nesting", maxJSONDepth+1)
	}
}

func FuzzCompareJSON(f *testing.F) {
	f.Add([]byte(`{"a":1,"b":[1,2,3]}`), []byte(`{"b":[3,2,1],"a":"1"}`))
	f.Add([]byte(`[{"id":1,"p":9.99},{"id":2}]`), []byte(`[{"id":1,"p":9.990},{"id":2,"x":null}]`))
	f.Add([]byte(`{"s":"\ud83d\ude00","n":-0}`), []byte(`{"s":"😀","n":0}`))
	f.Add([]byte(`[[1,[2]],{}]`), []byte(`[[1,[2,3]],[]]`))
	f.Add([]byte(`1e400`), []byte(`"x`))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		// The parser accepts exactly what encoding/json accepts, and
		// decodes valid UTF-8 to the same tree.
		got, err := parseJSON(a)
		if (err == nil) != json.Valid(a) {
			t.Fatalf("parseJSON error %v, but json.Valid = %v", err, json.Valid(a))
		}
		if err == nil && utf8.Valid(a) {
			want, _ := stdDecode(a)
			if diff := cmp.Diff(want, toStd(got)); diff != "" {
				t.Fatalf("parseJSON (-encoding/json +got):\n%s", diff)
			}
		}

		l, k := jsonPair(string(a), string(b))
		for _, c := range []*Comparer{NewComparer(nil), NewComparer(fuzzRules())} {
			if d := c.Compare(l, l); d != nil {
				t.Fatalf("a body differs from itself: %v", d)
			}
			ab, ba := c.Compare(l, k), c.Compare(k, l)
			// Swapping the sides swaps missing and extra but finds the
			// same places.
			if diff := cmp.Diff(paths(ab), paths(ba)); diff != "" {
				t.Fatalf("Compare is not symmetric in its paths (-a,b +b,a):\n%s", diff)
			}
			if !slices.IsSortedFunc(ab, func(x, y Difference) int { return strings.Compare(x.Path, y.Path) }) {
				t.Fatalf("differences not sorted by path: %v", ab)
			}
		}
	})
}

// fuzzRules exercise every JSON rule everywhere in a document.
func fuzzRules() *Rules {
	return &Rules{
		Ignore:    []string{"body**.x"},
		Unordered: []string{"body**"},
		Tolerance: []Tolerance{{Path: "body", Relative: 0.1}},
		TimeSkew:  []TimeSkew{{Path: "body", Skew: time.Second}},
	}
}

func paths(ds []Difference) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Path)
	}
	return out
}
