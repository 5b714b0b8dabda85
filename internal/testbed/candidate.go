package testbed

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// The edge behaviour both legacy (nginx/edge.lua) and the candidate
// implement. Keep these in step with edge.lua.
var (
	v1ItemPath = regexp.MustCompile(`^/v1/items/(\d+)$`)
	cacheRules = []struct{ prefix, value string }{
		{"/api/items", "public, max-age=60"},
		{"/api/noisy", "no-store"},
		{"/echo", "no-store"},
		{"/stream", "no-store"},
		{"/edge/", "no-cache"},
	}
)

const (
	cacheDefault = "public, max-age=300"
	servedBy     = "edge-test-1"
	healthBody   = `{"status":"ok","served_by":"edge"}` + "\n"
)

// CandidateStats counts what the candidate did, for tests that check a
// switch took effect.
type CandidateStats struct {
	Requests int64 `json:"requests"`
	Resets   int64 `json:"resets"`
	Errors   int64 `json:"errors"`
}

// candidateHandler re-implements the legacy edge in Go and applies switches.
type candidateHandler struct {
	proxy    *httputil.ReverseProxy
	switches *switchState

	requests, resets, errors atomic.Int64
}

func newCandidateHandler(origin *url.URL, sw *switchState) *candidateHandler {
	h := &candidateHandler{switches: sw}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	// NGINX passes Accept-Encoding through untouched; Go would add its own.
	transport.DisableCompression = true
	transport.MaxIdleConnsPerHost = 32
	h.proxy = &httputil.ReverseProxy{
		Transport: transport,
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(origin)
			// As NGINX's "proxy_set_header Host $host": no port, lower case.
			pr.Out.Host = hostOnly(pr.In.Host)
			xff := pr.In.RemoteAddr
			if host, _, err := net.SplitHostPort(xff); err == nil {
				xff = host
			}
			if prior := pr.In.Header.Values("X-Forwarded-For"); len(prior) > 0 {
				xff = strings.Join(prior, ", ") + ", " + xff
			}
			pr.Out.Header.Set("X-Forwarded-For", xff)
			// NGINX answers "Expect: 100-continue" itself and does not pass it on.
			pr.Out.Header.Del("Expect")
			pr.Out.Header.Set("X-Forwarded-Proto", "http")
		},
		ModifyResponse: func(resp *http.Response) error {
			// NGINX hides these upstream headers by default.
			for k := range resp.Header {
				if strings.HasPrefix(k, "X-Accel-") {
					resp.Header.Del(k)
				}
			}
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			io.WriteString(w, "<html><head><title>502 Bad Gateway</title></head></html>\n")
		},
	}
	return h
}

func (h *candidateHandler) stats() CandidateStats {
	return CandidateStats{Requests: h.requests.Load(), Resets: h.resets.Load(), Errors: h.errors.Load()}
}

func (h *candidateHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.requests.Add(1)
	d := h.switches.decide()
	if d.reset {
		h.resets.Add(1)
		resetConnection(w)
		return
	}
	if d.delay > 0 {
		select {
		case <-time.After(d.delay):
		case <-r.Context().Done():
			return
		}
	}

	// rewrite phase, as edge.lua: a fresh request id, old item URLs mapped.
	id := newRequestID()
	r.Header.Set("X-Request-Id", id)
	if m := v1ItemPath.FindStringSubmatch(r.URL.Path); m != nil {
		r.URL.Path = "/api/items/" + m[1]
		r.URL.RawPath = ""
	}

	ew := newEdgeWriter(w, r, edgeStamp{requestID: id, path: r.URL.Path}, d)
	defer ew.finish()
	switch {
	case d.fail:
		h.errors.Add(1)
		ew.Header().Set("Content-Type", "text/html")
		code := http.StatusBadGateway
		if d.ErrorStatus >= 500 && d.ErrorStatus <= 599 {
			code = d.ErrorStatus
		}
		ew.WriteHeader(code)
		fmt.Fprintf(ew, "<html><head><title>%d %s</title></head></html>\n", code, http.StatusText(code))
	case r.URL.Path == "/edge/health":
		ew.Header().Set("Content-Type", "application/json")
		io.WriteString(ew, healthBody)
	case d.ChangeField != nil && strings.HasPrefix(r.URL.Path, d.ChangeField.Path):
		h.serveChangedField(ew, r, d.ChangeField)
	default:
		h.proxy.ServeHTTP(ew, r)
	}
}

// serveChangedField proxies to origin through a recorder and rewrites one
// field of a JSON object answer before it goes out.
func (h *candidateHandler) serveChangedField(w http.ResponseWriter, r *http.Request, c *FieldChange) {
	rec := &bufferedWriter{header: http.Header{}}
	h.proxy.ServeHTTP(rec, r)
	body := rec.body.Bytes()
	if strings.HasPrefix(rec.header.Get("Content-Type"), "application/json") && rec.header.Get("Content-Encoding") == "" {
		if changed, err := setJSONField(body, c.Field, c.Value); err == nil {
			body = changed
			rec.header.Set("Content-Length", strconv.Itoa(len(body)))
		}
	}
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.status)
	w.Write(body)
}

// setJSONField sets a dotted field path of a JSON object, keeping every
// other value as it was (numbers included).
func setJSONField(body []byte, field string, value json.RawMessage) ([]byte, error) {
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	keys := strings.Split(field, ".")
	obj := doc
	for _, k := range keys[:len(keys)-1] {
		next, ok := obj[k].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("no object at %q", k)
		}
		obj = next
	}
	obj[keys[len(keys)-1]] = value
	return json.Marshal(doc)
}

// resetConnection aborts the connection with a TCP RST, as a crashing
// proxy or a dropped connection looks to a client.
func resetConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}

func newRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func hostOnly(hostport string) string {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	return strings.ToLower(strings.Trim(host, "[]"))
}

func cacheControl(path string, status int) string {
	if status >= 400 {
		return "no-store"
	}
	for _, rule := range cacheRules {
		if strings.HasPrefix(path, rule.prefix) {
			return rule.value
		}
	}
	return cacheDefault
}

// bufferedWriter records a whole answer in memory.
type bufferedWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header { return b.header }
func (b *bufferedWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}
func (b *bufferedWriter) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}
