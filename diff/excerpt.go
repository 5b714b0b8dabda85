package diff

import (
	"strings"
	"unicode/utf8"
)

// samplePair shortens two renderings of differing values for a
// Difference, around the first character where they differ: a long string
// that differs at its 500th character shows that character on both sides,
// with "…" where either end was cut. Values that fit are kept whole.
func samplePair(legacy, candidate string) (string, string) {
	if len(legacy) <= maxSample && len(candidate) <= maxSample && !strings.ContainsAny(legacy+candidate, "\r\n") {
		return legacy, candidate
	}
	at := firstDifferentRune(legacy, candidate)
	// A third of the window before the difference: the context that leads
	// to it, the rest for what differs.
	start := max(0, at-maxSample/3)
	return window(legacy, start), window(candidate, start)
}

// firstDifferentRune is the byte offset of the first rune where a and b
// differ (the shorter one's length when one is the other's prefix).
func firstDifferentRune(a, b string) int {
	i := 0
	for i < len(a) && i < len(b) {
		ra, na := utf8.DecodeRuneInString(a[i:])
		rb, nb := utf8.DecodeRuneInString(b[i:])
		if ra != rb || na != nb {
			break
		}
		i += na
	}
	return i
}

// window cuts s to maxSample bytes from start, on rune boundaries, with
// line breaks shown as ⏎ so that the excerpt stays one line.
func window(s string, start int) string {
	if start > len(s) {
		start = max(0, len(s)-maxSample)
	}
	for start > 0 && start < len(s) && !utf8.RuneStart(s[start]) {
		start--
	}
	end := min(len(s), start+maxSample)
	for end < len(s) && end > start && !utf8.RuneStart(s[end]) {
		end--
	}
	out := strings.NewReplacer("\r\n", "⏎", "\n", "⏎", "\r", "⏎").Replace(s[start:end])
	if start > 0 {
		out = "…" + out
	}
	if end < len(s) {
		out += "…"
	}
	return out
}
