package rollout

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// NGINXSplit sets the weight of the split that the legacy NGINX runs by
// itself (rollout/nginxsplit's Lua module) through its admin location, and
// reads what each side served from it as a step's measure. The weight
// lives in NGINX's shared memory: no reload, the next request follows it.
type NGINXSplit struct {
	// URL is the admin location, e.g. http://10.0.0.1/cutover/split.
	URL string
	// Token is the admin location's bearer token.
	Token string
	// Client [a client with a 5s timeout].
	Client *http.Client
	// Attempts per SetWeight before it fails [3].
	Attempts int

	mu     sync.Mutex
	set    *float64 // what this backend set last
	window counterWindow
}

var (
	_ WeightSetter = (*NGINXSplit)(nil)
	_ measurer     = (*NGINXSplit)(nil)
)

// NewNGINXSplit checks the admin location's URL.
func NewNGINXSplit(rawURL, token string) (*NGINXSplit, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("nginx %q: want the http(s) URL of the split's admin location", rawURL)
	}
	if token == "" {
		return nil, fmt.Errorf("nginx %s: the admin location needs its token", u.Host)
	}
	return &NGINXSplit{URL: rawURL, Token: token}, nil
}

// splitState is the admin location's answer.
type splitState struct {
	Weight    float64 `json:"weight"`
	WeightSet bool    `json:"weight_set"`
	Served    struct {
		Legacy    Served `json:"legacy"`
		Candidate Served `json:"candidate"`
	} `json:"served"`
}

func (n *NGINXSplit) String() string {
	u, _ := url.Parse(n.URL)
	return "nginx split " + u.Host
}

// Check reaches the admin location with the token.
func (n *NGINXSplit) Check(ctx context.Context) error {
	_, err := n.call(ctx, http.MethodGet, nil)
	return err
}

// SetWeight sets the weight and confirms it from the answer; a weight
// found other than the one it set last is restored and reported with a
// *DriftError.
func (n *NGINXSplit) SetWeight(ctx context.Context, weight float64) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	want := math.Round(weight*100) / 100 // the split's basis points
	attempts := n.Attempts
	if attempts <= 0 {
		attempts = 3
	}
	var drift *DriftError
	err := retry(ctx, attempts, 200*time.Millisecond, func() error {
		st, err := n.call(ctx, http.MethodGet, nil)
		if err != nil {
			return err
		}
		if n.set != nil && st.Weight != *n.set && drift == nil {
			drift = &DriftError{Router: n.String(), Set: *n.set, Found: st.Weight, Detail: "shared dict cutover_split"}
		}
		if st.WeightSet && st.Weight == want {
			return nil
		}
		body, _ := json.Marshal(map[string]float64{"weight": want})
		got, err := n.call(ctx, http.MethodPut, body)
		if err != nil {
			return err
		}
		if got.Weight != want {
			return fmt.Errorf("%s: weight read back as %g%% after setting %g%%", n, got.Weight, want)
		}
		return nil
	})
	if err != nil {
		return err
	}
	n.set = &want
	if drift != nil {
		return drift
	}
	return nil
}

// Measure counts what each side served since window id opened.
func (n *NGINXSplit) Measure(ctx context.Context, id string) (Measure, error) {
	st, err := n.call(ctx, http.MethodGet, nil)
	if err != nil {
		return Measure{}, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.window.measure(id, st.Served.Legacy, st.Served.Candidate, n.set != nil && *n.set >= 100), nil
}

func (n *NGINXSplit) call(ctx context.Context, method string, body []byte) (splitState, error) {
	var st splitState
	client := n.Client
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, method, n.URL, bytes.NewReader(body))
	if err != nil {
		return st, fmt.Errorf("%s: %w", n, err)
	}
	req.Header.Set("Authorization", "Bearer "+n.Token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return st, fmt.Errorf("%s: %w", n, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return st, fmt.Errorf("%s: %s: %w", n, method, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		json.Unmarshal(b, &e)
		if e.Error == "" {
			e.Error = strings.TrimSpace(string(b))
			if len(e.Error) > 200 {
				e.Error = e.Error[:200]
			}
		}
		return st, fmt.Errorf("%s: %s %s: %d %s", n, method, n.URL, resp.StatusCode, e.Error)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("%s: %s is not the cutover split's admin location: %w", n, n.URL, err)
	}
	return st, nil
}
