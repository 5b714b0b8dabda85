package main

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/cutover/cutover/internal/fleettest"
	"github.com/cutover/cutover/internal/testbed"
	"github.com/cutover/cutover/rollout/nginxsplit"
)

func TestFrontDoorFlagsRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	plan := filepath.Join(dir, "plan.yaml")
	os.WriteFile(plan, []byte(longStepPlan), 0o644)
	token := filepath.Join(dir, "token")
	os.WriteFile(token, []byte("0123456789abcdef-cli\n"), 0o600)
	short := filepath.Join(dir, "short")
	os.WriteFile(short, []byte("short\n"), 0o600)
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := l.Addr().String()
	l.Close()
	state := filepath.Join(dir, "cutover.db")
	promPlan := filepath.Join(dir, "prom.yaml")
	os.WriteFile(promPlan, []byte(longStepPlan+"gates:\n  prometheus:\n    - {name: p5xx, query: 'up', min: 1}\n"), 0o644)
	badPromPlan := filepath.Join(dir, "badprom.yaml")
	os.WriteFile(badPromPlan, []byte(longStepPlan+"gates:\n  prometheus:\n    - {name: p5xx, query: 'up', min: 1, max: 2}\n"), 0o644)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"haproxy without servers", []string{"rollout", "run", "--state", state, "--plan", plan, "--backend", "haproxy:" + closed + "?backend=app"}, "want ADDR?backend=NAME"},
		{"haproxy unreachable", []string{"rollout", "run", "--state", state, "--plan", plan, "--backend", "haproxy:" + closed + "?backend=app&legacy=l&candidate=c"}, "runtime API"},
		{"nginx without token", []string{"rollout", "run", "--state", state, "--plan", plan, "--backend", "nginx:http://" + closed + "/cutover/split"}, "--backend-token-file"},
		{"nginx unreachable", []string{"rollout", "run", "--state", state, "--plan", plan, "--backend", "nginx:http://" + closed + "/cutover/split", "--backend-token-file", token}, "connection refused"},
		{"nginx not a URL", []string{"rollout", "run", "--state", state, "--plan", plan, "--backend", "nginx:" + closed, "--backend-token-file", token}, "want the http(s) URL"},
		{"mirror backend without mirrors", []string{"rollout", "run", "--state", state, "--plan", plan}, "needs the mirrors"},
		{"source backend with exec", []string{"rollout", "run", "--state", state, "--plan", plan, "--backend", "exec:true", "--source", "backend"}, "needs a haproxy: or nginx: --backend"},
		{"unknown source", []string{"rollout", "run", "--state", state, "--plan", plan, "--mirror", "http://" + closed, "--source", "graphite"}, `--source "graphite"`},
		{"prometheus gate without --prometheus", []string{"rollout", "run", "--state", state, "--plan", promPlan, "--mirror", "http://" + closed}, `prometheus gate "p5xx" has no url`},
		{"bad --prometheus", []string{"rollout", "run", "--state", state, "--plan", promPlan, "--mirror", "http://" + closed, "--prometheus", "localhost:9090"}, "want the http(s) URL of a Prometheus"},
		{"prometheus gate with max and min", []string{"rollout", "plan", "--plan", badPromPlan}, "needs one of max or min"},
		{"prometheus source not a URL", []string{"rollout", "run", "--state", state, "--plan", plan, "--mirror", "http://" + closed, "--source", "prometheus:" + closed}, "want prometheus: and the http(s) URL"},
		{"selector without prometheus", []string{"rollout", "run", "--state", state, "--plan", plan, "--mirror", "http://" + closed, "--source-selector", `job="x"`}, "--source-selector narrows a prometheus: source"},
		{"prometheus source unreachable", []string{"rollout", "run", "--state", state, "--plan", plan, "--mirror", "http://" + closed, "--source", "prometheus:http://" + closed}, "connection refused"},
		{"nginx-split without token", []string{"nginx-split", "--candidate", "10.0.0.2:80", "--legacy-upstream", "legacy"}, "--token-file is required"},
		{"nginx-split short token", []string{"nginx-split", "--candidate", "10.0.0.2:80", "--legacy-upstream", "legacy", "--token-file", short}, "at least 16"},
		{"nginx-split bad candidate", []string{"nginx-split", "--candidate", "10.0.0.2", "--legacy-upstream", "legacy", "--token-file", token}, "want host:port"},
		{"nginx-split bad key", []string{"nginx-split", "--candidate", "10.0.0.2:80", "--legacy-upstream", "legacy", "--token-file", token, "--split-key", "query:u"}, "split key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expectCLI(t, tt.args, 2, "", tt.want)
		})
	}
	out := expectCLI(t, []string{"nginx-split", "--candidate", "10.0.0.2:80", "--legacy-upstream", "legacy", "--token-file", token}, 0, "# ==> cutover_split.lua <==", "")
	for _, name := range []string{nginxsplit.HTTPInclude, nginxsplit.ServerInclude, nginxsplit.LocationInclude} {
		if !strings.Contains(out, "# ==> "+name+" <==") {
			t.Errorf("nginx-split printed no %s", name)
		}
	}
}

// The files nginx-split writes, loaded by the legacy NGINX, let
// `rollout run --backend nginx:` promote the candidate through its steps.
func TestNGINXSplitCLIRollout(t *testing.T) {
	bed := testbed.StartForTest(t, testbed.Config{})
	dir := t.TempDir()
	token := filepath.Join(dir, "token")
	os.WriteFile(token, []byte("0123456789abcdef-cli\n"), 0o600)
	split := filepath.Join(dir, "nginx")
	expectCLI(t, []string{"nginx-split", "--candidate", bed.Candidate.Addr, "--legacy-upstream", "origin", "--split-key", "header:X-User",
		"--token-file", token, "--dir", split}, 0, nginxsplit.LocationInclude, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n, err := testbed.StartNGINX(ctx, zerolog.Nop(), testbed.NGINXConfig{Origin: bed.Origin.Addr, Dir: split,
		HTTPIncludes:   []string{filepath.Join(split, nginxsplit.HTTPInclude)},
		ServerIncludes: []string{filepath.Join(split, nginxsplit.ServerInclude)}, LocationInclude: filepath.Join(split, nginxsplit.LocationInclude)})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	fleettest.Load(t, n.URL, 2, 2*time.Millisecond)
	plan := filepath.Join(dir, "plan.yaml")
	os.WriteFile(plan, []byte("name: canary\nsteps: [50, 100]\nhold: 1s\nmin_requests: 20\ninterval: 300ms\ngates: {latency: {disabled: true}, differences: {disabled: true}}\n"), 0o644)
	code, stdout, stderr := runCLI(t, "rollout", "run", "--state", filepath.Join(dir, "cutover.db"), "--plan", plan,
		"--backend", "nginx:"+n.URL+"/cutover/split", "--backend-token-file", token)
	if code != 0 || !strings.Contains(stdout, `rollout "canary": promoted at 100%`) {
		t.Errorf("rollout run: exit %d, %q; log:\n%s", code, stdout, stderr)
	}
}

// `rollout run --source prometheus:URL` judges a step from a Prometheus
// that scrapes the mirror, while the mirror's admin API sets the weight.
func TestPrometheusSourceCLIRollout(t *testing.T) {
	admin, m, token := mirrorForRollout(t)
	prom := testbed.StartPrometheusForTest(t, testbed.PrometheusConfig{Targets: []string{strings.TrimPrefix(admin, "http://")}, BearerToken: "tok"})
	waitForSeries(t, prom.URL, "cutover_mirror_exchanges_total")
	dir := t.TempDir()
	plan := filepath.Join(dir, "plan.yaml")
	os.WriteFile(plan, []byte("name: canary\nsteps: [50, 100]\nhold: 3s\nmin_requests: 10\ninterval: 1s\ngates: {latency: {disabled: true}, differences: {min_compared: 10}}\n"), 0o644)
	// A selector that matches no series leaves nothing to judge on.
	code, _, stderr := runCLI(t, "rollout", "run", "--state", filepath.Join(dir, "other.db"), "--plan", plan,
		"--mirror", admin, "--admin-token-file", token, "--source", "prometheus:"+prom.URL, "--source-selector", `job="elsewhere"`)
	if code != 2 || !strings.Contains(stderr, "no cutover_mirror_exchanges_total or cutover_tap_exchanges_total series") {
		t.Errorf("a selector matching nothing: exit %d, %q; want 2 and the series named", code, stderr)
	}
	code, stdout, stderr := runCLI(t, "rollout", "run", "--state", filepath.Join(dir, "cutover.db"), "--plan", plan,
		"--mirror", admin, "--admin-token-file", token, "--source", "prometheus:"+prom.URL, "--source-selector", `job="cutover"`)
	if code != 0 || !strings.Contains(stdout, `rollout "canary": promoted at 100%`) || m.Weight() != 100 {
		t.Errorf("rollout run: exit %d, %q, mirror at %g; log:\n%s", code, stdout, m.Weight(), stderr)
	}
}
