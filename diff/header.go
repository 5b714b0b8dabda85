package diff

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// compareHeaders compares the headers that the rules and defaults select,
// each as a set of values. Names are visited in map order: the caller sorts
// the differences, and a name gives at most one.
func (c *Comparer) compareHeaders(legacy, candidate http.Header, compressed bool, d *differences) {
	mark := len(d.list)
	if c.compareCanonical(legacy, candidate, compressed, d) {
		return
	}
	// A key not in canonical form: start again with merged keys.
	d.list = d.list[:mark]
	c.compareCanonical(canonicalHeaders(legacy), canonicalHeaders(candidate), compressed, d)
}

// compareCanonical compares lh and kh when all their keys are in canonical
// form, as parsed headers' keys are; false when one is not, with
// differences perhaps added.
func (c *Comparer) compareCanonical(lh, kh map[string][]string, compressed bool, d *differences) bool {
	for name, lv := range lh {
		if !isCanonical(name) {
			return false
		}
		c.compareHeader(name, lv, kh[name], compressed, d)
	}
	for name, kv := range kh {
		if !isCanonical(name) {
			return false
		}
		if _, ok := lh[name]; !ok {
			c.compareHeader(name, nil, kv, compressed, d)
		}
	}
	return true
}

// compareHeader compares the values of one header, lv from legacy and kv
// from the candidate (nil when absent).
func (c *Comparer) compareHeader(name string, lv, kv []string, compressed bool, d *differences) {
	if slices.Equal(lv, kv) {
		return // the same lines make the same set; most headers end here
	}
	if !c.comparesHeader(name, compressed) {
		return
	}
	path := "header." + name
	if c.ignore.matchUnder(path) {
		return
	}
	ls, ks := headerSet(name, lv, compressed), headerSet(name, kv, compressed)
	lshow, kshow := showLines(lv), showLines(kv)
	if c.redacted(name) {
		lshow, kshow = redact(lshow), redact(kshow)
	}
	switch {
	case slices.Equal(ls, ks):
	case len(ks) == 0:
		d.add(Difference{Path: path, Kind: KindMissing, Legacy: lshow})
	case len(ls) == 0:
		d.add(Difference{Path: path, Kind: KindExtra, Candidate: kshow})
	case len(ls) == 1 && len(ks) == 1 && c.scalarsEqual(path, ls[0], ks[0]):
	default:
		if len(lv) == 1 && len(kv) == 1 {
			lshow, kshow = samplePair(lshow, kshow)
		}
		d.add(Difference{Path: path, Kind: KindChanged, Legacy: lshow, Candidate: kshow})
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

// showLines renders a header's values as received: its field lines, one
// per line, each cut like a sample. Two lines "a" and "b" do not read like
// the one line "a, b", and a list is not re-serialised.
func showLines(lines []string) string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = sample(l)
	}
	return strings.Join(out, "\n")
}

func (c *Comparer) redacted(name string) bool {
	return redactedByDefault[name] || secretHeader(name) || c.redact.match(name)
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
