//go:build race

package echoprof_test

func init() { raceEnabled = true }
