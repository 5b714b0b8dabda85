package replay

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"

	"github.com/cutover/cutover/diff"
	"github.com/cutover/cutover/internal/testbed"
	"github.com/cutover/cutover/internal/upstream"
)

// TestGRPCCaptureReplay captures gRPC calls (h2c) to the test bed's gRPC
// service with tcpdump, reads them back with their trailers, and replays
// them over HTTP/2 to a legacy and a candidate service: a candidate that
// answers another grpc-status is a difference on trailer.Grpc-Status.
func TestGRPCCaptureReplay(t *testing.T) {
	testbed.NeedPrograms(t, "tcpdump")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	legacy, err := testbed.StartGRPC(ctx)
	if err != nil {
		t.Fatal(err)
	}
	candidate, err := testbed.StartGRPC(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pcap := filepath.Join(t.TempDir(), "grpc.pcap")
	base, _ := url.Parse(legacy.URL)
	const calls = 5
	err = testbed.Capture(ctx, pcap, "tcp port "+portOf(legacy.Addr), func() error {
		// A client of its own each try: a capture made again must see its
		// connection from the start.
		client := upstream.New(upstream.Config{Proto: upstream.ProtoH2, Timeout: 5 * time.Second})
		defer client.Close()
		for i := range calls {
			r := client.Do(ctx, base, &diff.Request{Method: http.MethodPost, URI: testbed.GRPCMethod, Host: legacy.Addr,
				Header: http.Header{"Content-Type": {"application/grpc"}, "Te": {"trailers"}},
				Body:   testbed.GRPCFrame([]byte{'0' + byte(i)})})
			if st, ok := r.GRPCStatus(); r.Failed() || !ok || st != 0 {
				return fmt.Errorf("call %d: %d %q grpc-status %v, want OK", i, r.Status, r.Err, r.Trailer)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	client := upstream.New(upstream.Config{Proto: upstream.ProtoH2, Timeout: 5 * time.Second})
	defer client.Close()
	var recs []*Record
	st, err := ReadFile(ctx, pcap, ReadConfig{Responses: true}, func(r *Record) error {
		recs = append(recs, r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.Requests != calls || st.Responses != calls {
		t.Fatalf("read %+v, want %d calls with their answers", st, calls)
	}
	for _, r := range recs {
		if r.Proto != protoH2 || r.Request.Method != http.MethodPost || r.Request.URI != testbed.GRPCMethod ||
			r.Response.Trailer.Get("Grpc-Status") != "0" || len(r.Response.Body) != 5+len("item:0") {
			t.Fatalf("record %s %s %s, answer trailer %v body %q: want the gRPC call with its trailers", r.Proto, r.Request.Method, r.Request.URI, r.Response.Trailer, r.Response.Body)
		}
	}

	for _, tt := range []struct {
		name       string
		code       int
		wantFields map[string]int64
	}{
		{"same status", 0, map[string]int64{}},
		{"candidate answers NOT_FOUND", 5, map[string]int64{
			"POST /cutover.testbed.Items/Get trailer.Grpc-Status":  calls,
			"POST /cutover.testbed.Items/Get trailer.Grpc-Message": calls,
			"POST /cutover.testbed.Items/Get body":                 calls,
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			candidate.SetStatus(tt.code, "")
			if tt.code != 0 {
				candidate.SetStatus(tt.code, "no such item")
			}
			agg := diff.NewAggregator(diff.AggregatorConfig{})
			cfg := Config{Files: []string{pcap}, Unsafe: true, NoiseSamples: -1,
				Legacy: mustURL(t, legacy.URL), Candidate: mustURL(t, candidate.URL)}
			if _, err := Run(ctx, cfg, client, agg, zerolog.Nop()); err != nil {
				t.Fatal(err)
			}
			s := agg.Summary("replay")
			if s.Counts.Compared != calls {
				t.Errorf("counts %+v: want %d compared", s.Counts, calls)
			}
			fields := map[string]int64{}
			for _, e := range s.Endpoints {
				for _, f := range e.Fields {
					if f.Reported {
						fields[e.Endpoint+" "+f.Path] += f.Count
					}
				}
			}
			if d := cmp.Diff(tt.wantFields, fields); d != "" {
				t.Errorf("reported fields (-want +got):\n%s", d)
			}
		})
	}
}
