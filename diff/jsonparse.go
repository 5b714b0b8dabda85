package diff

import (
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// maxJSONDepth bounds nesting, as encoding/json does, so that hostile input
// cannot exhaust the stack.
const maxJSONDepth = 10000

// jsonParser decodes one JSON document (RFC 8259) into jsonObject, []any,
// string, json.Number, bool and nil: the tree encoding/json's
// Decoder.UseNumber makes, with objects as sorted member lists instead of
// maps, several times faster, because every answer of a run is decoded
// twice and the comparison must keep up with the traffic.
// Numbers stay text so that large integers keep every digit. Strings are
// kept byte for byte (invalid UTF-8 is not replaced), so that two different
// invalid sequences do not compare equal.
//
// The document is copied into one string once; keys, strings and numbers
// without escapes are slices of it, so they cost no allocation of their own.
type jsonParser struct {
	data  string
	pos   int
	depth int
	// stack holds the members of the objects and arrays being read, so
	// that each is allocated once at its final size.
	members []member
	items   []any
	order   []int // scratch for newJSONObject
}

// parseJSON decodes one document.
func parseJSON(b []byte) (any, error) {
	p := &jsonParser{data: string(b)}
	p.space()
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	if p.space(); p.pos < len(p.data) {
		return nil, p.errorf("more data after the JSON value")
	}
	return v, nil
}

func (p *jsonParser) errorf(format string, args ...any) error {
	return fmt.Errorf("offset %d: %s", p.pos, fmt.Sprintf(format, args...))
}

func (p *jsonParser) space() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\r', '\n':
			p.pos++
		default:
			return
		}
	}
}

func (p *jsonParser) value() (any, error) {
	if p.pos >= len(p.data) {
		return nil, p.errorf("unexpected end of JSON")
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"':
		return p.str()
	case c == '-' || '0' <= c && c <= '9':
		return p.number()
	case c == 't':
		return true, p.literal("true")
	case c == 'f':
		return false, p.literal("false")
	case c == 'n':
		return nil, p.literal("null")
	default:
		return nil, p.errorf("invalid character %q", c)
	}
}

func (p *jsonParser) literal(word string) error {
	if len(p.data)-p.pos < len(word) || p.data[p.pos:p.pos+len(word)] != word {
		return p.errorf("invalid literal, want %s", word)
	}
	p.pos += len(word)
	return nil
}

func (p *jsonParser) enter() error {
	if p.depth++; p.depth > maxJSONDepth {
		return p.errorf("nested too deeply")
	}
	p.pos++ // the opening bracket
	p.space()
	return nil
}

func (p *jsonParser) object() (any, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	base := len(p.members)
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		p.depth--
		return jsonObject{}, nil
	}
	for {
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			return nil, p.errorf("want an object key")
		}
		k, err := p.key()
		if err != nil {
			return nil, err
		}
		if p.space(); p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return nil, p.errorf("want ':' after object key")
		}
		p.pos++
		p.space()
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		p.members = append(p.members, member{k, v})
		if done, err := p.next('}'); err != nil || done {
			if err != nil {
				return nil, err
			}
			break
		}
	}
	var o jsonObject
	o, p.order = newJSONObject(p.members[base:], p.order)
	clear(p.members[base:])
	p.members = p.members[:base]
	return o, nil
}

func (p *jsonParser) array() (any, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	base := len(p.items)
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		p.depth--
		return []any{}, nil
	}
	for {
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		p.items = append(p.items, v)
		if done, err := p.next(']'); err != nil || done {
			if err != nil {
				return nil, err
			}
			break
		}
	}
	a := make([]any, len(p.items)-base)
	copy(a, p.items[base:])
	clear(p.items[base:])
	p.items = p.items[:base]
	return a, nil
}

// next reads the ',' between members or the closing bracket.
func (p *jsonParser) next(closing byte) (done bool, err error) {
	p.space()
	if p.pos >= len(p.data) {
		return false, p.errorf("unexpected end of JSON")
	}
	switch p.data[p.pos] {
	case ',':
		p.pos++
		p.space()
		return false, nil
	case closing:
		p.pos++
		p.depth--
		return true, nil
	}
	return false, p.errorf("want ',' or %q", closing)
}

func (p *jsonParser) key() (string, error) {
	raw, escaped, err := p.scanString()
	if err != nil || !escaped {
		return raw, err
	}
	return unescape(raw)
}

func (p *jsonParser) str() (any, error) {
	raw, escaped, err := p.scanString()
	if err != nil {
		return nil, err
	}
	if escaped {
		return unescape(raw)
	}
	return raw, nil
}

// scanString moves past a string and returns what is between the quotes.
func (p *jsonParser) scanString() (raw string, escaped bool, err error) {
	start := p.pos + 1
	for i := start; i < len(p.data); i++ {
		switch c := p.data[i]; {
		case c == '"':
			p.pos = i + 1
			return p.data[start:i], escaped, nil
		case c == '\\':
			escaped = true
			i++ // the escaped byte; unescape checks it
		case c < 0x20:
			p.pos = i
			return "", false, p.errorf("control character in string")
		}
	}
	p.pos = len(p.data)
	return "", false, p.errorf("unterminated string")
}

var errBadEscape = errors.New("invalid escape in string")

// unescape decodes the escapes of a string body; lone surrogates become
// U+FFFD as in encoding/json.
func unescape(raw string) (string, error) {
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		if i++; i >= len(raw) {
			return "", errBadEscape
		}
		switch raw[i] {
		case '"', '\\', '/':
			out = append(out, raw[i])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(raw[i+1:])
			if !ok {
				return "", errBadEscape
			}
			i += 4
			if utf16.IsSurrogate(r) {
				// A high surrogate escaped right before a low one is one
				// rune; anything else is U+FFFD, as in encoding/json.
				if i+2 < len(raw) && raw[i+1] == '\\' && raw[i+2] == 'u' {
					if r2, ok := hex4(raw[i+3:]); ok {
						if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
							out = utf8.AppendRune(out, d)
							i += 6
							continue
						}
					}
				}
				r = utf8.RuneError
			}
			out = utf8.AppendRune(out, r)
		default:
			return "", errBadEscape
		}
	}
	return string(out), nil
}

func hex4(b string) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for i := range 4 {
		c := b[i]
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// number checks the JSON number grammar: -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?
func (p *jsonParser) number() (any, error) {
	start := p.pos
	d := p.data
	i := p.pos
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && '1' <= d[i] && d[i] <= '9':
		i = digits(d, i)
	default:
		p.pos = i
		return nil, p.errorf("invalid number")
	}
	if i < len(d) && d[i] == '.' {
		if j := digits(d, i+1); j > i+1 {
			i = j
		} else {
			p.pos = i + 1
			return nil, p.errorf("invalid number")
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if j := digits(d, i); j > i {
			i = j
		} else {
			p.pos = i
			return nil, p.errorf("invalid number")
		}
	}
	p.pos = i
	return json.Number(d[start:i]), nil
}

func digits(d string, i int) int {
	for i < len(d) && '0' <= d[i] && d[i] <= '9' {
		i++
	}
	return i
}
