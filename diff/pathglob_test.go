package diff

import "testing"

func TestGlobMatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		glob, path string
		under      bool
		want       bool
	}{
		{"body.meta.*", "body.meta.rid", false, true},
		{"body.meta.*", "body.meta", false, false},
		{"body.meta.*", "body.meta.a.b", false, false},
		{"body.meta.*", "body.meta.a.b", true, true},
		{"body.meta", "body.metadata", true, false},
		{"body.items", "body.items[].price", true, true},
		{"body.items", "body.items[].price", false, false},
		{"body.items[].*", "body.items[].price", false, true},
		{"body.**.id", "body.a.b[].id", false, true},
		{"body.**.id", "body.id", false, false},
		{"**", "status", false, true},
		{"*.id", "body.id", false, true},
		{"header.x-request-id", "header.X-Request-Id", false, true},
		{"header.X-*", "header.x-cache", false, true},
		{"body.X", "body.x", false, false},
		{"status", "status", false, true},
		{"body", "body.a", true, true},
		{"body", "body[].a", true, true},
	}
	for _, tt := range tests {
		if got := globMatch(tt.glob, tt.path, tt.under); got != tt.want {
			t.Errorf("globMatch(%q, %q, under=%v) = %v, want %v", tt.glob, tt.path, tt.under, got, tt.want)
		}
	}
}

func TestNameGlobs(t *testing.T) {
	t.Parallel()
	g := nameGlobs{"x-cache*", "Server"}
	for name, want := range map[string]bool{"X-Cache": true, "X-Cache-Key": true, "server": true, "X-Cach": false, "Date": false} {
		if got := g.match(name); got != want {
			t.Errorf("match(%q) = %v, want %v", name, got, want)
		}
	}
}
