package main

import (
	"strconv"
	"testing"
)

func TestParseBytes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want int64
		bad  bool
	}{
		{in: "1048576", want: 1 << 20},
		{in: "0", want: 0},
		{in: "-1", want: -1}, // for the flag's own check to name
		{in: "512B", want: 512},
		{in: "64KiB", want: 64 << 10},
		{in: "48MiB", want: 48 << 20},
		{in: "1GiB", want: 1 << 30},
		{in: "2TiB", want: 2 << 40},
		{in: "48MB", bad: true}, // decimal or binary? not guessed
		{in: "48m", bad: true},
		{in: "1.5GiB", bad: true},
		{in: "MiB", bad: true},
		{in: "", bad: true},
		{in: "+5", bad: true},
		{in: " 5", bad: true},
		{in: "9223372036854775807", want: 1<<63 - 1},
		{in: "8388608TiB", bad: true}, // 2^63 bytes
	} {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			got, err := parseBytes(tc.in)
			if tc.bad {
				if err == nil {
					t.Fatalf("parseBytes(%q) = %d, want an error", tc.in, got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("parseBytes(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestFormatBytes(t *testing.T) {
	t.Parallel()
	for n, want := range map[int64]string{0: "0", 1000: "1000", 1 << 20: "1MiB", 256 << 20: "256MiB", 1 << 30: "1GiB", 1536 << 10: "1536KiB", -1 << 20: "-1MiB"} {
		if got := formatBytes(n); got != want {
			t.Errorf("formatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

// parseBytes takes what strconv takes as a plain number, and reads back
// whatever formatBytes writes.
func FuzzParseBytes(f *testing.F) {
	for _, s := range []string{"1048576", "48MiB", "1GiB", "-3KiB", "48MB", "9223372036854775807", "8388608TiB"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseBytes(s)
		if std, stdErr := strconv.ParseInt(s, 10, 64); stdErr == nil && s[0] != '+' && (err != nil || n != std) {
			t.Fatalf("parseBytes(%q) = %d, %v; strconv: %d", s, n, err, std)
		}
		if err != nil {
			return
		}
		if back, err := parseBytes(formatBytes(n)); err != nil || back != n {
			t.Fatalf("parseBytes(formatBytes(%d) = %q) = %d, %v", n, formatBytes(n), back, err)
		}
	})
}
