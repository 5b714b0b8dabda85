package diff

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// compareHeaders compares the headers that the rules and defaults select,
// each as a set of values.
func (c *Comparer) compareHeaders(legacy, candidate http.Header, compressed bool, d *differences) {
	lh, kh := canonicalHeaders(legacy), canonicalHeaders(candidate)
	names := make([]string, 0, len(lh)+len(kh))
	for name := range lh {
		names = append(names, name)
	}
	for name := range kh {
		if _, ok := lh[name]; !ok {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		if !c.comparesHeader(name, compressed) {
			continue
		}
		if slices.Equal(lh[name], kh[name]) {
			continue // the same lines make the same set
		}
		path := "header." + name
		if c.ignore.matchUnder(path) {
			continue
		}
		ls, ks := headerSet(name, lh[name], compressed), headerSet(name, kh[name], compressed)
		lv, kv := showSet(ls), showSet(ks)
		if c.redacted(name) {
			lv, kv = redact(lv), redact(kv)
		}
		switch {
		case slices.Equal(ls, ks):
		case len(ks) == 0:
			d.add(Difference{Path: path, Kind: KindMissing, Legacy: sample(lv)})
		case len(ls) == 0:
			d.add(Difference{Path: path, Kind: KindExtra, Candidate: sample(kv)})
		case len(ls) == 1 && len(ks) == 1 && c.scalarsEqual(path, ls[0], ks[0]):
		default:
			d.add(Difference{Path: path, Kind: KindChanged, Legacy: sample(lv), Candidate: sample(kv)})
		}
	}
}

// comparesHeader applies HeaderRules and the defaults documented there.
func (c *Comparer) comparesHeader(name string, compressed bool) bool {
	switch {
	case hopByHop[name]:
		return false
	case c.keep[name]:
		return true
	case len(c.include) > 0 && !c.include.match(name), c.exclude.match(name), differsByDefault[name]:
		return false
	case compressed && name == "Content-Encoding":
		return false
	}
	return true
}

// showSet renders a header's values: one as it is, several quoted, so that
// two lines "a" and "b" do not read like the one line "a, b".
func showSet(set []string) string {
	if len(set) == 1 {
		return set[0]
	}
	q := make([]string, len(set))
	for i, v := range set {
		q[i] = strconv.Quote(v)
	}
	return strings.Join(q, ", ")
}

func (c *Comparer) redacted(name string) bool {
	return redactedByDefault[name] || c.redact.match(name)
}

func redact(v string) string {
	if v == "" {
		return ""
	}
	return "[redacted]"
}

// scalarsEqual applies the tolerance and time-skew rules to two single
// header values.
func (c *Comparer) scalarsEqual(path, a, b string) bool {
	if t, ok := c.toleranceFor(path); ok {
		x, errx := strconv.ParseFloat(a, 64)
		y, erry := strconv.ParseFloat(b, 64)
		if errx == nil && erry == nil && within(t, x, y) {
			return true
		}
	}
	return c.timesEqual(path, a, b)
}
