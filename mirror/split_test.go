package mirror

import (
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
)

func userRequest(i int) *http.Request {
	r, _ := http.NewRequest("GET", "http://mirror/api/items/1", nil)
	r.RemoteAddr = fmt.Sprintf("10.%d.%d.%d:%d", i>>16&255, i>>8&255, i&255, 40000+i%20000)
	return r
}

func TestWeightSharesAreAccurateAndMonotone(t *testing.T) {
	t.Parallel()
	const users = 10000
	all := 100.0
	s := newSplitter(Config{SplitKey: "ip", Sample: &all})
	onCandidate := map[float64]map[int]bool{}
	for _, w := range []float64{5, 10, 50} {
		s.setWeight(w)
		onCandidate[w] = map[int]bool{}
		for i := range users {
			if side, _ := s.route(userRequest(i)); side == sideCandidate {
				onCandidate[w][i] = true
			}
		}
		share := 100 * float64(len(onCandidate[w])) / users
		if math.Abs(share-w) > 1 {
			t.Errorf("weight %g: %.2f%% of users on the candidate, want within ±1 point", w, share)
		}
	}
	for i := range onCandidate[5] {
		if !onCandidate[10][i] || !onCandidate[50][i] {
			t.Fatalf("user %d was on the candidate at 5%% but on legacy at a higher weight", i)
		}
	}
}

func TestRouting(t *testing.T) {
	t.Parallel()
	all, none := 100.0, 0.0
	tests := []struct {
		name        string
		cfg         Config
		header      http.Header
		wantSide    side
		wantSampled bool
	}{
		{"weight 0 is legacy", Config{Weight: 0, Sample: &all}, nil, sideLegacy, true},
		{"weight 100 is candidate", Config{Weight: 100, Sample: &all}, nil, sideCandidate, true},
		{"force candidate", Config{Weight: 0, ForceHeader: "X-Cutover", Sample: &all}, http.Header{"X-Cutover": {"Candidate"}}, sideCandidate, true},
		{"force legacy", Config{Weight: 100, ForceHeader: "X-Cutover", Sample: &all}, http.Header{"X-Cutover": {"legacy"}}, sideLegacy, true},
		{"force header ignored when not configured", Config{Weight: 0, Sample: &all}, http.Header{"X-Cutover": {"candidate"}}, sideLegacy, true},
		{"sample 0 shadows nobody", Config{Weight: 0, Sample: &none}, nil, sideLegacy, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newSplitter(tt.cfg.withDefaults())
			r := userRequest(7)
			for k, v := range tt.header {
				r.Header[k] = v
			}
			side, sampled := s.route(r)
			if side != tt.wantSide || sampled != tt.wantSampled {
				t.Errorf("route = %v sampled %v, want %v sampled %v", side, sampled, tt.wantSide, tt.wantSampled)
			}
		})
	}
}

func TestSplitKeys(t *testing.T) {
	t.Parallel()
	all := 100.0
	tests := []struct {
		key     string
		prepare func(r *http.Request)
		want    string
	}{
		{"ip", nil, "10.0.0.7"},
		{"header:X-User", func(r *http.Request) { r.Header.Set("X-User", "u-42") }, "u-42"},
		{"header:X-User", nil, "10.0.0.7"},
		{"cookie:session", func(r *http.Request) { r.AddCookie(&http.Cookie{Name: "session", Value: "abc"}) }, "abc"},
		{"cookie:session", nil, "10.0.0.7"},
	}
	for _, tt := range tests {
		s := newSplitter(Config{SplitKey: tt.key, Sample: &all})
		r := userRequest(7)
		if tt.prepare != nil {
			tt.prepare(r)
		}
		if got := s.userKey(r); got != tt.want {
			t.Errorf("split key %s: user key %q, want %q", tt.key, got, tt.want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	bad := -1.0
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no targets", Config{}, "legacy: a URL is required"},
		{"weight over 100", Config{Weight: 101}, "weight must be between 0 and 100"},
		{"negative sample", Config{Sample: &bad}, "sample must be between 0 and 100"},
		{"bad split key", Config{SplitKey: "header:"}, `split key "header:"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate() = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}
