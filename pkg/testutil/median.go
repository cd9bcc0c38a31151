package testutil

import "slices"

// Median returns the middle value of v (the upper one of an even count),
// for benchmarks that repeat a run on a shared machine. v must not be
// empty; it is not modified.
func Median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}
