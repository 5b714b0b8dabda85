package diff

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestGRPCTrailers(t *testing.T) {
	t.Parallel()
	grpc := http.Header{"Content-Type": {"application/grpc"}}
	answer := func(header, trailer http.Header, body string) *Response {
		h := http.Header{}
		for k, v := range grpc {
			h[k] = v
		}
		for k, v := range header {
			h[k] = v
		}
		return &Response{Status: 200, Header: h, Trailer: trailer, Body: []byte(body)}
	}
	ok := http.Header{"Grpc-Status": {"0"}}
	notFound := http.Header{"Grpc-Status": {"5"}, "Grpc-Message": {"no such item"}}
	tests := []struct {
		name              string
		legacy, candidate *Response
		want              []string // path kind
	}{
		{"same", answer(nil, ok, "\x00\x00\x00\x00\x02hi"), answer(nil, ok, "\x00\x00\x00\x00\x02hi"), nil},
		{"another status", answer(nil, ok, ""), answer(nil, notFound, ""), []string{"trailer.Grpc-Message extra", "trailer.Grpc-Status changed"}},
		// A trailers-only error and the same status in trailers are one answer.
		{"trailers-only", answer(notFound, nil, ""), answer(nil, notFound, ""), nil},
		{"message bytes", answer(nil, ok, "\x00\x00\x00\x00\x02hi"), answer(nil, ok, "\x00\x00\x00\x00\x02ho"), []string{"body changed"}},
		{"trailer missing", &Response{Status: 200, Trailer: http.Header{"X-Sum": {"1"}}}, &Response{Status: 200}, []string{"trailer.X-Sum missing"}},
	}
	c := NewComparer(&Rules{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, d := range c.Compare(tt.legacy, tt.candidate) {
				got = append(got, d.Path+" "+string(d.Kind))
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("differences (-want +got):\n%s", d)
			}
		})
	}
}

func TestIsError(t *testing.T) {
	t.Parallel()
	grpc := http.Header{"Content-Type": {"application/grpc+proto"}}
	tests := []struct {
		name string
		r    *Response
		want bool
	}{
		{"200", &Response{Status: 200}, false},
		{"503", &Response{Status: 503}, true},
		{"no answer", &Response{Err: "connection refused"}, true},
		{"grpc ok", &Response{Status: 200, Header: grpc, Trailer: http.Header{"Grpc-Status": {"0"}}}, false},
		{"grpc unavailable", &Response{Status: 200, Header: grpc, Trailer: http.Header{"Grpc-Status": {"14"}}}, true},
		{"grpc trailers-only", &Response{Status: 200, Header: http.Header{"Content-Type": {"application/grpc"}, "Grpc-Status": {"3"}}}, true},
		{"grpc-status outside grpc", &Response{Status: 200, Trailer: http.Header{"Grpc-Status": {"14"}}}, false},
	}
	for _, tt := range tests {
		if got := tt.r.IsError(); got != tt.want {
			t.Errorf("%s: IsError() = %v, want %v", tt.name, got, tt.want)
		}
	}
}
