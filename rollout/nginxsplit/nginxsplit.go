// Package nginxsplit renders cutover's split for a legacy NGINX/Lua: a Lua
// module and three includes with which NGINX itself sends a sticky share
// of users to the candidate, by the mirror's bucket hash, at a weight set
// over an authenticated location (rollout's NGINX backend) without reload.
package nginxsplit

import (
	"bytes"
	"embed"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"text/template"

	"github.com/cutover/cutover/mirror"
)

//go:embed cutover_split.lua http.conf.tmpl server.conf.tmpl location.conf.tmpl
var files embed.FS

// Module is the name of the Lua module file.
const Module = "cutover_split.lua"

// The include files Render makes, by where they go.
const (
	HTTPInclude     = "cutover-split-http.conf"
	ServerInclude   = "cutover-split-server.conf"
	LocationInclude = "cutover-split-location.conf"
)

// Config says how the legacy NGINX splits.
type Config struct {
	// Candidate is the candidate's host:port.
	Candidate string
	// LegacyUpstream names the upstream block legacy proxies to today.
	LegacyUpstream string
	// CandidateUpstream names the upstream block made for the candidate
	// [cutover_candidate].
	CandidateUpstream string
	// Key says what identifies a user, as the mirror's --split-key: ip,
	// header:NAME or cookie:NAME [ip].
	Key string
	// Token guards the admin location (at least 16 characters).
	Token string
	// Location is the admin location's path [/cutover/split].
	Location string
	// Allow are addresses or CIDRs let into the admin location besides
	// the token (none: the token alone).
	Allow []string
	// LuaDir is where the module is installed, for the comment that says
	// how to put it on lua_package_path [/etc/nginx/lua].
	LuaDir string
}

// File is one rendered file.
type File struct {
	Name string
	Data []byte
	// Secret files hold the token.
	Secret bool
}

var (
	upstreamName = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)
	headerName   = regexp.MustCompile(`^[A-Za-z0-9-]+$`)
	cookieName   = regexp.MustCompile(`^[A-Za-z0-9_]+$`)
	location     = regexp.MustCompile(`^/[A-Za-z0-9_./-]*$`)
)

// Render validates cfg and returns the module and the includes.
func Render(cfg Config) ([]File, error) {
	if cfg.CandidateUpstream == "" {
		cfg.CandidateUpstream = "cutover_candidate"
	}
	if cfg.Location == "" {
		cfg.Location = "/cutover/split"
	}
	if cfg.LuaDir == "" {
		cfg.LuaDir = "/etc/nginx/lua"
	}
	if _, port, err := net.SplitHostPort(cfg.Candidate); err != nil || port == "" || strings.ContainsAny(cfg.Candidate, " ;{}") {
		return nil, fmt.Errorf("candidate %q: want host:port", cfg.Candidate)
	}
	for _, u := range []struct{ what, v string }{{"legacy upstream", cfg.LegacyUpstream}, {"candidate upstream", cfg.CandidateUpstream}} {
		if !upstreamName.MatchString(u.v) {
			return nil, fmt.Errorf("%s %q: want an NGINX upstream name", u.what, u.v)
		}
	}
	if cfg.LegacyUpstream == cfg.CandidateUpstream {
		return nil, fmt.Errorf("the legacy and candidate upstreams are both %q", cfg.LegacyUpstream)
	}
	if len(cfg.Token) < 16 || strings.IndexFunc(cfg.Token, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0 {
		return nil, fmt.Errorf("the admin token must be at least 16 printable ASCII characters, without spaces")
	}
	if !location.MatchString(cfg.Location) {
		return nil, fmt.Errorf("location %q: want a path like /cutover/split", cfg.Location)
	}
	for _, a := range cfg.Allow {
		if net.ParseIP(a) == nil {
			if _, _, err := net.ParseCIDR(a); err != nil {
				return nil, fmt.Errorf("allow %q: want an address or a CIDR", a)
			}
		}
	}
	keyExpr, keyDesc, err := keyVariable(cfg.Key)
	if err != nil {
		return nil, err
	}
	data := struct {
		Config
		KeyExpr, KeyDesc string
	}{cfg, keyExpr, keyDesc}
	lua, err := files.ReadFile(Module)
	if err != nil {
		return nil, err
	}
	out := []File{{Name: Module, Data: lua}}
	for _, f := range []struct {
		name, tmpl string
		secret     bool
	}{{HTTPInclude, "http.conf.tmpl", false}, {ServerInclude, "server.conf.tmpl", true}, {LocationInclude, "location.conf.tmpl", false}} {
		t, err := template.New(f.tmpl).Funcs(template.FuncMap{"lua": luaString}).ParseFS(files, f.tmpl)
		if err != nil {
			return nil, err
		}
		var b bytes.Buffer
		if err := t.Execute(&b, data); err != nil {
			return nil, fmt.Errorf("render %s: %w", f.name, err)
		}
		out = append(out, File{Name: f.name, Data: b.Bytes(), Secret: f.secret})
	}
	return out, nil
}

// keyVariable is the Lua expression that reads the user key of a request
// in NGINX, the same key the mirror's --split-key reads.
func keyVariable(spec string) (expr, desc string, err error) {
	kind, name, err := mirror.ParseSplitKey(spec)
	if err != nil {
		return "", "", err
	}
	switch kind {
	case "header":
		if !headerName.MatchString(name) {
			return "", "", fmt.Errorf("split key %q: NGINX reads only headers of letters, digits and dashes", spec)
		}
		return "ngx.var.http_" + strings.ReplaceAll(strings.ToLower(name), "-", "_"), "header " + name, nil
	case "cookie":
		if !cookieName.MatchString(name) {
			return "", "", fmt.Errorf("split key %q: NGINX reads only cookies of letters, digits and underscores", spec)
		}
		return "ngx.var.cookie_" + name, "cookie " + name, nil
	}
	return "nil", "client address", nil
}

// luaString quotes s as a Lua string literal inside an NGINX Lua block.
// NGINX's *_by_lua_block parser reads the braces, so those are escaped too.
func luaString(s string) string {
	q := strconv.Quote(s)
	q = strings.ReplaceAll(q, "{", `\123`)
	return strings.ReplaceAll(q, "}", `\125`)
}

// Write puts files into dir (the token's file readable by its owner only)
// and returns their paths by name.
func Write(dir string, files []File) (map[string]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	paths := map[string]string{}
	for _, f := range files {
		mode := os.FileMode(0o644)
		if f.Secret {
			mode = 0o600
		}
		p := filepath.Join(dir, f.Name)
		if err := os.WriteFile(p, f.Data, mode); err != nil {
			return nil, err
		}
		if err := os.Chmod(p, mode); err != nil {
			return nil, err
		}
		paths[f.Name] = p
	}
	return paths, nil
}
