package replay

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket/layers"
)

// view is what a record says, comparable.
type view struct {
	Time           time.Time
	Client, Server string
	Method, URI    string
	Host, Skip     string
	Body, Status   int
}

func readViews(t *testing.T, data []byte, workers int) ([]view, Stats, error) {
	t.Helper()
	var got []view
	st, err := Read(context.Background(), bytes.NewReader(data), "capture", ReadConfig{Responses: true, Workers: workers}, func(r *Record) error {
		v := view{Time: r.Time, Client: r.Client, Server: r.Server, Method: r.Request.Method, URI: r.Request.URI,
			Host: r.Request.Host, Skip: r.Skip, Body: len(r.Request.Body), Status: -1}
		if r.Response != nil {
			v.Status = r.Response.Status
		}
		got = append(got, v)
		return nil
	})
	return got, st, err
}

// A read spread over shards finds the same records, in the same order, with
// the same stats, as a read on one goroutine: on every test capture, on
// captures with lost segments and on a truncated one.
func TestShardedReadSameAsOneGoroutine(t *testing.T) {
	t.Parallel()
	captures := map[string][]byte{}
	for _, name := range []string{"curl.pcap", "wrk.pcap.gz", "any.pcap", "pace.pcap.gz", "other.pcap", "snap.pcap"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		captures[name] = data
	}
	for _, every := range []int{7, 41} {
		n := 0
		captures["wrk.pcap.gz without every "+string(rune('0'+every%10))] = rewrite(t, filepath.Join("testdata", "wrk.pcap.gz"), every == 7,
			func(_ int, tcp *layers.TCP) bool {
				if len(tcp.Payload) > 0 {
					n++
				}
				return len(tcp.Payload) == 0 || n%every != 0
			})
	}
	curl := captures["curl.pcap"]
	captures["curl.pcap cut short"] = curl[:len(curl)*2/3]
	for name, data := range captures {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			want, wantSt, wantErr := readViews(t, data, 1)
			if len(want) == 0 {
				t.Fatal("no records on one goroutine")
			}
			for _, workers := range []int{2, 3} {
				got, st, err := readViews(t, data, workers)
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%d shards: records (-want +got):\n%s", workers, diff)
				}
				if diff := cmp.Diff(wantSt, st); diff != "" {
					t.Errorf("%d shards: stats (-want +got):\n%s", workers, diff)
				}
				if (err == nil) != (wantErr == nil) || (err != nil && err.Error() != wantErr.Error()) {
					t.Errorf("%d shards: error %v, want %v", workers, err, wantErr)
				}
			}
		})
	}
}

// An error from emit stops a sharded read at once and is returned as is;
// so does a cancelled context.
func TestShardedReadStops(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join("testdata", "pace.pcap.gz"))
	if err != nil {
		t.Fatal(err)
	}
	stop := errors.New("enough")
	n := 0
	st, err := Read(context.Background(), bytes.NewReader(data), "pace", ReadConfig{Workers: 2}, func(*Record) error {
		if n++; n == 100 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 100 || st.Requests != 99 {
		t.Errorf("emit error: err %v after %d records, %d counted; want %v after 100, 99 counted", err, n, st.Requests, stop)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n = 0
	_, err = Read(ctx, bytes.NewReader(data), "pace", ReadConfig{Workers: 2}, func(*Record) error {
		if n++; n == 10 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || n > 6000 {
		t.Errorf("cancelled: err %v after %d records, want %v", err, n, context.Canceled)
	}
}
