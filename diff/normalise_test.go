package diff

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDecodeBody(t *testing.T) {
	t.Parallel()
	const text = "hello, hello, hello"
	tests := []struct {
		name     string
		encoding string
		body     string
		want     string
		wantErr  string
	}{
		{"none", "", text, text, ""},
		{"identity", "identity", text, text, ""},
		{"gzip", "gzip", compress(t, "gzip", text), text, ""},
		{"x-gzip, upper case", "X-GZIP", compress(t, "gzip", text), text, ""},
		{"zlib deflate", "deflate", compress(t, "deflate", text), text, ""},
		{"raw deflate", "deflate", compress(t, "raw-deflate", text), text, ""},
		{"brotli", "br", compress(t, "br", text), text, ""},
		{"stacked, last applied undone first", "deflate, br", compress(t, "br", compress(t, "deflate", text)), text, ""},
		{"unknown", "zstd", text, text, "undo zstd: unsupported content coding"},
		{"damaged", "gzip", compress(t, "gzip", text)[:12], compress(t, "gzip", text)[:12], "undo gzip: unexpected EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := decodeBody(contentCodings(http.Header{"Content-Encoding": {tt.encoding}}), []byte(tt.body))
			if gotErr := errText(err); gotErr != tt.wantErr {
				t.Errorf("error = %q, want %q", gotErr, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("decodeBody (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDecodeBodyBomb checks that decoding stops at maxDecodedBody.
func TestDecodeBodyBomb(t *testing.T) {
	t.Parallel()
	bomb := compress(t, "gzip", strings.Repeat("\x00", maxDecodedBody+1))
	_, err := decodeBody([]string{"gzip"}, []byte(bomb))
	if want := "undo gzip: decoded body over 64 MiB"; errText(err) != want {
		t.Errorf("error = %v, want %q", err, want)
	}
}

func TestHeaderSet(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		header     string
		values     []string
		compressed bool
		want       []string
	}{
		{"lines trimmed, sorted, unique", "X-A", []string{" b ", "a", "b"}, false, []string{"a", "b"}},
		{"commas kept in ordinary headers", "Set-Cookie", []string{"a=1; Expires=Wed, 01 May 2024 12:00:00 GMT"}, false,
			[]string{"a=1; Expires=Wed, 01 May 2024 12:00:00 GMT"}},
		{"list headers split", "Cache-Control", []string{"public, max-age=60", "no-transform"}, false,
			[]string{"max-age=60", "no-transform", "public"}},
		{"vary names canonical, accept-encoding dropped", "Vary", []string{"accept-encoding, origin", "Cookie"}, false,
			[]string{"Cookie", "Origin"}},
		{"weak etag when compressed", "Etag", []string{`W/"x"`}, true, []string{`"x"`}},
		{"weak etag otherwise", "Etag", []string{`W/"x"`}, false, []string{`W/"x"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, headerSet(tt.header, tt.values, tt.compressed)); diff != "" {
				t.Errorf("headerSet (-want +got):\n%s", diff)
			}
		})
	}
}

func TestIsCanonical(t *testing.T) {
	t.Parallel()
	for _, k := range []string{"", "Content-Type", "content-type", "X-Request-Id", "X-REQUEST-ID", "Etag", "ETag",
		"X-1a", "x", "X", "-a", "A-", "Key With Space", "key with space", "k\u00e9y", "Ke(y)", "Www-Authenticate", "WWW-Authenticate"} {
		if got, want := isCanonical(k), http.CanonicalHeaderKey(k) == k; got != want {
			t.Errorf("isCanonical(%q) = %v, want %v", k, got, want)
		}
	}
}
