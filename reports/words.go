package reports

import (
	"fmt"
	"strings"

	"github.com/cutover/cutover/diff"
)

// Plain words for what the summary says in codes.

// kindWords says how a field differs.
func kindWords(k diff.Kind) string {
	switch k {
	case diff.KindChanged:
		return "changed"
	case diff.KindMissing:
		return "only in legacy"
	case diff.KindExtra:
		return "only in candidate"
	case diff.KindType:
		return "type changed"
	case diff.KindOrder:
		return "order changed"
	case diff.KindSize:
		return "length changed"
	}
	return string(k)
}

// whyWords says why a field is not reported.
func whyWords(why string) string {
	switch why {
	case "noise":
		return "legacy differs from itself here about as often"
	case "legacy varies":
		return "differs on nearly every exchange, and legacy varies here too"
	case "rare":
		return "too rare to stand out of the noise"
	}
	return why
}

// noiseWords says what was learned of legacy's own variation at a field.
func noiseWords(f diff.FieldSummary) string {
	from := ""
	if f.NoiseFrom != "" {
		from = " (" + f.NoiseFrom + ")"
	}
	switch {
	case f.NoiseOf == 0:
		return "legacy not checked against itself"
	case f.Noise == 0:
		return fmt.Sprintf("legacy never varies here (%d checks%s)", f.NoiseOf, from)
	}
	return fmt.Sprintf("legacy varies here in %d of %d checks%s", f.Noise, f.NoiseOf, from)
}

// fieldWords names a field for a group's row: "status", "header
// Cache-Control", "body.price", with how it differs.
func fieldWords(f diff.FieldRef) string {
	path := f.Path
	if name, ok := strings.CutPrefix(path, "header."); ok {
		path = "header " + name
	}
	return path + " " + kindWords(f.Kind)
}
