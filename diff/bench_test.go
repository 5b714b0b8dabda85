package diff

import (
	"bytes"
	"fmt"
	"net/http"
	"testing"
)

// catalogue builds a realistic API answer of about 4 KB: a page of items
// with nested objects, arrays, numbers and timestamps. price changes the
// price of the fourth item, so two calls can differ in exactly one place.
func catalogue(price string) []byte {
	var b bytes.Buffer
	b.WriteString(`{"meta":{"request_id":"5f1c2a9e","generated_at":"2024-05-01T12:00:00Z","version":"v2"},"data":{"items":[`)
	for i := range 18 {
		if i > 0 {
			b.WriteByte(',')
		}
		p := fmt.Sprintf("%d.99", 10+i)
		if i == 3 {
			p = price
		}
		fmt.Fprintf(&b, `{"id":%d,"sku":"SKU-%05d","name":"Item number %d","price":%s,"currency":"EUR",`+
			`"in_stock":%t,"tags":["new","sale","tag-%d"],"dimensions":{"w":%d,"h":%d,"d":%d},`+
			`"seller":{"id":"s-%d","rating":4.%d}}`,
			1000+i, i, i, p, i%2 == 0, i, 10+i, 20+i, 5, i%4, i%10)
	}
	b.WriteString(`],"pagination":{"page":1,"per_page":18,"total":240,"next":"/api/items?page=2"}}}`)
	return b.Bytes()
}

func jsonResponse(body []byte) *Response {
	return &Response{
		Status: 200,
		Header: http.Header{"Content-Type": {"application/json"}, "X-Cache": {"MISS"}},
		Body:   body,
	}
}

func BenchmarkCompareJSON4KOneDiff(b *testing.B) {
	legacy, candidate := jsonResponse(catalogue("13.99")), jsonResponse(catalogue("13.49"))
	c := NewComparer(nil)
	if got := c.Compare(legacy, candidate); len(got) != 1 {
		b.Fatalf("want one difference, got %v", got)
	}
	b.SetBytes(int64(len(legacy.Body)))
	b.ReportAllocs()
	for b.Loop() {
		c.Compare(legacy, candidate)
	}
}

func BenchmarkCompareIdentical(b *testing.B) {
	legacy, candidate := jsonResponse(catalogue("13.99")), jsonResponse(catalogue("13.99"))
	c := NewComparer(nil)
	if got := c.Compare(legacy, candidate); len(got) != 0 {
		b.Fatalf("want no difference, got %v", got)
	}
	b.SetBytes(int64(len(legacy.Body)))
	b.ReportAllocs()
	for b.Loop() {
		c.Compare(legacy, candidate)
	}
}

// nginxHeader is the header of a small answer of the test bed's legacy
// NGINX/Lua; id and at stand for what changes on every answer.
func nginxHeader(id, at string) http.Header {
	return http.Header{
		"Server": {"nginx/1.22.1"}, "Date": {"Sun, 22 Nov 2026 12:10:50 GMT"},
		"Content-Type": {"application/json"}, "Content-Length": {"132"}, "Connection": {"keep-alive"},
		"X-Request-Id": {id}, "X-Edge-Time": {at}, "X-Served-By": {"edge-test-1"},
		"Cache-Control": {"public, max-age=60"}, "Vary": {"Accept-Encoding"},
	}
}

// BenchmarkCompareHeaders compares two answers with the same small body
// whose headers differ where two NGINX answers do: request id and time.
func BenchmarkCompareHeaders(b *testing.B) {
	body := []byte(`{"id":7,"name":"Item 7","price":17.99}`)
	legacy := &Response{Status: 200, Header: nginxHeader("4eab5f2e4fbdaeb356ca27e559edb28c", "1795349450.387"), Body: body}
	candidate := &Response{Status: 200, Header: nginxHeader("0585aaff301d68007fbbb6e71f9cfd36", "1795349450.392"), Body: body}
	c := NewComparer(nil)
	if got := c.Compare(legacy, candidate); len(got) != 2 {
		b.Fatalf("want two differences, got %v", got)
	}
	b.ReportAllocs()
	for b.Loop() {
		c.Compare(legacy, candidate)
	}
}
