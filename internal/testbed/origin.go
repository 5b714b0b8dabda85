package testbed

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Origin routes. They look like an API behind a CDN: JSON objects and
// arrays, HTML, text, binary, a large body, a stream, an echo and answers
// that carry noise (a timestamp and a random id on every answer).
const (
	maxItemID     = 1000
	itemsPerPage  = 10
	binarySize    = 64 << 10
	largeSize     = 1<<20 + 4096 // at least 1 MB, on purpose not a round size
	streamChunks  = 5
	streamDelay   = 20 * time.Millisecond
	maxEchoBody   = 1 << 20
	maxStreamWait = 2 * time.Second
)

// OriginHandler returns the origin application. It is deterministic except
// for /api/noisy, whose timestamp and request id change on every answer.
func OriginHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /api/items/{id}", serveItem)
	mux.HandleFunc("GET /api/items", serveItems)
	mux.HandleFunc("GET /api/noisy", serveNoisy)
	mux.HandleFunc("GET /page", servePage)
	mux.HandleFunc("GET /old-page", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/page", http.StatusMovedPermanently)
	})
	mux.HandleFunc("GET /text", serveText)
	mux.HandleFunc("GET /binary", serveBinary)
	mux.HandleFunc("GET /large", serveLarge)
	mux.HandleFunc("GET /stream", serveStream)
	mux.HandleFunc("/echo", serveEcho)
	return mux
}

// Item is the JSON object origin serves for /api/items/{id}.
type Item struct {
	ID      int      `json:"id"`
	Name    string   `json:"name"`
	Price   float64  `json:"price"`
	Tags    []string `json:"tags"`
	Stock   Stock    `json:"stock"`
	Updated string   `json:"updated"`
}

// Stock is nested in Item so that differences have nested paths.
type Stock struct {
	Warehouse string `json:"warehouse"`
	Count     int    `json:"count"`
}

func itemByID(id int) Item {
	warehouses := []string{"ams", "fra", "lhr", "iad", "sin"}
	tags := []string{"new", "sale", "eco", "bulk", "gift", "limited"}
	return Item{
		ID:      id,
		Name:    fmt.Sprintf("Item %d", id),
		Price:   float64(id*137%10000) / 100,
		Tags:    []string{tags[id%len(tags)], tags[(id/2)%len(tags)]},
		Stock:   Stock{Warehouse: warehouses[id%len(warehouses)], Count: id * 7 % 50},
		Updated: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(id) * time.Hour).Format(time.RFC3339),
	}
}

func serveItem(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil || id < 1 || id > maxItemID {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such item"})
		return
	}
	writeJSON(w, http.StatusOK, itemByID(id))
}

func serveItems(w http.ResponseWriter, r *http.Request) {
	page := 1
	if p := r.URL.Query().Get("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "page must be a positive integer"})
			return
		}
		page = n
	}
	lastPage := maxItemID / itemsPerPage
	items := []Item{}
	for id := (page-1)*itemsPerPage + 1; id <= page*itemsPerPage && id <= maxItemID; id++ {
		items = append(items, itemByID(id))
	}
	body := map[string]any{"page": page, "pages": lastPage, "items": items}
	if page < lastPage {
		body["next"] = fmt.Sprintf("/api/items?page=%d", page+1)
	}
	writeJSON(w, http.StatusOK, body)
}

func serveNoisy(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"generated_at": time.Now().UTC().Format(time.RFC3339Nano),
		"request_id":   randomID(),
		"value":        42,
		"status":       "ok",
	})
}

func servePage(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	var b strings.Builder
	b.WriteString("<!doctype html>\n<html lang=\"en\">\n<head><title>Catalogue</title></head>\n<body>\n<h1>Catalogue</h1>\n<ul>\n")
	for id := 1; id <= 20; id++ {
		it := itemByID(id)
		fmt.Fprintf(&b, "<li><a href=\"/api/items/%d\">%s</a> %.2f</li>\n", it.ID, it.Name, it.Price)
	}
	b.WriteString("</ul>\n</body>\n</html>\n")
	io.WriteString(w, b.String())
}

func serveText(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	for i := 1; i <= 50; i++ {
		fmt.Fprintf(w, "line %d: the quick brown fox jumps over the lazy dog\n", i)
	}
}

func serveBinary(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(binarySize))
	w.Write(pattern(binarySize))
}

func serveLarge(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(largeSize))
	w.Write(pattern(largeSize))
}

// pattern is deterministic, incompressible-looking bytes (an LCG), so that a
// body cut or altered anywhere is noticed.
func pattern(n int) []byte {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x = x*1664525 + 1013904223
		b[i] = byte(x >> 24)
	}
	return b
}

// serveStream sends a chunked answer whose pieces arrive over time.
// X-Accel-Buffering tells NGINX not to buffer it, as a streaming API would.
func serveStream(w http.ResponseWriter, r *http.Request) {
	chunks := streamChunks
	if n, err := strconv.Atoi(r.URL.Query().Get("chunks")); err == nil && n > 0 && n <= 1000 {
		chunks = n
	}
	delay := streamDelay
	if ms, err := strconv.Atoi(r.URL.Query().Get("delay_ms")); err == nil && ms >= 0 && time.Duration(ms)*time.Millisecond <= maxStreamWait {
		delay = time.Duration(ms) * time.Millisecond
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Accel-Buffering", "no")
	flusher, _ := w.(http.Flusher)
	for i := 1; i <= chunks; i++ {
		fmt.Fprintf(w, "chunk %d of %d\n", i, chunks)
		if flusher != nil {
			flusher.Flush()
		}
		if i < chunks {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
	}
}

// EchoReply is what /echo answers: the request as origin received it.
type EchoReply struct {
	Method  string              `json:"method"`
	URI     string              `json:"uri"`
	Host    string              `json:"host"`
	Headers map[string][]string `json:"headers"`
	Body    string              `json:"body"`
}

func serveEcho(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxEchoBody+1))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	if len(body) > maxEchoBody {
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": "body over 1 MiB"})
		return
	}
	writeJSON(w, http.StatusOK, EchoReply{Method: r.Method, URI: r.RequestURI, Host: r.Host, Headers: r.Header, Body: string(body)})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

func randomID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
