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
