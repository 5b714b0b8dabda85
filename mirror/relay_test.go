package mirror

import (
	"bytes"
	"io"
	"net/http"
	"runtime/debug"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

// A request body read ahead for comparison is kept whole when it fits;
// past the cap or the budget, the primary still gets every byte of it
// (rest); a body cut off is the client's fault and reaches no one.
func TestReadRequestBody(t *testing.T) {
	// Outgrown buffers count until collected: no collection may give
	// them back while the budget is read.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	body := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('a' + i%26)
		}
		return b
	}
	const max = 100 << 10
	for _, tc := range []struct {
		name       string
		length     int64 // ContentLength: -1 for chunked
		body       []byte
		reader     func(io.Reader) io.Reader
		budget     int64
		keep       bool
		reason     string
		fault      string
		wantBudget int64 // taken from the budget, from one request buffer to the next
	}{
		{name: "sized", length: 1000, body: body(1000), budget: 1 << 20, keep: true, wantBudget: 1000},
		{name: "chunked, small", length: -1, body: body(100), budget: 1 << 20, keep: true, wantBudget: 32 << 10},
		{name: "chunked, one buffer exactly", length: -1, body: body(32 << 10), budget: 1 << 20, keep: true, wantBudget: 32<<10 + 64<<10},
		{name: "chunked, grown", length: -1, body: body(70 << 10), budget: 1 << 20, keep: true, wantBudget: 32<<10 + 64<<10 + max + 1},
		{name: "chunked, at the cap", length: -1, body: body(max), budget: 1 << 20, keep: true, wantBudget: 32<<10 + 64<<10 + max + 1},
		{name: "chunked, over the cap", length: -1, body: body(max + 1), budget: 1 << 20, reason: ReasonBodyOverCap, wantBudget: 32<<10 + 64<<10 + max + 1},
		{name: "chunked, trickled", length: -1, body: body(40 << 10), reader: iotest.OneByteReader, budget: 1 << 20, keep: true, wantBudget: 32<<10 + 64<<10},
		{name: "sized, over budget", length: 1000, body: body(1000), budget: 999, reason: ReasonBodyBudget},
		{name: "chunked, over budget", length: -1, body: body(50 << 10), budget: 40 << 10, reason: ReasonBodyBudget, wantBudget: 32 << 10},
		{name: "sized, cut off", length: 1000, body: body(10), reader: func(r io.Reader) io.Reader {
			return io.MultiReader(r, iotest.ErrReader(io.ErrUnexpectedEOF))
		}, budget: 1 << 20, fault: ReasonClientAborted, wantBudget: 1000},
		{name: "chunked, cut off", length: -1, body: body(10), reader: func(r io.Reader) io.Reader {
			return io.MultiReader(r, iotest.ErrReader(io.ErrUnexpectedEOF))
		}, budget: 1 << 20, fault: ReasonClientAborted, wantBudget: 32 << 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r io.Reader = bytes.NewReader(tc.body)
			if tc.reader != nil {
				r = tc.reader(r)
			}
			req := &http.Request{ContentLength: tc.length, Body: io.NopCloser(r)}
			b := newBudget(tc.budget)
			got, rest, reason, fault := readRequestBody(req, max, b.account())
			if reason != tc.reason || fault != tc.fault {
				t.Fatalf("reason %q fault %q, want %q %q", reason, fault, tc.reason, tc.fault)
			}
			if taken := tc.budget - b.left.Load(); taken != tc.wantBudget {
				t.Errorf("took %d from the budget, want %d", taken, tc.wantBudget)
			}
			if tc.fault != "" {
				return
			}
			if tc.keep {
				if diff := cmp.Diff(tc.body, got); diff != "" || rest != nil {
					t.Errorf("kept body (-want +got):\n%s\nrest %v, want none", diff, rest)
				}
				return
			}
			if got != nil {
				t.Errorf("kept %d bytes of a body not compared", len(got))
			}
			sent, err := io.ReadAll(rest)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(sent, tc.body) {
				t.Errorf("the primary gets %d bytes, want the whole %d", len(sent), len(tc.body))
			}
		})
	}
}
