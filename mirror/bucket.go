package mirror

// UserBucket is the bucket, in [0, Buckets), that the split puts the user
// with this key in: a weight of N% sends buckets below N×100 to the
// candidate. Front doors that split by themselves (rollout/nginxsplit)
// must agree with it, so that a user keeps their side across the fleet.
func UserBucket(key string) int64 { return bucket("", key) }

// ParseSplitKey checks a split key ("ip", "header:NAME", "cookie:NAME")
// and returns its kind and name.
func ParseSplitKey(spec string) (kind, name string, err error) {
	k, err := parseSplitKey(spec)
	return k.kind, k.name, err
}
