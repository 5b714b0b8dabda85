package replay

import (
	"strings"
	"testing"
)

// TestTokenChars checks the token masks against RFC 9110's definition for
// every byte.
func TestTokenChars(t *testing.T) {
	t.Parallel()
	for c := 0; c < 256; c++ {
		want := c > ' ' && c < 0x7f && !strings.ContainsRune(`"(),/:;<=>?@[\]{}`, rune(c))
		if got := isTokenChar(byte(c)); got != want {
			t.Errorf("isTokenChar(%q) = %v, want %v", rune(c), got, want)
		}
	}
}

func TestHeaderName(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		line string
		want int
	}{
		{"Host: a", 4},
		{"X-Edge-Time:1", 11},
		{"Host : a", -1}, // whitespace before the colon: smuggling vector
		{" Host: a", -1}, // obsolete line folding
		{": a", -1},      // no name
		{"Host", -1},     // no colon
		{"Hö: a", -1},    // not a token
		{"Host:: a", 4},  // the value may hold a colon
		{"Ho\x7fst: a", -1},
	} {
		if got := headerName([]byte(tt.line)); got != tt.want {
			t.Errorf("headerName(%q) = %d, want %d", tt.line, got, tt.want)
		}
	}
}
