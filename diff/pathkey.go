package diff

import (
	"encoding/json"
	"strings"
)

// A JSON member's key becomes one segment of a field path: ".key" when it
// is a plain name, else `["key"]` with the key as a JSON string. So a key
// that holds a dot, a bracket, a quote or markup stays one key
// (body["a.b"] is not body.a.b) in every format that prints paths.

// appendPathKey appends the segment of key to b.
func appendPathKey(b *strings.Builder, key string) {
	if plainKey(key) {
		b.WriteByte('.')
		b.WriteString(key)
		return
	}
	b.WriteByte('[')
	b.WriteString(quoteKey(key))
	b.WriteByte(']')
}

// plainKey says whether key can stand after a dot: letters, digits and
// "_-$@", at least one.
func plainKey(key string) bool {
	if key == "" {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '-', c == '$', c == '@':
		default:
			return false
		}
	}
	return true
}

// quoteKey is key as a JSON string, with <, > and & as they are: a person
// reads the path, and every renderer escapes it for its own format.
func quoteKey(key string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(key) // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}

// PathSegment is one step of a field path below its root: a member Key,
// or an array's elements (Elements).
type PathSegment struct {
	Key      string
	Elements bool
}

// SplitPath splits a body path below "body" (".a.b[].c", `["a.b"].c`)
// into its segments, undoing the quoting of keys. ok is false when rest is
// not a path that diff writes; the caller then shows it as one key.
func SplitPath(rest string) (segs []PathSegment, ok bool) {
	for rest != "" {
		switch {
		case strings.HasPrefix(rest, "[]"):
			segs = append(segs, PathSegment{Elements: true})
			rest = rest[2:]
		case strings.HasPrefix(rest, `["`):
			dec := json.NewDecoder(strings.NewReader(rest[1:]))
			var key string
			if dec.Decode(&key) != nil {
				return nil, false
			}
			n := 1 + int(dec.InputOffset())
			if n >= len(rest) || rest[n] != ']' {
				return nil, false
			}
			segs = append(segs, PathSegment{Key: key})
			rest = rest[n+1:]
		case rest[0] == '.':
			rest = rest[1:]
			end := strings.IndexAny(rest, ".[")
			if end < 0 {
				end = len(rest)
			}
			if end == 0 {
				return nil, false
			}
			segs = append(segs, PathSegment{Key: rest[:end]})
			rest = rest[end:]
		default:
			return nil, false
		}
	}
	return segs, true
}
