package diff

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestEndpoint(t *testing.T) {
	t.Parallel()
	rules := &Rules{Endpoints: []string{"/users/{id}", "POST /users/{id}/avatar", "/files/{name}/raw"}}
	tests := []struct {
		name   string
		rules  *Rules
		method string
		uri    string
		want   string
	}{
		{"plain path", nil, "GET", "/api/items", "GET /api/items"},
		{"number", nil, "GET", "/api/items/42", "GET /api/items/{id}"},
		{"query dropped", nil, "GET", "/api/items/42?expand=1#top", "GET /api/items/{id}"},
		{"method upper-cased", nil, "get", "/", "GET /"},
		{"empty uri", nil, "GET", "", "GET /"},
		{"absolute uri", nil, "GET", "http://shop.example:8080/api/items/7?x=1", "GET /api/items/{id}"},
		{"absolute uri without path", nil, "GET", "https://shop.example?x=1", "GET /"},
		{"uuid", nil, "DELETE", "/orders/3f2b8c1e-9a4d-4c2e-8f1a-0b6e2d7c9a10/lines/3", "DELETE /orders/{id}/lines/{id}"},
		{"md5", nil, "GET", "/blobs/9e107d9d372bb6826bd81d3542a419d6", "GET /blobs/{id}"},
		{"sha1", nil, "GET", "/commits/2fd4e1c67a2d28fced849ee1bb76e7391b93eb12", "GET /commits/{id}"},
		{"sha256", nil, "GET", "/objects/d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592", "GET /objects/{id}"},
		{"long hex", nil, "GET", "/sessions/00ff00ff00ff00ff", "GET /sessions/{id}"},
		{"short hex stays", nil, "GET", "/colors/ff00ff", "GET /colors/ff00ff"},
		{"hex-looking word stays", nil, "GET", "/words/acceptedfacadebeef", "GET /words/acceptedfacadebeef"},
		{"version stays", nil, "GET", "/v2/items", "GET /v2/items"},
		{"trailing slash kept", nil, "GET", "/items/7/", "GET /items/{id}/"},
		{"template wins", rules, "GET", "/users/alice", "GET /users/{id}"},
		{"template for one method", rules, "POST", "/users/alice/avatar", "POST /users/{id}/avatar"},
		{"template for another method", rules, "PUT", "/users/alice/avatar", "PUT /users/alice/avatar"},
		{"template needs the same segments", rules, "GET", "/users/alice/posts", "GET /users/alice/posts"},
		{"template parameter is not empty", rules, "GET", "/users/", "GET /users/"},
		{"template then inference", rules, "GET", "/files/12/raw", "GET /files/{name}/raw"},
		{"no template falls back to inference", rules, "GET", "/teams/12", "GET /teams/{id}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, tt.rules.Endpoint(tt.method, tt.uri)); diff != "" {
				t.Errorf("Endpoint(%q, %q) (-want +got):\n%s", tt.method, tt.uri, diff)
			}
		})
	}
}

// TestEndpointAllocations keeps Endpoint cheap: it runs for every exchange.
func TestEndpointAllocations(t *testing.T) {
	rules := &Rules{Endpoints: []string{"/users/{id}", "GET /a/{b}/c"}}
	for _, uri := range []string{"/api/items/42?x=1", "/users/alice", "/static/app.js"} {
		if n := testing.AllocsPerRun(100, func() { _ = rules.Endpoint("GET", uri) }); n > 1 {
			t.Errorf("Endpoint(GET, %q) allocates %v times, want at most 1", uri, n)
		}
	}
}

func BenchmarkEndpoint(b *testing.B) {
	rules := &Rules{Endpoints: []string{"/users/{id}", "POST /users/{id}/avatar"}}
	b.ReportAllocs()
	for b.Loop() {
		_ = rules.Endpoint("GET", "/api/items/3f2b8c1e-9a4d-4c2e-8f1a-0b6e2d7c9a10/reviews/12?page=2")
	}
}
