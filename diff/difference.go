package diff

// Kind says how two answers disagree at one path.
type Kind string

// The kinds of difference. Order is index-sensitive: the same elements in
// another order. Size is an array (or body) of another length.
const (
	KindChanged Kind = "changed"
	KindMissing Kind = "missing" // present in legacy, absent in candidate
	KindExtra   Kind = "extra"   // absent in legacy, present in candidate
	KindType    Kind = "type"
	KindOrder   Kind = "order"
	KindSize    Kind = "size"
)

// Difference is one place where two answers disagree.
//
// Path follows DESIGN.md: "status", "header.<Canonical-Name>", "body" for a
// whole non-structured body, "body.a.b[].c" inside JSON (array elements share
// one path). Legacy and Candidate are short renderings of the two values,
// for samples in reports; Detail adds what a person needs (the first
// differing line, a similarity ratio, a hash).
type Difference struct {
	Path      string `json:"path"`
	Kind      Kind   `json:"kind"`
	Legacy    string `json:"legacy,omitempty"`
	Candidate string `json:"candidate,omitempty"`
	Detail    string `json:"detail,omitempty"`
}
