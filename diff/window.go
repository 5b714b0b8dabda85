package diff

import "maps"

// Window returns an empty aggregator with a's configuration that starts
// with everything a has learned of noise, per endpoint and pooled. A
// rollout judges each step on a window of its own; without the noise
// already learned, the first exchanges of every window would count request
// ids and timestamps as differences until noise was learned again.
//
// The window learns on from its own noise observations; a does not see
// what is added to the window.
func (a *Aggregator) Window() *Aggregator {
	a.mu.Lock()
	defer a.mu.Unlock()
	w := newAggregator(a.cfg)
	w.noise = noiseTable{n: a.noise.n, byKey: maps.Clone(a.noise.byKey), limit: a.noise.limit}
	w.inherited = make(map[string]noiseTable, len(a.endpoints)+len(a.inherited))
	for name, inh := range a.inherited {
		w.inherited[name] = noiseTable{n: inh.n, byKey: maps.Clone(inh.byKey)}
	}
	for name, ep := range a.endpoints {
		if ep.noiseN == 0 {
			continue
		}
		t := noiseTable{n: ep.noiseN, byKey: map[fieldKey]int64{}}
		for k, f := range ep.fields {
			if f.noise > 0 {
				t.byKey[k] = f.noise
			}
		}
		w.inherited[name] = t
	}
	return w
}
