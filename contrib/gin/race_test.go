//go:build race

package ginprof_test

func init() { raceEnabled = true }
