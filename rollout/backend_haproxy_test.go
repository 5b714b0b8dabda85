package rollout

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/cutover/cutover/internal/testbed"
)

func TestParseHAProxy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		spec, network, address, err string
	}{
		{spec: "/run/haproxy/admin.sock?backend=app&legacy=l&candidate=c", network: "unix", address: "/run/haproxy/admin.sock"},
		{spec: "unix:rel.sock?backend=app&legacy=l&candidate=c", network: "unix", address: "rel.sock"},
		{spec: "127.0.0.1:9999?backend=app&legacy=l&candidate=c", network: "tcp", address: "127.0.0.1:9999"},
		{spec: "127.0.0.1:9999?backend=app&legacy=l", err: "want ADDR?backend"},
		{spec: "127.0.0.1:9999?backend=app&legacy=l&candidate=l", err: "two different servers"},
		{spec: "localhost?backend=app&legacy=l&candidate=c", err: "socket path or host:port"},
		{spec: "127.0.0.1:9999?backend=app&legacy=l&candidate=c&weight=3", err: `unknown parameter "weight"`},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			h, err := ParseHAProxy(tt.spec)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one with %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if h.Network != tt.network || h.Address != tt.address || h.Backend != "app" {
				t.Errorf("got %s %s backend %s", h.Network, h.Address, h.Backend)
			}
		})
	}
}

// twoServers starts two plain servers that say who they are.
func twoServers(t *testing.T) (legacy, candidate string) {
	t.Helper()
	start := func(name string) string {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/fail" && name == "candidate" {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
			io.WriteString(w, name)
		}))
		t.Cleanup(s.Close)
		return strings.TrimPrefix(s.URL, "http://")
	}
	return start("legacy"), start("candidate")
}

func TestHAProxySetsConfirmsAndMeasures(t *testing.T) {
	legacy, candidate := twoServers(t)
	hp := testbed.StartHAProxyForTest(t, testbed.HAProxyConfig{Legacy: legacy, Candidate: candidate, Balance: "roundrobin"})
	ctx := context.Background()
	for _, addr := range []string{hp.Socket, hp.APIAddr} {
		t.Run(addr, func(t *testing.T) {
			h, err := ParseHAProxy(addr + "?backend=app&legacy=legacy&candidate=candidate")
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range []float64{5, 25, 100, 0} {
				if err := h.SetWeight(ctx, w); err != nil {
					t.Fatalf("set %g: %v", w, err)
				}
				got, err := h.weights(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if got.share() != w {
					t.Errorf("set %g%%: HAProxy holds legacy %d, candidate %d (%g%%)", w, got.legacy, got.candidate, got.share())
				}
			}
		})
	}

	h, _ := ParseHAProxy(hp.Socket + "?backend=app&legacy=legacy&candidate=candidate")
	if err := h.SetWeight(ctx, 25); err != nil {
		t.Fatal(err)
	}
	t.Run("measure", func(t *testing.T) {
		if m, err := h.Measure(ctx, "w1"); err != nil || m.Legacy.Requests+m.Candidate.Requests != 0 {
			t.Fatalf("opening a window: %+v, %v; want nothing counted yet", m, err)
		}
		served := map[string]int{}
		for i := range 400 {
			path := "/"
			if i%10 == 0 {
				path = "/fail"
			}
			resp, err := http.Get(hp.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			served[string(b)]++
		}
		m, err := h.Measure(ctx, "w1")
		if err != nil {
			t.Fatal(err)
		}
		// Round robin at 50/150: a quarter to the candidate.
		if m.Candidate.Requests != int64(served["candidate"]) || m.Legacy.Requests != int64(served["legacy"]) || served["candidate"] < 95 || served["candidate"] > 105 {
			t.Errorf("measured legacy %d, candidate %d; the servers answered %v", m.Legacy.Requests, m.Candidate.Requests, served)
		}
		if m.Candidate.Errors == 0 || m.Legacy.Errors != 0 {
			t.Errorf("errors: legacy %d, candidate %d; want the candidate's 503s only", m.Legacy.Errors, m.Candidate.Errors)
		}
	})

	t.Run("drift", func(t *testing.T) {
		if err := h.command(ctx, "set weight app/candidate 120", nil); err != nil {
			t.Fatal(err)
		}
		err := h.SetWeight(ctx, 25)
		var drift *DriftError
		if !errors.As(err, &drift) || drift.Set != 25 || drift.Found != 44.4 {
			t.Fatalf("after a change by hand: %v, want a drift from 25%% to 44.4%% (120 of 270)", err)
		}
		if got, _ := h.weights(ctx); got.share() != 25 {
			t.Errorf("after the drift, HAProxy holds %+v, want 25%% restored", got)
		}
		if err := h.SetWeight(ctx, 25); err != nil {
			t.Errorf("once restored: %v, want no drift", err)
		}
	})

	t.Run("failures", func(t *testing.T) {
		bad, _ := ParseHAProxy(hp.Socket + "?backend=app&legacy=legacy&candidate=nosuch")
		bad.Attempts = 1
		if err := bad.SetWeight(ctx, 5); err == nil || !strings.Contains(err.Error(), "No such server") {
			t.Errorf("unknown server: %v", err)
		}
		l, _ := net.Listen("tcp", "127.0.0.1:0")
		gone := l.Addr().String()
		l.Close()
		down, _ := ParseHAProxy(gone + "?backend=app&legacy=legacy&candidate=candidate")
		err := down.SetWeight(ctx, 5)
		if err == nil || !strings.Contains(err.Error(), "runtime API") || !strings.Contains(err.Error(), "after 3 attempts") {
			t.Errorf("unreachable runtime API: %v", err)
		}
	})
}

// With the README's `balance hash` and `hash-type consistent`, weights set
// at runtime take effect, each user stays on one side, and raising the
// weight only moves users from legacy to the candidate.
func TestHAProxyStickyHashing(t *testing.T) {
	legacy, candidate := twoServers(t)
	hp := testbed.StartHAProxyForTest(t, testbed.HAProxyConfig{Legacy: legacy, Candidate: candidate})
	h, err := ParseHAProxy(hp.APIAddr + "?backend=app&legacy=legacy&candidate=candidate")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	client := &http.Client{}
	sides := func() map[string]string {
		out := map[string]string{}
		for u := range 2000 {
			user := "u" + strconv.Itoa(u)
			for range 2 { // twice each: a user always gets the same side
				req, _ := http.NewRequest("GET", hp.URL+"/", nil)
				req.Header.Set("X-User", user)
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if prev, ok := out[user]; ok && prev != string(b) {
					t.Fatalf("user %s served by %s then %s at one weight", user, prev, b)
				}
				out[user] = string(b)
			}
		}
		return out
	}
	share := func(s map[string]string) float64 {
		n := 0
		for _, side := range s {
			if side == "candidate" {
				n++
			}
		}
		return 100 * float64(n) / float64(len(s))
	}
	if err := h.SetWeight(ctx, 25); err != nil {
		t.Fatal(err)
	}
	at25 := sides()
	if err := h.SetWeight(ctx, 50); err != nil {
		t.Fatal(err)
	}
	at50 := sides()
	// 2000 users: the binomial spread alone is about a point.
	if s25, s50 := share(at25), share(at50); s25 < 20 || s25 > 30 || s50 < 45 || s50 > 55 {
		t.Errorf("users on the candidate: %.1f%% at 25, %.1f%% at 50", s25, s50)
	}
	moved := 0
	for u, side := range at25 {
		if side == "candidate" && at50[u] == "legacy" {
			moved++
		}
	}
	if moved > 0 {
		t.Errorf("%d users on the candidate at 25%% were back on legacy at 50%%", moved)
	}
}

func FuzzParseHAProxy(f *testing.F) {
	f.Add("/run/haproxy/admin.sock?backend=app&legacy=l&candidate=c")
	f.Add("127.0.0.1:9999?backend=app&legacy=l&candidate=c")
	f.Add("unix:?%zz")
	f.Fuzz(func(t *testing.T, spec string) {
		h, err := ParseHAProxy(spec)
		if err == nil && (h.Address == "" || h.Backend == "" || h.Legacy == h.Candidate) {
			t.Fatalf("accepted %q as %+v", spec, h)
		}
	})
}

func FuzzParseStat(f *testing.F) {
	f.Add("# pxname,svname,stot,hrsp_5xx,req_tot,econ,eresp,\napp,legacy,10,1,12,0,0,\napp,candidate,5,2,6,1,0,\n")
	f.Add("# pxname,svname\n\"app,x\n")
	h := &HAProxy{Backend: "app", Legacy: "legacy", Candidate: "candidate"}
	f.Fuzz(func(t *testing.T, out string) {
		l, c, err := h.parseStat(out)
		if err == nil && (l.Requests < 0 || l.Errors < 0 || c.Requests < 0 || c.Errors < 0) {
			t.Fatalf("negative counts: %+v %+v", l, c)
		}
	})
}
