package diff

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
)

// jsonObject is a decoded JSON object: its members sorted by key, each key
// once. Sorted members make comparing two objects a merge, without the
// hashing and allocation a map costs per object.
type jsonObject []member

type member struct {
	key string
	val any
}

// newJSONObject returns the members of ms sorted by key; of a repeated key
// the last value is kept, as in encoding/json. order is scratch space. The
// sort moves indices, not members, because moving pointers costs write
// barriers while the collector runs.
func newJSONObject(ms []member, order []int) (jsonObject, []int) {
	order = order[:0]
	for i := range ms {
		order = append(order, i)
	}
	// Insertion sort: objects are small, and often nearly in order. Being
	// stable, it leaves repeated keys in input order.
	for i := 1; i < len(order); i++ {
		for j := i; j > 0 && ms[order[j-1]].key > ms[order[j]].key; j-- {
			order[j-1], order[j] = order[j], order[j-1]
		}
	}
	o := make(jsonObject, 0, len(ms))
	for n, i := range order {
		if n+1 < len(order) && ms[order[n+1]].key == ms[i].key {
			continue
		}
		o = append(o, ms[i])
	}
	return o, order
}

// asMap gives go-cmp something to walk member by member.
func (o jsonObject) asMap() map[string]any {
	m := make(map[string]any, len(o))
	for _, kv := range o {
		m[kv.key] = kv.val
	}
	return m
}

// MarshalJSON writes the object back as JSON, for samples.
func (o jsonObject) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		if err := enc.Encode(m.key); err != nil {
			return nil, err
		}
		b.Truncate(b.Len() - 1) // Encode ends with a newline
		b.WriteByte(':')
		if err := enc.Encode(m.val); err != nil {
			return nil, err
		}
		b.Truncate(b.Len() - 1)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

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
	case jsonObject:
		b = append(b, '{')
		for _, m := range v {
			var sub string
			if len(c.ignore) > 0 || len(c.unordered) > 0 {
				var sb strings.Builder
				sb.WriteString(path)
				appendPathKey(&sb, m.key)
				sub = sb.String()
				if c.ignore.matchUnder(sub) {
					continue
				}
			}
			b = strconv.AppendQuote(b, m.key)
			b = append(b, ':')
			b = c.appendKey(b, m.val, sub)
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
