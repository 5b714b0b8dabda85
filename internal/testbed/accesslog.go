package testbed

import (
	"bytes"
	"encoding/json"
	"testing"
)

// AccessLine is one line of the bed's NGINX access log (the "oracle"
// log_format of nginx/legacy.conf.tmpl), as tests read it.
type AccessLine struct {
	Client    string `json:"client"`
	Method    string `json:"method"`
	URI       string `json:"uri"`
	Status    int    `json:"status"`
	BytesSent *int   `json:"bytes_sent"`
}

// Answered says whether NGINX put any byte of an answer on the wire. A
// 499 did not, nor did a 200 it logged after the client reset the
// connection (wrk closing with answers unread when its time is up): no
// capture holds those answers, whatever status the log gives.
func (l AccessLine) Answered() bool { return *l.BytesSent > 0 }

// ReadAccessLogForTest reads an access log of the bed (gzipped when its
// name ends in .gz) and fails t on a line that is not the oracle format.
func ReadAccessLogForTest(t testing.TB, path string) []AccessLine {
	t.Helper()
	var out []AccessLine
	for line := range bytes.Lines(ReadFileForTest(t, path)) {
		var l AccessLine
		if err := json.Unmarshal(line, &l); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if l.BytesSent == nil {
			t.Fatalf("%s: a line without bytes_sent: %s", path, line)
		}
		out = append(out, l)
	}
	return out
}
