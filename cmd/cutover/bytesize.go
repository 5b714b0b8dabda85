package main

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
)

// byteUnits are the units a size flag takes, as GOMEMLIMIT spells them:
// binary multiples with unambiguous names, largest first.
var byteUnits = []struct {
	name string
	size int64
}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}}

var errByteSize = errors.New("want a whole number of bytes, optionally with a unit: B, KiB, MiB, GiB or TiB (e.g. 64MiB)")

// parseBytes reads "1048576", "1024KiB" or "1MiB". A sign is kept, so that
// a negative size reaches the flag's own check and its message.
func parseBytes(s string) (int64, error) {
	num, unit := s, int64(1)
	for _, u := range byteUnits {
		if n, ok := strings.CutSuffix(s, u.name); ok {
			num, unit = n, u.size
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || num == "" || num[0] == '+' {
		return 0, errByteSize
	}
	if n > math.MaxInt64/unit || n < math.MinInt64/unit {
		return 0, fmt.Errorf("%s is more bytes than fit in 64 bits", s)
	}
	return n * unit, nil
}

// formatBytes writes n in the largest unit that divides it.
func formatBytes(n int64) string {
	for _, u := range byteUnits[:len(byteUnits)-1] {
		if n != 0 && n%u.size == 0 {
			return strconv.FormatInt(n/u.size, 10) + u.name
		}
	}
	return strconv.FormatInt(n, 10)
}

// bytesValue is a pflag.Value of bytes, over an int or int64 field.
type bytesValue[T ~int | ~int64] struct{ p *T }

var _ pflag.Value = bytesValue[int]{}

func (v bytesValue[T]) Set(s string) error {
	n, err := parseBytes(s)
	if err != nil {
		return err
	}
	if int64(T(n)) != n {
		return fmt.Errorf("%s does not fit", s)
	}
	*v.p = T(n)
	return nil
}

func (v bytesValue[T]) String() string { return formatBytes(int64(*v.p)) }

func (bytesValue[T]) Type() string { return "bytes" }

// bytesVar defines a size flag: a number of bytes, with a unit or not.
func bytesVar[T ~int | ~int64](fl *pflag.FlagSet, p *T, name string, value T, usage string) {
	*p = value
	fl.Var(bytesValue[T]{p}, name, usage)
}
