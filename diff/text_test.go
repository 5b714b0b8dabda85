package diff

import (
	"cmp"
	"strconv"
	"strings"
	"testing"
)

func TestSimilarity(t *testing.T) {
	t.Parallel()
	many := func(first, last string) []string {
		out := make([]string, 1500)
		for i := range out {
			out[i] = "line " + strconv.Itoa(i)
		}
		out[0], out[len(out)-1] = cmp.Or(first, out[0]), cmp.Or(last, out[len(out)-1])
		return out
	}
	tests := []struct {
		name string
		x, y []string
		want float64
	}{
		{"both empty", nil, nil, 1},
		{"same", []string{"a", "b"}, []string{"a", "b"}, 1},
		{"nothing shared", []string{"a"}, []string{"b"}, 0},
		{"one changed of four", []string{"a", "b", "c", "d"}, []string{"a", "x", "c", "d"}, 0.75},
		{"inserted line", []string{"a", "b", "c"}, []string{"a", "b", "new", "c"}, 6.0 / 7},
		{"moved line counts once", []string{"a", "b", "c"}, []string{"c", "a", "b"}, 4.0 / 6},
		// Beyond maxLCSCells the middle is matched as multisets.
		{"large bodies", many("", ""), many("first", "last"), 2.0 * 1498 / 3000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := similarity(tt.x, tt.y); got < tt.want-1e-9 || got > tt.want+1e-9 {
				t.Errorf("similarity = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSample(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 100) // 200 bytes
	got := sample(long)
	if !strings.HasSuffix(got, "…") || len(got) > maxSample+len("…") {
		t.Errorf("sample(200 bytes) = %q (%d bytes)", got, len(got))
	}
	if strings.ContainsRune(got, '\uFFFD') {
		t.Errorf("sample cut a rune: %q", got)
	}
	for in, want := range map[string]string{"short": "short", "one\ntwo": "one…", "{}\r\n": "{}", "a\r\nb\n": "a…"} {
		if got := sample(in); got != want {
			t.Errorf("sample(%q) = %q, want %q", in, got, want)
		}
	}
}
