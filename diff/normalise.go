package diff

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/andybalholm/brotli"
)

// maxDecodedBody bounds what undoing a content coding may produce, so that a
// small compressed body cannot take all the memory.
const maxDecodedBody = 64 << 20

// hopByHop headers describe one connection, not the answer (RFC 9110
// 7.6.1), so two proxies legitimately differ on them: never compared.
var hopByHop = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Te": true,
	"Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
}

// differsByDefault are headers that differ between any two proxies whatever
// they do: when the answer was made, by whom, through which hops.
// Content-Length is framing, like Transfer-Encoding: proxies choose between
// the two freely, and when the body differs in length the body comparison
// already says so, so comparing it would only count one change twice.
var differsByDefault = map[string]bool{"Date": true, "Server": true, "Age": true, "Via": true, "Content-Length": true}

// redactedByDefault are headers whose values are secrets.
var redactedByDefault = map[string]bool{
	"Authorization": true, "Proxy-Authorization": true, "Cookie": true, "Set-Cookie": true,
}

// listHeaders carry comma-separated lists (RFC 9110 5.6.1) whose elements
// are compared as a set; other headers are compared line by line, because
// commas inside them (dates, cookies) are not separators.
var listHeaders = map[string]bool{
	"Vary": true, "Allow": true, "Cache-Control": true, "Pragma": true, "Content-Language": true,
	"Access-Control-Allow-Headers": true, "Access-Control-Allow-Methods": true,
	"Access-Control-Expose-Headers": true, "Accept-Patch": true,
}

// namedLists are list headers whose elements are header names, so their case
// does not matter.
var namedLists = map[string]bool{
	"Vary": true, "Access-Control-Allow-Headers": true, "Access-Control-Expose-Headers": true,
}

// contentCodings returns the codings of a Content-Encoding header in the
// order they were applied, lower case, without "identity".
func contentCodings(h http.Header) []string {
	var out []string
	for _, v := range h.Values("Content-Encoding") {
		for c := range strings.SplitSeq(v, ",") {
			c = strings.ToLower(strings.TrimSpace(c))
			if c != "" && c != "identity" {
				out = append(out, c)
			}
		}
	}
	return out
}

// decodable reports whether every coding can be undone.
func decodable(codings []string) bool {
	for _, c := range codings {
		switch c {
		case "gzip", "x-gzip", "deflate", "br":
		default:
			return false
		}
	}
	return true
}

// decodeBody undoes the content codings of body, last applied first. On
// error it returns body as received, so the caller can still compare it.
func decodeBody(codings []string, body []byte) ([]byte, error) {
	out := body
	for i := len(codings) - 1; i >= 0; i-- {
		var err error
		if out, err = decodeOnce(codings[i], out); err != nil {
			return body, fmt.Errorf("undo %s: %w", codings[i], err)
		}
	}
	return out, nil
}

func decodeOnce(coding string, b []byte) ([]byte, error) {
	var r io.Reader
	switch coding {
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		r = zr
	case "deflate":
		// RFC 9110 says zlib-wrapped, but some servers send raw deflate.
		zr, err := zlib.NewReader(bytes.NewReader(b))
		if errors.Is(err, zlib.ErrHeader) {
			r = flate.NewReader(bytes.NewReader(b))
		} else if err != nil {
			return nil, err
		} else {
			r = zr
		}
	case "br":
		r = brotli.NewReader(bytes.NewReader(b))
	default:
		return nil, fmt.Errorf("unsupported content coding")
	}
	out, err := io.ReadAll(io.LimitReader(r, maxDecodedBody+1))
	if err != nil {
		return nil, err
	}
	if len(out) > maxDecodedBody {
		return nil, fmt.Errorf("decoded body over %d MiB", maxDecodedBody>>20)
	}
	return out, nil
}

// canonicalHeaders merges the keys of h that differ only in case, so that a
// hand-built header compares like a parsed one.
func canonicalHeaders(h http.Header) map[string][]string {
	canonical := true
	for k := range h {
		canonical = canonical && isCanonical(k)
	}
	if canonical {
		return h // what net/http and textproto build: no copy needed
	}
	out := make(map[string][]string, len(h))
	for k, vs := range h {
		ck := http.CanonicalHeaderKey(k)
		out[ck] = append(out[ck], vs...)
	}
	return out
}

// isCanonical reports whether http.CanonicalHeaderKey(k) == k, without
// building the canonical key: a key with a byte that is not a token byte
// is left as it is, one with a letter in the wrong case is not.
func isCanonical(k string) bool {
	wrongCase, upper := false, true
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case 'a' <= c && c <= 'z':
			wrongCase = wrongCase || upper
		case 'A' <= c && c <= 'Z':
			wrongCase = wrongCase || !upper
		case '0' <= c && c <= '9', strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return true // not a token: left unchanged
		}
		upper = c == '-'
	}
	return !wrongCase
}

// headerSet normalises the values of one header into a sorted set: each
// field line trimmed, list headers split into their elements, repeats
// dropped. compressed says either body had a content coding, which makes a
// weak ETag prefix meaningless (proxies weaken ETags when they compress).
func headerSet(name string, values []string, compressed bool) []string {
	if len(values) == 1 && !listHeaders[name] && name != "Etag" && strings.TrimSpace(values[0]) == values[0] {
		return values // most headers: one plain value, already the set (callers only read it)
	}
	set := make([]string, 0, len(values))
	for _, v := range values {
		if !listHeaders[name] {
			set = append(set, strings.TrimSpace(v))
			continue
		}
		for e := range strings.SplitSeq(v, ",") {
			if e = strings.TrimSpace(e); e == "" {
				continue
			}
			if namedLists[name] {
				e = http.CanonicalHeaderKey(e)
			}
			// Compressing or not is normalised away, and so is saying so.
			if name == "Vary" && e == "Accept-Encoding" {
				continue
			}
			set = append(set, e)
		}
	}
	if name == "Etag" && compressed {
		for i, v := range set {
			set[i] = strings.TrimPrefix(v, "W/")
		}
	}
	slices.Sort(set)
	return slices.Compact(set)
}
