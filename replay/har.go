package replay

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cutover/cutover/diff"
)

// har is the part of HAR 1.2 (what browsers export) a replay needs.
type har struct {
	Log struct {
		Entries []harEntry `json:"entries"`
	} `json:"log"`
}

type harEntry struct {
	Started  time.Time   `json:"startedDateTime"`
	Time     float64     `json:"time"` // ms
	ServerIP string      `json:"serverIPAddress"`
	Request  harRequest  `json:"request"`
	Response harResponse `json:"response"`
	Timings  struct {
		Send, Wait float64
	} `json:"timings"`
}

type harHeader struct{ Name, Value string }

type harRequest struct {
	Method      string      `json:"method"`
	URL         string      `json:"url"`
	HTTPVersion string      `json:"httpVersion"`
	Headers     []harHeader `json:"headers"`
	PostData    *struct {
		Text     string `json:"text"`
		Encoding string `json:"encoding"` // not in 1.2, but written by some tools
	} `json:"postData"`
}

type harResponse struct {
	Status      int         `json:"status"`
	HTTPVersion string      `json:"httpVersion"`
	Headers     []harHeader `json:"headers"`
	Content     struct {
		Size     int64  `json:"size"`
		Text     string `json:"text"`
		Encoding string `json:"encoding"`
	} `json:"content"`
}

// readHAR emits the entries of a HAR file in file order. Answers recorded
// as status 0 (blocked, cancelled) are no answer. HAR keeps bodies decoded:
// a recorded body is what the browser showed, not the bytes on the wire.
func readHAR(ctx context.Context, r io.Reader, cfg ReadConfig, emit func(*Record) error) (Stats, error) {
	var st Stats
	var doc har
	if err := json.NewDecoder(r).Decode(&doc); err != nil {
		return st, fmt.Errorf("har: %w", err)
	}
	for i, e := range doc.Log.Entries {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		rec, err := harRecord(e, cfg)
		if err != nil {
			return st, fmt.Errorf("har entry %d: %w", i, err)
		}
		if err := emit(rec); err != nil {
			return st, err
		}
		st.count(rec)
	}
	return st, nil
}

func harRecord(e harEntry, cfg ReadConfig) (*Record, error) {
	u, err := url.Parse(e.Request.URL)
	if err != nil {
		return nil, fmt.Errorf("url: %w", err)
	}
	rec := &Record{Time: e.Started, Proto: e.Request.HTTPVersion}
	if e.ServerIP != "" {
		rec.Server = e.ServerIP
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		rec.Skip = ReasonNotHTTP
		return rec, nil
	}
	req := diff.Request{Method: e.Request.Method, URI: u.RequestURI(), Host: u.Host, Header: harHeaders(e.Request.Headers)}
	if h := req.Header.Get("Host"); h != "" {
		req.Host = h
	}
	if pd := e.Request.PostData; pd != nil {
		req.Body = []byte(pd.Text)
		if pd.Encoding == "base64" {
			if req.Body, err = base64.StdEncoding.DecodeString(pd.Text); err != nil {
				return nil, fmt.Errorf("postData: %w", err)
			}
		}
	}
	if len(req.Body) > cfg.MaxBody {
		rec.Skip = ReasonBodyOverCap
	}
	rec.Request = req
	if resp := e.Response; resp.Status > 0 {
		body := []byte(resp.Content.Text)
		if resp.Content.Encoding == "base64" {
			if body, err = base64.StdEncoding.DecodeString(resp.Content.Text); err != nil {
				return nil, fmt.Errorf("content: %w", err)
			}
		}
		truncated := len(body) > cfg.MaxBody || !cfg.Responses
		if len(body) > cfg.MaxBody || !cfg.Responses {
			body = body[:min(len(body), cfg.MaxBody)]
			if !cfg.Responses {
				body = nil
			}
		}
		rec.Response = &diff.Response{
			Status: resp.Status, Proto: resp.HTTPVersion, Header: harHeaders(resp.Headers),
			Body: body, BodyTruncated: truncated && resp.Content.Size != 0,
			TTFB:  ms(e.Timings.Send + e.Timings.Wait),
			Total: ms(e.Time),
		}
	}
	return rec, nil
}

// harHeaders builds a header, leaving out HTTP/2 pseudo-headers (:path, ...).
func harHeaders(hs []harHeader) http.Header {
	h := http.Header{}
	for _, kv := range hs {
		if strings.HasPrefix(kv.Name, ":") {
			continue
		}
		k := http.CanonicalHeaderKey(kv.Name)
		h[k] = append(h[k], kv.Value)
	}
	return h
}

func ms(v float64) time.Duration {
	if v < 0 {
		return 0
	}
	return time.Duration(v * float64(time.Millisecond))
}
