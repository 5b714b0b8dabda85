package replay

import "context"

// The merge of a sharded read (shard.go): every shard emits its records in
// key order, with a mark below which it will emit nothing more; the merge
// hands out the smallest key once no shard can still come with a smaller.

// key places an entry in capture order: the packet being read when it was
// found; for entries found when connections were flushed, the connection's
// first packet; then its shard, then the order its shard found it in.
type key struct {
	seq   uint64
	sub   uint64
	shard int
	n     uint64
}

func (a key) less(b key) bool {
	if a.seq != b.seq {
		return a.seq < b.seq
	}
	if a.sub != b.sub {
		return a.sub < b.sub
	}
	if a.shard != b.shard {
		return a.shard < b.shard
	}
	return a.n < b.n
}

// shardOut is what a shard found in one batch.
type shardOut struct {
	shard int
	recs  []keyedRecord
	mark  key  // every record the shard emits later comes after mark
	done  bool // the shard ends: it emits nothing more
	final bool // it ended at the end of the capture: all it had is out
}

type keyedRecord struct {
	key key
	rec *Record
}

// merge emits the shards' records in key order: a record goes once every
// shard with nothing waiting has moved past it. It returns when every shard
// is done, or at the first error emit returns. When reading stopped early,
// what no shard can vouch for stays out, as on one goroutine.
func (s *shardedRead) merge(ctx context.Context, emit func(*Record) error) (Stats, error) {
	var st Stats
	queues := make([][]keyedRecord, s.n)
	marks := make([]key, s.n)
	final := make([]bool, s.n)
	left := s.n
	for left > 0 {
		var o shardOut
		select {
		case o = <-s.out:
		case <-ctx.Done():
			return st, ctx.Err()
		}
		queues[o.shard] = append(queues[o.shard], o.recs...)
		marks[o.shard] = o.mark
		if o.done {
			final[o.shard] = o.final
			left--
		}
		for {
			best := -1
			for j, q := range queues {
				if len(q) > 0 && (best < 0 || q[0].key.less(queues[best][0].key)) {
					best = j
				}
			}
			if best < 0 {
				break
			}
			k := queues[best][0].key
			ready := true
			for j, q := range queues {
				if j != best && len(q) == 0 && !final[j] && !k.less(marks[j]) {
					ready = false
					break
				}
			}
			if !ready {
				break
			}
			rec := queues[best][0].rec
			queues[best][0] = keyedRecord{}
			queues[best] = queues[best][1:]
			s.backlog.Add(-1)
			if err := emit(rec); err != nil {
				return st, err
			}
			st.count(rec)
		}
	}
	return st, nil
}
