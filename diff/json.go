package diff

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	gocmp "github.com/google/go-cmp/cmp"
)

// compareJSONBodies compares two bodies as JSON documents. A body that is
// not JSON while the other is gives one difference of kind type at "body";
// when neither is JSON they are compared as text (or bytes).
func (c *Comparer) compareJSONBodies(legacy, candidate []byte, d *differences) {
	x, errx := parseJSON(legacy)
	y, erry := parseJSON(candidate)
	switch {
	case errx == nil && erry == nil:
		c.compareJSON("body", x, y, d)
	case errx != nil && erry != nil:
		if isText(legacy) && isText(candidate) {
			compareText(legacy, candidate, d)
		} else {
			compareBinary(legacy, candidate, d)
		}
	default:
		detail := "candidate body is not JSON: " + errText(erry)
		if errx != nil {
			detail = "legacy body is not JSON: " + errText(errx)
		}
		d.add(Difference{Path: "body", Kind: KindType, Legacy: sample(string(legacy)), Candidate: sample(string(candidate)), Detail: detail})
	}
}

// jsonDoc roots a comparison at an interface-typed field, so that a whole
// document is settled by the same code as every value inside it.
type jsonDoc struct{ Body any }

var anyType = reflect.TypeFor[any]()

// compareJSON compares two decoded values found at path, known not to be
// identical, with go-cmp.
//
// go-cmp walks the members of two objects: it pairs them by key, reports
// the ones that one side lacks, and through jsonWalk as its Reporter yields
// the field paths. At every member jsonWalk.settles settles the values on
// the spot: identical ones at once, scalars by the rules, arrays by
// settleArrays, and two objects by a walk of their own rooted at the
// member's path. A settled value is reported to go-cmp as ignored, its
// differences, if any, having been recorded by jsonWalk; so go-cmp never
// calls a Comparer or Transformer of ours (each first call of a comparison
// would cost a goroutine for its determinism check) and never diffs slices
// itself (its edit scripts are costly and pick among equally short ones at
// random). Values other than two objects are rooted at the field
// jsonDoc.Body so that they are settled by the same code.
func (c *Comparer) compareJSON(path string, x, y any, d *differences) {
	w := &jsonWalk{c: c, d: d, base: path}
	opts := []gocmp.Option{gocmp.FilterPath(w.settles, gocmp.Ignore()), gocmp.Reporter(w)}
	xo, xok := x.(jsonObject)
	yo, yok := y.(jsonObject)
	if xok && yok {
		gocmp.Equal(xo.asMap(), yo.asMap(), opts...)
		return
	}
	gocmp.Equal(jsonDoc{x}, jsonDoc{y}, opts...)
}

// jsonWalk is the state of one walk. go-cmp calls PushStep before it
// evaluates the filters of a step, so settles reads the current path
// from segs.
type jsonWalk struct {
	c     *Comparer
	d     *differences
	base  string // the path of the walk's root value
	steps []gocmp.PathStep
	segs  []string // object keys below base; "" for steps JSON does not have
	path  string   // base and segs joined, valid while pathOK
	// pathOK is reset by every step.
	pathOK bool
}

func (w *jsonWalk) PushStep(s gocmp.PathStep) {
	w.steps = append(w.steps, s)
	seg := ""
	if mi, ok := s.(gocmp.MapIndex); ok {
		seg = mi.Key().String()
	}
	w.segs = append(w.segs, seg)
	w.pathOK = false
}

func (w *jsonWalk) PopStep() {
	w.steps = w.steps[:len(w.steps)-1]
	w.segs = w.segs[:len(w.segs)-1]
	w.pathOK = false
}

// Report records what go-cmp found unequal itself: a member one side lacks.
func (w *jsonWalk) Report(r gocmp.Result) {
	if r.Equal() {
		return
	}
	vx, vy := w.steps[len(w.steps)-1].Values()
	w.d.add(jsonDifference(w.currentPath(), vx, vy))
}

// currentPath is the field path of the value being compared.
func (w *jsonWalk) currentPath() string {
	if !w.pathOK {
		var b strings.Builder
		b.WriteString(w.base)
		for i, s := range w.segs {
			if _, member := w.steps[i].(gocmp.MapIndex); member {
				appendPathKey(&b, s)
			}
		}
		w.path, w.pathOK = b.String(), true
	}
	return w.path
}

// settles settles each JSON value (true: go-cmp treats it as ignored),
// except where a member is missing on one side (false: go-cmp reports it).
func (w *jsonWalk) settles(p gocmp.Path) bool {
	step := p.Last()
	if step.Type() != anyType {
		return false
	}
	if len(w.c.ignore) > 0 && w.c.ignore.match(w.currentPath()) {
		return true
	}
	vx, vy := step.Values()
	if !vx.IsValid() || !vy.IsValid() {
		return false // go-cmp reports the missing side itself
	}
	x, y := vx.Interface(), vy.Interface()
	if jsonEqual(x, y) {
		return true
	}
	switch xv := x.(type) {
	case jsonObject:
		if _, ok := y.(jsonObject); ok {
			w.c.compareJSON(w.currentPath(), x, y, w.d)
			return true
		}
	case []any:
		if yv, ok := y.([]any); ok {
			w.settleArrays(xv, yv)
			return true
		}
	}
	if !w.leafEqual(x, y) {
		w.d.add(jsonDifference(w.currentPath(), vx, vy))
	}
	return true
}

// settleArrays compares two arrays: of other lengths they differ in size;
// holding the same elements in another order they differ in order, unless
// the rules say the array is unordered; otherwise the elements that differ
// are compared pairwise (after sorting, when unordered), each by a walk of
// its own rooted at "<path>[]".
func (w *jsonWalk) settleArrays(x, y []any) {
	path := w.currentPath()
	if len(x) != len(y) {
		w.d.add(Difference{Path: path, Kind: KindSize, Legacy: render(x), Candidate: render(y),
			Detail: fmt.Sprintf("length %d → %d", len(x), len(y))})
		return
	}
	unordered := len(w.c.unordered) > 0 && w.c.unordered.match(path)
	same, reordered, differ := w.c.sameElements(x, y, path, unordered)
	if same {
		if reordered && !unordered {
			w.d.add(Difference{Path: path, Kind: KindOrder, Legacy: render(x), Candidate: render(y),
				Detail: "same elements in another order"})
		}
		return
	}
	elem := path + "[]"
	if unordered {
		x, y = w.c.sortElements(x, path), w.c.sortElements(y, path)
		for i := range x {
			if !jsonEqual(x[i], y[i]) {
				w.c.compareJSON(elem, x[i], y[i], w.d)
			}
		}
		return
	}
	for _, i := range differ {
		w.c.compareJSON(elem, x[i], y[i], w.d)
	}
}

// leafEqual compares two scalars, or values of different JSON types.
func (w *jsonWalk) leafEqual(x, y any) bool {
	switch xv := x.(type) {
	case json.Number:
		yv, ok := y.(json.Number)
		if !ok {
			return false
		}
		var path string
		if len(w.c.tolerance) > 0 {
			path = w.currentPath()
		}
		return w.c.numbersEqual(path, xv, yv)
	case string:
		yv, ok := y.(string)
		return ok && len(w.c.skew) > 0 && w.c.timesEqual(w.currentPath(), xv, yv)
	}
	return false
}

// jsonDifference names an unequal pair of members or scalars found at path.
func jsonDifference(path string, vx, vy reflect.Value) Difference {
	if !vy.IsValid() {
		return Difference{Path: path, Kind: KindMissing, Legacy: render(vx.Interface())}
	}
	if !vx.IsValid() {
		return Difference{Path: path, Kind: KindExtra, Candidate: render(vy.Interface())}
	}
	x, y := vx.Interface(), vy.Interface()
	d := Difference{Path: path, Kind: KindChanged}
	d.Legacy, d.Candidate = samplePair(renderFull(x), renderFull(y))
	if xt, yt := jsonType(x), jsonType(y); xt != yt {
		d.Kind, d.Detail = KindType, xt+" → "+yt
	}
	return d
}

func jsonType(v any) string {
	switch v.(type) {
	case jsonObject:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

// render is the compact JSON of v, shortened for a sample.
func render(v any) string { return sample(renderFull(v)) }

// renderFull is the compact JSON of v.
func renderFull(v any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // samples are read by people, not browsers
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// jsonEqual reports whether two decoded values are identical, numbers by
// their text. It is the fast path that prunes equal subtrees.
func jsonEqual(x, y any) bool {
	switch xv := x.(type) {
	case jsonObject:
		yv, ok := y.(jsonObject)
		return ok && slices.EqualFunc(xv, yv, func(a, b member) bool { return a.key == b.key && jsonEqual(a.val, b.val) })
	case []any:
		yv, ok := y.([]any)
		return ok && slices.EqualFunc(xv, yv, jsonEqual)
	case string:
		yv, ok := y.(string)
		return ok && xv == yv
	case json.Number:
		yv, ok := y.(json.Number)
		return ok && xv == yv
	case bool:
		yv, ok := y.(bool)
		return ok && xv == yv
	case nil:
		return y == nil
	}
	return false
}
