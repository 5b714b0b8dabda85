package diff

import "strings"

// globs is a list of field-path globs as described on Rules.
type globs []string

// match reports whether any glob matches path exactly.
func (g globs) match(path string) bool {
	for _, p := range g {
		if globMatch(p, path, false) {
			return true
		}
	}
	return false
}

// matchUnder reports whether any glob matches path or one of its ancestors:
// a rule on "body.items" covers "body.items[].price".
func (g globs) matchUnder(path string) bool {
	for _, p := range g {
		if globMatch(p, path, true) {
			return true
		}
	}
	return false
}

// globMatch matches path against glob, where "*" stands for any run of
// characters without '.' and "**" for any run at all. With under, the glob
// may also stop at a segment boundary ('.' or '[') inside path. Header paths
// compare whatever their case, like header names.
func globMatch(glob, path string, under bool) bool {
	return matchFrom(glob, path, under, strings.HasPrefix(path, "header."))
}

func matchFrom(g, s string, under, fold bool) bool {
	for len(g) > 0 {
		if g[0] == '*' {
			deep := len(g) > 1 && g[1] == '*'
			if deep {
				g = g[2:]
			} else {
				g = g[1:]
			}
			for i := 0; i <= len(s); i++ {
				if matchFrom(g, s[i:], under, fold) {
					return true
				}
				if i < len(s) && s[i] == '.' && !deep {
					return false
				}
			}
			return false
		}
		if len(s) == 0 || !sameByte(g[0], s[0], fold) {
			return false
		}
		g, s = g[1:], s[1:]
	}
	return s == "" || under && (s[0] == '.' || s[0] == '[')
}

func sameByte(a, b byte, fold bool) bool {
	if a == b {
		return true
	}
	return fold && lower(a) == lower(b)
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// nameGlobs is a list of header-name globs ("X-*"), matched whatever the case.
type nameGlobs []string

func (g nameGlobs) match(name string) bool {
	for _, p := range g {
		if matchFrom(p, name, false, true) {
			return true
		}
	}
	return false
}
