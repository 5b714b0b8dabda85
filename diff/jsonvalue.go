package diff

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// numbersEqual compares two JSON numbers by value: 1, 1.0 and 1e0 are
// equal. Two integers are compared by their digits, exactly; anything else
// as float64, within the tolerance rule covering path if there is one.
func (c *Comparer) numbersEqual(path string, a, b json.Number) bool {
	if a == b {
		return true
	}
	t, tolerant := c.toleranceFor(path)
	if !tolerant && isInteger(a) && isInteger(b) {
		return strings.TrimPrefix(string(a), "-") == "0" && strings.TrimPrefix(string(b), "-") == "0"
	}
	x, errx := strconv.ParseFloat(string(a), 64)
	y, erry := strconv.ParseFloat(string(b), 64)
	if errx != nil || erry != nil {
		return false
	}
	return x == y || tolerant && within(t, x, y)
}

func isInteger(n json.Number) bool { return !strings.ContainsAny(string(n), ".eE") }

// sameElements tells whether two arrays of one length hold the same
// elements, leaving out ignored fields, and whether they do so in another
// order; it also returns the positions whose elements are not identical.
// Identical positions cancel out, so only the others are keyed; a single
// differing position can never be a reordering, which keeps the common case
// (one changed element) cheap.
func (c *Comparer) sameElements(x, y []any, path string, unordered bool) (same, reordered bool, differ []int) {
	for i := range x {
		if !jsonEqual(x[i], y[i]) {
			differ = append(differ, i)
		}
	}
	if len(differ) == 0 {
		return true, false, nil
	}
	if len(differ) == 1 && !unordered {
		return false, false, differ
	}
	elem := path + "[]"
	kx, ky := make([]string, len(differ)), make([]string, len(differ))
	pairwise := true
	for j, i := range differ {
		kx[j], ky[j] = c.elementKey(x[i], elem), c.elementKey(y[i], elem)
		pairwise = pairwise && kx[j] == ky[j]
	}
	if pairwise {
		return true, false, differ
	}
	slices.Sort(kx)
	slices.Sort(ky)
	same = slices.Equal(kx, ky)
	return same, same, differ
}

// sortElements returns a copy of a in the order of the elements' keys.
func (c *Comparer) sortElements(a []any, path string) []any {
	elem := path + "[]"
	type keyed struct {
		key string
		v   any
	}
	ks := make([]keyed, len(a))
	for i, v := range a {
		ks[i] = keyed{c.elementKey(v, elem), v}
	}
	slices.SortStableFunc(ks, func(p, q keyed) int { return strings.Compare(p.key, q.key) })
	out := make([]any, len(a))
	for i, k := range ks {
		out[i] = k.v
	}
	return out
}

// elementKey is a canonical encoding of v found at path: object keys
// sorted, ignored fields left out, numbers by value, unordered arrays
// sorted. Equal keys mean equal values under the rules, tolerances and
// time skews aside.
func (c *Comparer) elementKey(v any, path string) string {
	return string(c.appendKey(nil, v, path))
}

func (c *Comparer) appendKey(b []byte, v any, path string) []byte {
	switch v := v.(type) {
	case map[string]any:
		b = append(b, '{')
		for _, k := range slices.Sorted(maps.Keys(v)) {
			var sub string
			if len(c.ignore) > 0 || len(c.unordered) > 0 {
				sub = path + "." + k
				if c.ignore.matchUnder(sub) {
					continue
				}
			}
			b = strconv.AppendQuote(b, k)
			b = append(b, ':')
			b = c.appendKey(b, v[k], sub)
			b = append(b, ',')
		}
		return append(b, '}')
	case []any:
		elem := path + "[]"
		keys := make([]string, len(v))
		for i, e := range v {
			keys[i] = string(c.appendKey(nil, e, elem))
		}
		if len(c.unordered) > 0 && c.unordered.match(path) {
			slices.Sort(keys)
		}
		b = append(b, '[')
		for _, k := range keys {
			b = append(append(b, k...), ',')
		}
		return append(b, ']')
	case string:
		return strconv.AppendQuote(b, v)
	case json.Number:
		if v == "-0" {
			v = "0"
		}
		if isInteger(v) {
			return append(b, v...)
		}
		if f, err := strconv.ParseFloat(string(v), 64); err == nil {
			return strconv.AppendFloat(b, f, 'g', -1, 64)
		}
		return append(b, v...)
	case bool:
		return strconv.AppendBool(b, v)
	}
	return append(b, "null"...)
}
