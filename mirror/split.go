package mirror

import (
	"hash/fnv"
	"math"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
)

// Buckets is how finely users are split: a weight of N% sends the users in
// buckets [0, N×100) to the candidate.
const Buckets = 10000

// splitter assigns users to sides. The assignment is sticky (a user's
// bucket depends only on their key) and monotone (raising the weight only
// moves users from legacy to candidate), across restarts and across every
// mirror of a fleet, because the hash is fixed (FNV-1a), not seeded.
type splitter struct {
	key      splitKey
	force    string
	weightBP atomic.Int64 // basis points: weight × 100
	sampleBP int64
}

func newSplitter(cfg Config) *splitter {
	key, _ := parseSplitKey(cfg.SplitKey) // validated by Config.Validate
	s := &splitter{key: key, force: http.CanonicalHeaderKey(cfg.ForceHeader), sampleBP: toBP(*cfg.Sample)}
	s.weightBP.Store(toBP(cfg.Weight))
	return s
}

func toBP(percent float64) int64 { return int64(math.Round(percent * 100)) }

func (s *splitter) setWeight(percent float64) { s.weightBP.Store(toBP(percent)) }
func (s *splitter) weight() float64           { return float64(s.weightBP.Load()) / 100 }

// userKey is what identifies the user of r.
func (s *splitter) userKey(r *http.Request) string {
	switch s.key.kind {
	case "header":
		if v := r.Header.Get(s.key.name); v != "" {
			return v
		}
	case "cookie":
		if c, err := r.Cookie(s.key.name); err == nil && c.Value != "" {
			return c.Value
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// bucket maps a key to [0, Buckets). salt keeps the sample's buckets
// independent of the weight's.
func bucket(salt, key string) int64 {
	h := fnv.New64a()
	h.Write([]byte(salt))
	h.Write([]byte(key))
	return int64(h.Sum64() % Buckets)
}

// route says which side serves r and whether r is in the shadowed sample.
func (s *splitter) route(r *http.Request) (primary side, sampled bool) {
	key := s.userKey(r)
	sampled = bucket("sample:", key) < s.sampleBP
	if s.force != "" {
		switch strings.ToLower(strings.TrimSpace(r.Header.Get(s.force))) {
		case "candidate":
			return sideCandidate, sampled
		case "legacy":
			return sideLegacy, sampled
		}
	}
	if bucket("", key) < s.weightBP.Load() {
		return sideCandidate, sampled
	}
	return sideLegacy, sampled
}

// side is legacy or candidate.
type side int

const (
	sideLegacy side = iota
	sideCandidate
)

func (s side) String() string {
	if s == sideCandidate {
		return "candidate"
	}
	return "legacy"
}

func (s side) other() side { return 1 - s }
