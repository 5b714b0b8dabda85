package mirror

// chunkScan follows a chunked body (RFC 9112 §7.1) to find its end.
type chunkScan struct {
	st   int // 0 size, 1 extension, 2 data, 3 data's CRLF, 4 trailer line start, 5 trailer line
	size int64
	seen bool // a size digit was seen
}

// scan consumes what it can of b: the bytes consumed, whether the body
// ended, and false when the body is malformed.
func (s *chunkScan) scan(b []byte) (n int, done, ok bool) {
	for n < len(b) {
		c := b[n]
		switch s.st {
		case 0, 1:
			switch {
			case s.st == 0 && hexDigit(c) >= 0:
				if s.size > 1<<55 {
					return n, false, false
				}
				s.size, s.seen = s.size<<4|int64(hexDigit(c)), true
			case c == '\n':
				if !s.seen {
					return n, false, false
				}
				if s.size == 0 {
					s.st = 4
				} else {
					s.st = 2
				}
			case c == ';' || c == ' ' || c == '\t' || c == '\r' || s.st == 1:
				if !s.seen {
					return n, false, false
				}
				s.st = 1
			default:
				return n, false, false
			}
			n++
		case 2:
			k := min(int64(len(b)-n), s.size)
			n += int(k)
			if s.size -= k; s.size == 0 {
				s.st = 3
			}
		case 3:
			switch c {
			case '\r':
			case '\n':
				*s = chunkScan{}
			default:
				return n, false, false
			}
			n++
		case 4:
			n++
			switch c {
			case '\r':
			case '\n':
				return n, true, true
			default:
				s.st = 5
			}
		case 5:
			n++
			if c == '\n' {
				s.st = 4
			}
		}
	}
	return n, false, true
}

func hexDigit(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
