package diff

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func TestPathKeys(t *testing.T) {
	t.Parallel()
	c := NewComparer(nil)
	legacy := &Response{Status: 200, Header: map[string][]string{"Content-Type": {"application/json"}},
		Body: []byte(`{"a.b":1,"<x>":{"y":1},"plain":{"k":1}}`)}
	candidate := &Response{Status: 200, Header: map[string][]string{"Content-Type": {"application/json"}},
		Body: []byte(`{"a.b":2,"<x>":{"y":2},"plain":{"k":2}}`)}
	var got []string
	for _, d := range c.Compare(legacy, candidate) {
		got = append(got, d.Path)
	}
	want := []string{"body.plain.k", `body["<x>"].y`, `body["a.b"]`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("paths (-want +got):\n%s", diff)
	}
}

func TestSplitPath(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		rest string
		want []PathSegment
		ok   bool
	}{
		{".a.b[].c", []PathSegment{{Key: "a"}, {Key: "b"}, {Elements: true}, {Key: "c"}}, true},
		{`["a.b"]`, []PathSegment{{Key: "a.b"}}, true},
		{`["say \"hi\"]"][].x`, []PathSegment{{Key: `say "hi"]`}, {Elements: true}, {Key: "x"}}, true},
		{`["open`, nil, false},
		{"..", nil, false},
		{"x", nil, false},
	} {
		t.Run(tt.rest, func(t *testing.T) {
			got, ok := SplitPath(tt.rest)
			if ok != tt.ok {
				t.Fatalf("ok %v, want %v", ok, tt.ok)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("segments (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzSplitPath: any key survives appendPathKey then SplitPath as one key.
func FuzzSplitPath(f *testing.F) {
	for _, k := range []string{"a", "a.b", `"`, "[]", "<script>", "", "é.ü"} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, key string) {
		if !utf8.ValidString(key) {
			return // JSON keys are UTF-8
		}
		var b strings.Builder
		appendPathKey(&b, key)
		segs, ok := SplitPath(b.String())
		if !ok || len(segs) != 1 || segs[0].Key != key {
			t.Fatalf("key %q → %q → %+v, %v", key, b.String(), segs, ok)
		}
	})
}

func TestSamplePairCentred(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 500)
	l, c := samplePair(`"`+long+`AAA tail"`, `"`+long+`BBB tail"`)
	if !strings.Contains(l, "AAA") || !strings.Contains(c, "BBB") {
		t.Errorf("excerpts do not hold the difference: %q / %q", l, c)
	}
	if !strings.HasPrefix(l, "…") || len(l) > maxSample+2*len("…") {
		t.Errorf("excerpt %q: want cut at the front and at most %d bytes", l, maxSample)
	}
	if l, c := samplePair("short", "shorter"); l != "short" || c != "shorter" {
		t.Errorf("short values changed: %q %q", l, c)
	}
}
