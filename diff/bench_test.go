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
