package diff

import (
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// gRPC answers (Content-Type application/grpc, +proto, +json, ...) end in
// trailer fields: grpc-status, grpc-message and whatever the service adds.
// They are compared as fields, at "trailer.<Canonical-Name>"; a
// trailers-only answer (an error sent as a header block with no body) puts
// them in its header, where they are read as the trailers they stand for,
// so that both forms of one status compare equal. Messages (the body) are
// compared as bytes, as any binary body is.

// Status fields gRPC sends in trailers, or in the header of a
// trailers-only answer.
var grpcStatusFields = []string{"Grpc-Status", "Grpc-Message", "Grpc-Status-Details-Bin"}

// IsGRPC reports whether h is the header of a gRPC message stream.
func IsGRPC(h http.Header) bool {
	mt := mediaType(h)
	return mt == "application/grpc" || strings.HasPrefix(mt, "application/grpc+")
}

// GRPCStatus is the grpc-status of a gRPC answer (0 is OK) and whether it
// has one.
func (r *Response) GRPCStatus() (int, bool) {
	if r == nil || !IsGRPC(r.Header) {
		return 0, false
	}
	v := r.Trailer.Get("Grpc-Status")
	if v == "" {
		v = r.Header.Get("Grpc-Status")
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return 0, false
	}
	return n, true
}

// IsError reports whether an answer counts as an error in error rates: no
// HTTP answer, a 5xx, or a gRPC answer whose grpc-status is not OK (gRPC
// errors travel in 200 answers).
func (r *Response) IsError() bool {
	if r.Failed() || r.Status >= 500 {
		return true
	}
	st, ok := r.GRPCStatus()
	return ok && st != 0
}

// grpcFields splits a gRPC answer's header into the header compared as
// such and the trailers, the status fields of a trailers-only answer moved
// from the first to the second. Others are returned as they are.
func grpcFields(r *Response) (header, trailer http.Header) {
	if !IsGRPC(r.Header) {
		return r.Header, r.Trailer
	}
	var moved bool
	for _, name := range grpcStatusFields {
		if _, ok := r.Header[name]; ok {
			moved = true
		}
	}
	if !moved {
		return r.Header, r.Trailer
	}
	header, trailer = maps.Clone(r.Header), maps.Clone(r.Trailer)
	if trailer == nil {
		trailer = http.Header{}
	}
	for _, name := range grpcStatusFields {
		if v, ok := header[name]; ok {
			delete(header, name)
			if _, dup := trailer[name]; !dup {
				trailer[name] = v
			}
		}
	}
	return header, trailer
}

// compareTrailers compares trailer fields by canonical name, each as one
// value list, at "trailer.<Name>".
func (c *Comparer) compareTrailers(legacy, candidate http.Header, d *differences) {
	if len(legacy) == 0 && len(candidate) == 0 {
		return
	}
	lh, kh := canonicalHeaders(legacy), canonicalHeaders(candidate)
	names := slices.Sorted(maps.Keys(lh))
	for name := range kh {
		if _, ok := lh[name]; !ok {
			names = append(names, name)
		}
	}
	for _, name := range names {
		lv, kv := lh[name], kh[name]
		if slices.Equal(lv, kv) {
			continue
		}
		path := "trailer." + name
		lshow, kshow := showLines(lv), showLines(kv)
		if c.redacted(name) {
			lshow, kshow = redact(lshow), redact(kshow)
		}
		switch {
		case kv == nil:
			d.add(Difference{Path: path, Kind: KindMissing, Legacy: lshow})
		case lv == nil:
			d.add(Difference{Path: path, Kind: KindExtra, Candidate: kshow})
		default:
			d.add(Difference{Path: path, Kind: KindChanged, Legacy: lshow, Candidate: kshow})
		}
	}
}
