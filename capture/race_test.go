//go:build race

package capture_test

func init() { raceEnabled = true }
