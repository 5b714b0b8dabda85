package rollout

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// haproxyScale is the sum of the two servers' weights: a share of 0.5
// points is the finest step (HAProxy's weights go up to 256).
const haproxyScale = 200

// HAProxy sets the weight on two servers of one HAProxy backend through its
// runtime API (the `stats socket` line protocol: one command a connection),
// and reads their served and 5xx counts from `show stat` as a step's
// measure. No client library: the protocol is a line of text each way.
type HAProxy struct {
	// Network and Address are the runtime API's socket: "unix" and a path,
	// or "tcp" and host:port.
	Network, Address string
	// Backend names the HAProxy backend; Legacy and Candidate its servers.
	Backend, Legacy, Candidate string
	// Timeout bounds one command [5s].
	Timeout time.Duration
	// Attempts per SetWeight before it fails [3].
	Attempts int

	mu     sync.Mutex
	set    *haproxyWeights // what this backend set last
	window counterWindow
}

var (
	_ WeightSetter = (*HAProxy)(nil)
	_ measurer     = (*HAProxy)(nil)
)

// measurer is what the controller reads a step's evidence from.
type measurer interface {
	Measure(ctx context.Context, windowID string) (Measure, error)
}

type haproxyWeights struct{ legacy, candidate int }

// share is the candidate's weight in percent.
func (w haproxyWeights) share() float64 {
	if w.legacy+w.candidate == 0 {
		return 0
	}
	return math.Round(1000*float64(w.candidate)/float64(w.legacy+w.candidate)) / 10
}

// ParseHAProxy reads `ADDR?backend=NAME&legacy=SRV&candidate=SRV`, ADDR a
// unix socket path (or unix:PATH) or host:port.
func ParseHAProxy(spec string) (*HAProxy, error) {
	addr, query, _ := strings.Cut(spec, "?")
	q, err := url.ParseQuery(query)
	if err != nil {
		return nil, fmt.Errorf("haproxy %q: %w", spec, err)
	}
	h := &HAProxy{Backend: q.Get("backend"), Legacy: q.Get("legacy"), Candidate: q.Get("candidate")}
	for k := range q {
		if k != "backend" && k != "legacy" && k != "candidate" {
			return nil, fmt.Errorf("haproxy %q: unknown parameter %q (want backend, legacy, candidate)", spec, k)
		}
	}
	switch {
	case strings.HasPrefix(addr, "unix:"):
		h.Network, h.Address = "unix", strings.TrimPrefix(addr, "unix:")
	case strings.HasPrefix(addr, "/"):
		h.Network, h.Address = "unix", addr
	default:
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return nil, fmt.Errorf("haproxy %q: the runtime API address must be a socket path or host:port", spec)
		}
		h.Network, h.Address = "tcp", addr
	}
	if h.Address == "" || h.Backend == "" || h.Legacy == "" || h.Candidate == "" || h.Legacy == h.Candidate {
		return nil, fmt.Errorf("haproxy %q: want ADDR?backend=NAME&legacy=SERVER&candidate=SERVER (two different servers)", spec)
	}
	return h, nil
}

func (h *HAProxy) String() string {
	return fmt.Sprintf("haproxy %s backend %s", h.Address, h.Backend)
}

// Check reaches the runtime API and finds both servers, for a clear error
// at start rather than a rollout holding on a typo.
func (h *HAProxy) Check(ctx context.Context) error {
	_, err := h.weights(ctx)
	return err
}

// SetWeight gives the candidate server weight% of haproxyScale and legacy
// the rest, then reads both back. It first reads what HAProxy holds: found
// at another weight than the one it set last, it restores its own and
// returns a *DriftError saying so.
func (h *HAProxy) SetWeight(ctx context.Context, weight float64) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := int(math.Round(weight * haproxyScale / 100))
	want := haproxyWeights{legacy: haproxyScale - c, candidate: c}
	attempts := h.Attempts
	if attempts <= 0 {
		attempts = 3
	}
	var drift *DriftError
	err := retry(ctx, attempts, 200*time.Millisecond, func() error {
		found, err := h.weights(ctx)
		if err != nil {
			return err
		}
		if h.set != nil && found != *h.set && drift == nil {
			drift = &DriftError{Router: h.String(), Set: h.set.share(), Found: found.share(),
				Detail: fmt.Sprintf("%s %d, %s %d", h.Legacy, found.legacy, h.Candidate, found.candidate)}
		}
		if found == want {
			return nil
		}
		// Raise before lowering, so that the sum never reaches 0 on the way.
		order := [][2]any{{h.Legacy, want.legacy}, {h.Candidate, want.candidate}}
		if want.candidate > found.candidate {
			order[0], order[1] = order[1], order[0]
		}
		for _, o := range order {
			if err := h.command(ctx, fmt.Sprintf("set weight %s/%s %d", h.Backend, o[0], o[1]), nil); err != nil {
				return err
			}
		}
		got, err := h.weights(ctx)
		if err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("%s: weights read back as %s %d, %s %d after setting %d, %d", h, h.Legacy, got.legacy, h.Candidate, got.candidate, want.legacy, want.candidate)
		}
		return nil
	})
	if err != nil {
		return err
	}
	h.set = &want
	if drift != nil {
		return drift
	}
	return nil
}

// weights reads both servers' current weights.
func (h *HAProxy) weights(ctx context.Context) (haproxyWeights, error) {
	var w haproxyWeights
	for _, s := range []struct {
		name string
		dst  *int
	}{{h.Legacy, &w.legacy}, {h.Candidate, &w.candidate}} {
		var out string
		if err := h.command(ctx, fmt.Sprintf("get weight %s/%s", h.Backend, s.name), &out); err != nil {
			return w, err
		}
		// "13 (initial 1)"
		cur, _, _ := strings.Cut(strings.TrimSpace(out), " ")
		n, err := strconv.Atoi(cur)
		if err != nil {
			return w, fmt.Errorf("%s: get weight %s/%s: %q", h, h.Backend, s.name, strings.TrimSpace(out))
		}
		*s.dst = n
	}
	return w, nil
}

// Measure counts the requests each server answered and its errors (5xx
// answers, connection and response errors) since window id opened.
func (h *HAProxy) Measure(ctx context.Context, id string) (Measure, error) {
	var out string
	if err := h.command(ctx, "show stat", &out); err != nil {
		return Measure{}, err
	}
	legacy, candidate, err := h.parseStat(out)
	if err != nil {
		return Measure{}, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.window.measure(id, legacy, candidate, h.set != nil && h.set.legacy == 0), nil
}

// parseStat reads the two servers' rows of `show stat` CSV.
func (h *HAProxy) parseStat(out string) (legacy, candidate Served, err error) {
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(out, "# ")))
	r.FieldsPerRecord = -1
	head, err := r.Read()
	if err != nil {
		return legacy, candidate, fmt.Errorf("%s: show stat: %w", h, err)
	}
	col := map[string]int{}
	for i, name := range head {
		col[name] = i
	}
	for _, need := range []string{"pxname", "svname", "hrsp_5xx", "stot"} {
		if _, ok := col[need]; !ok {
			return legacy, candidate, fmt.Errorf("%s: show stat has no %s column", h, need)
		}
	}
	num := func(rec []string, name string) int64 {
		i, ok := col[name]
		if !ok || i >= len(rec) {
			return 0
		}
		n, err := strconv.ParseInt(rec[i], 10, 64)
		if err != nil || n < 0 {
			return 0
		}
		return n
	}
	found := 0
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return legacy, candidate, fmt.Errorf("%s: show stat: %w", h, err)
		}
		if len(rec) <= col["svname"] || rec[col["pxname"]] != h.Backend {
			continue
		}
		// req_tot counts HTTP requests; stot (sessions) where it is empty.
		s := Served{Requests: num(rec, "req_tot"), Errors: num(rec, "hrsp_5xx") + num(rec, "econ") + num(rec, "eresp")}
		if s.Requests == 0 {
			s.Requests = num(rec, "stot")
		}
		switch rec[col["svname"]] {
		case h.Legacy:
			legacy, found = s, found+1
		case h.Candidate:
			candidate, found = s, found+1
		}
	}
	if found != 2 {
		return legacy, candidate, fmt.Errorf("%s: show stat lacks server %s or %s", h, h.Legacy, h.Candidate)
	}
	return legacy, candidate, nil
}

// command sends one line to the runtime API and reads the answer to EOF.
// An answer that is not a result is an error naming the command.
func (h *HAProxy) command(ctx context.Context, line string, out *string) error {
	timeout := h.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, h.Network, h.Address)
	if err != nil {
		return fmt.Errorf("%s: runtime API: %w", h, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	if _, err := io.WriteString(conn, line+"\n"); err != nil {
		return fmt.Errorf("%s: %s: %w", h, line, err)
	}
	b, err := io.ReadAll(bufio.NewReader(io.LimitReader(conn, 8<<20)))
	if err != nil {
		return fmt.Errorf("%s: %s: %w", h, line, err)
	}
	answer := string(b)
	if msg := haproxyError(answer); msg != "" {
		return fmt.Errorf("%s: %s: %s", h, line, msg)
	}
	if out != nil {
		*out = answer
	}
	return nil
}

// haproxyError recognises the runtime API's refusals ("No such server.",
// "Permission denied", "Unknown command...") in an answer.
func haproxyError(answer string) string {
	a := strings.TrimSpace(answer)
	for _, p := range []string{"No such", "Unknown", "Permission denied", "Require", "Invalid", "Backend is using a static", "Unsupported", "Can't", "Cannot"} {
		if strings.HasPrefix(a, p) {
			return a
		}
	}
	return ""
}
