package testbed

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"
)

// Switches inject faithful-but-different behaviour into the candidate. The
// zero value is a faithful candidate. Each switch promises one difference:
//
//   - ChangeField: on JSON answers under a path prefix, one field gets
//     another value (a "changed" difference at body.<field>).
//   - DropHeader: one response header is missing.
//   - Status: answers under a path prefix get another status code.
//   - Latency: every answer is delayed (fixed plus a drawn distribution),
//     and an exact share of them by a further delay (a tail).
//   - ErrorRate: that share of requests gets a 502 (or ErrorStatus) from
//     the candidate itself.
//   - ResetRate: that share of connections is reset (TCP RST), no answer.
//   - SlowBody: headers go out at once, then the body in 4 KiB pieces,
//     each after this pause.
//
// Shares are exact, not random: over n requests, floor(n×rate) are hit, so
// tests can assert counts.
type Switches struct {
	ChangeField *FieldChange  `json:"change_field,omitempty"`
	DropHeader  string        `json:"drop_header,omitempty"`
	Status      *StatusChange `json:"status,omitempty"`
	Latency     Latency       `json:"latency,omitzero"`
	ErrorRate   float64       `json:"error_rate,omitempty"`
	ErrorStatus int           `json:"error_status,omitempty"` // 5xx of ErrorRate's answers [502]
	ResetRate   float64       `json:"reset_rate,omitempty"`
	SlowBody    Duration      `json:"slow_body,omitempty"`
}

// FieldChange sets Field (dotted, e.g. "price" or "stock.count") to Value in
// JSON objects answered under the URI path prefix Path.
type FieldChange struct {
	Path  string          `json:"path"`
	Field string          `json:"field"`
	Value json.RawMessage `json:"value"`
}

// StatusChange answers Code instead of the real status under Path.
type StatusChange struct {
	Path string `json:"path"`
	Code int    `json:"code"`
}

// Latency is added before answering: Fixed always, plus a delay drawn so
// that its quantiles follow Percentiles (linear between points, from 0 at
// quantile 0), e.g. {0.5: 5ms, 0.99: 200ms} for a long tail; plus Share
// on exactly its share of answers, spread evenly like ErrorRate (a tail
// that is there in every stretch of traffic, not by the luck of draws).
type Latency struct {
	Fixed       Duration       `json:"fixed,omitempty"`
	Percentiles []LatencyPoint `json:"percentiles,omitempty"`
	Share       *LatencyShare  `json:"share,omitempty"`
}

// LatencyShare delays Rate of the answers by Add.
type LatencyShare struct {
	Rate float64  `json:"rate"`
	Add  Duration `json:"add"`
}

// LatencyPoint is one quantile of the added delay.
type LatencyPoint struct {
	Quantile float64  `json:"quantile"`
	Add      Duration `json:"add"`
}

// Duration is a time.Duration written in JSON as "250ms".
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string like \"250ms\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Validate reports the first thing wrong with s.
func (s Switches) Validate() error {
	var errs []error
	if c := s.ChangeField; c != nil {
		if !strings.HasPrefix(c.Path, "/") || c.Field == "" || !json.Valid(c.Value) {
			errs = append(errs, errors.New("change_field needs a path starting with /, a field and a JSON value"))
		}
	}
	if c := s.Status; c != nil && (!strings.HasPrefix(c.Path, "/") || c.Code < 100 || c.Code > 599) {
		errs = append(errs, errors.New("status needs a path starting with / and a code from 100 to 599"))
	}
	for _, r := range []struct {
		name string
		v    float64
	}{{"error_rate", s.ErrorRate}, {"reset_rate", s.ResetRate}} {
		if r.v < 0 || r.v > 1 {
			errs = append(errs, fmt.Errorf("%s must be between 0 and 1, got %g", r.name, r.v))
		}
	}
	if s.ErrorStatus != 0 && (s.ErrorStatus < 500 || s.ErrorStatus > 599) {
		errs = append(errs, fmt.Errorf("error_status must be a 5xx code, got %d", s.ErrorStatus))
	}
	if sh := s.Latency.Share; sh != nil && (sh.Rate < 0 || sh.Rate > 1 || sh.Add < 0) {
		errs = append(errs, errors.New("latency share needs a rate between 0 and 1 and an add not negative"))
	}
	if s.Latency.Fixed < 0 || s.SlowBody < 0 {
		errs = append(errs, errors.New("durations must not be negative"))
	}
	for _, p := range s.Latency.Percentiles {
		if p.Quantile <= 0 || p.Quantile > 1 || p.Add < 0 {
			errs = append(errs, fmt.Errorf("latency percentile %g: quantile must be in (0,1] and add not negative", p.Quantile))
		}
	}
	return errors.Join(errs...)
}

// switchState is the candidate's live switches plus what makes shares
// exact and delays reproducible.
type switchState struct {
	mu       sync.Mutex
	sw       Switches
	errAcc   float64
	resetAcc float64
	slowAcc  float64
	rng      *rand.Rand
}

func newSwitchState(sw Switches, seed uint64) *switchState {
	return &switchState{sw: sw, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

func (s *switchState) get() Switches {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sw
}

func (s *switchState) set(sw Switches) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sw = sw
	s.errAcc, s.resetAcc, s.slowAcc = 0, 0, 0
}

// decision is what the switches say about one request.
type decision struct {
	Switches
	reset bool
	fail  bool
	delay time.Duration
}

func (s *switchState) decide() decision {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := decision{Switches: s.sw}
	d.reset = hit(&s.resetAcc, s.sw.ResetRate)
	if !d.reset {
		d.fail = hit(&s.errAcc, s.sw.ErrorRate)
	}
	d.delay = time.Duration(s.sw.Latency.Fixed) + drawDelay(s.sw.Latency.Percentiles, s.rng.Float64())
	if sh := s.sw.Latency.Share; sh != nil && hit(&s.slowAcc, sh.Rate) {
		d.delay += time.Duration(sh.Add)
	}
	return d
}

// hit spreads a share evenly: it is true exactly floor(n×rate) times in n calls.
func hit(acc *float64, rate float64) bool {
	if rate <= 0 {
		return false
	}
	*acc += rate
	if *acc >= 1-1e-9 {
		*acc--
		return true
	}
	return false
}

// drawDelay maps a uniform u to a delay by the piecewise-linear quantile
// function through (0,0) and the given points.
func drawDelay(points []LatencyPoint, u float64) time.Duration {
	if len(points) == 0 {
		return 0
	}
	ps := append([]LatencyPoint(nil), points...)
	sort.Slice(ps, func(i, j int) bool { return ps[i].Quantile < ps[j].Quantile })
	prevQ, prevD := 0.0, 0.0
	for _, p := range ps {
		if u <= p.Quantile {
			f := (u - prevQ) / (p.Quantile - prevQ)
			return time.Duration(prevD + f*(float64(p.Add)-prevD))
		}
		prevQ, prevD = p.Quantile, float64(p.Add)
	}
	return time.Duration(prevD)
}
