package reports

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMarkdownEscaping(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, text, code string
	}{
		{"plain", "GET /a/{id}", "GET /a/{id}", "`GET /a/{id}`"},
		{"html", "<script>alert(1)</script>", `\<script\>alert(1)\</script\>`, "`<script>alert(1)</script>`"},
		{"emphasis and links", "*a* _b_ [c](d) ![e]", `\*a\* \_b\_ \[c\](d) \!\[e\]`, "`*a* _b_ [c](d) ![e]`"},
		{"table cell", "a|b", `a\|b`, "`a\\|b`"},
		{"backticks", "a`b", "a\\`b", "`` a`b ``"},
		{"newline", "a\nb", "a b", "`a b`"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.text, mdText(tt.in)); diff != "" {
				t.Errorf("mdText (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.code, mdCode(tt.in)); diff != "" {
				t.Errorf("mdCode (-want +got):\n%s", diff)
			}
		})
	}
}
