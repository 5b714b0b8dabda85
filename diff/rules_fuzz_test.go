package diff

import "testing"

// FuzzParseRules: any input gives rules or an error naming what is wrong;
// rules that parse can build a Comparer and compare.
func FuzzParseRules(f *testing.F) {
	f.Add([]byte("ignore: [header.X-Request-Id, body.meta.*]\nunordered: [body.items]\n"))
	f.Add([]byte("tolerance:\n  - {path: body.price, absolute: 0.01}\ntime_skew:\n  - {path: body.updated, skew: 2s}\n"))
	f.Add([]byte("endpoints: [/users/{id}, GET /orders/{id}/items]\nheaders: {include: ['*', Server], redact: [X-Token]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseRules(data)
		if err != nil {
			if err.Error() == "" {
				t.Error("empty error")
			}
			return
		}
		c := NewComparer(r)
		a := &Response{Status: 200, Header: map[string][]string{"Content-Type": {"application/json"}}, Body: []byte(`{"a":[1,2],"b":{"c":"x"}}`)}
		if d := c.Compare(a, a); len(d) != 0 {
			t.Errorf("an answer differs from itself under %q: %v", data, d)
		}
		r.Endpoint("GET", "/users/42?x=1")
	})
}
