package diff

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"strings"
	"unicode/utf8"
)

// maxSample bounds the renderings of values kept in a Difference.
const maxSample = 120

// compareText compares text and HTML bodies line by line. It reports one
// difference at "body" naming the first line that differs and how similar
// the bodies are (see similarity). CRLF and LF line ends are the same.
func compareText(legacy, candidate []byte, d *differences) {
	lx, ly := lines(legacy), lines(candidate)
	i := 0
	for i < len(lx) && i < len(ly) && lx[i] == ly[i] {
		i++
	}
	if i == len(lx) && i == len(ly) {
		return
	}
	l, c := samplePair(lineAt(lx, i), lineAt(ly, i))
	d.add(Difference{
		Path:      "body",
		Kind:      KindChanged,
		Legacy:    l,
		Candidate: c,
		Detail:    fmt.Sprintf("first difference at line %d; %.0f%% of lines alike", i+1, 100*similarity(lx, ly)),
	})
}

func lines(b []byte) []string {
	ls := strings.Split(string(b), "\n")
	for i, l := range ls {
		ls[i] = strings.TrimSuffix(l, "\r")
	}
	return ls
}

func lineAt(ls []string, i int) string {
	if i < len(ls) {
		return ls[i]
	}
	return "(end of body)"
}

// maxLCSCells bounds the quadratic part of similarity (about 4 MB of work).
const maxLCSCells = 1 << 20

// similarity is 2*M/T as in Python's difflib: M lines matched in order, T
// lines in both. Common leading and trailing lines are matched directly;
// the rest by longest common subsequence, or, when that would take too
// long, by the lines the two have in common regardless of order (an upper
// bound, like difflib's quick_ratio).
func similarity(x, y []string) float64 {
	total := len(x) + len(y)
	if total == 0 {
		return 1
	}
	matched := 0
	for len(x) > 0 && len(y) > 0 && x[0] == y[0] {
		x, y, matched = x[1:], y[1:], matched+1
	}
	for len(x) > 0 && len(y) > 0 && x[len(x)-1] == y[len(y)-1] {
		x, y, matched = x[:len(x)-1], y[:len(y)-1], matched+1
	}
	if len(x)*len(y) <= maxLCSCells {
		matched += lcs(x, y)
	} else {
		matched += common(x, y)
	}
	return 2 * float64(matched) / float64(total)
}

// lcs is the length of the longest common subsequence, in two rows.
func lcs(x, y []string) int {
	prev, cur := make([]int, len(y)+1), make([]int, len(y)+1)
	for i := range x {
		for j := range y {
			switch {
			case x[i] == y[j]:
				cur[j+1] = prev[j] + 1
			case prev[j+1] >= cur[j]:
				cur[j+1] = prev[j+1]
			default:
				cur[j+1] = cur[j]
			}
		}
		prev, cur = cur, prev
	}
	return prev[len(y)]
}

// common counts the lines of x that y also has, as multisets.
func common(x, y []string) int {
	have := make(map[string]int, len(y))
	for _, l := range y {
		have[l]++
	}
	n := 0
	for _, l := range x {
		if have[l] > 0 {
			have[l]--
			n++
		}
	}
	return n
}

// compareBinary compares bodies that are neither JSON nor text by length
// and SHA-256, and says where the first differing byte is.
func compareBinary(legacy, candidate []byte, d *differences) {
	if bytes.Equal(legacy, candidate) {
		return
	}
	kind := KindChanged
	if len(legacy) != len(candidate) {
		kind = KindSize
	}
	d.add(Difference{
		Path:      "body",
		Kind:      kind,
		Legacy:    hashSample(legacy),
		Candidate: hashSample(candidate),
		Detail:    fmt.Sprintf("first difference at byte %d", firstDifference(legacy, candidate)),
	})
}

func hashSample(b []byte) string {
	sum := sha256.Sum256(b)
	return fmt.Sprintf("%d bytes, sha256 %x", len(b), sum[:8])
}

func firstDifference(a, b []byte) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// compareTruncated compares bodies of which at least one was cut at a
// capture cap: only the bytes both have can be compared, and they are
// compared as received, since a cut compressed body cannot be decoded.
func compareTruncated(legacy, candidate []byte, d *differences) {
	n := min(len(legacy), len(candidate))
	if i := firstDifference(legacy[:n], candidate[:n]); i < n {
		d.add(Difference{
			Path:      "body",
			Kind:      KindChanged,
			Legacy:    sizeSample(legacy),
			Candidate: sizeSample(candidate),
			Detail:    fmt.Sprintf("truncated bodies differ at byte %d", i),
		})
	}
}

// isText reports whether b is valid UTF-8 without NUL bytes.
func isText(b []byte) bool {
	return utf8.Valid(b) && bytes.IndexByte(b, 0) < 0
}

// sample shortens a rendering for a Difference to one line of at most
// maxSample bytes, cut on a rune boundary; "…" marks a cut.
func sample(s string) string {
	s = strings.TrimRight(s, "\r\n")
	cut, more := len(s), false
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		cut, more = i, true
	}
	if cut > maxSample {
		cut, more = maxSample, true
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
	}
	if !more {
		return s
	}
	return s[:cut] + "…"
}
