package nginxsplit

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"

	"github.com/cutover/cutover/internal/testbed"
	"github.com/cutover/cutover/mirror"
)

var update = flag.Bool("update", false, "rewrite the golden files")

const testToken = "0123456789abcdef-test"

func TestRenderGolden(t *testing.T) {
	t.Parallel()
	files, err := Render(Config{Candidate: "10.0.0.2:8080", LegacyUpstream: "legacy", Key: "header:X-User", Token: testToken, Allow: []string{"10.0.0.0/8"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files[1:] {
		t.Run(f.Name, func(t *testing.T) {
			golden := filepath.Join("testdata", f.Name)
			if *update {
				os.WriteFile(golden, f.Data, 0o644)
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(string(want), string(f.Data)); d != "" {
				t.Errorf("%s (-want +got):\n%s", f.Name, d)
			}
		})
	}
}

func TestRenderRefuses(t *testing.T) {
	t.Parallel()
	good := Config{Candidate: "10.0.0.2:8080", LegacyUpstream: "legacy", Token: testToken}
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no candidate port", func(c *Config) { c.Candidate = "10.0.0.2" }, "want host:port"},
		{"injected upstream", func(c *Config) { c.LegacyUpstream = "x; }" }, "upstream name"},
		{"same upstreams", func(c *Config) { c.CandidateUpstream = "legacy" }, "both"},
		{"short token", func(c *Config) { c.Token = "short" }, "at least 16"},
		{"token with a space", func(c *Config) { c.Token = "0123456789abcdef x" }, "without spaces"},
		{"bad key", func(c *Config) { c.Key = "query:u" }, "split key"},
		{"header NGINX cannot read", func(c *Config) { c.Key = "header:X_User" }, "dashes"},
		{"bad allow", func(c *Config) { c.Allow = []string{"everyone"} }, "CIDR"},
		{"bad location", func(c *Config) { c.Location = "cutover" }, "location"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			tt.edit(&c)
			if _, err := Render(c); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one with %q", err, tt.want)
			}
		})
	}
}

func FuzzRender(f *testing.F) {
	f.Add("10.0.0.2:8080", "legacy", "header:X-User", testToken, "/cutover/split")
	f.Add("[::1]:80", "a.b", "cookie:sid", "{}}}{{{{{{{{{{{{{{{", "/")
	f.Fuzz(func(t *testing.T, cand, up, key, token, loc string) {
		files, err := Render(Config{Candidate: cand, LegacyUpstream: up, Key: key, Token: token, Location: loc})
		if err != nil {
			return
		}
		// What is accepted never breaks out of its Lua string or line.
		for _, f := range files[1:] {
			for _, line := range strings.Split(string(f.Data), "\n") {
				if strings.Contains(line, "require") && strings.Count(line, `"`)%2 != 0 {
					t.Fatalf("%s: unbalanced quotes in %q", f.Name, line)
				}
			}
		}
	})
}

// splitNGINX starts a legacy NGINX that splits by itself between origin and
// candidate, by key.
func splitNGINX(t *testing.T, key, candidate string) (*testbed.NGINX, string) {
	t.Helper()
	bed := testbed.StartForTest(t, testbed.Config{})
	if candidate == "" {
		candidate = bed.Candidate.Addr
	}
	dir := filepath.Join(t.TempDir(), "split")
	files, err := Render(Config{Candidate: candidate, LegacyUpstream: "origin", Key: key, Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	paths, err := Write(dir, files)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n, err := testbed.StartNGINX(ctx, zerolog.Nop(), testbed.NGINXConfig{Origin: bed.Origin.Addr, Dir: dir,
		HTTPIncludes: []string{paths[HTTPInclude]}, ServerIncludes: []string{paths[ServerInclude]}, LocationInclude: paths[LocationInclude]})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); n.Stop() })
	return n, n.URL + "/cutover/split"
}

func admin(t *testing.T, method, u, token, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// The Lua module's bucket is the mirror's, on keys of every shape: a user
// keeps their side whether the mirror or NGINX splits.
func TestLuaBucketIsTheMirrors(t *testing.T) {
	_, adminURL := splitNGINX(t, "header:X-User", "")
	keys := []string{"", "a", "u1", "10.1.2.3", "user@example.com", "ümlaut-ключ-鍵", "with space", `quote"back\slash`, strings.Repeat("z", 300)}
	for i := range 3000 {
		keys = append(keys, fmt.Sprintf("u%d-%d", i, i*7919))
	}
	for i := range 256 {
		keys = append(keys, string([]byte{byte(i), byte(255 - i), 'k'}))
	}
	mismatches := 0
	for _, k := range keys {
		if k == "" {
			continue // an empty ?key= is no key
		}
		code, got := admin(t, "GET", adminURL+"?key="+url.QueryEscape(k), testToken, "")
		if code != http.StatusOK {
			t.Fatalf("GET ?key=%q: %d %v", k, code, got)
		}
		if b, want := got["bucket"].(float64), mirror.UserBucket(k); int64(b) != want {
			mismatches++
			if mismatches < 10 {
				t.Errorf("key %q: Lua bucket %v, mirror's %d", k, got["bucket"], want)
			}
		}
	}
	if mismatches > 0 {
		t.Errorf("%d of %d keys in another bucket", mismatches, len(keys))
	}
}

func TestAdminLocation(t *testing.T) {
	n, adminURL := splitNGINX(t, "header:X-User", "")
	tests := []struct {
		name, method, token, body string
		code                      int
		weight                    float64
	}{
		{"no token", "GET", "", "", 401, 0},
		{"wrong token", "PUT", "0123456789abcdef-nope", `{"weight": 50}`, 401, 0},
		{"unset reads 0", "GET", testToken, "", 200, 0},
		{"set", "PUT", testToken, `{"weight": 12.5}`, 200, 12.5},
		{"over 100", "PUT", testToken, `{"weight": 101}`, 400, 12.5},
		{"not JSON", "PUT", testToken, `weight=5`, 400, 12.5},
		{"delete", "DELETE", testToken, "", 405, 12.5},
		{"set 0", "PUT", testToken, `{"weight":0}`, 200, 0},
	}
	for _, tt := range tests {
		code, _ := admin(t, tt.method, adminURL, tt.token, tt.body)
		_, st := admin(t, "GET", adminURL, testToken, "")
		if code != tt.code || st["weight"] != tt.weight {
			t.Errorf("%s: %d, weight %v; want %d, weight %g", tt.name, code, st["weight"], tt.code, tt.weight)
		}
	}
	// The weight is in effect on the very next request, without reload.
	user := func(side string) string {
		for i := 0; ; i++ {
			k := fmt.Sprintf("u%d", i)
			if (mirror.UserBucket(k) < 5000) == (side == "candidate") {
				return k
			}
		}
	}
	// served sends a request as the user and says which side's count grew.
	served := func(key string) string {
		_, before := admin(t, "GET", adminURL, testToken, "")
		req, _ := http.NewRequest("GET", n.URL+"/api/items/1", nil)
		req.Header.Set("X-User", key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		_, after := admin(t, "GET", adminURL, testToken, "")
		count := func(st map[string]any, side string) float64 {
			return st["served"].(map[string]any)[side].(map[string]any)["requests"].(float64)
		}
		for _, side := range []string{"legacy", "candidate"} {
			if count(after, side) == count(before, side)+1 {
				return side
			}
		}
		t.Fatalf("no side counted the request: %v then %v", before, after)
		return ""
	}
	if s := served(user("candidate")); s != "legacy" {
		t.Errorf("at 0%%, a candidate user is served by %s", s)
	}
	admin(t, "PUT", adminURL, testToken, `{"weight": 50}`)
	if s := served(user("candidate")); s != "candidate" {
		t.Errorf("at 50%%, a candidate user is served by %s", s)
	}
	if s := served(user("legacy")); s != "legacy" {
		t.Errorf("at 50%%, a legacy user is served by %s", s)
	}
	admin(t, "PUT", adminURL, testToken, `{"weight": 0}`)
	if s := served(user("candidate")); s != "legacy" {
		t.Errorf("rolled back to 0, the next request of a candidate user is served by %s", s)
	}
}
