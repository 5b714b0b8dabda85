package testbed

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/rs/zerolog"
)

// An edge candidate is the legacy edge itself, NGINX/Lua with the same
// config, except that one endpoint answers one field changed: a candidate
// that agrees with legacy everywhere else by construction, and costs what
// legacy costs to run (the Go fixture costs several times more per
// request, which on a 2-core machine is taken from legacy's clients).

// edgeChangeTemplate is the location that changes the field: the edge's own
// header filter, then the body rewritten once whole (a body filter sees
// chunks; item answers are one or two).
const edgeChangeTemplate = `location = %s {
    proxy_pass http://origin;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header Host $host;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_set_header X-Forwarded-Proto $scheme;
    # Legacy does not compress answers under gzip_min_length (an item is);
    # without a length known up front this one would be, and say Vary.
    gzip off;
    header_filter_by_lua_block {
        require("edge").header_filter()
        ngx.header.content_length = nil
    }
    body_filter_by_lua_block {
        local ctx = ngx.ctx
        ctx.body = (ctx.body or "") .. (ngx.arg[1] or "")
        if not ngx.arg[2] then
            ngx.arg[1] = nil
            return
        end
        ngx.arg[1] = ngx.re.sub(ctx.body, [[%s]], [[%s]], "jo")
    }
}
`

// plainField is what an edge change can name: a top-level JSON member.
var plainField = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// StartEdgeCandidate starts an NGINX/Lua edge in dir, in front of origin,
// that answers change.Field set to change.Value on exactly the path
// change.Path and like legacy everywhere else.
func StartEdgeCandidate(ctx context.Context, log zerolog.Logger, origin, dir string, change FieldChange) (*NGINX, error) {
	if !strings.HasPrefix(change.Path, "/") || !plainField.MatchString(change.Field) || !json.Valid(change.Value) {
		return nil, fmt.Errorf("edge candidate: want a path, a top-level field and a JSON value, got %+v", change)
	}
	if strings.ContainsAny(change.Path, " ;{}\"'") || strings.Contains(string(change.Value), "]]") {
		return nil, fmt.Errorf("edge candidate: path %q or value %s cannot be written into an NGINX config", change.Path, change.Value)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("edge candidate dir: %w", err)
	}
	// A JSON member's value up to the next member or the object's end:
	// enough for the scalars origin serves.
	pattern := fmt.Sprintf(`"%s":[^,}]*`, change.Field)
	repl := fmt.Sprintf(`"%s":%s`, change.Field, change.Value)
	inc := filepath.Join(dir, "change.conf")
	if err := os.WriteFile(inc, fmt.Appendf(nil, edgeChangeTemplate, change.Path, pattern, repl), 0o644); err != nil {
		return nil, fmt.Errorf("edge candidate: %w", err)
	}
	n, err := StartNGINX(ctx, log, NGINXConfig{Origin: origin, Dir: dir, ServerIncludes: []string{inc}})
	if err != nil {
		return nil, fmt.Errorf("edge candidate: %w", err)
	}
	return n, nil
}
