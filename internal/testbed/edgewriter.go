package testbed

import (
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// gzipMinLength is NGINX's gzip_min_length in the legacy config.
const (
	gzipMinLength = 256
	slowPiece     = 4 << 10
)

// edgeStamp is what the edge's header filter needs to know of a request.
type edgeStamp struct {
	requestID string
	path      string // after rewriting
}

// edgeWriter is the candidate's counterpart of NGINX's header and body
// filters: it stamps the edge headers, gzips JSON and HTML like gzip_types
// application/json with gzip_vary, and applies the response switches.
type edgeWriter struct {
	w     http.ResponseWriter
	r     *http.Request
	stamp edgeStamp
	d     decision

	wroteHeader bool
	out         io.Writer // where body bytes go: w, or slowed down
	gz          *gzip.Writer
}

func newEdgeWriter(w http.ResponseWriter, r *http.Request, stamp edgeStamp, d decision) *edgeWriter {
	ew := &edgeWriter{w: w, r: r, stamp: stamp, d: d, out: w}
	if d.SlowBody > 0 {
		ew.out = &slowWriter{w: w, pause: time.Duration(d.SlowBody)}
	}
	return ew
}

func (e *edgeWriter) Header() http.Header { return e.w.Header() }

// Unwrap lets http.ResponseController reach the real writer (flush, hijack).
func (e *edgeWriter) Unwrap() http.ResponseWriter { return e.w }

func (e *edgeWriter) WriteHeader(code int) {
	if e.wroteHeader {
		return
	}
	if code >= 100 && code < 200 {
		e.w.WriteHeader(code)
		return
	}
	e.wroteHeader = true
	h := e.w.Header()
	h.Set("X-Request-Id", e.stamp.requestID)
	h.Set("X-Edge-Time", fmt.Sprintf("%.3f", float64(time.Now().UnixMilli())/1000))
	h.Set("X-Served-By", servedBy)
	h.Set("Cache-Control", cacheControl(e.stamp.path, code))
	if gzipEligible(h, code) {
		h.Add("Vary", "Accept-Encoding")
		if e.r.ProtoAtLeast(1, 1) && acceptsGzip(e.r.Header.Values("Accept-Encoding")) {
			h.Del("Content-Length")
			h.Set("Content-Encoding", "gzip")
			if e.r.Method != http.MethodHead {
				e.gz = gzip.NewWriter(e.out)
			}
		}
	}
	if s := e.d.Status; s != nil && strings.HasPrefix(e.stamp.path, s.Path) {
		code = s.Code
	}
	if e.d.DropHeader != "" {
		h.Del(e.d.DropHeader)
	}
	e.w.WriteHeader(code)
	if e.d.SlowBody > 0 {
		// A slow body: the headers go out at once, the body trickles.
		http.NewResponseController(e.w).Flush()
	}
}

func (e *edgeWriter) Write(p []byte) (int, error) {
	if !e.wroteHeader {
		e.WriteHeader(http.StatusOK)
	}
	if e.gz != nil {
		return e.gz.Write(p)
	}
	return e.out.Write(p)
}

// Flush keeps streaming answers streaming, compressed or not.
func (e *edgeWriter) Flush() {
	if e.gz != nil {
		e.gz.Flush()
	}
	http.NewResponseController(e.w).Flush()
}

func (e *edgeWriter) finish() {
	if !e.wroteHeader {
		e.WriteHeader(http.StatusOK)
	}
	if e.gz != nil {
		e.gz.Close()
	}
}

// gzipEligible mirrors NGINX's gzip filter: the type is listed, the status
// is 200, 403 or 404, the body is not already encoded and not known to be
// shorter than gzip_min_length.
func gzipEligible(h http.Header, status int) bool {
	if status != http.StatusOK && status != http.StatusForbidden && status != http.StatusNotFound {
		return false
	}
	if h.Get("Content-Encoding") != "" {
		return false
	}
	ct, _, _ := strings.Cut(h.Get("Content-Type"), ";")
	switch strings.ToLower(strings.TrimSpace(ct)) {
	case "application/json", "text/html": // NGINX always adds text/html to gzip_types
	default:
		return false
	}
	if cl := h.Get("Content-Length"); cl != "" {
		if n, err := strconv.Atoi(cl); err == nil && n < gzipMinLength {
			return false
		}
	}
	return true
}

func acceptsGzip(values []string) bool {
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
				continue
			}
			q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
			if q == "q=0" || q == "q=0.0" || q == "q=0.00" || q == "q=0.000" {
				return false
			}
			return true
		}
	}
	return false
}

// slowWriter sends a body in pieces, pausing before each one.
type slowWriter struct {
	w     http.ResponseWriter
	pause time.Duration
}

func (s *slowWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		n := min(len(p), slowPiece)
		time.Sleep(s.pause)
		m, err := s.w.Write(p[:n])
		written += m
		if err != nil {
			return written, err
		}
		http.NewResponseController(s.w).Flush()
		p = p[n:]
	}
	return written, nil
}
